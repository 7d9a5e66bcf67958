import * as tf from '@tensorflow/tfjs';
import { describe, expect, it } from 'vitest';
import { benchConfig, benchRun, nmfBenchShape, nmfSecondsPerIteration } from '../../../src/core/pipeline/bench';
import { Pipeline } from '../../../src/core/pipeline/run';
import { loadDataset } from '../../../src/cli/datasets';
import { smallMri } from './small';

describe('bench measurements (shared by the CLI and the bench page)', () => {
  it('paper scale is the paper pipeline: 2,200 images at 128×128, rank 15, t = 41, K = 8, no PGD-EOT', () => {
    const c = benchConfig('paper');
    expect([c.data.dataset, c.data.count, c.data.imageSize, c.nmf.rank, c.nmf.maxIter]).toEqual(['mri-demo', 2200, 128, 15, 200]);
    expect([c.diffusion.timestep, c.diffusion.eot, c.attack.enabled, c.attack.adaptive.enabled, c.attack.threat]).toEqual([41, 8, true, false, 'feature']);
    expect(c.attack.attacks).toEqual(['apgd-ce', 'square']);
    expect(nmfBenchShape('paper')).toEqual([16384, 2200]);
    expect(benchConfig('quick').data.count).toBeLessThan(c.data.count);
  });

  it('times NMF iterations with progress, leaving no tensor behind', async () => {
    const V = tf.randomUniform([512, 40], 0, 1, 'float32', 1) as tf.Tensor2D;
    const before = tf.memory().numTensors;
    const progress: number[] = [];
    const seconds = await nmfSecondsPerIteration(V, 5, 3, (done) => progress.push(done));
    expect(tf.memory().numTensors).toBe(before);
    expect(Number.isFinite(seconds)).toBe(true);
    expect(progress).toEqual([1, 2, 3]);
    V.dispose();
  });

  it('a timestep change after the run re-runs only the evaluation, with no tensor left behind', async () => {
    const pipeline = new Pipeline(loadDataset, { name: 'wasm', reason: 'test' });
    const run = await benchRun(pipeline, smallMri({ attack: { enabled: false } }));
    expect(run.endToEndSeconds).toBeGreaterThan(run.timestepRescoreSeconds);
    expect(run.rescoreReused).toEqual(expect.arrayContaining(['load', 'nmf', 'project', 'select', 'features', 'denoiser', 'classify']));
    expect(run.rescoreReused).not.toContain('evaluate');
    expect(run.tensorsAfterRescore).toBe(run.tensorsAfterRun);
    pipeline.dispose();
  });
});
