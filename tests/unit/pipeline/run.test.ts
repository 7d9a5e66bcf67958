import * as tf from '@tensorflow/tfjs';
import { afterAll, describe, expect, it } from 'vitest';
import { smallMri } from './small';
import { Pipeline } from '../../../src/core/pipeline/run';
import { buildReport, type LabReport } from '../../../src/core/pipeline/report';
import { loadDataset } from '../../../src/cli/datasets';

const backend = { name: 'wasm' as const, reason: 'test' };

/** The report without wall-clock figures (stage timings, seconds per attack). */
function withoutTimings(r: LabReport): unknown {
  const { timings: _t, ...rest } = r;
  return JSON.parse(JSON.stringify(rest, (k, v) => (k === 'seconds' ? undefined : v)));
}

describe('pipeline on a small mri-demo', () => {
  const pipeline = new Pipeline(loadDataset, backend);
  let first: LabReport;
  let tensorsBefore = 0;
  afterAll(() => pipeline.dispose());

  it('runs every stage and beats chance by a clear margin', async () => {
    tensorsBefore = tf.memory().numTensors;
    const stages: string[] = [];
    const result = await pipeline.run(smallMri(), { onProgress: (e) => { if (!stages.includes(e.stage)) stages.push(e.stage); } });
    first = buildReport(result);
    expect(stages).toEqual(expect.arrayContaining(['load', 'nmf', 'project', 'classify', 'denoiser', 'evaluate']));
    expect(first.nmf.loss.length).toBe(first.nmf.iterations);
    expect(first.selection.components).toHaveLength(8);
    expect(first.selection.selected.length).toBeGreaterThanOrEqual(4);
    // Balanced binary test split: chance is 0.5.
    expect(first.scenarios.cleanBaseline.metrics.accuracy).toBeGreaterThan(0.7);
    expect(first.scenarios.cleanDefended.metrics.accuracy).toBeGreaterThan(0.65);
    expect(first.denoiser.meanDenoisedError).toBeLessThan(first.denoiser.meanNoisedError);
    const counts = first.dataset.counts;
    const total = ['train', 'val', 'test'].reduce((s, k) => s + counts[k as 'train'].normal + counts[k as 'train'].tumor, 0);
    expect(total).toBe(240);

    // ε = 0.1 on unit-norm features of a handful of dimensions: even 20 APGD iterations break many points.
    const rb = first.scenarios.robustBaseline;
    const rd = first.scenarios.robustDefended;
    expect(rb.attack).toEqual(expect.objectContaining({ threat: 'feature', norm: 'Linf', eps: 0.1, version: 'custom', eot: 1, points: 24 }));
    expect(rb.attack!.attacks.map((a) => a.name)).toEqual(['apgd-ce', 'square']);
    expect(rb.robustAccuracyAfter!.map((a) => a.name)).toEqual(['apgd-ce', 'square']);
    expect(rb.robustAccuracy!).toBeLessThan(rb.cleanAccuracy! - 0.15);
    expect(rb.robustAccuracy).toBe(rb.robustAccuracyAfter![1].robustAccuracy);
    expect(rb.robustAccuracyAfter![1].robustAccuracy).toBeLessThanOrEqual(rb.robustAccuracyAfter![0].robustAccuracy);
    // Deterministic baseline: the metrics' accuracy is the ensemble's robust accuracy.
    expect(rb.metrics.accuracy).toBeCloseTo(rb.robustAccuracy!, 10);
    expect(rb.maxPerturbation!).toBeLessThanOrEqual(0.1 + 1e-6);
    expect(rb.outcomes!.held + rb.outcomes!.fell + rb.outcomes!.misclassified).toBe(24);
    expect(rd.attack).toEqual(expect.objectContaining({ eot: 2, draws: 1, judgeDraws: 8 }));
    expect(rd.adaptive).toEqual(expect.objectContaining({ name: 'pgd-eot', steps: 20, eot: 4 }));
    expect(rd.adaptive!.robustAccuracy).toBeLessThanOrEqual(rd.cleanAccuracy!);
  });

  it('keeps a per-image trace of every attacked test image', async () => {
    const r = await pipeline.run(smallMri());
    const { baseline, defended } = r.robust!;
    expect(baseline.traces).toHaveLength(24);
    const fell = baseline.traces.find((t) => t.status === 'fell')!;
    expect(fell.brokenBy).not.toBeNull();
    expect(fell.loss.length).toBeGreaterThan(0);
    // A fallen image's adversarial probabilities put another class first.
    const adv = fell.probs.adversarial;
    expect(adv.indexOf(Math.max(...adv))).not.toBe(fell.label);
    const t = defended.traces[0];
    for (const k of ['clean', 'adversarial', 'noised', 'purified'] as const) {
      expect(t.probs[k]!.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 4);
    }
    expect(defended.adversarial.length).toBe(24 * defended.inputSize);
    expect(r.reused).toContain('attackDefended');
  });

  it('a timestep change re-runs only evaluation', async () => {
    const r = await pipeline.run(smallMri({ diffusion: { timestep: 20 } }));
    expect(r.reused).toEqual(['load', 'nmf', 'project', 'select', 'features', 'denoiser', 'classify', 'attackBaseline']);
    expect(r.timings.attackDefended).toBeGreaterThan(0);
    expect(r.timings.evaluate).toBeGreaterThan(0);
    const report = buildReport(r);
    expect(report.scenarios.cleanBaseline.metrics).toEqual(first.scenarios.cleanBaseline.metrics);
    expect(report.denoiser.timestep).toBe(20);
  });

  it('the same seed on a fresh pipeline gives an identical report (timings aside)', async () => {
    const other = new Pipeline(loadDataset, backend);
    const again = buildReport(await other.run(smallMri()));
    other.dispose();
    expect(withoutTimings({ ...again, reused: first.reused })).toEqual(withoutTimings(first));
  });

  it('leaks no tensors once disposed', () => {
    pipeline.dispose();
    expect(tf.memory().numTensors).toBe(tensorsBefore);
  });
});

describe('pipeline without a validation split', () => {
  it('trains with early stopping on the training loss and still scores the test split', async () => {
    const pipeline = new Pipeline(loadDataset, backend);
    const report = buildReport(await pipeline.run(smallMri({ data: { count: 120, split: [0.8, 0, 0.2] }, nmf: { maxIter: 30 } })));
    pipeline.dispose();
    expect(report.dataset.counts.val).toEqual({ normal: 0, tumor: 0 });
    expect(report.classifier.history.valLoss).toEqual([]);
    // Early stopping watched the training loss: it stopped `patience` epochs after the best one.
    const h = report.classifier.history;
    expect(h.epochs).toBeLessThan(60);
    expect(h.epochs).toBe(h.bestEpoch + 15 + 1);
    // Measured 0.75 on the 24 test images (chance 0.5).
    expect(report.scenarios.cleanBaseline.metrics.accuracy).toBeGreaterThan(0.6);
    expect(report.dataset.counts.test.normal + report.dataset.counts.test.tumor).toBe(24);
  });
});
