/**
 * NMF V ≈ WH by multiplicative updates (Lee & Seung 2000): H first, then W, each iteration,
 * for the generalized KL divergence or the Frobenius loss.
 *
 * V, W and H stay on the device. Each iteration leaves its loss as a device scalar; the scalars
 * are read in one batch every CHECK_EVERY iterations, which is also where the tolerance and the
 * AbortSignal are checked, progress is reported and the event loop gets a turn. So a run may go up
 * to CHECK_EVERY − 1 iterations past the one that met the tolerance; those are kept and reported.
 */
import * as tf from '@tensorflow/tfjs';
import { initFactorsAsync, type InitMethod } from './init';
import { KL_EPSILON, ZERO_LOG_GUARD, klDivergenceFromRatio, klMultiplyW, klRatio, klRowSums } from './kl';
import { frobeniusLoss, frobeniusMultiplyH, frobeniusMultiplyW } from './frobenius';

export interface NmfOptions {
  rank: number;
  loss: 'kl' | 'frobenius';
  init: InitMethod;
  maxIter: number;
  /** Stop once (loss[k−1] − loss[k]) / loss[k−1] < tol (a rise from rounding counts as < tol); 0 runs all maxIter. */
  tol: number;
  seed: number;
  onProgress?: (iteration: number, maxIter: number, loss: number) => void;
  signal?: AbortSignal;
}

export interface NmfResult {
  W: tf.Tensor2D;
  H: tf.Tensor2D;
  /** loss[i] is the loss after iteration i + 1; loss.length === iterations. */
  loss: number[];
  /** The loss of the initial factors, before any update. */
  initialLoss: number;
  iterations: number;
  converged: boolean;
}

/** Iterations between readbacks, tolerance and abort checks. */
export const CHECK_EVERY = 10;

/** The factors of one iterate and what the next iteration can reuse from it. */
type Carried = {
  W: tf.Tensor2D;
  H: tf.Tensor2D;
  carry: tf.Tensor[];
};

/** An iterate with its loss, still on the device. */
type Iterate = Carried & { loss: tf.Scalar };

interface Stepper {
  /** Takes ownership of W and H. */
  first(W: tf.Tensor2D, H: tf.Tensor2D): Iterate;
  /** One H-then-W update; does not dispose its argument. */
  next(state: Carried): Iterate;
  dispose(): void;
}

/**
 * KL iterations arranged so that every big operand is the left factor of its matMul (the WASM
 * backend packs the right factor on each call: a fresh pixels × images right factor costs ~4×
 * the product). The H update runs on the transposed problem Vᵀ ≈ HᵀWᵀ, where it is the W
 * update, Hᵀ ← Hᵀ ⊙ (Rᵀ W) ⊘ (1ᵀW); its ratio Rᵀ = Vᵀ ⊘ (HᵀWᵀ + ε), formed from a transposed copy
 * of V made once, also gives the loss of the iterate. The W update uses V as is.
 */
function klStepper(V: tf.Tensor2D, VgT: tf.Tensor2D): Stepper {
  const rowSumsVgT = tf.tidy(() => tf.sum(VgT, 1) as tf.Tensor1D);
  const iterate = (W: tf.Tensor2D, H: tf.Tensor2D): Iterate =>
    tf.tidy(() => {
      const Ht = tf.transpose(H);
      const Wt = tf.transpose(W);
      const Rt = klRatio(VgT, Ht, Wt);
      return { W, H, carry: [Rt, Ht], loss: klDivergenceFromRatio(VgT, Rt, Ht, Wt, rowSumsVgT) };
    });
  return {
    first: iterate,
    next: ({ W, carry: [Rt, Ht] }) =>
      tf.tidy(() => {
        const HnT = klMultiplyW(Ht as tf.Tensor2D, Rt as tf.Tensor2D, W, tf.add(tf.sum(W, 0), KL_EPSILON));
        const Hn = tf.transpose(HnT);
        const Wn = klMultiplyW(W, klRatio(V, W, Hn), HnT, klRowSums(Hn));
        return iterate(Wn, Hn);
      }),
    dispose: () => rowSumsVgT.dispose(),
  };
}

/** Frobenius iterations; WᵀV is formed as (VᵀW)ᵀ so that V stays the left factor (see klStepper). */
function frobeniusStepper(V: tf.Tensor2D, VT: tf.Tensor2D): Stepper {
  const iterate = (W: tf.Tensor2D, H: tf.Tensor2D): Iterate =>
    tf.tidy(() => ({ W, H, carry: [], loss: frobeniusLoss(V, tf.matMul(W, H)) }));
  return {
    first: iterate,
    next: ({ W, H }) =>
      tf.tidy(() => {
        const Wt = tf.transpose(W);
        const Hn = frobeniusMultiplyH(H, tf.transpose(tf.matMul(VT, W)), tf.matMul(Wt, W));
        const Hnt = tf.transpose(Hn);
        const Wn = frobeniusMultiplyW(W, tf.matMul(V, Hnt), tf.matMul(Hn, Hnt));
        return iterate(Wn, Hn);
      }),
    dispose: () => {},
  };
}

function abortError(): Error {
  if (typeof DOMException !== 'undefined') return new DOMException('NMF aborted', 'AbortError');
  const error = new Error('NMF aborted');
  error.name = 'AbortError';
  return error;
}

/** A macrotask turn, so messages (progress rendering, an abort) get through between batches. */
const yieldToEventLoop = (): Promise<void> => new Promise((resolve) => setTimeout(resolve, 0));

function checkOptions(V: tf.Tensor2D, opts: NmfOptions): void {
  const [m, n] = V.shape;
  const { rank, maxIter, tol } = opts;
  if (!Number.isInteger(rank) || rank < 1 || rank > Math.min(m, n)) throw new RangeError(`factorize: rank ${rank} must be in 1..${Math.min(m, n)}`);
  if (!Number.isInteger(maxIter) || maxIter < 1) throw new RangeError(`factorize: maxIter ${maxIter} must be a positive integer`);
  if (!(tol >= 0)) throw new RangeError(`factorize: tol ${tol} must be ≥ 0`);
  if (opts.loss !== 'kl' && opts.loss !== 'frobenius') throw new RangeError(`factorize: unknown loss ${opts.loss}`);
}

/** Factorize a non-negative V (pixels × images) as W (pixels × rank) · H (rank × images). The caller owns W and H. */
export async function factorize(V: tf.Tensor2D, opts: NmfOptions): Promise<NmfResult> {
  checkOptions(V, opts);
  if (opts.signal?.aborted) throw abortError();
  const minimum = tf.min(V);
  const smallest = (await minimum.data())[0];
  minimum.dispose();
  if (!(smallest >= 0)) throw new RangeError(`factorize: V must be non-negative and finite (min ${smallest})`);

  // Vᵀ (+ the 10⁻³⁰ guard of 0·log 0, far below float32 resolution of any pixel) keeps V the left
  // factor of every big matMul: in the SVD sketch and in both updates.
  const VgT = tf.tidy(() => tf.transpose(tf.add(V, ZERO_LOG_GUARD)) as tf.Tensor2D);
  let stepper: Stepper | null = null;
  let state: Carried | null = null;
  let pending: tf.Scalar[] = [];
  try {
    const { W, H } = await initFactorsAsync(V, opts.rank, opts.init, opts.seed, VgT);
    stepper = opts.loss === 'kl' ? klStepper(V, VgT) : frobeniusStepper(V, VgT);
    // Each iterate's loss scalar moves to `pending` until it is read; the factors stay in `state`.
    const start = stepper.first(W, H);
    state = start;
    pending.push(start.loss);
    if (opts.signal?.aborted) throw abortError();
    const initialLoss = (await start.loss.data())[0];
    tf.dispose(pending);
    pending = [];
    const loss: number[] = [];
    let previous = initialLoss;
    let converged = false;
    let iterations = 0;
    while (iterations < opts.maxIter && !converged) {
      const next: Iterate = stepper.next(state);
      tf.dispose([state.W, state.H, ...state.carry]);
      state = next;
      pending.push(next.loss);
      iterations++;
      if (iterations % CHECK_EVERY !== 0 && iterations !== opts.maxIter) continue;
      const stacked = tf.stack(pending);
      const values = await stacked.data();
      stacked.dispose();
      tf.dispose(pending);
      pending = [];
      for (const value of values) {
        loss.push(value);
        if (!Number.isFinite(value)) throw new Error(`factorize: loss is ${value} at iteration ${loss.length}`);
        opts.onProgress?.(loss.length, opts.maxIter, value);
        if (opts.tol > 0 && !converged && (previous === 0 || (previous - value) / previous < opts.tol)) converged = true;
        previous = value;
      }
      if (opts.signal?.aborted) throw abortError();
      await yieldToEventLoop();
      if (opts.signal?.aborted) throw abortError();
    }
    const result: NmfResult = { W: state.W, H: state.H, loss, initialLoss, iterations, converged };
    tf.dispose(state.carry);
    state = null;
    return result;
  } finally {
    // state is still set only when something threw: nothing escapes.
    if (state) tf.dispose([state.W, state.H, ...state.carry]);
    tf.dispose(pending);
    stepper?.dispose();
    VgT.dispose();
  }
}
