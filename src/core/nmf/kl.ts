/**
 * Generalized Kullback–Leibler divergence D(V‖WH) = Σ V log(V / WH) − V + WH and the
 * multiplicative updates that never increase it (Lee & Seung 2000, Theorem 2):
 *   H ← H ⊙ (Wᵀ (V ⊘ WH)) ⊘ (Wᵀ 1),   W ← W ⊙ ((V ⊘ WH) Hᵀ) ⊘ (1 Hᵀ).
 * V is pixels × images, W pixels × rank (the basis), H rank × images (the activations).
 *
 * The hot loop is built from three pieces so each big product is formed once: the ratio
 * V ⊘ (WH + ε) (shared by an update and the divergence), and the two multiplicative steps that
 * take the small factor's transpose and sums precomputed. Transposes are materialized on the
 * small factor because matMul's transpose flags are ~10× slower on the WASM backend.
 */
import * as tf from '@tensorflow/tfjs';
import { rowDotLog } from './rowDotLog';

/** Added to WH before dividing so that an entry of WH that reached zero gives no 0/0; far below any pixel value. */
export const KL_EPSILON = 1e-10;
/**
 * Added once to V before taking log(V ⊘ WH): where V = 0 the term becomes 1e-30·log(1e-30 / WH) ≈ 1e-28,
 * i.e. 0·log 0 = 0 without an elementwise select (slow on WASM). 1e-30 is a normal float32.
 */
export const ZERO_LOG_GUARD = 1e-30;

/** WH + ε, with ε fused into the matMul as a bias. */
export function guardedProduct(W: tf.Tensor2D, H: tf.Tensor2D): tf.Tensor2D {
  return tf.tidy(() => tf.fused.matMul({ a: W, b: H, bias: tf.fill([H.shape[1]], KL_EPSILON) }) as tf.Tensor2D);
}

/** V ⊘ (WH + ε). */
export function klRatio(V: tf.Tensor2D, W: tf.Tensor2D, H: tf.Tensor2D): tf.Tensor2D {
  return tf.tidy(() => tf.div(V, guardedProduct(W, H)));
}

/** D(V‖WH), summed per row first so float32 accumulates over one row at a time. */
export function klDivergence(V: tf.Tensor2D, WH: tf.Tensor2D): tf.Scalar {
  return tf.tidy(() => {
    const v = tf.add(V, ZERO_LOG_GUARD);
    const wh = tf.add(WH, KL_EPSILON);
    const terms = tf.add(tf.sub(tf.mul(v, tf.log(tf.div(v, wh))), v), wh);
    return tf.sum(tf.sum(terms, 1));
  });
}

/**
 * Row i's share of D(V‖WH + ε), from the ratio R = V ⊘ (WH + ε) the next H update needs anyway:
 *   Σ_j V_ij log R_ij − Σ_j V_ij + (W (H 1))_i + nε,
 * a divergence of its own (≥ 0); the −V + WH part costs a matrix–vector product instead of two
 * passes over V. V must have no zeros (add ZERO_LOG_GUARD); rowSumsV = Σ_j V_ij of that same V, shape [m].
 */
export function klRowDivergences(V: tf.Tensor2D, R: tf.Tensor2D, W: tf.Tensor2D, H: tf.Tensor2D, rowSumsV: tf.Tensor1D): tf.Tensor1D {
  return tf.tidy(() => {
    const [m, n] = V.shape;
    const r = W.shape[1];
    const vLogR = rowDotLog(V, R);
    const reconstructionMass = tf.matMul(W, tf.reshape(tf.sum(H, 1), [r, 1]));
    return tf.add(tf.sub(vLogR, rowSumsV), tf.add(tf.reshape(reconstructionMass, [m]), n * KL_EPSILON));
  });
}

/** D(V‖WH + ε) as the sum of its rows' shares (klRowDivergences), so float32 adds non-negative numbers. */
export function klDivergenceFromRatio(V: tf.Tensor2D, R: tf.Tensor2D, W: tf.Tensor2D, H: tf.Tensor2D, rowSumsV: tf.Tensor1D): tf.Scalar {
  return tf.tidy(() => tf.sum(klRowDivergences(V, R, W, H, rowSumsV)));
}

/**
 * H ⊙ (Wᵀ R) ⊘ (Wᵀ 1). Takes Wt = Wᵀ (rank × pixels) and columnSumsW = Wᵀ1 + ε (rank × 1)
 * precomputed, since a projection reuses them every iteration.
 */
export function klMultiplyH(H: tf.Tensor2D, R: tf.Tensor2D, Wt: tf.Tensor2D, columnSumsW: tf.Tensor2D): tf.Tensor2D {
  return tf.tidy(() => tf.div(tf.mul(H, tf.matMul(Wt, R)), columnSumsW));
}

/** W ⊙ (R Hᵀ) ⊘ (1 Hᵀ). Takes Ht = Hᵀ (images × rank) and rowSumsH = H1 + ε (length rank) precomputed. */
export function klMultiplyW(W: tf.Tensor2D, R: tf.Tensor2D, Ht: tf.Tensor2D, rowSumsH: tf.Tensor1D): tf.Tensor2D {
  return tf.tidy(() => tf.div(tf.mul(W, tf.matMul(R, Ht)), rowSumsH));
}

/** Wᵀ1 + ε as a column (rank × 1): the H update's denominator. */
export function klColumnSums(W: tf.Tensor2D): tf.Tensor2D {
  return tf.tidy(() => tf.reshape(tf.add(tf.sum(W, 0), KL_EPSILON), [W.shape[1], 1]));
}

/** H1 + ε (length rank): the W update's denominator. */
export function klRowSums(H: tf.Tensor2D): tf.Tensor1D {
  return tf.tidy(() => tf.add(tf.sum(H, 1), KL_EPSILON));
}

/** One multiplicative update of H with W fixed. */
export function klUpdateH(V: tf.Tensor2D, W: tf.Tensor2D, H: tf.Tensor2D): tf.Tensor2D {
  return tf.tidy(() => klMultiplyH(H, klRatio(V, W, H), tf.transpose(W), klColumnSums(W)));
}

/** One multiplicative update of W with H fixed. */
export function klUpdateW(V: tf.Tensor2D, W: tf.Tensor2D, H: tf.Tensor2D): tf.Tensor2D {
  return tf.tidy(() => klMultiplyW(W, klRatio(V, W, H), tf.transpose(H), klRowSums(H)));
}
