/**
 * Σ_j A_ij log B_ij for each row i: the Σ V log R term of the KL divergence. Composed from tfjs
 * ops, this takes a full pass to form log B and another for the row dot products; on the WASM
 * backend it was 117 of the 244 ms of one KL iteration at 16,384 × 1,540. There a fused kernel
 * (`wasmRowDotLog.ts`) does it in one pass; every other backend runs the composition.
 */
import * as tf from '@tensorflow/tfjs';

export const ROW_DOT_LOG = 'LabRowDotLog';

/** Row i of the result is Σ_j a[i, j] · log b[i, j]; a and b are float32 matrices of one shape. */
export function rowDotLog(a: tf.Tensor2D, b: tf.Tensor2D): tf.Tensor1D {
  tf.util.assertShapesMatch(a.shape, b.shape, 'rowDotLog: ');
  if (tf.getKernel(ROW_DOT_LOG, tf.getBackend())) {
    return tf.engine().runKernel(ROW_DOT_LOG, { a, b }) as tf.Tensor1D;
  }
  return tf.tidy(() => {
    const [m, n] = a.shape;
    // m batches of 1 × n · n × 1.
    return tf.reshape(tf.matMul(tf.reshape(a, [m, 1, n]), tf.reshape(tf.log(b), [m, n, 1])), [m]);
  });
}
