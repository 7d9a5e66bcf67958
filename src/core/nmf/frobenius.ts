/**
 * Frobenius loss ½‖V − WH‖² and its multiplicative updates (Lee & Seung 2000, Theorem 1):
 *   H ← H ⊙ (Wᵀ V) ⊘ (WᵀW H),   W ← W ⊙ (V Hᵀ) ⊘ (W H Hᵀ).
 * Neither update forms WH: the denominators go through the rank × rank Gram matrices, so each
 * costs one pixels × images × rank matMul. Transposes are materialized on the small factor.
 */
import * as tf from '@tensorflow/tfjs';

/** Keeps a denominator that reached zero from giving 0/0. */
export const FROBENIUS_EPSILON = 1e-10;

/** ½‖V − WH‖², summed per row first so float32 accumulates over one row at a time. */
export function frobeniusLoss(V: tf.Tensor2D, WH: tf.Tensor2D): tf.Scalar {
  return tf.tidy(() => tf.mul(tf.sum(tf.sum(tf.squaredDifference(V, WH), 1)), 0.5));
}

/** H ⊙ WtV ⊘ (WtW H + ε), with WtV = WᵀV (rank × images) and WtW = WᵀW (rank × rank) precomputed. */
export function frobeniusMultiplyH(H: tf.Tensor2D, WtV: tf.Tensor2D, WtW: tf.Tensor2D): tf.Tensor2D {
  return tf.tidy(() => tf.div(tf.mul(H, WtV), tf.add(tf.matMul(WtW, H), FROBENIUS_EPSILON)));
}

/** W ⊙ VHt ⊘ (W HHt + ε), with VHt = VHᵀ (pixels × rank) and HHt = HHᵀ (rank × rank) precomputed. */
export function frobeniusMultiplyW(W: tf.Tensor2D, VHt: tf.Tensor2D, HHt: tf.Tensor2D): tf.Tensor2D {
  return tf.tidy(() => tf.div(tf.mul(W, VHt), tf.add(tf.matMul(W, HHt), FROBENIUS_EPSILON)));
}

/** One multiplicative update of H with W fixed. */
export function frobeniusUpdateH(V: tf.Tensor2D, W: tf.Tensor2D, H: tf.Tensor2D): tf.Tensor2D {
  return tf.tidy(() => {
    const Wt = tf.transpose(W);
    return frobeniusMultiplyH(H, tf.matMul(Wt, V), tf.matMul(Wt, W));
  });
}

/** One multiplicative update of W with H fixed. */
export function frobeniusUpdateW(V: tf.Tensor2D, W: tf.Tensor2D, H: tf.Tensor2D): tf.Tensor2D {
  return tf.tidy(() => {
    const Ht = tf.transpose(H);
    return frobeniusMultiplyW(W, tf.matMul(V, Ht), tf.matMul(H, Ht));
  });
}
