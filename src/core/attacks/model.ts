/**
 * What every attack sees: a classifier as a differentiable function from a batch of flat inputs
 * to logits, the box the inputs live in, and whether the function is random (a purifier).
 */
import * as tf from '@tensorflow/tfjs';

export interface AttackModel {
  /**
   * Logits [n, C] of inputs x [n, d], built from tf ops so gradients flow to x. A randomized
   * model draws its randomness from `seed` (one seed per call; each row of the batch gets its own
   * draw), so the same (x, seed) gives the same logits and an attack stays reproducible.
   */
  logits(x: tf.Tensor2D, seed: number): tf.Tensor2D;
  numClasses: number;
  /** True when the logits depend on the seed: gradient attacks then average over EOT draws. */
  randomized: boolean;
  /** Row-major layout of one input, [height, width]; absent for a 1-D feature vector. */
  imageShape?: [number, number];
}

/** Valid inputs: every coordinate in [lo, hi]; null means unbounded. */
export type Box = { lo: number; hi: number } | null;

export type Norm = 'Linf' | 'L2';

/** A model from a plain function; deterministic unless said otherwise. */
export function attackModel(
  logits: (x: tf.Tensor2D, seed: number) => tf.Tensor2D, numClasses: number,
  opts: { randomized?: boolean; imageShape?: [number, number] } = {},
): AttackModel {
  return { logits, numClasses, randomized: opts.randomized ?? false, imageShape: opts.imageShape };
}

/** A TF.js Layers model that outputs logits, as an AttackModel. */
export function layersAttackModel(model: tf.LayersModel, imageShape?: [number, number]): AttackModel {
  const out = model.outputs[0].shape;
  const numClasses = out[out.length - 1];
  if (typeof numClasses !== 'number') throw new Error(`model ${model.name}: output has no fixed class count`);
  return attackModel((x) => model.apply(x) as tf.Tensor2D, numClasses, { imageShape });
}
