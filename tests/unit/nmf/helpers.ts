import * as tf from '@tensorflow/tfjs';
import { createRandom } from '../../../src/core/random';

/** A uniform(lo, hi) matrix from a seeded stream, as float64 values and a float32 tensor. */
export function uniformMatrix(rows: number, cols: number, seed: number, lo = 0.1, hi = 1): { values: Float64Array; tensor: tf.Tensor2D } {
  const rng = createRandom(seed, 'nmf-test');
  const values = new Float64Array(rows * cols);
  for (let i = 0; i < values.length; i++) values[i] = Math.fround(rng.uniform(lo, hi));
  return { values, tensor: tf.tensor2d(Float32Array.from(values), [rows, cols]) };
}

/** An exactly rank-r non-negative matrix W₀H₀ (m × n) with positive factors. */
export function lowRankMatrix(m: number, n: number, r: number, seed: number): tf.Tensor2D {
  const W0 = uniformMatrix(m, r, seed).tensor;
  const H0 = uniformMatrix(r, n, seed + 1).tensor;
  const V = tf.matMul(W0, H0) as tf.Tensor2D;
  tf.dispose([W0, H0]);
  return V;
}

/** Plain float64 A·B for row-major A (m × k) and B (k × n). */
export function matMulJs(A: ArrayLike<number>, B: ArrayLike<number>, m: number, k: number, n: number): Float64Array {
  const C = new Float64Array(m * n);
  for (let i = 0; i < m; i++) for (let p = 0; p < k; p++) for (let j = 0; j < n; j++) C[i * n + j] += A[i * k + p] * B[p * n + j];
  return C;
}

export function relativeError(a: tf.Tensor, b: tf.Tensor): number {
  return tf.tidy(() => tf.norm(tf.sub(a, b)).dataSync()[0] / tf.norm(b).dataSync()[0]);
}

export function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let d = 0;
  for (let i = 0; i < a.length; i++) d = Math.max(d, Math.abs(a[i] - b[i]));
  return d;
}
