/**
 * Leading singular triplets of a large dense matrix A (m × n) by randomized subspace iteration
 * (Halko, Martinsson & Tropp 2011, Alg. 4.4 with a Rayleigh–Ritz step), since tfjs has no SVD.
 *
 * The sketch lives on the smaller side s = min(m, n): a seeded Gaussian s × k block, k = rank +
 * oversample, is pushed through AᵀA (or AAᵀ) a few times and re-orthonormalized each time in
 * float64 on the CPU (only s × k numbers cross per step). The big side b = max(m, n) stays on the
 * device, where every product uses plain matMuls with the small factor transposed up front
 * (matMul's transpose flags are far slower on the WASM backend).
 */
import * as tf from '@tensorflow/tfjs';
import { createRandom } from '../random';
import { orthonormalColumns } from './householder';
import { symmetricEigen } from './symmetricEigen';

export interface TruncatedSvd {
  /** Left singular vectors, m × rank (device). */
  U: tf.Tensor2D;
  /** Singular values, largest first; 0 where A has lower rank. */
  S: Float64Array;
  /** Right singular vectors as rows, rank × n (device). */
  Vt: tf.Tensor2D;
}

export interface RandomizedSvdOptions {
  /** Extra sketch columns beyond rank (Halko et al. suggest 5–10). */
  oversample?: number;
  /** Applications of AᵀA before the Rayleigh–Ritz step; each sharpens the gap by (σ_{k+1}/σ_j)². */
  powerIterations?: number;
  /**
   * Aᵀ, when the caller has it: then both products keep the big matrix as the left matMul factor
   * (the WASM backend packs, and caches, a copy of the right factor).
   */
  transposed?: tf.Tensor2D;
}

/** Singular values below this fraction of σ₁ are treated as zero (float32 products cannot resolve them). */
const RELATIVE_CUTOFF = 1e-6;

/**
 * The algorithm as a generator: it yields each tensor it must read on the CPU and resumes with
 * its values, so one text serves a synchronous driver (dataSync) and an asynchronous one (data(),
 * which WebGPU needs to avoid its slow synchronous readback).
 */
function* randomizedSvdProgram(
  A: tf.Tensor2D,
  rank: number,
  seed: number,
  options: RandomizedSvdOptions,
): Generator<tf.Tensor, TruncatedSvd, ArrayLike<number>> {
  const [m, n] = A.shape;
  const tall = m >= n;
  const s = tall ? n : m;
  if (!Number.isInteger(rank) || rank < 1 || rank > s) throw new RangeError(`randomizedSvd: rank ${rank} must be in 1..${s}`);
  const k = Math.min(s, rank + (options.oversample ?? 10));
  const powerIterations = options.powerIterations ?? 4;

  // op = A when tall (the small side is the row space), Aᵀ when wide. Without Aᵀ, a product by
  // Aᵀ runs as (YᵀA)ᵀ, transposing only the small factor.
  const At = options.transposed;
  if (At && (At.shape[0] !== n || At.shape[1] !== m)) throw new RangeError(`randomizedSvd: transposed has shape ${At.shape}, expected ${n},${m}`);
  const times = (X: tf.Tensor2D): tf.Tensor2D => tf.matMul(A, X); // A · X
  const transposeTimes = (Y: tf.Tensor2D): tf.Tensor2D => (At ? tf.matMul(At, Y) : tf.transpose(tf.matMul(tf.transpose(Y), A))); // Aᵀ · Y
  const opTimes = (X: tf.Tensor2D): tf.Tensor2D => tf.tidy(() => (tall ? times(X) : transposeTimes(X))); // op · X: s × k → b × k
  const opTransposeTimes = (Y: tf.Tensor2D): tf.Tensor2D => tf.tidy(() => (tall ? transposeTimes(Y) : times(Y))); // opᵀ · Y: b × k → s × k
  const upload = (Q: Float64Array): tf.Tensor2D => tf.tensor2d(Float32Array.from(Q), [s, k]);

  const rng = createRandom(seed, 'randomized-svd');
  const omega = new Float64Array(s * k);
  for (let i = 0; i < omega.length; i++) omega[i] = rng.normal();
  let Q = orthonormalColumns(omega, s, k);
  for (let it = 0; it < powerIterations; it++) {
    const z = yield tf.tidy(() => opTransposeTimes(opTimes(upload(Q))));
    Q = orthonormalColumns(z, s, k);
  }

  // Rayleigh–Ritz: G = Qᵀ(opᵀop)Q = P Λ Pᵀ; op ≈ (Y P Λ^{-1/2}) Λ^{1/2} (Q P)ᵀ with Y = op Q.
  const Y = tf.tidy(() => opTimes(upload(Q)));
  try {
    const z = yield opTransposeTimes(Y);
    const G = new Float64Array(k * k);
    for (let a = 0; a < k; a++) {
      for (let c = 0; c < k; c++) {
        let sum = 0;
        for (let i = 0; i < s; i++) sum += Q[i * k + a] * z[i * k + c];
        G[a * k + c] = sum;
      }
    }
    const { values, vectors } = symmetricEigen(G, k);
    const S = new Float64Array(rank);
    const sigmaMax = Math.sqrt(Math.max(values[0], 0));
    for (let j = 0; j < rank; j++) {
      const sigma = Math.sqrt(Math.max(values[j], 0));
      S[j] = sigma > RELATIVE_CUTOFF * sigmaMax ? sigma : 0;
    }
    const smallSide = new Float32Array(s * rank); // Q P: the small side's singular vectors
    for (let i = 0; i < s; i++) {
      for (let j = 0; j < rank; j++) {
        let sum = 0;
        for (let a = 0; a < k; a++) sum += Q[i * k + a] * vectors[a * k + j];
        smallSide[i * rank + j] = sum;
      }
    }
    const bigScale = new Float32Array(k * rank); // P Λ^{-1/2}; a zero singular value gives a zero vector
    for (let a = 0; a < k; a++) for (let j = 0; j < rank; j++) bigScale[a * rank + j] = S[j] > 0 ? vectors[a * k + j] / S[j] : 0;
    const [U, Vt] = tf.tidy((): [tf.Tensor2D, tf.Tensor2D] => {
      const big = tf.matMul<tf.Tensor2D>(Y, tf.tensor2d(bigScale, [k, rank]));
      const small = tf.tensor2d(smallSide, [s, rank]);
      return tall ? [big, tf.transpose(small)] : [small, tf.transpose(big)];
    });
    return { U, S, Vt };
  } finally {
    Y.dispose();
  }
}

/** Leading `rank` singular triplets of A; deterministic for a seed. Reads back synchronously. */
export function randomizedSvd(A: tf.Tensor2D, rank: number, seed: number, options: RandomizedSvdOptions = {}): TruncatedSvd {
  const program = randomizedSvdProgram(A, rank, seed, options);
  let step = program.next();
  while (!step.done) {
    const t = step.value;
    const values = t.dataSync();
    t.dispose();
    step = program.next(values);
  }
  return step.value;
}

/** As randomizedSvd, reading back with data() so the thread is not blocked on a GPU backend. */
export async function randomizedSvdAsync(A: tf.Tensor2D, rank: number, seed: number, options: RandomizedSvdOptions = {}): Promise<TruncatedSvd> {
  const program = randomizedSvdProgram(A, rank, seed, options);
  let step = program.next();
  while (!step.done) {
    const t = step.value;
    const values = await t.data();
    t.dispose();
    step = program.next(values);
  }
  return step.value;
}
