/**
 * NMF V ≈ WH by multiplicative updates (Lee & Seung 2000): H first, then W, each iteration,
 * for the generalized KL divergence or the Frobenius loss.
 *
 * V, W and H stay on the device. Each iteration leaves its loss as a device scalar; the scalars
 * are read in one batch every CHECK_EVERY iterations, which is also where the tolerance and the
 * AbortSignal are checked, progress is reported and the event loop gets a turn. So a run may go up
 * to CHECK_EVERY − 1 iterations past the one that met the tolerance; those are kept and reported.
 *
 * With `helpers` (KL only), other threads each take a share of every iteration's products
 * (klShare.ts) and this thread takes the last one: the same factors and losses, bit for bit.
 */
import * as tf from '@tensorflow/tfjs';
import { initFactorsAsync, type InitMethod } from './init';
import { KL_EPSILON, ZERO_LOG_GUARD, klDivergenceFromRatio, klMultiplyW, klRatio, klRowSums } from './kl';
import { localKlShare, splitRows, type KlShare, type KlShareFactory } from './klShare';
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
  /** Other threads that each take a share of every KL iteration (ignored for the Frobenius loss). */
  helpers?: KlShareFactory[];
  /** Vᵀ, where the caller has it: saves transposing V (a second or more at 16,384 × 1,540 on WASM). */
  transposed?: tf.Tensor2D;
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
  first(W: tf.Tensor2D, H: tf.Tensor2D): Promise<Iterate>;
  /** One H-then-W update; does not dispose its argument. `more`: another update may follow this one. */
  next(state: Carried, more: boolean): Promise<Iterate>;
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
    first: async (W, H) => iterate(W, H),
    next: async ({ W, carry: [Rt, Ht] }) =>
      tf.tidy(() => {
        const HnT = klMultiplyW(Ht as tf.Tensor2D, Rt as tf.Tensor2D, W, tf.add(tf.sum(W, 0), KL_EPSILON));
        const Hn = tf.transpose(HnT);
        const Wn = klMultiplyW(W, klRatio(V, W, Hn), HnT, klRowSums(Hn));
        return iterate(Wn, Hn);
      }),
    dispose: () => rowSumsVgT.dispose(),
  };
}

/**
 * KL iterations with the products split over shares (klShare.ts), the last one computed here.
 * Each iterate's ratio step also forms the next Hᵀ (when another update may follow), so the shares
 * meet twice per iteration: Hᵀ gathered after the ratio, W gathered after the W update. A carried
 * Hᵀ that no update uses (the run stopped on the tolerance) is disposed with the iterate.
 */
function sharedKlStepper(shares: KlShare[]): Stepper {
  const gather = <T extends tf.Tensor>(parts: T[]): T => {
    const whole = (parts.length === 1 ? parts[0].clone() : tf.concat(parts, 0)) as T;
    tf.dispose(parts);
    return whole;
  };
  /** Every share's answer, or (one failed) the first error with the others' tensors freed. */
  const each = async <T,>(call: (s: KlShare) => Promise<T>): Promise<T[]> => {
    const settled = await Promise.allSettled(shares.map(call));
    const failed = settled.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (!failed) return settled.map((r) => (r as PromiseFulfilledResult<T>).value);
    // tf.dispose walks objects and skips nulls.
    for (const r of settled) if (r.status === 'fulfilled') tf.dispose(r.value as tf.TensorContainer);
    throw failed.reason;
  };
  const iterate = async (W: tf.Tensor2D, H: tf.Tensor2D, Ht: tf.Tensor2D, more: boolean): Promise<Iterate> => {
    const results = await each((s) => s.ratio(W, Ht, more));
    const divergence = gather(results.map((r) => r.divergence));
    const loss = tf.sum(divergence) as tf.Scalar;
    divergence.dispose();
    const carry = more ? [gather(results.map((r) => r.nextHt!))] : [];
    return { W, H, carry, loss };
  };
  return {
    first: async (W, H) => {
      const Ht = tf.transpose(H);
      try {
        return await iterate(W, H, Ht, true);
      } finally {
        Ht.dispose();
      }
    },
    next: async ({ carry: [HnT] }, more) => {
      const Wn = gather(await each((s) => s.updateW(HnT as tf.Tensor2D)));
      const Hn = tf.transpose(HnT) as tf.Tensor2D;
      try {
        return await iterate(Wn, Hn, HnT as tf.Tensor2D, more);
      } catch (err) {
        tf.dispose([Wn, Hn]);
        throw err;
      }
    },
    dispose: () => {
      for (const s of shares) s.dispose();
    },
  };
}

/**
 * The shares of V's rows: one per helper, then this thread's. Helpers read their blocks and
 * return; this thread's share owns its slices. If a helper fails, the shares made so far are ended.
 */
async function makeShares(V: tf.Tensor2D, VgT: tf.Tensor2D, helpers: KlShareFactory[]): Promise<KlShare[]> {
  const [m, n] = V.shape;
  const images = splitRows(n, helpers.length + 1);
  const pixels = splitRows(m, helpers.length + 1);
  const blocks = (p: number) => ({
    images: images[p], pixels: pixels[p],
    VgT: tf.slice(VgT, [images[p][0], 0], [images[p][1] - images[p][0], m]) as tf.Tensor2D,
    V: tf.slice(V, [pixels[p][0], 0], [pixels[p][1] - pixels[p][0], n]) as tf.Tensor2D,
  });
  const shares: KlShare[] = [];
  try {
    for (let p = 0; p < helpers.length; p++) {
      const b = blocks(p);
      try {
        shares.push(await helpers[p](b));
      } finally {
        tf.dispose([b.VgT, b.V]);
      }
    }
    shares.push(localKlShare(blocks(helpers.length)));
    return shares;
  } catch (err) {
    for (const s of shares) s.dispose();
    throw err;
  }
}

/** Frobenius iterations; WᵀV is formed as (VᵀW)ᵀ so that V stays the left factor (see klStepper). */
function frobeniusStepper(V: tf.Tensor2D, VT: tf.Tensor2D): Stepper {
  const iterate = (W: tf.Tensor2D, H: tf.Tensor2D): Iterate =>
    tf.tidy(() => ({ W, H, carry: [], loss: frobeniusLoss(V, tf.matMul(W, H)) }));
  return {
    first: async (W, H) => iterate(W, H),
    next: async ({ W, H }) =>
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
  const t = opts.transposed;
  if (t && (t.shape[0] !== n || t.shape[1] !== m)) throw new RangeError(`factorize: transposed is ${t.shape.join(' × ')}, V is ${m} × ${n}`);
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
  const { transposed } = opts;
  const VgT = tf.tidy(() => (transposed ? tf.add(transposed, ZERO_LOG_GUARD) : tf.transpose(tf.add(V, ZERO_LOG_GUARD))) as tf.Tensor2D);
  let stepper: Stepper | null = null;
  let state: Carried | null = null;
  let pending: tf.Scalar[] = [];
  try {
    // Helpers receive their blocks while this thread initializes the factors.
    const helpers = opts.loss === 'kl' ? opts.helpers ?? [] : [];
    const sharing = helpers.length > 0 ? makeShares(V, VgT, helpers) : null;
    let factors: Awaited<ReturnType<typeof initFactorsAsync>>;
    try {
      factors = await initFactorsAsync(V, opts.rank, opts.init, opts.seed, VgT);
    } catch (err) {
      for (const share of (await sharing?.catch(() => null)) ?? []) share.dispose();
      throw err;
    }
    const { W, H } = factors;
    try {
      stepper = sharing ? sharedKlStepper(await sharing) : opts.loss === 'kl' ? klStepper(V, VgT) : frobeniusStepper(V, VgT);
    } catch (err) {
      tf.dispose([W, H]);
      throw err;
    }
    // Each iterate's loss scalar moves to `pending` until it is read; the factors stay in `state`.
    const start = await stepper.first(W, H);
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
      const next: Iterate = await stepper.next(state, iterations + 1 < opts.maxIter);
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
