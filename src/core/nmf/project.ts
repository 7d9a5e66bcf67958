/**
 * Activations of any image set on a learned basis W, by multiplicative updates of the
 * activations alone (W fixed) — the NNLS-style projection of the papers, solved for the same
 * loss the basis was learned with.
 *
 * Every op is a differentiable tf op and the start is a constant (no randomness), so the
 * unrolled projection is a pure function of the pixels an attacker can back-propagate through.
 * The start's scale does not matter: one multiplicative step maps H₀ and cH₀ to the same H₁
 * (both updates are homogeneous of degree 0 in H), so ones is as good as any constant.
 */
import * as tf from '@tensorflow/tfjs';
import { KL_EPSILON, guardedProduct, klMultiplyW } from './kl';
import { frobeniusMultiplyW } from './frobenius';

export type ProjectionLoss = 'kl' | 'frobenius';

/** Floor of a squared row norm: keeps the normalization and its gradient finite for an all-zero row. */
const NORM_SQUARED_FLOOR = 1e-24;

/** Run `iterations` steps of `step`, disposing each superseded iterate (gradients keep their own copies). */
function iterate(start: tf.Tensor2D, iterations: number, step: (X: tf.Tensor2D) => tf.Tensor2D): tf.Tensor2D {
  let current = start;
  for (let i = 0; i < iterations; i++) {
    const previous = current;
    current = tf.tidy(() => step(previous));
    previous.dispose();
  }
  return current;
}

/**
 * Activations A = Hᵀ (images × rank) of X (images × pixels) with W fixed, after `iterations`
 * multiplicative updates from A = 1. The updates run on the transposed problem X ≈ A Wᵀ, where
 * the activations update is the W update with Wᵀ in the role of H, so the batch stays in the
 * attacker's layout and the big ratio is always the left matMul factor (the WASM backend packs
 * the right one on every call). Wᵀ and 1ᵀW (or XW and WᵀW) are formed once.
 */
function projectRows(X: tf.Tensor2D, W: tf.Tensor2D, iterations: number, loss: ProjectionLoss): tf.Tensor2D {
  return tf.tidy(() => {
    const Wt = tf.transpose(W);
    const A0 = tf.ones([X.shape[0], W.shape[1]]) as tf.Tensor2D;
    if (loss === 'kl') {
      const columnSums = tf.add(tf.sum(W, 0), KL_EPSILON) as tf.Tensor1D;
      return iterate(A0, iterations, (A) => klMultiplyW(A, tf.div<tf.Tensor2D>(X, guardedProduct(A, Wt)), W, columnSums));
    }
    const XW = tf.matMul<tf.Tensor2D>(X, W);
    const WtW = tf.matMul<tf.Tensor2D>(Wt, W);
    return iterate(A0, iterations, (A) => frobeniusMultiplyW(A, XW, WtW));
  });
}

/**
 * Activations (rank × images) of V (pixels × images) with W (pixels × rank) fixed, after
 * `iterations` multiplicative updates of H alone from H = 1 (the H update of the loss named).
 */
export function projectActivations(V: tf.Tensor2D, W: tf.Tensor2D, iterations: number, loss: ProjectionLoss = 'kl'): tf.Tensor2D {
  checkShapes(V.shape[0], W, iterations, 'projectActivations');
  return tf.tidy(() => tf.transpose(projectRows(tf.transpose(V), W, iterations, loss)));
}

/** Images × rank: the activations transposed, each image's row scaled to unit L2 norm. */
export function normalizeActivations(H: tf.Tensor2D): tf.Tensor2D {
  return tf.tidy(() => normalizeRows(tf.transpose(H)));
}

/** Rows of A (images × features) scaled to unit L2 norm, ε-guarded. */
export function normalizeRows(A: tf.Tensor2D): tf.Tensor2D {
  return tf.mul(A, tf.rsqrt(tf.maximum(tf.sum(tf.square(A), 1, true), NORM_SQUARED_FLOOR)));
}

/**
 * L2-normalized NMF features (images × rank) of X (images × pixels): the projection of
 * projectActivations without transposing the batch, then normalizeActivations. Differentiable in X.
 */
export function imageFeatures(X: tf.Tensor2D, W: tf.Tensor2D, iterations: number, loss: ProjectionLoss = 'kl'): tf.Tensor2D {
  checkShapes(X.shape[1], W, iterations, 'imageFeatures');
  return tf.tidy(() => normalizeRows(projectRows(X, W, iterations, loss)));
}

function checkShapes(pixels: number, W: tf.Tensor2D, iterations: number, name: string): void {
  if (pixels !== W.shape[0]) throw new RangeError(`${name}: images have ${pixels} pixels but W has ${W.shape[0]} rows`);
  if (!Number.isInteger(iterations) || iterations < 0) throw new RangeError(`${name}: iterations ${iterations} must be a non-negative integer`);
}
