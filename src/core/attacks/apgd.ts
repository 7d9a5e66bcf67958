/**
 * Auto-PGD (Croce & Hein, ICML 2020, Algorithm 1) as the public reference implements it
 * (fra31/auto-attack, autoattack/autopgd_base.py): random start, step 2ε, momentum 0.75, step
 * halving at shrinking checkpoints with a restart from the best point, restarts and target classes
 * only on points that are still robust. Batched over points; the schedule's per-point state lives
 * in tensors and nothing is read back inside the iteration loop except one scalar per checkpoint.
 *
 * Deviations from the reference, each on purpose:
 * - the adversarial example of a broken point is the FIRST misclassified iterate (the reference
 *   overwrites it with every later misclassified iterate; either one is a valid witness);
 * - with EOT the schedule's loss is the mean over the draws (the reference keeps the last draw's);
 * - a run stops early at a checkpoint once every point in it is broken (the flags it returns are
 *   the same; its loss trace is then shorter);
 * - an unbounded box (null) is allowed; the reference always clips to [0, 1].
 */
import * as tf from '@tensorflow/tfjs';
import { createRandom, type RandomStream } from '../random';
import { crossEntropy, dlr, rankedClass, targetedDlr } from './losses';
import { throwIfAborted } from '../pipeline/progress';
import type { AttackModel, Box, Norm } from './model';
import type { AttackCommon, AttackOutcome } from './types';

export type ApgdLoss = 'ce' | 'dlr' | 'dlr-targeted';

export interface ApgdOptions extends AttackCommon {
  loss: ApgdLoss;
  /** Iterations N per run (default 100). */
  iterations?: number;
  /** Random restarts per target class (default 1); each runs only on points still robust. */
  restarts?: number;
  /** dlr-targeted: target classes k = 1..targets, the k-th highest clean logit other than the top (default 9, capped at C − 1). */
  targets?: number;
  /** Oscillation threshold ρ of the step-size rule (default 0.75). */
  rho?: number;
}

/** Weight α of the new step against the previous one (Algorithm 1; 1 on the first step). */
const MOMENTUM = 0.75;
/** η⁽⁰⁾ = 2ε: the first step may cross the whole ball. */
const INITIAL_STEP = 2;
/** Keeps normalizations finite at a zero vector, as the reference's normalize(). */
const TINY = 1e-12;

/**
 * Iteration counts after which the step size is checked. The paper writes w_j = ⌈p_j N⌉ with
 * p_1 = 0.22 and interval decrements of 0.03 down to 0.06; the reference truncates instead
 * (int(0.22 N), int(0.03 N), int(0.06 N), each at least 1), and this follows the reference:
 * N = 100 gives 22, 41, 57, 70, 80, 87, 93, 99.
 */
export function checkpoints(iterations: number): number[] {
  let interval = Math.max(Math.floor(0.22 * iterations), 1);
  const shortest = Math.max(Math.floor(0.06 * iterations), 1);
  const shrink = Math.max(Math.floor(0.03 * iterations), 1);
  const out: number[] = [];
  for (let at = interval; at <= iterations; at += interval) {
    out.push(at);
    interval = Math.max(interval - shrink, shortest);
  }
  return out;
}

/** Why a loss cannot run on a model with this many classes, or null when it can. */
export function apgdSkipReason(loss: ApgdLoss, numClasses: number): string | null {
  // DLR divides by z_π1 − z_π3, targeted DLR by z_π1 − (z_π3 + z_π4)/2: those logits must exist.
  if (loss === 'dlr' && numClasses < 3) return `DLR needs ≥ 3 classes; this model has ${numClasses}`;
  if (loss === 'dlr-targeted' && numClasses < 4) return `targeted DLR needs ≥ 4 classes; this model has ${numClasses}`;
  return null;
}

/**
 * Projection onto the ε-ball around x intersected with the box. L∞: the ball is itself a box, so
 * clipping is the exact projection. L2: radial shrink, then clipping to the box (the reference's
 * order); clipping moves every coordinate toward x's, so the point stays in the ball.
 */
export function project(xAdv: tf.Tensor2D, x: tf.Tensor2D, eps: number, norm: Norm, box: Box): tf.Tensor2D {
  return tf.tidy(() => {
    let out: tf.Tensor2D;
    if (norm === 'Linf') {
      out = tf.minimum(tf.maximum(xAdv, tf.sub(x, eps)), tf.add(x, eps));
    } else {
      const delta = tf.sub(xAdv, x);
      const length = tf.norm(delta, 'euclidean', 1, true);
      out = tf.add(x, tf.mul(tf.div(delta, tf.add(length, TINY)), tf.minimum(length, eps)));
    }
    return box ? tf.clipByValue(out, box.lo, box.hi) : out;
  });
}

/** Steepest ascent under the norm: sign(∇) for L∞, ∇/‖∇‖₂ for L2. */
export function ascentDirection(grad: tf.Tensor2D, norm: Norm): tf.Tensor2D {
  return tf.tidy(() =>
    norm === 'Linf' ? tf.sign(grad) : tf.div(grad, tf.add(tf.norm(grad, 'euclidean', 1, true), TINY)));
}

/**
 * One APGD update (Algorithm 1): z = P(x_k + η ∘ dir(∇f(x_k))),
 * x_{k+1} = P(x_k + α(z − x_k) + (1 − α)(x_k − x_{k−1})); `step` is η per point [m, 1].
 */
export function apgdStep(
  xAdv: tf.Tensor2D, xPrev: tf.Tensor2D, grad: tf.Tensor2D, step: tf.Tensor2D, x: tf.Tensor2D,
  alpha: number, eps: number, norm: Norm, box: Box,
): tf.Tensor2D {
  return tf.tidy(() => {
    const z = project(tf.add(xAdv, tf.mul(step, ascentDirection(grad, norm))) as tf.Tensor2D, x, eps, norm, box);
    const moved: tf.Tensor2D = tf.add(tf.add(xAdv, tf.mul(tf.sub(z, xAdv), alpha)), tf.mul(tf.sub(xAdv, xPrev), 1 - alpha)) as tf.Tensor2D;
    return project(moved, x, eps, norm, box);
  });
}

/**
 * Random start on the sphere of the norm: x + ε·u/‖u‖∞ with u ~ U(−1, 1)ᵈ (L∞) or x + ε·g/‖g‖₂
 * with g ~ N(0, I) (L2), then into the box.
 */
export function randomStart(x: tf.Tensor2D, eps: number, norm: Norm, box: Box, seed: number): tf.Tensor2D {
  return tf.tidy(() => {
    const u = norm === 'Linf'
      ? tf.randomUniform(x.shape, -1, 1, 'float32', seed)
      : tf.randomNormal(x.shape, 0, 1, 'float32', seed);
    const length = norm === 'Linf' ? tf.max(tf.abs(u), 1, true) : tf.norm(u, 'euclidean', 1, true);
    return project(tf.add(x, tf.mul(tf.div(u, tf.add(length, TINY)), eps)) as tf.Tensor2D, x, eps, norm, box);
  });
}

/**
 * The checkpoint rule (§3.1; the reference's check_oscillation and fl_reduce_no_impr): halve η
 * where the loss rose in at most ρ·window of the window's steps (condition 1, `≤` as in the
 * reference), or where η was not halved at the previous checkpoint and the best loss has not
 * improved since (condition 2). Returns a bool flag per point.
 */
export function stepSizeCheck(
  increases: tf.Tensor1D, window: number, rho: number,
  reducedLastCheck: tf.Tensor1D, bestLastCheck: tf.Tensor1D, best: tf.Tensor1D,
): tf.Tensor1D {
  return tf.tidy(() => {
    const oscillating = tf.lessEqual(increases, window * rho);
    const stalled = tf.logicalAnd(tf.logicalNot(reducedLastCheck), tf.greaterEqual(bestLastCheck, best));
    return tf.logicalOr(oscillating, stalled) as tf.Tensor1D;
  });
}

/** Per-point loss of logits z [E·m, C]; labels (and targets) already tiled to E·m rows. */
export type Objective = (z: tf.Tensor2D) => tf.Tensor1D;

interface Evaluation {
  /** Loss per point, mean over the EOT draws [m]. */
  loss: tf.Tensor1D;
  /** Mean over the draws of the per-draw gradients [m, d]. */
  grad: tf.Tensor2D;
  /** bool [m]: the first draw classifies the point correctly. */
  correct: tf.Tensor1D;
}

/**
 * Loss, gradient and correctness at xAdv in one batched logits call over `draws` tiled copies
 * (EOT). The gradient of Σ loss / E is the mean of the per-draw gradients of each point, since
 * each point's loss depends on its own rows only.
 */
function evaluate(model: AttackModel, xAdv: tf.Tensor2D, y: tf.Tensor1D, objective: Objective, draws: number, seed: number): Evaluation {
  const m = xAdv.shape[0];
  const held: { loss?: tf.Tensor1D; correct?: tf.Tensor1D } = {};
  try {
    const grad = tf.tidy(() => tf.grad((xv: tf.Tensor) => {
      const rows = xv as tf.Tensor2D;
      const z = model.logits(draws > 1 ? tf.tile(rows, [draws, 1]) : rows, seed);
      const perDraw = objective(z);
      // Auxiliary outputs of the forward pass, kept past tf.grad's scopes instead of a second pass.
      held.loss = tf.keep(tf.mean(tf.reshape(perDraw, [draws, m]), 0) as tf.Tensor1D);
      const first = draws > 1 ? tf.slice(z, [0, 0], [m, -1]) : z;
      held.correct = tf.keep(tf.equal(tf.argMax(first, 1), y) as tf.Tensor1D);
      return tf.div(tf.sum(perDraw), draws) as tf.Scalar;
    })(xAdv)) as tf.Tensor2D;
    return { loss: held.loss!, grad, correct: held.correct! };
  } catch (error) {
    held.loss?.dispose();
    held.correct?.dispose();
    throw error;
  }
}

/** A macrotask turn without timer clamping, so an abort or a progress render gets through. */
function nextTurn(): Promise<void> {
  if (typeof setImmediate === 'function') return new Promise((resolve) => setImmediate(resolve));
  return new Promise((resolve) => {
    const channel = new MessageChannel();
    channel.port1.onmessage = () => {
      channel.port1.close();
      resolve();
    };
    channel.port2.postMessage(null);
  });
}

type Tensors = Record<string, tf.Tensor>;

/** Disposes the tensors of `old` that `next` no longer holds (state entries may share tensors). */
function retire(old: Tensors, next: Tensors): void {
  const alive = new Set(Object.values(next).map((t) => t.id));
  for (const t of Object.values(old)) if (!alive.has(t.id)) t.dispose();
}

function disposeAll(tensors: Tensors): void {
  for (const t of Object.values(tensors)) t.dispose();
}

export interface RunSettings {
  eps: number;
  norm: Norm;
  box: Box;
  iterations: number;
  rho: number;
  /** Rows per point in each logits call (EOT draws; 1 for a deterministic model). */
  draws: number;
  /** Seeds of the logits calls. */
  rng: RandomStream;
  keepTrace?: boolean;
  signal?: AbortSignal;
  /** Called after every iteration with the number of iterations done in this run. */
  tick?: (done: number) => void;
}

export interface RunResult {
  /** First misclassified iterate where broken, else the best-loss point [m, d]. */
  adversarial: tf.Tensor2D;
  broken: tf.Tensor1D;
  bestLoss: tf.Tensor1D;
  /** Current loss per iteration [iterations, m], when asked for. */
  trace: tf.Tensor2D | null;
  iterations: number;
}

/**
 * One APGD run on the points x [m, d] from `start` (the reference's attack_single_run; the
 * caller keeps ownership of start). Labels y are per point; `objective` sees them tiled.
 */
export async function apgdRun(
  model: AttackModel, x: tf.Tensor2D, y: tf.Tensor1D, start: tf.Tensor2D, objective: Objective, s: RunSettings,
): Promise<RunResult> {
  const { eps, norm, box, draws, rng } = s;
  const m = x.shape[0];
  const schedule = checkpoints(s.iterations);
  const traceRows: tf.Tensor1D[] = [];
  let state: Tensors = {};
  let inFlight: Tensors = {};
  try {
    const begin = tf.clone(start);
    inFlight = { begin };
    const first = evaluate(model, begin, y, objective, draws, rng.seed());
    state = tf.tidy(() => ({
      xAdv: begin,
      // x_{−1} = x_0, so the first step has no momentum even before α = 1 removes it.
      xPrev: begin,
      grad: first.grad,
      xBest: begin,
      gradBest: first.grad,
      lossBest: first.loss,
      xFirstAdv: begin,
      broken: tf.logicalNot(first.correct),
      step: tf.fill([m, 1], INITIAL_STEP * eps),
      // The reference's loss history is zero-filled, so the first window compares f(x_1) with 0.
      lossPrev: tf.zeros([m]),
      increases: tf.zeros([m]),
      bestLastCheck: first.loss,
      // Starts as "halved", so condition 2 cannot fire at the first checkpoint.
      reducedLastCheck: tf.ones([m], 'bool'),
    }));
    first.correct.dispose();
    inFlight = {};

    let done = 0;
    let nextCheck = 0;
    for (let i = 0; i < s.iterations; i++) {
      throwIfAborted(s.signal);
      const alpha = i > 0 ? MOMENTUM : 1;
      const xNew = apgdStep(state.xAdv as tf.Tensor2D, state.xPrev as tf.Tensor2D, state.grad as tf.Tensor2D,
        state.step as tf.Tensor2D, x, alpha, eps, norm, box);
      inFlight = { xNew };
      const ev = evaluate(model, xNew, y, objective, draws, rng.seed());
      inFlight = { xNew, loss: ev.loss, grad: ev.grad, correct: ev.correct };
      if (s.keepTrace) traceRows.push(tf.clone(ev.loss));

      const cur = state;
      let next: Tensors = tf.tidy(() => {
        const wrong = tf.logicalNot(ev.correct);
        const newlyBroken = tf.logicalAnd(wrong, tf.logicalNot(cur.broken));
        const improved = tf.greater(ev.loss, cur.lossBest);
        const improvedRow = tf.expandDims(improved, 1);
        return {
          ...cur,
          xPrev: cur.xAdv,
          xAdv: xNew,
          grad: ev.grad,
          xFirstAdv: tf.where(tf.expandDims(newlyBroken, 1), xNew, cur.xFirstAdv),
          broken: tf.logicalOr(cur.broken, wrong),
          increases: tf.add(cur.increases, tf.cast(tf.greater(ev.loss, cur.lossPrev), 'float32')),
          lossPrev: ev.loss,
          xBest: tf.where(improvedRow, xNew, cur.xBest),
          gradBest: tf.where(improvedRow, ev.grad, cur.gradBest),
          lossBest: tf.where(improved, ev.loss, cur.lossBest),
        };
      });
      retire(cur, next);
      ev.correct.dispose();
      state = next;
      inFlight = {};
      done = i + 1;

      let allBroken = false;
      if (nextCheck < schedule.length && done === schedule[nextCheck]) {
        const window = done - (nextCheck > 0 ? schedule[nextCheck - 1] : 0);
        nextCheck++;
        const before = state;
        next = tf.tidy(() => {
          const halve = stepSizeCheck(before.increases as tf.Tensor1D, window, s.rho,
            before.reducedLastCheck as tf.Tensor1D, before.bestLastCheck as tf.Tensor1D, before.lossBest as tf.Tensor1D);
          const halveRow = tf.expandDims(halve, 1);
          return {
            ...before,
            step: tf.where(halveRow, tf.div(before.step, 2), before.step),
            // Halved points resume from their best point and its gradient.
            xAdv: tf.where(halveRow, before.xBest, before.xAdv),
            grad: tf.where(halveRow, before.gradBest, before.grad),
            reducedLastCheck: halve,
            bestLastCheck: before.lossBest,
            increases: tf.zerosLike(before.increases),
          };
        });
        retire(before, next);
        state = next;
        const all = tf.all(state.broken);
        allBroken = (await all.data())[0] !== 0;
        all.dispose();
      }
      s.tick?.(done);
      if (allBroken) break;
      await nextTurn();
    }

    const final = state;
    return {
      adversarial: tf.tidy(() => tf.where(tf.expandDims(final.broken, 1), final.xFirstAdv, final.xBest) as tf.Tensor2D),
      broken: tf.clone(final.broken) as tf.Tensor1D,
      bestLoss: tf.clone(final.lossBest) as tf.Tensor1D,
      trace: s.keepTrace ? tf.stack(traceRows) as tf.Tensor2D : null,
      iterations: done,
    };
  } finally {
    disposeAll(state);
    disposeAll(inFlight);
    for (const t of traceRows) t.dispose();
  }
}

function checkOptions(x: tf.Tensor2D, y: Int32Array, opts: ApgdOptions, numClasses: number): void {
  const n = x.shape[0];
  if (x.rank !== 2) throw new RangeError(`apgd: x must be [n, d], got rank ${x.rank}`);
  if (y.length !== n) throw new RangeError(`apgd: ${y.length} labels for ${n} points`);
  if (opts.active && opts.active.length !== n) throw new RangeError(`apgd: active has ${opts.active.length} flags for ${n} points`);
  if (!(opts.eps > 0) || !Number.isFinite(opts.eps)) throw new RangeError(`apgd: eps ${opts.eps} must be a positive number`);
  if (opts.norm !== 'Linf' && opts.norm !== 'L2') throw new RangeError(`apgd: unknown norm ${String(opts.norm)}`);
  if (!['ce', 'dlr', 'dlr-targeted'].includes(opts.loss)) throw new RangeError(`apgd: unknown loss ${String(opts.loss)}`);
  for (const [name, value] of [['iterations', opts.iterations], ['restarts', opts.restarts], ['targets', opts.targets], ['eot', opts.eot]] as const) {
    if (value !== undefined && (!Number.isInteger(value) || value < 1)) throw new RangeError(`apgd: ${name} ${value} must be a positive integer`);
  }
  if (opts.rho !== undefined && !(opts.rho >= 0 && opts.rho <= 1)) throw new RangeError(`apgd: rho ${opts.rho} must be in [0, 1]`);
  for (let i = 0; i < n; i++) {
    if (!(y[i] >= 0 && y[i] < numClasses)) throw new RangeError(`apgd: label ${y[i]} of point ${i} is not a class of this ${numClasses}-class model`);
  }
}

/**
 * APGD with the CE, DLR or targeted-DLR loss. Points run only while robust: the clean pass sets
 * the flags (active ∧ correct), then every restart, and for dlr-targeted every target class
 * k = 1..targets (with its restarts), attacks the points still robust. lossTrace holds the loss
 * of the FIRST run (first target class, first restart) at each of its iterations, NaN for points
 * not in that run; iterationsRun is that run's iteration count, so lossTrace.length =
 * iterationsRun × n.
 */
export async function apgd(model: AttackModel, x: tf.Tensor2D, y: Int32Array, opts: ApgdOptions): Promise<AttackOutcome> {
  const numClasses = model.numClasses;
  checkOptions(x, y, opts, numClasses);
  throwIfAborted(opts.signal);
  const [n] = x.shape;
  const iterations = opts.iterations ?? 100;
  const restarts = opts.restarts ?? 1;
  const rho = opts.rho ?? 0.75;
  const draws = model.randomized ? opts.eot ?? 1 : 1;
  const rng = createRandom(opts.seed, 'apgd');
  const labels = tf.tensor1d(y, 'int32');
  const owned: Tensors = { labels };
  try {
    // One draw decides clean correctness for a randomized model, as the reference's forward pass.
    const cleanCorrect = tf.tidy(() => tf.equal(tf.argMax(model.logits(x, rng.seed()), 1), labels));
    const correct = await cleanCorrect.data();
    cleanCorrect.dispose();
    const robust = new Uint8Array(n);
    for (let i = 0; i < n; i++) robust[i] = (opts.active ? opts.active[i] : 1) && correct[i] ? 1 : 0;

    const skipped = apgdSkipReason(opts.loss, numClasses);
    if (skipped) return { adversarial: tf.clone(x), robust, lossTrace: new Float32Array(0), iterationsRun: 0, skipped };

    const targetClasses = opts.loss === 'dlr-targeted'
      ? Array.from({ length: Math.min(opts.targets ?? 9, numClasses - 1) }, (_, k) => k + 1)
      : [0];
    const total = iterations * restarts * targetClasses.length;
    let doneBefore = 0;
    const report = (done: number) => opts.onProgress?.(doneBefore + done, total);

    owned.adversarial = tf.clone(x);
    // Best loss so far of each still-robust point, across runs, to pick its returned point.
    owned.bestLoss = tf.fill([n], -Infinity);
    let lossTrace = new Float32Array(0);
    let iterationsRun = 0;
    let firstRun = true;

    for (const target of targetClasses) {
      for (let r = 0; r < restarts; r++) {
        throwIfAborted(opts.signal);
        const indices: number[] = [];
        for (let i = 0; i < n; i++) if (robust[i]) indices.push(i);
        if (indices.length === 0) {
          doneBefore += iterations;
          report(0);
          continue;
        }
        const m = indices.length;
        const run: Tensors = {};
        try {
          run.index = tf.tensor1d(indices, 'int32');
          run.x = tf.gather(x, run.index);
          run.y = tf.gather(labels, run.index);
          run.yTiled = draws > 1 ? tf.tile(run.y, [draws]) : run.y;
          if (target > 0) {
            // The reference re-reads the clean logits of the remaining points for each target.
            const ranked = tf.tidy(() => rankedClass(model.logits(run.x as tf.Tensor2D, rng.seed()), target));
            run.target = draws > 1 ? tf.tidy(() => tf.tile(ranked, [draws])) : ranked;
            if (run.target !== ranked) ranked.dispose();
          }
          const yTiled = run.yTiled as tf.Tensor1D;
          const targetTiled = run.target as tf.Tensor1D | undefined;
          const objective: Objective = opts.loss === 'ce' ? (z) => crossEntropy(z, yTiled)
            : opts.loss === 'dlr' ? (z) => dlr(z, yTiled)
              : (z) => targetedDlr(z, yTiled, targetTiled!);

          run.start = randomStart(run.x as tf.Tensor2D, opts.eps, opts.norm, opts.box, rng.seed());
          const result = await apgdRun(model, run.x as tf.Tensor2D, run.y as tf.Tensor1D, run.start as tf.Tensor2D, objective, {
            eps: opts.eps, norm: opts.norm, box: opts.box, iterations, rho, draws, rng,
            keepTrace: firstRun, signal: opts.signal, tick: report,
          });
          run.adversarial = result.adversarial;
          run.broken = result.broken;
          run.bestLoss = result.bestLoss;
          if (result.trace) run.trace = result.trace;

          const broken = await result.broken.data();
          for (let j = 0; j < m; j++) if (broken[j]) robust[indices[j]] = 0;
          if (result.trace) {
            const rows = await result.trace.data();
            iterationsRun = result.iterations;
            lossTrace = new Float32Array(iterationsRun * n).fill(NaN);
            for (let t = 0; t < iterationsRun; t++) {
              for (let j = 0; j < m; j++) lossTrace[t * n + indices[j]] = rows[t * m + j];
            }
          }
          firstRun = false;

          const prev = { adversarial: owned.adversarial, bestLoss: owned.bestLoss };
          const merged = tf.tidy(() => {
            const at = tf.expandDims(run.index, 1);
            // A broken point takes its witness; a robust one takes this run's best point if its loss beats earlier runs'.
            const take = tf.logicalOr(run.broken, tf.greater(run.bestLoss, tf.gather(prev.bestLoss, run.index)));
            const takeAll = tf.greater(tf.scatterND(at, tf.cast(take, 'int32'), [n]), 0);
            return {
              adversarial: tf.where(tf.expandDims(takeAll, 1), tf.scatterND(at, run.adversarial, x.shape), prev.adversarial),
              bestLoss: tf.where(takeAll, tf.scatterND(at, run.bestLoss, [n]), prev.bestLoss),
            };
          });
          prev.adversarial.dispose();
          prev.bestLoss.dispose();
          owned.adversarial = merged.adversarial;
          owned.bestLoss = merged.bestLoss;
        } finally {
          disposeAll(run);
        }
        doneBefore += iterations;
      }
    }

    report(0);
    const adversarial = owned.adversarial as tf.Tensor2D;
    delete owned.adversarial;
    return { adversarial, robust, lossTrace, iterationsRun };
  } finally {
    disposeAll(owned);
  }
}
