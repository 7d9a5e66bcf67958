import * as tf from '@tensorflow/tfjs';
import { afterAll, describe, expect, it } from 'vitest';
import { Pipeline, type PipelineResult } from '../../../src/core/pipeline/run';
import { buildView, type LabView } from '../../../src/core/pipeline/view';
import { loadDataset } from '../../../src/cli/datasets';
import { smallMri } from './small';

const backend = { name: 'wasm' as const, reason: 'test' };

describe('buildView', () => {
  const pipeline = new Pipeline(loadDataset, backend);
  afterAll(() => pipeline.dispose());
  let result: PipelineResult;
  let view: LabView;

  it('turns a run into plain arrays without leaking tensors', async () => {
    const seen: { stagesDone: string[]; robust: unknown; accuracy: number }[] = [];
    const stages: string[] = [];
    result = await pipeline.run(smallMri({ attack: { limit: 12 } }), {
      onProgress: (e) => { if (!stages.includes(e.stage)) stages.push(e.stage); },
      onClean: async (partial) => {
        seen.push({ stagesDone: [...stages], robust: partial.robust, accuracy: partial.evaluation.cleanDefended.metrics.accuracy });
        const early = await buildView(partial);
        expect(early.robust).toBeNull();
        expect(early.report.scenarios.robustBaseline).toBeUndefined();
      },
    });
    // Once, after the clean evaluation and before either attack.
    expect(seen).toHaveLength(1);
    expect(seen[0].robust).toBeNull();
    expect(seen[0].stagesDone).toContain('denoiser');
    expect(seen[0].stagesDone).not.toContain('attackBaseline');
    expect(seen[0].accuracy).toBe(result.evaluation.cleanDefended.metrics.accuracy);
    const before = tf.memory().numTensors;
    view = await buildView(result, { samplesPerClass: 3 });
    expect(tf.memory().numTensors).toBe(before);
    // Everything is structured-cloneable plain data.
    expect(() => structuredClone(view)).not.toThrow();
  });

  it('draws every basis column scaled to its own maximum', async () => {
    const S = result.dataset.size;
    expect(view.basis).toMatchObject({ size: S, count: 8 });
    const W = (await result.nmf.W.array()) as number[][];
    for (let k = 0; k < 8; k++) {
      const img = view.basis.pixels.subarray(k * S * S, (k + 1) * S * S);
      expect(Math.max(...img)).toBe(255);
      const column = W.map((row) => row[k]);
      const peak = Math.max(...column);
      const p = column.indexOf(peak);
      const q = column.findIndex((v) => v > 0 && v < peak / 3);
      expect(img[p]).toBe(255);
      if (q >= 0) expect(img[q]).toBe(Math.round((255 * column[q]) / peak));
    }
  });

  it('averages training activations per class and counts predictions per class', async () => {
    const A = (await result.activations.train.array()) as number[][];
    const labels = result.dataset.train.labels;
    for (const c of [0, 1]) {
      const rows = A.filter((_, i) => labels[i] === c);
      for (const k of [0, 5]) {
        const mean = rows.reduce((s, r) => s + r[k], 0) / rows.length;
        expect(view.classMeans[k][c]).toBeCloseTo(mean, 5);
      }
    }
    const n = result.dataset.test.count;
    for (const [name, m] of Object.entries(view.confusion)) {
      const total = m.flat().reduce((a, b) => a + b, 0);
      const accuracy = (m[0][0] + m[1][1]) / total;
      if (name.startsWith('clean') || name === 'imageCnn') {
        expect(total).toBe(n);
        expect(accuracy).toBeCloseTo(view.report.scenarios[name].metrics.accuracy, 10);
      } else {
        expect(total).toBe(12);
      }
    }
  });

  it('keeps the test images, samples of each class and their reconstructions', () => {
    const S = result.dataset.size;
    expect(view.test.count).toBe(result.dataset.test.count);
    expect(view.test.pixels[S * S + 7]).toBe(Math.round(255 * result.dataset.test.pixels[S * S + 7]));
    expect(view.samples.count).toBe(6);
    expect(Array.from(view.samples.labels)).toEqual([0, 0, 0, 1, 1, 1]);
    expect(view.reconstructions.count).toBe(view.test.count);
    expect(view.denoiserErrors.noised).toHaveLength(view.test.count);
  });

  it('traces each attacked image through the defense in feature space', () => {
    const { baseline, defended } = view.robust!;
    expect(baseline.traces).toHaveLength(12);
    expect(baseline.adversarialImages).toBeNull();
    const d = view.featureDim;
    for (const t of defended.traces) {
      const f = t.features;
      expect(f.clean).toHaveLength(d);
      let linf = 0;
      let noiseGap = 0;
      for (let j = 0; j < d; j++) {
        linf = Math.max(linf, Math.abs(f.adversarial[j] - f.clean[j]));
        noiseGap = Math.max(noiseGap, Math.abs(f.noised[j] - f.adversarial[j]));
      }
      expect(linf).toBeLessThanOrEqual(0.1 + 1e-6);
      expect(linf).toBeCloseTo(t.perturbation, 5);
      // t = 41 noise is large next to unit-norm features.
      expect(noiseGap).toBeGreaterThan(0.05);
    }
  });
});
