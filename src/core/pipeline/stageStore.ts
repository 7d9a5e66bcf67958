/**
 * A second tier behind the in-memory stage cache: stage outputs as plain, structured-clonable data
 * (typed arrays, numbers, strings, model files), so a restarted worker or a reloaded page resumes
 * from the stages it had finished instead of recomputing them. The browser keeps them in IndexedDB
 * (src/persist/); tests and the CLI can use the in-memory store below.
 */
import * as tf from '@tensorflow/tfjs';
import { layersModelFiles, modelFromFiles, type LayersModelFiles } from '../models/serialize';
import type { ClassifierOutput, DenoiserOutput, NmfOutput, Splits } from './stages';
import { SPLITS } from './stages';
import type { StageName } from './progress';

export interface StageStore {
  get(stage: StageName, key: string): Promise<unknown | undefined>;
  put(stage: StageName, key: string, value: unknown): Promise<void>;
  delete(stage: StageName, key: string): Promise<void>;
}

/** A Map-backed store (structured clone on put, so a caller's later mutation cannot reach it). */
export class MemoryStageStore implements StageStore {
  readonly entries = new Map<string, unknown>();
  async get(stage: StageName, key: string) {
    const v = this.entries.get(`${stage}/${key}`);
    return v === undefined ? undefined : structuredClone(v);
  }
  async put(stage: StageName, key: string, value: unknown) {
    this.entries.set(`${stage}/${key}`, structuredClone(value));
  }
  async delete(stage: StageName, key: string) {
    this.entries.delete(`${stage}/${key}`);
  }
}

/** How one stage's output becomes stored data and back. `restore` may get the outputs it shares
 * with an earlier stage (the classifier's inputs belong to the features stage). */
export interface StageCodec<T, Ctx = void> {
  save(value: T): Promise<unknown>;
  restore(stored: unknown, ctx: Ctx): Promise<T>;
}

export class StoredStageError extends Error {
  constructor(stage: string, why: string) {
    super(`stored ${stage} output is unusable: ${why}`);
    this.name = 'StoredStageError';
  }
}

interface StoredTensor {
  shape: number[];
  values: Float32Array;
}

async function saveTensor(t: tf.Tensor): Promise<StoredTensor> {
  return { shape: [...t.shape], values: (await t.data()) as Float32Array };
}

function restoreTensor2d(s: StoredTensor, stage: string): tf.Tensor2D {
  const ok = s && Array.isArray(s.shape) && s.shape.length === 2 && s.values instanceof Float32Array &&
    s.shape.every((d) => Number.isInteger(d) && d >= 0) && s.values.length === s.shape[0] * s.shape[1];
  if (!ok) throw new StoredStageError(stage, 'a tensor does not match its shape');
  return tf.tensor2d(s.values, s.shape as [number, number]);
}

const splitsCodec = (stage: string): StageCodec<Splits<tf.Tensor2D>> => ({
  async save(v) {
    return { train: await saveTensor(v.train), val: await saveTensor(v.val), test: await saveTensor(v.test) };
  },
  async restore(s) {
    const stored = s as Splits<StoredTensor>;
    const out: Partial<Splits<tf.Tensor2D>> = {};
    try {
      for (const k of SPLITS) out[k] = restoreTensor2d(stored[k], stage);
    } catch (err) {
      for (const k of SPLITS) out[k]?.dispose();
      throw err;
    }
    return out as Splits<tf.Tensor2D>;
  },
});

/** Plain data (numbers, strings, typed arrays) is stored as it is. */
const plain = <T>(): StageCodec<T> => ({ save: async (v) => v, restore: async (s) => s as T });

async function restoreModel(files: LayersModelFiles, stage: string): Promise<tf.LayersModel> {
  try {
    return await modelFromFiles(files);
  } catch (err) {
    throw new StoredStageError(stage, (err as Error).message);
  }
}

export const nmfCodec: StageCodec<NmfOutput> = {
  async save(v) {
    return { W: await saveTensor(v.W), H: await saveTensor(v.H), loss: v.loss, iterations: v.iterations, converged: v.converged };
  },
  async restore(s) {
    const v = s as { W: StoredTensor; H: StoredTensor; loss: number[]; iterations: number; converged: boolean };
    const W = restoreTensor2d(v.W, 'nmf');
    let H: tf.Tensor2D;
    try {
      H = restoreTensor2d(v.H, 'nmf');
    } catch (err) {
      W.dispose();
      throw err;
    }
    return { W, H, loss: v.loss, iterations: v.iterations, converged: v.converged };
  },
};

type Trained<T> = Omit<T, 'model'> & { model: LayersModelFiles };

export const imageCnnCodec: StageCodec<{ model: tf.LayersModel; history: ClassifierOutput['history'] }> = {
  async save(v) {
    return { model: await layersModelFiles(v.model), history: v.history };
  },
  async restore(s) {
    const v = s as Trained<{ model: tf.LayersModel; history: ClassifierOutput['history'] }>;
    return { model: await restoreModel(v.model, 'imageCnn'), history: v.history };
  },
};

export const classifyCodec: StageCodec<ClassifierOutput, Splits<tf.Tensor2D>> = {
  async save(v) {
    // The inputs are the features stage's tensors, stored with that stage.
    return { model: await layersModelFiles(v.model), history: v.history, kind: v.kind };
  },
  async restore(s, inputs) {
    const v = s as Trained<Omit<ClassifierOutput, 'inputs'>>;
    return { model: await restoreModel(v.model, 'classify'), history: v.history, kind: v.kind, inputs };
  },
};

export const denoiserCodec: StageCodec<DenoiserOutput> = {
  async save(v) {
    return { model: await layersModelFiles(v.model), schedule: v.schedule, prior: v.prior, loss: v.loss };
  },
  async restore(s) {
    const v = s as Trained<DenoiserOutput>;
    return { ...v, model: await restoreModel(v.model, 'denoiser') };
  },
};

export const codecs = {
  nmf: nmfCodec,
  project: splitsCodec('project'),
  select: plain<{ stats: unknown[]; selected: number[] }>(),
  imageCnn: imageCnnCodec,
  features: splitsCodec('features'),
  denoiser: denoiserCodec,
  classify: classifyCodec,
  evaluate: plain(),
  attackBaseline: plain(),
  attackDefended: plain(),
};
