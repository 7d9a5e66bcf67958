/**
 * Per-point attack losses over logits z [n, C] and labels y [n] (int32). Every loss is what the
 * attacker maximizes, one value per point, so gradients of the sum are per-point gradients.
 */
import * as tf from '@tensorflow/tfjs';

/** Logits pushed down where `mask` is 1, so a max over the rest ignores those classes. */
const EXCLUDED = 1e9;

/** Cross-entropy −log softmax(z)_y. */
export function crossEntropy(z: tf.Tensor2D, y: tf.Tensor1D): tf.Tensor1D {
  return tf.tidy(() => {
    const onehot = indicator(y, z.shape[1]);
    return tf.neg(tf.sum(tf.mul(tf.logSoftmax(z), onehot), 1)) as tf.Tensor1D;
  });
}

/** z_y − max_{j≠y} z_j: positive while the point is classified correctly. */
export function margin(z: tf.Tensor2D, y: tf.Tensor1D): tf.Tensor1D {
  return tf.tidy(() => {
    const onehot = indicator(y, z.shape[1]);
    const zy = tf.sum(tf.mul(z, onehot), 1);
    const other = tf.max(tf.sub(z, tf.mul(onehot, EXCLUDED)), 1);
    return tf.sub(zy, other) as tf.Tensor1D;
  });
}

/** One-hot rows as float32. Cast rather than oneHot(…, 'float32'): the WASM kernel returns zeros for a float dtype. */
export function indicator(indices: tf.Tensor1D, classes: number): tf.Tensor2D {
  return tf.tidy(() => tf.cast(tf.oneHot(indices, classes), 'float32') as tf.Tensor2D);
}

/**
 * The `count` largest logits of each row, largest first, by repeated max-and-mask. tf.topk has
 * no gradient in tfjs (its kernel registers none); Max, ArgMax and OneHot do (zero through the
 * indices), which gives DLR its gradient.
 */
export function largestLogits(z: tf.Tensor2D, count: number): tf.Tensor1D[] {
  return tf.tidy(() => {
    const classes = z.shape[1];
    const out: tf.Tensor1D[] = [];
    let rest: tf.Tensor2D = z;
    for (let i = 0; i < count; i++) {
      out.push(tf.max(rest, 1) as tf.Tensor1D);
      if (i + 1 < count) rest = tf.sub(rest, tf.mul(indicator(tf.argMax(rest, 1), classes), EXCLUDED)) as tf.Tensor2D;
    }
    return out;
  });
}

/**
 * Difference of Logits Ratio (Croce & Hein 2020, eq. 5): −(z_y − max_{j≠y} z_j) / (z_π1 − z_π3),
 * invariant to shifting and scaling the logits. Needs at least 3 classes.
 */
export function dlr(z: tf.Tensor2D, y: tf.Tensor1D): tf.Tensor1D {
  if (z.shape[1] < 3) throw new Error(`DLR loss needs at least 3 classes; this model has ${z.shape[1]}`);
  return tf.tidy(() => {
    const [first, , third] = largestLogits(z, 3);
    return tf.div(tf.neg(margin(z, y)), tf.add(tf.sub(first, third), 1e-12)) as tf.Tensor1D;
  });
}

/**
 * Targeted DLR (Croce & Hein 2020, eq. 6): −(z_y − z_t) / (z_π1 − (z_π3 + z_π4)/2), pushing the
 * target class t above the true one. Needs at least 4 classes.
 */
export function targetedDlr(z: tf.Tensor2D, y: tf.Tensor1D, target: tf.Tensor1D): tf.Tensor1D {
  if (z.shape[1] < 4) throw new Error(`targeted DLR loss needs at least 4 classes; this model has ${z.shape[1]}`);
  return tf.tidy(() => {
    const c = z.shape[1];
    const pick = (k: tf.Tensor1D) => tf.sum(tf.mul(z, indicator(k, c)), 1);
    const [first, , third, fourth] = largestLogits(z, 4);
    const scale = tf.add(tf.sub(first, tf.mul(tf.add(third, fourth), 0.5)), 1e-12);
    return tf.div(tf.neg(tf.sub(pick(y), pick(target))), scale) as tf.Tensor1D;
  });
}

/** The k-th most likely class other than the top one, per point (k = 1: runner-up), from clean logits. */
export function rankedClass(z: tf.Tensor2D, k: number): tf.Tensor1D {
  return tf.tidy(() => {
    const { indices } = tf.topk(z, k + 1);
    return tf.squeeze(tf.slice(indices, [0, k], [-1, 1]), [1]) as tf.Tensor1D;
  });
}
