import * as tf from '@tensorflow/tfjs';
import { describe, expect, it } from 'vitest';
import { defaultConfig, digitsDefaults, mergeConfig } from '../../../src/core/config';
import { Pipeline } from '../../../src/core/pipeline/run';
import { buildReport } from '../../../src/core/pipeline/report';
import { loadDataset } from '../../../src/cli/datasets';

describe('pipeline on a small digits run (hybrid, 10 classes)', () => {
  it('uses the hybrid classifier and beats chance (0.1) by a wide margin, leaking nothing', async () => {
    const before = tf.memory().numTensors;
    const config = mergeConfig(mergeConfig(defaultConfig(), digitsDefaults()), {
      seed: 1,
      data: { limit: 800 },
      nmf: { rank: 16, maxIter: 40, projectIter: 40 },
      classifier: { epochs: 80, patience: 10 },
      imageCnn: { epochs: 4, patience: 3 },
      diffusion: { epochs: 30 },
      attack: { limit: 20, iterations: 10, eot: 2, adaptive: { enabled: false } },
    });
    const pipeline = new Pipeline(loadDataset, { name: 'wasm', reason: 'test' });
    const report = buildReport(await pipeline.run(config));
    pipeline.dispose();
    expect(report.classifier.kind).toBe('hybrid');
    expect(report.dataset.classNames).toHaveLength(10);
    expect(report.selection.components.every((c) => c.anovaP !== undefined)).toBe(true);
    expect(report.scenarios.cleanBaseline.metrics.accuracy).toBeGreaterThan(0.7);
    expect(report.scenarios.cleanDefended.metrics.accuracy).toBeGreaterThan(0.6);
    expect(report.scenarios.imageCnn.metrics.accuracy).toBeGreaterThan(0.6);
    // The digits paper's attacks: APGD-CE then APGD-DLR (10 classes, so DLR runs).
    const rb = report.scenarios.robustBaseline;
    expect(rb.robustAccuracyAfter!.map((a) => a.name)).toEqual(['apgd-ce', 'apgd-dlr']);
    expect(rb.robustAccuracyAfter!.every((a) => !a.skipped || a.skipped === 'no point left robust')).toBe(true);
    expect(rb.robustAccuracy!).toBeLessThan(rb.cleanAccuracy!);
    expect(tf.memory().numTensors).toBe(before);
  });
});
