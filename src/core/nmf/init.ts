/**
 * Starting factors for NMF, following scikit-learn's conventions:
 * - 'random': |N(0, 1)| entries scaled by sqrt(mean(V) / rank), so WH starts at V's mean level.
 * - 'nndsvda': NNDSVD (Boutsidis & Gallopoulos 2008) — each leading singular pair (u_j, v_j) is
 *   split into its positive and negative parts and the pair with the larger norm product kept,
 *   scaled by sqrt(σ_j · that product); the first pair is one-signed (Perron–Frobenius) and
 *   enters by absolute value. Entries below 1e-6 are then set to mean(V) (the 'a' variant), so
 *   no multiplicative update starts from a zero it could never leave. That fill is large next to
 *   the later components: on data with dense factors it starts above a random init, on
 *   parts-based data (images) well below; the updates soon make up either way.
 */
import * as tf from '@tensorflow/tfjs';
import { createRandom } from '../random';
import { randomizedSvd, randomizedSvdAsync, type TruncatedSvd } from './svd';

export type InitMethod = 'nndsvda' | 'random';

export interface Factors {
  W: tf.Tensor2D;
  H: tf.Tensor2D;
}

/** scikit-learn's threshold below which NNDSVD entries count as zero. */
const NNDSVD_ZERO = 1e-6;
/** Guards the division by a part's norm when that part is empty (its branch is then unused). */
const NORM_FLOOR = 1e-30;

function checkArguments(V: tf.Tensor2D, rank: number, method: string): void {
  const [m, n] = V.shape;
  if (!Number.isInteger(rank) || rank < 1 || rank > Math.min(m, n)) {
    throw new RangeError(`initFactors: rank ${rank} must be an integer in 1..${Math.min(m, n)} for a ${m} × ${n} matrix`);
  }
  if (method !== 'nndsvda' && method !== 'random') throw new RangeError(`initFactors: unknown method ${method}`);
}

function randomFactors(V: tf.Tensor2D, rank: number, seed: number): Factors {
  const [m, n] = V.shape;
  const halfNormal = (label: string, size: number): Float32Array => {
    const rng = createRandom(seed, label);
    const out = new Float32Array(size);
    for (let i = 0; i < size; i++) out[i] = Math.abs(rng.normal());
    return out;
  };
  const w = halfNormal('nmf-init-W', m * rank);
  const h = halfNormal('nmf-init-H', rank * n);
  return tf.tidy(() => {
    const scale = tf.sqrt(tf.div(tf.mean(V), rank));
    return {
      W: tf.mul(tf.tensor2d(w, [m, rank]), scale) as tf.Tensor2D,
      H: tf.mul(tf.tensor2d(h, [rank, n]), scale) as tf.Tensor2D,
    };
  });
}

/** NNDSVD with zeros filled by mean(V), from the leading singular triplets of V. */
export function nndsvdaFromSvd(V: tf.Tensor2D, svd: TruncatedSvd): Factors {
  const rank = svd.S.length;
  return tf.tidy(() => {
    const firstColumn = tf.tensor1d(Float32Array.from({ length: rank }, (_, j) => (j === 0 ? 1 : 0)));
    const U = tf.add(svd.U, tf.mul(tf.sub(tf.abs(svd.U), svd.U), firstColumn)); // |u₀|, u₁, …
    const Vt = tf.add(svd.Vt, tf.mul(tf.sub(tf.abs(svd.Vt), svd.Vt), tf.reshape(firstColumn, [rank, 1])));
    const xPos = tf.relu(U);
    const xNeg = tf.relu(tf.neg(U));
    const yPos = tf.relu(Vt);
    const yNeg = tf.relu(tf.neg(Vt));
    const xPosNorm = tf.norm(xPos, 'euclidean', 0);
    const xNegNorm = tf.norm(xNeg, 'euclidean', 0);
    const yPosNorm = tf.norm(yPos, 'euclidean', 1);
    const yNegNorm = tf.norm(yNeg, 'euclidean', 1);
    const massPos = tf.mul(xPosNorm, yPosNorm);
    const massNeg = tf.mul(xNegNorm, yNegNorm);
    const usePos = tf.cast(tf.greater(massPos, massNeg), 'float32'); // 1 keeps the positive parts
    const useNeg = tf.sub(1, usePos);
    const sigma = tf.add(tf.mul(usePos, massPos), tf.mul(useNeg, massNeg));
    const lambda = tf.sqrt(tf.mul(tf.tensor1d(Float32Array.from(svd.S)), sigma));
    const unit = (part: tf.Tensor, norm: tf.Tensor): tf.Tensor => tf.div(part, tf.maximum(norm, NORM_FLOOR));
    const W = tf.mul(tf.add(tf.mul(unit(xPos, xPosNorm), usePos), tf.mul(unit(xNeg, xNegNorm), useNeg)), lambda);
    const lambdaColumn = tf.reshape(lambda, [rank, 1]);
    const usePosColumn = tf.reshape(usePos, [rank, 1]);
    const useNegColumn = tf.reshape(useNeg, [rank, 1]);
    const yPosUnit = unit(yPos, tf.reshape(yPosNorm, [rank, 1]));
    const yNegUnit = unit(yNeg, tf.reshape(yNegNorm, [rank, 1]));
    const H = tf.mul(tf.add(tf.mul(yPosUnit, usePosColumn), tf.mul(yNegUnit, useNegColumn)), lambdaColumn);
    const mean = tf.mean(V);
    const fillZeros = (F: tf.Tensor): tf.Tensor2D => {
      const isZero = tf.cast(tf.less(F, NNDSVD_ZERO), 'float32');
      return tf.add(tf.mul(F, tf.sub(1, isZero)), tf.mul(isZero, mean)) as tf.Tensor2D;
    };
    return { W: fillZeros(W), H: fillZeros(H) };
  });
}

/**
 * W (pixels × rank) and H (rank × images) to start the multiplicative updates from V.
 * Deterministic for a seed. Synchronous; on a GPU backend prefer initFactorsAsync. `transposed`
 * (Vᵀ, optional) only speeds up the SVD sketch.
 */
export function initFactors(V: tf.Tensor2D, rank: number, method: InitMethod, seed: number, transposed?: tf.Tensor2D): Factors {
  checkArguments(V, rank, method);
  if (method === 'random') return randomFactors(V, rank, seed);
  const svd = randomizedSvd(V, rank, seed, { transposed });
  try {
    return nndsvdaFromSvd(V, svd);
  } finally {
    tf.dispose([svd.U, svd.Vt]);
  }
}

/** As initFactors, reading the sketch back asynchronously. */
export async function initFactorsAsync(V: tf.Tensor2D, rank: number, method: InitMethod, seed: number, transposed?: tf.Tensor2D): Promise<Factors> {
  checkArguments(V, rank, method);
  if (method === 'random') return randomFactors(V, rank, seed);
  const svd = await randomizedSvdAsync(V, rank, seed, { transposed });
  try {
    return nndsvdaFromSvd(V, svd);
  } finally {
    tf.dispose([svd.U, svd.Vt]);
  }
}
