/**
 * PGD with Expectation over Transformation: the adaptive attack Lee & Kim (2023, arXiv 2303.09051)
 * recommend for diffusion purification. Plain projected gradient ascent on the cross-entropy
 * (Madry et al. 2018) with full gradients through the (randomized) model, each gradient the mean
 * over `eot` draws (Athalye et al. 2018), and no early stopping: every point takes all `steps`
 * steps and the FINAL iterate is what is scored, as that protocol evaluates a stochastic defense.
 *
 * Scoring a randomized model. A point counts as robust when ONE fresh evaluation at the final
 * iterate, averaging the class probabilities of `eot` draws (mean softmax over the E tiled rows,
 * then argmax), still gives its label: the same rule as the purifier's own prediction (mean of the
 * probabilities over its draws). The clean pass that picks which points to attack uses the same
 * rule. For a deterministic model E is 1 and both are the plain argmax.
 */
import * as tf from '@tensorflow/tfjs';
import { throwIfAborted } from '../pipeline/progress';
import { createRandom } from '../random';
import { ascentDirection, project, randomStart } from './apgd';
import { crossEntropy } from './losses';
import type { AttackModel } from './model';
import type { AttackCommon, AttackOutcome } from './types';

export interface PgdEotOptions extends AttackCommon {
  /** Steps, all of them run (default 200, Lee & Kim 2023). */
  steps?: number;
  /** Step α per iteration: default ε/4 for both norms (Lee & Kim use 0.007 at ε = 8/255, about 0.22·ε). */
  stepSize?: number;
  /** Draws averaged per gradient and in the final evaluation, for a randomized model (default 20). */
  eot?: number;
  /** Start at a random point on the sphere of the ε-ball (default true). */
  randomStart?: boolean;
}

/** Steps between macrotask turns, so an abort or a progress render gets through. */
const YIELD_EVERY = 4;

/** x repeated `draws` times along the batch: draw e of point i is row e·m + i. */
function tileDraws<T extends tf.Tensor>(t: T, draws: number): T {
  return draws > 1 ? (tf.tile(t, [draws, ...Array<number>(t.rank - 1).fill(1)]) as T) : t;
}

/**
 * Mean cross-entropy over `draws` draws per point [m] and its gradient [m, d], from one logits
 * call. The gradient of Σ_i mean_e CE_ie is, for each point, the mean of its per-draw gradients,
 * since a row's logits depend on that row alone. `yTiled` holds the labels tiled like the rows.
 */
export function eotCrossEntropy(
  model: AttackModel, x: tf.Tensor2D, yTiled: tf.Tensor1D, draws: number, seed: number,
): { loss: tf.Tensor1D; grad: tf.Tensor2D } {
  const m = x.shape[0];
  const held: { loss?: tf.Tensor1D } = {};
  try {
    const grad = tf.tidy(() => tf.grad((v: tf.Tensor) => {
      const ce = crossEntropy(model.logits(tileDraws(v as tf.Tensor2D, draws), seed), yTiled);
      // Kept out of tf.grad's scopes: the trace's loss comes from the same forward pass.
      held.loss = tf.keep(tf.mean(tf.reshape(ce, [draws, m]), 0) as tf.Tensor1D);
      return tf.sum(held.loss);
    })(x)) as tf.Tensor2D;
    return { loss: held.loss!, grad };
  } catch (error) {
    held.loss?.dispose();
    throw error;
  }
}

/** bool [m]: argmax of the class probabilities averaged over `draws` draws equals the label. */
export function eotCorrect(model: AttackModel, x: tf.Tensor2D, y: tf.Tensor1D, draws: number, seed: number): tf.Tensor1D {
  return tf.tidy(() => {
    const probs = tf.softmax(model.logits(tileDraws(x, draws), seed));
    const mean = tf.mean(tf.reshape(probs, [draws, x.shape[0], model.numClasses]), 0);
    return tf.equal(tf.argMax(mean, 1), y) as tf.Tensor1D;
  });
}

function checkOptions(model: AttackModel, x: tf.Tensor2D, y: Int32Array, opts: PgdEotOptions): void {
  const n = x.shape[0];
  if (x.rank !== 2) throw new RangeError(`pgd-eot: x must be [n, d], got rank ${x.rank}`);
  if (y.length !== n) throw new RangeError(`pgd-eot: ${y.length} labels for ${n} points`);
  if (opts.active && opts.active.length !== n) throw new RangeError(`pgd-eot: active has ${opts.active.length} flags for ${n} points`);
  if (!(opts.eps > 0) || !Number.isFinite(opts.eps)) throw new RangeError(`pgd-eot: eps ${opts.eps} must be a positive number`);
  if (opts.norm !== 'Linf' && opts.norm !== 'L2') throw new RangeError(`pgd-eot: unknown norm ${String(opts.norm)}`);
  for (const [name, value] of [['steps', opts.steps], ['eot', opts.eot]] as const) {
    if (value !== undefined && (!Number.isInteger(value) || value < 1)) throw new RangeError(`pgd-eot: ${name} ${value} must be a positive integer`);
  }
  if (opts.stepSize !== undefined && !(opts.stepSize > 0)) throw new RangeError(`pgd-eot: stepSize ${opts.stepSize} must be positive`);
  for (let i = 0; i < n; i++) {
    if (!(y[i] >= 0 && y[i] < model.numClasses)) throw new RangeError(`pgd-eot: label ${y[i]} of point ${i} is not a class of this ${model.numClasses}-class model`);
  }
}

const nextTask = (): Promise<void> => new Promise((resolve) => setTimeout(resolve, 0));

/**
 * PGD-EOT on the points of x [n, d] that are active and classified correctly (by the rule in the
 * header): x_{t+1} = P(x_t + α·dir(mean_e ∇CE(x_t; draw e))), P the projection onto the ε-ball ∩
 * box, dir = sign (L∞) or ∇/‖∇‖₂ (L2). adversarial is the final iterate of each attacked point
 * (the clean input elsewhere); robust is the fresh evaluation there. lossTrace row t holds the
 * mean CE at the iterate step t's gradient was taken at (x_0 … x_{steps−1}), NaN for points not
 * attacked; iterationsRun = steps (0 when no point was attacked).
 */
export async function pgdEot(model: AttackModel, x: tf.Tensor2D, y: Int32Array, opts: PgdEotOptions): Promise<AttackOutcome> {
  checkOptions(model, x, y, opts);
  throwIfAborted(opts.signal);
  const n = x.shape[0];
  const steps = opts.steps ?? 200;
  const stepSize = opts.stepSize ?? opts.eps / 4;
  const draws = model.randomized ? opts.eot ?? 20 : 1;
  const rng = createRandom(opts.seed, 'pgd-eot');
  const robust = new Uint8Array(n);

  const activeIdx: number[] = [];
  for (let i = 0; i < n; i++) if (!opts.active || opts.active[i]) activeIdx.push(i);
  if (activeIdx.length === 0) return { adversarial: tf.clone(x), robust, lossTrace: new Float32Array(0), iterationsRun: 0 };

  const owned: tf.Tensor[] = [];
  const traceRows: tf.Tensor1D[] = [];
  let xAdv: tf.Tensor2D | null = null;
  try {
    const clean = tf.tidy(() => {
      const at = tf.tensor1d(activeIdx, 'int32');
      return eotCorrect(model, tf.gather(x, at) as tf.Tensor2D, tf.tensor1d(Int32Array.from(activeIdx, (i) => y[i]), 'int32'), draws, rng.seed());
    });
    const cleanFlags = await clean.data();
    clean.dispose();
    const idx = activeIdx.filter((_, j) => cleanFlags[j]);
    if (idx.length === 0) return { adversarial: tf.clone(x), robust, lossTrace: new Float32Array(0), iterationsRun: 0 };
    const m = idx.length;

    const at = tf.tensor1d(idx, 'int32');
    const xs = tf.gather(x, at) as tf.Tensor2D;
    const ys = tf.tensor1d(Int32Array.from(idx, (i) => y[i]), 'int32');
    const yTiled = tileDraws(ys, draws);
    owned.push(at, xs, ys);
    if (yTiled !== ys) owned.push(yTiled);

    xAdv = opts.randomStart === false ? tf.clone(xs) : randomStart(xs, opts.eps, opts.norm, opts.box, rng.seed());
    for (let t = 0; t < steps; t++) {
      throwIfAborted(opts.signal);
      const { loss, grad } = eotCrossEntropy(model, xAdv, yTiled, draws, rng.seed());
      traceRows.push(loss);
      const current: tf.Tensor2D = xAdv;
      xAdv = tf.tidy(() => project(tf.add(current, tf.mul(ascentDirection(grad, opts.norm), stepSize)) as tf.Tensor2D, xs, opts.eps, opts.norm, opts.box));
      current.dispose();
      grad.dispose();
      opts.onProgress?.(t + 1, steps);
      if ((t + 1) % YIELD_EVERY === 0) await nextTask();
    }

    const final = eotCorrect(model, xAdv, ys, draws, rng.seed());
    const trace = tf.stack(traceRows);
    owned.push(final, trace);
    const [finalFlags, rows] = await Promise.all([final.data(), trace.data()]);
    for (let j = 0; j < m; j++) robust[idx[j]] = finalFlags[j] ? 1 : 0;
    const lossTrace = new Float32Array(steps * n).fill(NaN);
    for (let t = 0; t < steps; t++) for (let j = 0; j < m; j++) lossTrace[t * n + idx[j]] = rows[t * m + j];

    // Row i of [x; final iterates] for each point: its final iterate where attacked.
    const from = Int32Array.from({ length: n }, (_, i) => i);
    idx.forEach((i, j) => { from[i] = n + j; });
    const finalX = xAdv;
    const adversarial = tf.tidy(() => tf.gather(tf.concat([x, finalX]), tf.tensor1d(from, 'int32')) as tf.Tensor2D);
    return { adversarial, robust, lossTrace, iterationsRun: steps };
  } finally {
    tf.dispose(owned);
    tf.dispose(traceRows);
    xAdv?.dispose();
  }
}
