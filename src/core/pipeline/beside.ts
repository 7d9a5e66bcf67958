/**
 * Work that can run beside the main line of the pipeline, on a second thread of the host: that
 * thread takes a share of every KL iteration of NMF (nmf/klShare.ts); the image CNN needs only the
 * pixels, so it trains while the main line projects the images (or, without an image CNN, the
 * validation and test images are projected beside the training images); the denoiser needs only the
 * training features, so it trains while the classifier does; the attacks on the undefended
 * classifier (feature threat model) run while the defended model is attacked. On a 2-core CPU each
 * takes the core the single-threaded WASM backend leaves idle.
 *
 * A job carries plain data in and the stage's stored form (stageStore.ts codecs) out, so any
 * thread that can run the lab's core can run it, and the pipeline restores the result exactly as
 * it restores a stored stage: the weights are the same numbers the same backend would have
 * computed in the main thread.
 */
import * as tf from '@tensorflow/tfjs';
import type { AttackConfig, DiffusionConfig, ImageCnnConfig, NmfConfig } from '../config';
import { modelFromFiles, type LayersModelFiles } from '../models/serialize';
import type { Dataset, ImageSet, ProgressFn } from '../types';
import { codecs } from './stageStore';
import { denoiserStage, imageCnnStage, projectSplit } from './stages';
import { robustBaseline } from './robust';
import { inThreadKlShare, type KlShare, type KlShareBlocks } from '../nmf/klShare';

export type BesideJob =
  | { stage: 'imageCnn'; size: number; classNames: string[]; train: ImageSet; val: ImageSet; cfg: ImageCnnConfig; seed: number }
  | {
    /** Part of the projection: the validation and test images, while the main line projects the training images. */
    stage: 'project'; W: StoredMatrix; size: number; sets: { val: ImageSet; test: ImageSet }; cfg: NmfConfig;
  }
  | { stage: 'denoiser'; features: StoredMatrix; cfg: DiffusionConfig; seed: number }
  | {
    /** Feature threat model only: the attacks on the classifier alone need nothing but it and the test features. */
    stage: 'attackBaseline'; classifier: LayersModelFiles; numClasses: number;
    x: StoredMatrix; y: Int32Array; cfg: AttackConfig; seed: number;
  };

/** A float32 matrix as plain data. */
export interface StoredMatrix {
  shape: [number, number];
  values: Float32Array;
}

export interface BesideResult {
  /** The stage's output in its codec's stored form. */
  stored: unknown;
  /** Seconds the job computed for, on its own thread. */
  seconds: number;
}

/** Where a host runs beside jobs (Node: a worker thread, src/cli/beside.ts). */
export interface BesideRunner {
  run(job: BesideJob, progress: ProgressFn, signal?: AbortSignal): Promise<BesideResult>;
  /** A share of NMF's KL iterations on the second thread, held until the share is disposed (jobs
   * queue behind it). The blocks are read before this resolves; the caller keeps them. */
  klShare?(blocks: KlShareBlocks, signal?: AbortSignal): Promise<KlShare>;
  dispose(): void;
}

/** A tensor's values as plain data. */
export async function storedMatrix(t: tf.Tensor2D): Promise<StoredMatrix> {
  return { shape: t.shape, values: (await t.data()) as Float32Array };
}

/** The tensor of a matrix stored as plain data (storedMatrix's inverse). */
export function matrixTensor(m: StoredMatrix): tf.Tensor2D {
  return tf.tensor2d(m.values, m.shape);
}

/** Runs a job in the calling thread, on the current backend. */
export async function runBesideJob(job: BesideJob, progress: ProgressFn, signal?: AbortSignal): Promise<BesideResult> {
  const t0 = performance.now();
  const stored = await storedResult(job, progress, signal);
  return { stored, seconds: (performance.now() - t0) / 1000 };
}

/** The job's stage output in its stored form. */
async function storedResult(job: BesideJob, progress: ProgressFn, signal?: AbortSignal): Promise<unknown> {
  const ctx = { signal, progress };
  if (job.stage === 'imageCnn') {
    const empty: ImageSet = { pixels: new Float32Array(0), labels: new Int32Array(0), count: 0 };
    // The stage reads the size, the class names and the two splits it trains on.
    const data: Dataset = {
      name: 'beside', classNames: job.classNames, size: job.size, train: job.train, val: job.val, test: empty, skipped: [], splitSource: 'stratified',
    };
    const value = await imageCnnStage(data, job.cfg, job.seed, ctx);
    try {
      return await codecs.imageCnn.save(value);
    } finally {
      value.model.dispose();
    }
  }
  if (job.stage === 'project') {
    const W = matrixTensor(job.W);
    const stored: Record<string, StoredMatrix> = {};
    const total = job.sets.val.count + job.sets.test.count;
    let done = 0;
    try {
      for (const split of ['val', 'test'] as const) {
        const features = projectSplit(job.sets[split], job.size, W, job.cfg);
        stored[split] = await storedMatrix(features);
        features.dispose();
        done += job.sets[split].count;
        progress(done, total, split);
      }
    } finally {
      W.dispose();
    }
    return stored;
  }
  if (job.stage === 'attackBaseline') {
    const classifier = await modelFromFiles(job.classifier);
    const x = matrixTensor(job.x);
    try {
      const scenario = await robustBaseline(
        { threat: 'feature', classifier, numClasses: job.numClasses, x, y: job.y, seed: job.seed, signal, progress }, job.cfg,
      );
      return await codecs.attackBaseline.save(scenario);
    } finally {
      x.dispose();
      classifier.dispose();
    }
  }
  const features = matrixTensor(job.features);
  try {
    const value = await denoiserStage(features, job.cfg, job.seed, ctx);
    try {
      return await codecs.denoiser.save(value);
    } finally {
      value.model.dispose();
    }
  } finally {
    features.dispose();
  }
}

/** Runs jobs in the calling thread: what a worker does, without the worker (tests, hosts with one core). */
export const inThreadBesideRunner: BesideRunner = { run: runBesideJob, klShare: inThreadKlShare, dispose: () => {} };
