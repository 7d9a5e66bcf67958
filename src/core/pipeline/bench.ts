/**
 * The measurements of `npm run bench`, shared by Node (the CLI) and the browser (the bench page's
 * worker), so both report the same quantities under the same definitions.
 */
import * as tf from '@tensorflow/tfjs';
import { defaultConfig, mergeConfig, type LabConfig } from '../config';
import { factorize } from '../nmf/factorize';
import type { ProgressFn } from '../types';
import type { Pipeline, PipelineResult } from './run';
import type { ProgressEvent } from './progress';

export type BenchScale = 'paper' | 'quick';

/** Pixels × images of the NMF timing matrix: the paper's 128×128 images, its 2,200 images. */
export function nmfBenchShape(scale: BenchScale): [number, number] {
  return [128 * 128, scale === 'paper' ? 2200 : 220];
}

/**
 * Seconds per KL iteration on a pixels × images matrix: a run of 2 + n iterations minus a run of
 * 2, so set-up (initialization, the transposed copy of V) is not counted as iteration time. The
 * result is read back after each run, so an asynchronous backend (WebGPU) has finished its work.
 */
export async function nmfSecondsPerIteration(V: tf.Tensor2D, rank: number, iterations: number, onProgress?: ProgressFn): Promise<number> {
  const timed = async (maxIter: number) => {
    const t0 = performance.now();
    const r = await factorize(V, { rank, loss: 'kl', init: 'random', maxIter, tol: 0, seed: 1 });
    await r.W.data();
    const seconds = (performance.now() - t0) / 1000;
    r.W.dispose();
    r.H.dispose();
    return seconds;
  };
  await timed(2); // warm-up: kernel compilation and first allocations
  onProgress?.(1, 3);
  const base = await timed(2);
  onProgress?.(2, 3);
  const perIteration = ((await timed(2 + iterations)) - base) / iterations;
  onProgress?.(3, 3);
  return perIteration;
}

/**
 * Issue 5's paper-scale run: mri-demo at the paper's defaults, APGD-CE + Square on the whole test
 * split, feature threat model, the defended model with EOT 8; the adaptive PGD-EOT is timed by
 * `lab run`, not here. 'quick' shrinks every stage for slow (software) backends and smoke runs.
 */
export function benchConfig(scale: BenchScale): LabConfig {
  return mergeConfig(defaultConfig(), {
    data: { dataset: 'mri-demo' },
    attack: { adaptive: { enabled: false } },
    ...(scale === 'quick' ? {
      // The image CNN is a reference row, off here: its convolutions are the slowest stage on a
      // software WebGPU adapter.
      data: { dataset: 'mri-demo', count: 200 }, nmf: { maxIter: 20 }, imageCnn: { enabled: false },
      classifier: { epochs: 20 }, diffusion: { epochs: 20 },
      attack: { adaptive: { enabled: false }, iterations: 10, queries: 200 },
    } : {}),
  });
}

export interface BenchRun {
  first: PipelineResult;
  endToEndSeconds: number;
  /** A timestep change after the run: the clean baseline and defended scenarios re-scored. */
  timestepRescoreSeconds: number;
  rescoreReused: string[];
  tensorsAfterRun: number;
  tensorsAfterRescore: number;
}

/** The paper-scale run on a fresh pipeline, then a timestep change on its cache. */
export async function benchRun(pipeline: Pipeline, config: LabConfig, onProgress?: (e: ProgressEvent) => void): Promise<BenchRun> {
  const t0 = performance.now();
  const first = await pipeline.run(config, { onProgress });
  const endToEndSeconds = (performance.now() - t0) / 1000;
  const tensorsAfterRun = tf.memory().numTensors;
  const t1 = performance.now();
  // The re-score goal is for the clean scenarios; a new timestep would re-attack the defended model.
  const rescored = await pipeline.run(mergeConfig(config, {
    diffusion: { timestep: config.diffusion.timestep === 41 ? 30 : 41 }, attack: { enabled: false },
  }));
  return {
    first, endToEndSeconds, timestepRescoreSeconds: (performance.now() - t1) / 1000, rescoreReused: rescored.reused,
    tensorsAfterRun, tensorsAfterRescore: tf.memory().numTensors,
  };
}
