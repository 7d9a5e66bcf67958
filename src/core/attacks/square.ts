/**
 * Square attack, L∞ (Andriushchenko, Croce, Flammarion & Hein, ECCV 2020, Alg. 1 and §3.1), run the
 * way AutoAttack runs it (fra31/auto-attack `square.py`, built by `autoattack.py` with p_init = 0.8,
 * 5,000 queries, 1 restart, loss 'margin', resc_schedule = False): a score-based random search that
 * needs only logits, so it checks that the gradient attacks were not fooled by masked gradients.
 *
 * Per restart: start from vertical stripes (one ±ε per column, shared down the column), clipped to
 * the box; then per query give every still-robust point one random window, set the window to ±2ε
 * (one sign per window) on top of the current best point, project onto the ε-ball ∩ box, and keep
 * the candidate only where the margin z_y − max_{j≠y} z_j falls. A point leaves the search once its
 * margin is ≤ 0. p (the fraction of the input a window covers) halves at queries 10, 50, 200, 500,
 * 1000, 2000, 4000, 6000, 8000 (`squareP`).
 *
 * Layout. With `model.imageShape = [h, w]` (one channel, row-major) windows are s×s squares with
 * s = max(round(√(p·h·w)), 1), capped at min(h, w) so a window fits a non-square image. A 1-D feature
 * vector (no imageShape) is treated as a 1×d image whose windows cover the same fraction p of it:
 * windows are runs of s = max(round(p·d), 1) consecutive coordinates (a √(p·d)-long run would cover
 * only a √p/√d share of the vector and never a fraction p), and the stripes start becomes one
 * independent ±ε per coordinate (a column of a 1×d image is one coordinate). round() is Python's
 * round-half-to-even, as in the reference (it decides s when p·d ends in .5).
 *
 * Departures from fra31/auto-attack `square.py`, each on purpose:
 * - Each point draws its own window position and sign every query. `square.py` draws one position
 *   and one sign per query for the whole batch (the paper's Alg. 1 and the authors' original
 *   square-attack code draw per image); per point, the search is the same random process, and the
 *   points' searches stop being coupled.
 * - A draw that would leave the point unchanged (window already at that side of the ball) is
 *   re-drawn, as in the authors' original code (which loops on the sign at the same position until
 *   the window changes; `square.py` spends the query instead). With one channel that loop ends on
 *   the opposite sign, which is what is taken here, without a loop.
 * - Window offsets are uniform over all h − s + 1 positions. The reference draws from
 *   [0, h − s) (torch `rand` scaled and truncated), so the last row and column are never covered by
 *   a window; on a short feature vector that would freeze the last coordinates at their stripe value.
 * - Broken points leave the on-device batch in bulk rather than every query: every CHECK_EVERY
 *   queries one scalar (the number still unbroken) is read back to stop early, and where at most
 *   half of the batch is still unbroken its [k] flags are read to compact it (at most log2 k times
 *   per restart). Accepting is done on the whole batch with tf.where and a broken point's candidate
 *   is never accepted, so each point's result is the same as with per-query compaction.
 * - For a randomized model the margin compared is the mean over `eot` draws (one logits call on x
 *   tiled `eot` times); the reference has no EOT for Square. As the reference's final
 *   `predict(adv)` does, a randomized model's result points are re-evaluated with fresh draws (the
 *   same `eot`) and that evaluation decides which are broken; a deterministic model's search
 *   margin is final (the same numbers again).
 *
 * lossTrace holds, per recorded query, the current best margin of every point (inactive points:
 * NaN; active points the model already misclassifies: their clean margin). When queries · restarts
 * · n would exceed TRACE_LIMIT values, every `traceStride`-th query is recorded instead; row r is
 * the state after query (r + 1) · traceStride, counted over all restarts.
 */
import * as tf from '@tensorflow/tfjs';
import { margin } from './losses';
import type { AttackModel } from './model';
import type { AttackCommon, AttackOutcome } from './types';
import { createRandom, type RandomStream } from '../random';
import { throwIfAborted } from '../pipeline/progress';

export interface SquareOptions extends AttackCommon {
  /** Queries per restart (AutoAttack: 5000). */
  queries?: number;
  /** Initial fraction of the input a window covers (AutoAttack: 0.8). */
  pInit?: number;
  /** Independent runs on the points still robust (AutoAttack: 1). */
  restarts?: number;
}

export interface SquareOutcome extends AttackOutcome {
  /** lossTrace row r is the margin after query (r + 1) · traceStride. */
  traceStride: number;
}

/** Queries after which p halves: `p_selection` of square.py, un-rescaled as AutoAttack calls it. */
export const SQUARE_P_HALVINGS = [10, 50, 200, 500, 1000, 2000, 4000, 6000, 8000] as const;

/** Most lossTrace values kept (16 MB of float32) before recording only every k-th query. */
export const TRACE_LIMIT = 1 << 22;

/** Queries between the scalar readbacks that stop the search once every point is broken. */
const CHECK_EVERY = 25;

/** Below this, a window value counts as unchanged (the authors' original code uses 1e-7). */
const UNCHANGED = 1e-7;

/**
 * p at 0-based query `query`: p_init halved once per SQUARE_P_HALVINGS entry that `query` exceeds.
 * With `rescaleTo` (square.py's resc_schedule, off in AutoAttack) the query is first mapped onto a
 * 10,000-query budget.
 */
export function squareP(query: number, pInit = 0.8, rescaleTo?: number): number {
  const it = rescaleTo ? Math.trunc((query / rescaleTo) * 10000) : query;
  let p = pInit;
  for (const halving of SQUARE_P_HALVINGS) if (it > halving) p /= 2;
  return p;
}

/** Python's round(): ties go to the even integer. */
export function roundHalfEven(v: number): number {
  const f = Math.floor(v);
  const r = v - f;
  if (r !== 0.5) return Math.round(v);
  return f % 2 === 0 ? f : f + 1;
}

/** Where windows live: a rows × cols row-major grid; `square` windows are s×s, otherwise 1×s runs. */
export interface SquareLayout {
  rows: number;
  cols: number;
  square: boolean;
}

export function squareLayout(d: number, imageShape?: [number, number]): SquareLayout {
  if (!imageShape) return { rows: 1, cols: d, square: false };
  const [h, w] = imageShape;
  if (h * w !== d) throw new Error(`square: imageShape ${h}×${w} does not match ${d} input features`);
  return { rows: h, cols: w, square: true };
}

/** Window height and width for fraction p (see the header for the 1-D analogue). */
export function windowShape(p: number, layout: SquareLayout): { height: number; width: number } {
  if (!layout.square) {
    const s = Math.min(layout.cols, Math.max(roundHalfEven(p * layout.cols), 1));
    return { height: 1, width: s };
  }
  const s = Math.min(layout.rows, layout.cols, Math.max(roundHalfEven(Math.sqrt(p * layout.rows * layout.cols)), 1));
  return { height: s, width: s };
}

/** Row and column of each flat coordinate, [1, d] float, for building windows on the device; no rows for a 1-row grid. */
export interface GridCoordinates {
  rowOf: tf.Tensor2D | null;
  colOf: tf.Tensor2D;
}

export function gridCoordinates(layout: SquareLayout): GridCoordinates {
  const d = layout.rows * layout.cols;
  const rows = new Float32Array(d);
  const cols = new Float32Array(d);
  for (let i = 0; i < d; i++) {
    rows[i] = Math.floor(i / layout.cols);
    cols[i] = i % layout.cols;
  }
  return { rowOf: layout.rows > 1 ? tf.tensor2d(rows, [1, d]) : null, colOf: tf.tensor2d(cols, [1, d]) };
}

/**
 * Per point, its window sign on the cells of its window [top, top + height) × [left, left + width)
 * and 0 elsewhere: float [k, d]. A cell is inside when its distance to the window's center
 * (top + (height − 1)/2, left + (width − 1)/2) is below half the window on both axes; integers and
 * halves are exact in float32. Float arithmetic rather than boolean ops: on WASM a broadcast
 * comparison or logicalAnd costs several times a float op of the same size.
 */
export function windowCode(
  grid: GridCoordinates, top: Float32Array, left: Float32Array,
  height: number, width: number, sign: Float32Array,
): tf.Tensor2D {
  const k = sign.length;
  const centerRow = Float32Array.from(top, (t) => t + (height - 1) / 2);
  const centerCol = Float32Array.from(left, (l) => l + (width - 1) / 2);
  return tf.tidy(() => {
    const inside = (of: tf.Tensor2D, center: Float32Array, half: number) =>
      tf.cast(tf.less(tf.abs(tf.sub(of, tf.tensor2d(center, [k, 1]))), half), 'float32');
    let code = tf.mul(inside(grid.colOf, centerCol, width / 2), tf.tensor2d(sign, [k, 1]));
    if (grid.rowOf) code = tf.mul(code, inside(grid.rowOf, centerRow, height / 2));
    return code as tf.Tensor2D;
  });
}

/**
 * x_best with each window moved by 2ε·sign (code: ±1 on the window, 0 elsewhere), projected onto
 * [lower, upper] = ε-ball ∩ box. A step of 2ε from inside the ball always lands on or beyond the
 * ball's face on that side, so the projected window is exactly `upper` (sign > 0) or `lower`
 * (sign < 0); taking the bounds themselves keeps the result inside the ball without rounding.
 */
export function squareStep(code: tf.Tensor2D, xBest: tf.Tensor2D, lower: tf.Tensor2D, upper: tf.Tensor2D): tf.Tensor2D {
  return tf.tidy(() => tf.where(tf.greater(code, 0), upper, tf.where(tf.less(code, 0), lower, xBest)) as tf.Tensor2D);
}

/**
 * The window code with its sign flipped where the drawn one would leave x_best unchanged: the
 * authors' re-draw loop (square-attack, attack.py) ends on the opposite sign for one channel, since
 * lower < upper on every coordinate when ε > 0.
 */
export function changingCode(code: tf.Tensor2D, xBest: tf.Tensor2D, lower: tf.Tensor2D, upper: tf.Tensor2D): tf.Tensor2D {
  return tf.tidy(() => {
    const moved = tf.max(tf.abs(tf.sub(squareStep(code, xBest, lower, upper), xBest)), 1, true);
    const flip = tf.sub(1, tf.mul(tf.cast(tf.less(moved, UNCHANGED), 'float32'), 2));
    return tf.mul(code, flip) as tf.Tensor2D;
  });
}

/**
 * Margin z_y − max_{j≠y} z_j per point; for `draws` > 1 the mean over that many draws of a randomized
 * model, from one logits call on x tiled `draws` times (each row gets its own draw).
 */
export function expectedMargin(model: AttackModel, x: tf.Tensor2D, y: tf.Tensor1D, draws: number, seed: number): tf.Tensor1D {
  return tf.tidy(() => {
    if (draws <= 1) return margin(model.logits(x, seed), y);
    const k = x.shape[0];
    const m = margin(model.logits(tf.tile(x, [draws, 1]), seed), tf.tile(y, [draws]));
    return tf.mean(tf.reshape(m, [draws, k]), 0) as tf.Tensor1D;
  });
}

/** One restart's on-device search state over the points `idx` (indices into the caller's batch). */
interface Batch {
  idx: Int32Array;
  y: tf.Tensor1D;
  lower: tf.Tensor2D;
  upper: tf.Tensor2D;
  xBest: tf.Tensor2D;
  mBest: tf.Tensor1D;
}

/** Points that left the search: their final best point and margin. */
interface Piece {
  idx: Int32Array;
  x: tf.Tensor2D;
  m: tf.Tensor1D;
}

/** Recorded margins [rows, k] of the batch columns `idx`. */
interface TraceBlock {
  rows: tf.Tensor2D;
  idx: Int32Array;
}

function disposeBatch(b: Batch): void {
  tf.dispose([b.y, b.lower, b.upper, b.xBest, b.mBest]);
}

function takeRows(b: Batch, pos: Int32Array): Batch {
  const p = tf.tensor1d(pos, 'int32');
  const out = tf.tidy(() => ({
    idx: Int32Array.from(pos, (j) => b.idx[j]),
    y: tf.gather(b.y, p) as tf.Tensor1D,
    lower: tf.gather(b.lower, p) as tf.Tensor2D,
    upper: tf.gather(b.upper, p) as tf.Tensor2D,
    xBest: tf.gather(b.xBest, p) as tf.Tensor2D,
    mBest: tf.gather(b.mBest, p) as tf.Tensor1D,
  }));
  p.dispose();
  return out;
}

/** How many flags are set: the one scalar read back at a checkpoint. Disposes `flags` unless told not to. */
async function countTrue(flags: tf.Tensor, dispose = true): Promise<number> {
  const count = tf.sum(flags);
  const v = (await count.data())[0];
  count.dispose();
  if (dispose) flags.dispose();
  return v;
}

const nextTask = (): Promise<void> => new Promise((resolve) => setTimeout(resolve, 0));

/** ε-ball ∩ box bounds and the stripes start for the points `idx` of x. */
function startBatch(
  x: tf.Tensor2D, yAll: tf.Tensor1D, idx: Int32Array, opts: SquareOptions, layout: SquareLayout, rng: RandomStream,
): Omit<Batch, 'mBest'> {
  const k = idx.length;
  // Vertical stripes: one sign per column and point, shared down the column (square.py's init).
  const stripes = new Float32Array(k * layout.cols);
  for (let i = 0; i < stripes.length; i++) stripes[i] = rng.next() < 0.5 ? -1 : 1;
  const colIdx = new Int32Array(layout.rows * layout.cols);
  for (let i = 0; i < colIdx.length; i++) colIdx[i] = i % layout.cols;
  return tf.tidy(() => {
    const pos = tf.tensor1d(idx, 'int32');
    const xc = tf.gather(x, pos) as tf.Tensor2D;
    let lower = tf.sub(xc, opts.eps);
    let upper = tf.add(xc, opts.eps);
    if (opts.box) {
      lower = tf.maximum(lower, opts.box.lo);
      upper = tf.minimum(upper, opts.box.hi);
    }
    const sign = tf.gather(tf.tensor2d(stripes, [k, layout.cols]), tf.tensor1d(colIdx, 'int32'), 1) as tf.Tensor2D;
    // clip(x ± ε) to the box is the bound on that side.
    const xBest = squareStep(sign, xc, lower as tf.Tensor2D, upper as tf.Tensor2D);
    return { idx, y: tf.gather(yAll, pos) as tf.Tensor1D, lower: lower as tf.Tensor2D, upper: upper as tf.Tensor2D, xBest };
  });
}

/**
 * Square attack (L∞) on the points of x [n, d] with labels y: see the header for the algorithm, the
 * layout of feature vectors and the departures from the reference. Deterministic given opts.seed.
 */
export async function square(model: AttackModel, x: tf.Tensor2D, y: Int32Array, opts: SquareOptions): Promise<SquareOutcome> {
  const [n, d] = x.shape;
  if (y.length !== n) throw new Error(`square: ${y.length} labels for ${n} inputs`);
  if (opts.active && opts.active.length !== n) throw new Error(`square: ${opts.active.length} active flags for ${n} inputs`);
  const queries = opts.queries ?? 5000;
  const pInit = opts.pInit ?? 0.8;
  const restarts = opts.restarts ?? 1;
  const draws = model.randomized ? Math.max(1, Math.floor(opts.eot ?? 1)) : 1;
  const layout = squareLayout(d, model.imageShape);
  const searchRng = createRandom(opts.seed, 'square/search');
  const modelRng = createRandom(opts.seed, 'square/model');
  throwIfAborted(opts.signal);

  // Clean pass on the active points: who is correct, and the trace's starting values.
  const activeIdx: number[] = [];
  for (let i = 0; i < n; i++) if (!opts.active || opts.active[i]) activeIdx.push(i);
  const robust = new Uint8Array(n);
  const start = new Float32Array(n).fill(NaN);
  const yAll = tf.tensor1d(y, 'int32');
  if (activeIdx.length > 0) {
    const m0 = tf.tidy(() => {
      const pos = tf.tensor1d(activeIdx, 'int32');
      return expectedMargin(model, tf.gather(x, pos) as tf.Tensor2D, tf.gather(yAll, pos) as tf.Tensor1D, draws, modelRng.seed());
    });
    const m0v = await m0.data();
    m0.dispose();
    activeIdx.forEach((i, j) => {
      start[i] = m0v[j];
      robust[i] = m0v[j] > 0 ? 1 : 0;
    });
  }
  const traceStride = Math.max(1, Math.ceil((queries * restarts * n) / TRACE_LIMIT));
  if (opts.norm !== 'Linf') {
    yAll.dispose();
    return {
      adversarial: x.clone(), robust, lossTrace: new Float32Array(0), iterationsRun: 0, traceStride,
      skipped: `Square is implemented for L∞ only (asked: ${opts.norm}); the reference's L2 variant is not`,
    };
  }

  const grid = gridCoordinates(layout);
  const restartX: tf.Tensor2D[] = [];
  const blocks: TraceBlock[] = [];
  // Per point: which restart's result holds its adversarial (−1: the clean input), at which row.
  const srcRestart = new Int32Array(n).fill(-1);
  const srcRow = new Int32Array(n);
  const bestMargin = new Float32Array(n).fill(Infinity);
  const totalQueries = queries * restarts;
  let iterationsRun = 0;
  let pendingRows: tf.Tensor1D[] = [];
  let batch: Batch | null = null;
  const pieces: Piece[] = [];

  const flushRows = (idx: Int32Array): void => {
    if (pendingRows.length === 0) return;
    blocks.push({ rows: tf.stack(pendingRows) as tf.Tensor2D, idx });
    tf.dispose(pendingRows);
    pendingRows = [];
  };

  try {
    for (let restart = 0; restart < restarts; restart++) {
      const todo: number[] = [];
      for (let i = 0; i < n; i++) if (robust[i]) todo.push(i);
      if (todo.length === 0) break;
      const init = startBatch(x, yAll, Int32Array.from(todo), opts, layout, searchRng);
      batch = { ...init, mBest: expectedMargin(model, init.xBest, init.y, draws, modelRng.seed()) };
      let alive = await countTrue(tf.greater(batch.mBest, 0));

      for (let q = 0; q < queries && alive > 0; q++) {
        throwIfAborted(opts.signal);
        const b: Batch = batch;
        const k = b.idx.length;
        const { height, width } = windowShape(squareP(q, pInit), layout);
        const tops = new Float32Array(k);
        const lefts = new Float32Array(k);
        const signs = new Float32Array(k);
        for (let j = 0; j < k; j++) {
          tops[j] = layout.rows > height ? searchRng.int(layout.rows - height + 1) : 0;
          lefts[j] = searchRng.int(layout.cols - width + 1);
          signs[j] = searchRng.next() < 0.5 ? -1 : 1;
        }
        const seed = modelRng.seed();
        const next = tf.tidy(() => {
          const code = changingCode(windowCode(grid, tops, lefts, height, width, signs), b.xBest, b.lower, b.upper);
          const m = expectedMargin(model, squareStep(code, b.xBest, b.lower, b.upper), b.y, draws, seed);
          // Broken points (margin ≤ 0) are out of the search: nothing is accepted for them.
          const accept = tf.logicalAnd(tf.greater(b.mBest, 0), tf.less(m, b.mBest));
          // The accepted candidate is the same step with the rejected points' windows emptied.
          const kept = tf.mul(code, tf.expandDims(tf.cast(accept, 'float32'), 1)) as tf.Tensor2D;
          return { xBest: squareStep(kept, b.xBest, b.lower, b.upper), mBest: tf.where(accept, m, b.mBest) as tf.Tensor1D };
        });
        tf.dispose([b.xBest, b.mBest]);
        b.xBest = next.xBest;
        b.mBest = next.mBest;
        iterationsRun++;
        if (iterationsRun % traceStride === 0) pendingRows.push(b.mBest.clone());
        opts.onProgress?.(restart * queries + q + 1, totalQueries);

        if ((q + 1) % CHECK_EVERY === 0 && q + 1 < queries) {
          flushRows(b.idx);
          const stillT = tf.greater(b.mBest, 0);
          alive = await countTrue(stillT, false);
          if (alive > 0 && alive <= k / 2) {
            // At most log2(k) times per restart: the flags of the batch, to drop its broken points.
            const still = await stillT.data();
            const keep: number[] = [];
            const done: number[] = [];
            for (let j = 0; j < k; j++) (still[j] ? keep : done).push(j);
            const gone = takeRows(b, Int32Array.from(done));
            pieces.push({ idx: gone.idx, x: gone.xBest, m: gone.mBest });
            tf.dispose([gone.y, gone.lower, gone.upper]);
            batch = takeRows(b, Int32Array.from(keep));
            disposeBatch(b);
          }
          stillT.dispose();
          await nextTask();
        }
      }
      flushRows(batch.idx);
      pieces.push({ idx: batch.idx, x: batch.xBest, m: batch.mBest });
      tf.dispose([batch.y, batch.lower, batch.upper]);
      batch = null;

      // This restart's results, in one tensor; a randomized model's breaks are re-checked.
      const idxR = Int32Array.from(pieces.flatMap((p) => Array.from(p.idx)));
      const xR = pieces.length === 1 ? pieces[0].x : (tf.concat(pieces.map((p) => p.x)) as tf.Tensor2D);
      const mR = pieces.length === 1 ? pieces[0].m : (tf.concat(pieces.map((p) => p.m)) as tf.Tensor1D);
      if (pieces.length > 1) tf.dispose(pieces.map((p) => [p.x, p.m]).flat());
      pieces.length = 0;
      restartX.push(xR);
      const searchMargin = await mR.data();
      mR.dispose();
      let finalMargin = searchMargin;
      if (model.randomized) {
        const check = tf.tidy(() => expectedMargin(model, xR, tf.gather(yAll, tf.tensor1d(idxR, 'int32')) as tf.Tensor1D, draws, modelRng.seed()));
        finalMargin = await check.data();
        check.dispose();
      }
      idxR.forEach((i, j) => {
        if (finalMargin[j] <= 0) {
          robust[i] = 0;
        } else if (!(searchMargin[j] >= bestMargin[i])) {
          bestMargin[i] = searchMargin[j];
        } else {
          return;
        }
        srcRestart[i] = restart;
        srcRow[i] = j;
      });
    }

    // Adversarials: one gather from [x; restart results].
    const offsets = [n];
    for (const r of restartX) offsets.push(offsets[offsets.length - 1] + r.shape[0]);
    const from = Int32Array.from({ length: n }, (_, i) => (srcRestart[i] < 0 ? i : offsets[srcRestart[i]] + srcRow[i]));
    const adversarial = restartX.length === 0 ? x.clone()
      : tf.tidy(() => tf.gather(tf.concat([x, ...restartX]), tf.tensor1d(from, 'int32')) as tf.Tensor2D);

    // Trace: each block fills its columns; the other points keep their last value.
    const totalRows = blocks.reduce((s, bl) => s + bl.rows.shape[0], 0);
    const lossTrace = new Float32Array(totalRows * n);
    const last = Float32Array.from(start);
    let row = 0;
    for (const bl of blocks) {
      const vals = await bl.rows.data();
      const k = bl.idx.length;
      for (let r = 0; r < bl.rows.shape[0]; r++, row++) {
        for (let j = 0; j < k; j++) last[bl.idx[j]] = vals[r * k + j];
        lossTrace.set(last, row * n);
      }
    }
    opts.onProgress?.(totalQueries, totalQueries);
    return { adversarial, robust, lossTrace, iterationsRun, traceStride };
  } finally {
    if (batch) disposeBatch(batch);
    tf.dispose(pendingRows);
    tf.dispose(pieces.map((p) => [p.x, p.m]).flat());
    tf.dispose(blocks.map((bl) => bl.rows));
    tf.dispose(restartX);
    tf.dispose([grid.colOf, yAll]);
    grid.rowOf?.dispose();
  }
}
