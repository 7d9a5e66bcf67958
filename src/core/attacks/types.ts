/** What every attack returns and the options every attack takes. */
import type * as tf from '@tensorflow/tfjs';
import type { Box, Norm } from './model';

export interface AttackOutcome {
  /** Adversarial inputs [n, d]: for a broken point the first input found that the model misclassifies; for a robust point the best-loss point found (the clean input if the attack did not run on it). Caller disposes. */
  adversarial: tf.Tensor2D;
  /** Per point, 1 while the model still classifies it correctly after this attack. Points passed in with active[i] = 0 keep robust[i] = 0 and are not attacked. */
  robust: Uint8Array;
  /** Per point, the attack's loss at each iteration/query (row-major iterations × n), read back once at the end. For Square: the margin after each query. */
  lossTrace: Float32Array;
  iterationsRun: number;
  /** Set when the attack cannot run on this model (e.g. DLR with 2 classes): the reason, and robust = the clean-correct flags. */
  skipped?: string;
}

export interface AttackCommon {
  eps: number;
  norm: Norm;
  box: Box;
  seed: number;
  /** EOT draws per gradient / margin evaluation for a randomized model (ignored, treated as 1, for a deterministic one). Batched: tile x E times into one logits call. */
  eot?: number;
  /** Points to attack (1) — e.g. those still robust in an ensemble; default all correctly classified. */
  active?: Uint8Array;
  onProgress?: (done: number, total: number) => void;
  signal?: AbortSignal;
}
