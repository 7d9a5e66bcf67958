/**
 * The sanity checks the reference AutoAttack runs around its evaluation (fra31/auto-attack,
 * autoattack/checks.py), returned as flags instead of printed warnings. Each one catches a way an
 * evaluation can look robust without being so: a randomized model attacked without EOT, a model
 * that outputs probabilities (saturated softmax gives vanishing cross-entropy gradients), inputs
 * with no gradient at all, Square (gradient-free) succeeding where the gradient attacks failed
 * (masked gradients), and a forward pass that itself runs an optimization (a dynamic defense).
 *
 * Departures from checks.py: the randomness check compares raw logits by their largest absolute
 * difference (the reference compares L2-normalized outputs and the number of correct points);
 * the zero-gradient check takes one cross-entropy gradient at the clean inputs (the reference looks
 * at APGD's first gradient); the dynamic check counts calls into the tfjs gradient engine during one
 * forward pass, the analogue of the reference tracing torch's autograd calls.
 */
import * as tf from '@tensorflow/tfjs';
import { createRandom } from '../random';
import { crossEntropy } from './losses';
import type { AttackModel } from './model';
import type { EnsembleResult } from './ensemble';

export type CheckCode = 'randomized' | 'probabilities' | 'zero-gradients' | 'square-beats-gradient' | 'dynamic';

export interface CheckFlag {
  code: CheckCode;
  message: string;
}

/** Logits that differ by more than this across passes mean the model is random (checks.py: 1e-4). */
const RANDOM_TOLERANCE = 1e-4;
/** Rows summing to 1 within this, with no entry below −this, look like probabilities (checks.py: 1e-5). */
const PROBABILITY_TOLERANCE = 1e-5;
/** A gradient below this everywhere counts as exactly zero. */
const ZERO_GRADIENT = 1e-12;
/** Square may lower robust accuracy by at most this share after the gradient attacks (checks.py: 0.002). */
const SQUARE_TOLERANCE = 0.002;
/** The reference runs the model checks on its first batch of 250 points. */
export const CHECK_POINTS = 250;

/** The first CHECK_POINTS rows, as a new tensor. */
function firstRows(x: tf.Tensor2D): tf.Tensor2D {
  return tf.slice(x, [0, 0], [Math.min(x.shape[0], CHECK_POINTS), -1]);
}

async function readScalars(...scalars: tf.Tensor[]): Promise<number[]> {
  try {
    return await Promise.all(scalars.map(async (s) => (await s.data())[0]));
  } finally {
    tf.dispose(scalars);
  }
}

/**
 * Forward passes with `passes` different seeds: if any logit differs by more than 1e-4 between two
 * of them, the model is random and its robust accuracy needs EOT. The message says whether the
 * attacks know it (model.randomized; otherwise they ignore `eot` and see single draws).
 */
export async function checkRandomness(model: AttackModel, x: tf.Tensor2D, seed: number, passes = 5): Promise<CheckFlag | null> {
  const rng = createRandom(seed, 'check/randomness');
  const spread = tf.tidy(() => {
    const rows = firstRows(x);
    const z = tf.stack(Array.from({ length: passes }, () => model.logits(rows, rng.seed())));
    // max over pairs of |z_a − z_b| is max − min over the passes, per entry.
    return tf.max(tf.sub(tf.max(z, 0), tf.min(z, 0)));
  });
  const [diff] = await readScalars(spread);
  if (!(diff > RANDOM_TOLERANCE)) return null;
  const size = `logits differ by up to ${diff.toPrecision(3)} across ${passes} forward passes with different seeds`;
  const message = model.randomized
    ? `the model is randomized (${size}): robust accuracy needs EOT (version 'rand', or pgd-eot), and single-draw gradients may hide its weakness`
    : `the model seems randomized (${size}) but is not marked so: attacks ignore EOT for it and see single draws; mark it randomized and evaluate with EOT (version 'rand', or pgd-eot)`;
  return { code: 'randomized', message };
}

/** Every output row non-negative and summing to 1 within 1e-5: the model outputs probabilities, not logits. */
export async function checkProbabilities(model: AttackModel, x: tf.Tensor2D, seed = 0): Promise<CheckFlag | null> {
  const [lowest, worstSum] = await readScalars(...tf.tidy(() => {
    const z = model.logits(firstRows(x), seed);
    return [tf.min(z), tf.max(tf.abs(tf.sub(tf.sum(z, 1), 1)))];
  }));
  if (!(lowest > -PROBABILITY_TOLERANCE && worstSum < PROBABILITY_TOLERANCE)) return null;
  return {
    code: 'probabilities',
    message: 'the model seems to output probabilities (every row is non-negative and sums to 1), not logits: '
      + 'the attacks take a softmax of their own, so their gradients vanish where the probabilities saturate; give the model logits',
  };
}

/**
 * The cross-entropy gradient at the clean inputs (one draw for a randomized model): points whose
 * gradient is exactly zero cannot be moved by any gradient attack, so its robust flags there say
 * nothing about robustness.
 */
export async function checkZeroGradients(model: AttackModel, x: tf.Tensor2D, y: Int32Array, seed: number): Promise<CheckFlag | null> {
  const m = Math.min(x.shape[0], CHECK_POINTS);
  const perPoint = tf.tidy(() => {
    const labels = tf.tensor1d(y.subarray(0, m), 'int32');
    const g = tf.grad((v: tf.Tensor) => tf.sum(crossEntropy(model.logits(v as tf.Tensor2D, seed), labels)))(firstRows(x));
    return tf.sum(tf.cast(tf.less(tf.max(tf.abs(g), 1), ZERO_GRADIENT), 'float32'));
  });
  const [zero] = await readScalars(perPoint);
  if (zero === 0) return null;
  return {
    code: 'zero-gradients',
    message: `${zero} of ${m} points (${((100 * zero) / m).toFixed(1)}%) have an exactly zero cross-entropy gradient: `
      + 'gradient attacks cannot move them, so the evaluation may be unreliable (non-differentiable steps need BPDA; saturated outputs need logits)',
  };
}

type GradientEngine = { gradients: (...args: never[]) => unknown };

/**
 * One forward pass, counting the calls into the tfjs gradient engine it makes (tf.grad, tf.grads,
 * optimizer steps all go through engine.gradients): a model that differentiates inside its own
 * forward pass adapts to each input (a dynamic, test-time-optimization defense), which AutoAttack
 * alone may not evaluate well. The engine method is shadowed for that one synchronous call only.
 */
export function checkDynamic(model: AttackModel, x: tf.Tensor2D, seed = 0): CheckFlag | null {
  const engine = tf.engine() as unknown as GradientEngine;
  const original = engine.gradients;
  let calls = 0;
  engine.gradients = ((...args: never[]) => {
    calls++;
    return original.apply(engine, args);
  }) as GradientEngine['gradients'];
  try {
    tf.tidy(() => { model.logits(firstRows(x), seed); });
  } finally {
    delete (engine as Partial<GradientEngine>).gradients;
    if (engine.gradients !== original) engine.gradients = original;
  }
  if (calls === 0) return null;
  return {
    code: 'dynamic',
    message: `the forward pass computes gradients itself (${calls} gradient call${calls > 1 ? 's' : ''} in one pass): `
      + 'it seems to be a dynamic defense, which the evaluation with AutoAttack alone may not measure; use an adaptive attack',
  };
}

/** Whether an attack name is one of the gradient-based ones. */
const isGradientAttack = (name: string): boolean => name !== 'square';

/**
 * Square (gradient-free) lowered the robust accuracy by more than 0.2% after at least one gradient
 * attack had run: the gradient attacks missed points a random search finds, so gradients may be
 * masked (checks.py's check_square_sr, against the accuracy just before Square).
 */
export function checkSquareBeatsGradient(result: Pick<EnsembleResult, 'attacks'>): CheckFlag | null {
  const { attacks } = result;
  let worst = 0;
  for (let k = 1; k < attacks.length; k++) {
    const a = attacks[k];
    if (a.name !== 'square' || a.skipped || a.broken === 0) continue;
    if (!attacks.slice(0, k).some((b) => isGradientAttack(b.name) && !b.skipped)) continue;
    worst = Math.max(worst, attacks[k - 1].robustAccuracy - a.robustAccuracy);
  }
  if (!(worst > SQUARE_TOLERANCE)) return null;
  return {
    code: 'square-beats-gradient',
    message: `Square lowered the robust accuracy by ${(100 * worst).toFixed(2)}% after the gradient attacks: `
      + 'gradients may be masked, so the evaluation may be unreliable; run Square with more queries and restarts, or an adaptive attack',
  };
}

export interface ModelCheckOptions {
  seed: number;
  /** Skip the randomness check, as the reference does for version 'rand' (the attacks already use EOT). */
  skipRandomness?: boolean;
}

/** The checks on the model itself, which the reference runs before its attacks. */
export async function modelChecks(model: AttackModel, x: tf.Tensor2D, y: Int32Array, opts: ModelCheckOptions): Promise<CheckFlag[]> {
  const rng = createRandom(opts.seed, 'checks');
  const flags = [
    opts.skipRandomness ? null : await checkRandomness(model, x, rng.seed()),
    await checkProbabilities(model, x, rng.seed()),
    checkDynamic(model, x, rng.seed()),
    await checkZeroGradients(model, x, y, rng.seed()),
  ];
  return flags.filter((f): f is CheckFlag => f !== null);
}

/** "code: message", the form flags take in reports. */
export function formatFlag(flag: CheckFlag): string {
  return `${flag.code}: ${flag.message}`;
}

/** The ensemble's flags: the model checks run before the attacks, then the Square check on its records. */
export function ensembleFlags(before: readonly CheckFlag[], result: Pick<EnsembleResult, 'attacks'>): string[] {
  const square = checkSquareBeatsGradient(result);
  return [...before, ...(square ? [square] : [])].map(formatFlag);
}
