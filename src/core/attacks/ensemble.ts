/**
 * The AutoAttack ensemble (Croce & Hein, ICML 2020) as the reference's run_standard_evaluation runs
 * it (fra31/auto-attack, autoattack/autoattack.py): one clean pass sets the robust flags, then each
 * attack in turn attacks only the points still robust, and the model re-judges that attack's
 * adversarials; robust accuracy (over all points) is logged after each attack.
 *
 * Choices, each on purpose:
 * - Each attack receives only the rows of the points still robust (gathered, as the reference
 *   slices x_orig), never the others: an attack's own clean pass then cannot read a point broken
 *   earlier or misclassified clean.
 * - `judge` (default: the attacked model) decides every flag: the clean pass and, after each
 *   attack, whether its adversarials are misclassified. A randomized judge (e.g. the purifier with
 *   its own K draws) is called ONCE per decision with a fresh seed, as the reference calls
 *   get_logits once; an attack's own success claims are not taken on trust.
 * - The returned adversarial of a still-robust point is what the last attack that ran on it
 *   returned (its best-loss point; with a judge that differs, possibly an input only the attacked
 *   model misclassifies); the reference keeps the clean input. Broken points keep the adversarial
 *   that broke them. maxPerturbation is taken over all of these.
 * - A randomized judge's clean pass is one call too, so a point it misclassifies on that draw is
 *   counted as misclassified clean and never attacked.
 * - Loss traces are widened to all n points (NaN where the attack did not run), rows as the attack
 *   recorded them.
 * - When no point is left robust the remaining attacks are recorded as skipped (the reference
 *   stops without logging them).
 */
import * as tf from '@tensorflow/tfjs';
import { throwIfAborted } from '../pipeline/progress';
import { createRandom, deriveSeed } from '../random';
import { apgd, type ApgdLoss } from './apgd';
import { ensembleFlags, modelChecks } from './checks';
import type { AttackModel, Norm } from './model';
import { pgdEot } from './pgdEot';
import { square } from './square';
import type { AttackCommon, AttackOutcome } from './types';

export type AttackName = 'apgd-ce' | 'apgd-dlr' | 'apgd-t' | 'square' | 'pgd-eot';
export const ATTACK_NAMES: readonly AttackName[] = ['apgd-ce', 'apgd-dlr', 'apgd-t', 'square', 'pgd-eot'];
export type AttackVersion = 'standard' | 'rand' | 'custom';

export interface AttackSpec {
  name: AttackName;
  /** Iterations per run (APGD), steps (PGD-EOT); Square counts queries instead. */
  iterations?: number;
  restarts?: number;
  /** apgd-t: target classes (capped at C − 1 by the attack). */
  targets?: number;
  /** square: queries per restart. */
  queries?: number;
  /** Draws per gradient / margin for a randomized model. */
  eot?: number;
}

/** A spec with every setting its attack uses filled in. */
export type ResolvedSpec = Required<Omit<AttackSpec, 'targets' | 'queries'>> & Pick<AttackSpec, 'targets' | 'queries'>;

/**
 * The reference AutoAttack constructor's settings, which its custom lists keep: APGD 5 restarts of
 * 100 iterations, APGD-T 1 restart with 9 targets, Square 5000 queries and 1 restart; PGD-EOT as
 * Lee & Kim (2023): 200 steps, EOT 20.
 */
export const ATTACK_DEFAULTS: Readonly<Record<AttackName, Omit<ResolvedSpec, 'name'>>> = {
  'apgd-ce': { iterations: 100, restarts: 5, eot: 1 },
  'apgd-dlr': { iterations: 100, restarts: 5, eot: 1 },
  'apgd-t': { iterations: 100, restarts: 1, targets: 9, eot: 1 },
  square: { iterations: 5000, queries: 5000, restarts: 1, eot: 1 },
  'pgd-eot': { iterations: 200, restarts: 1, eot: 20 },
};

/** The spec with the constructor defaults where it says nothing (Square's iterations are its queries). */
export function resolveSpec(spec: AttackSpec): ResolvedSpec {
  const base = ATTACK_DEFAULTS[spec.name];
  if (!base) throw unknownAttack(spec.name);
  const out: ResolvedSpec = { ...base, ...definedFields(spec), name: spec.name };
  if (spec.name === 'square') out.iterations = out.queries!;
  for (const key of ['iterations', 'restarts', 'targets', 'queries', 'eot'] as const) {
    const v = out[key];
    if (v !== undefined && (!Number.isInteger(v) || v < 1)) throw new RangeError(`${spec.name}: ${key} ${v} must be a positive integer`);
  }
  if (spec.name === 'pgd-eot' && out.restarts !== 1) throw new RangeError(`pgd-eot runs once (the final iterate is scored); restarts ${out.restarts} is not supported`);
  return out;
}

function definedFields(spec: AttackSpec): Partial<AttackSpec> {
  return Object.fromEntries(Object.entries(spec).filter(([, v]) => v !== undefined)) as Partial<AttackSpec>;
}

function unknownAttack(name: string): Error {
  return new Error(`unknown attack "${name}"; valid attacks: ${ATTACK_NAMES.join(', ')}`);
}

function parseName(raw: string): AttackName {
  const name = raw.trim().toLowerCase();
  if (!(ATTACK_NAMES as readonly string[]).includes(name)) throw unknownAttack(raw);
  return name as AttackName;
}

/**
 * The attacks of a version, as the reference's set_version: standard (L∞) = apgd-ce with 1 restart,
 * apgd-t with 9 targets and 1 restart, square with 5000 queries (its fab-t is not implemented:
 * noted); rand = apgd-ce and apgd-dlr with 1 restart each and EOT 20; custom = the given names with
 * the constructor defaults (ATTACK_DEFAULTS). Names given with standard or rand are checked, then
 * ignored with a note (the reference refuses them). Unknown names throw, naming the valid list.
 */
export function attackPlan(version: AttackVersion, names?: readonly string[]): { specs: AttackSpec[]; notes: string[] } {
  const parsed = (names ?? []).map(parseName);
  const notes: string[] = [];
  let specs: AttackSpec[];
  if (version === 'standard') {
    specs = [
      { name: 'apgd-ce', iterations: 100, restarts: 1, eot: 1 },
      { name: 'apgd-t', iterations: 100, restarts: 1, targets: 9, eot: 1 },
      { name: 'square', queries: 5000, restarts: 1, eot: 1 },
    ];
    notes.push('standard version: fab-t (targeted FAB, 9 targets), third in the reference\'s list, is not implemented; the other three attacks run with its settings');
  } else if (version === 'rand') {
    specs = [
      { name: 'apgd-ce', iterations: 100, restarts: 1, eot: 20 },
      { name: 'apgd-dlr', iterations: 100, restarts: 1, eot: 20 },
    ];
  } else if (version === 'custom') {
    if (parsed.length === 0) throw new Error(`version custom needs attack names; valid attacks: ${ATTACK_NAMES.join(', ')}`);
    specs = parsed.map((name) => {
      const { iterations, restarts, targets, queries, eot } = resolveSpec({ name });
      return { name, ...(name === 'square' ? { queries } : { iterations }), restarts, ...(targets ? { targets } : {}), eot };
    });
    if (parsed.some((n) => n === 'apgd-ce' || n === 'apgd-dlr')) {
      notes.push('custom list: APGD keeps the reference constructor\'s 5 restarts of 100 iterations (standard uses 1 restart)');
    }
  } else {
    throw new Error(`unknown version "${String(version)}"; valid versions: standard, rand, custom`);
  }
  if (version !== 'custom' && parsed.length > 0) notes.push(`attack names ignored: version ${version} fixes its own list`);
  return { specs, notes };
}

export interface EnsembleOptions extends Pick<AttackCommon, 'eps' | 'norm' | 'box' | 'seed' | 'signal'> {
  specs: AttackSpec[];
  /** Model that decides the final robust flags (the deployed defense, e.g. the purifier with its own K draws); default: the attacked model. The clean pass and each attack's flags are re-judged by it. */
  judge?: AttackModel;
  onProgress?: (attack: AttackName, done: number, total: number) => void;
}

export interface EnsembleAttackRecord {
  name: AttackName;
  /** Robust accuracy over all points after this attack. */
  robustAccuracy: number;
  seconds: number;
  /** Points this attack broke (judged). */
  broken: number;
  skipped?: string;
  iterations: number;
  restarts: number;
  /** Draws actually averaged (1 for a deterministic model). */
  eot: number;
  queries?: number;
  /** apgd-t: target classes actually used (at most C − 1). */
  targets?: number;
  /** Points this attack was run on. */
  attacked: number;
}

export interface EnsembleResult {
  cleanCorrect: Uint8Array;
  cleanAccuracy: number;
  robust: Uint8Array;
  robustAccuracy: number;
  attacks: EnsembleAttackRecord[];
  /** Final inputs [n, d]: for broken points the adversarial that broke them, for robust points the last attack's best-loss point (the clean input where nothing ran). Caller disposes. */
  adversarial: tf.Tensor2D;
  /** Per point: index into `attacks` of the attack that broke it, −1 if none (or misclassified clean: −2). */
  brokenBy: Int8Array;
  /** Loss traces per attack, as the attacks return them, widened to n columns (NaN where the attack did not run). `iterations`: the attack's iterationsRun; rows = lossTrace.length / n. */
  traces: { name: AttackName; lossTrace: Float32Array; iterations: number }[];
  /** Largest perturbation norm (in the attack's norm) over all points. */
  maxPerturbation: number;
  flags: string[];
}

/** Work units an attack reports progress in, to announce it before it starts. */
function plannedWork(spec: ResolvedSpec, numClasses: number): number {
  if (spec.name === 'square') return spec.iterations * spec.restarts;
  const targets = spec.name === 'apgd-t' ? Math.max(1, Math.min(spec.targets ?? 9, numClasses - 1)) : 1;
  return spec.iterations * spec.restarts * targets;
}

const APGD_LOSS: Partial<Record<AttackName, ApgdLoss>> = { 'apgd-ce': 'ce', 'apgd-dlr': 'dlr', 'apgd-t': 'dlr-targeted' };

function runAttack(model: AttackModel, x: tf.Tensor2D, y: Int32Array, spec: ResolvedSpec, common: AttackCommon): Promise<AttackOutcome> {
  const loss = APGD_LOSS[spec.name];
  if (loss) return apgd(model, x, y, { ...common, loss, iterations: spec.iterations, restarts: spec.restarts, targets: spec.targets });
  if (spec.name === 'square') return square(model, x, y, { ...common, queries: spec.iterations, restarts: spec.restarts });
  return pgdEot(model, x, y, { ...common, steps: spec.iterations });
}

/** bool [m]: the judge's argmax equals the label, one call. */
async function judged(judge: AttackModel, x: tf.Tensor2D, y: Int32Array, seed: number): Promise<Uint8Array> {
  const flags = tf.tidy(() => tf.equal(tf.argMax(judge.logits(x, seed), 1), tf.tensor1d(y, 'int32')));
  try {
    return Uint8Array.from(await flags.data());
  } finally {
    flags.dispose();
  }
}

/** Largest ‖x_adv − x‖ over the points, in the attack's norm. */
function largestPerturbation(adv: tf.Tensor2D, x: tf.Tensor2D, norm: Norm): tf.Scalar {
  return tf.tidy(() => {
    const delta = tf.sub(adv, x);
    return tf.max(norm === 'Linf' ? tf.max(tf.abs(delta), 1) : tf.norm(delta, 'euclidean', 1));
  });
}

function count(flags: Uint8Array): number {
  let s = 0;
  for (const f of flags) s += f ? 1 : 0;
  return s;
}

/**
 * Runs the attacks of `opts.specs` in turn on the points still robust (see the header). Each attack
 * gets its own seed, deriveSeed(opts.seed, "ensemble/<position>/<name>"); Square and PGD-EOT take
 * the spec's `eot` for a randomized model, as APGD does. The model checks (randomness unless the
 * model is randomized and a gradient attack averages draws, probabilities, dynamic, zero gradients)
 * run before the attacks, the Square check after; their messages are `flags`.
 */
export async function runEnsemble(model: AttackModel, x: tf.Tensor2D, y: Int32Array, opts: EnsembleOptions): Promise<EnsembleResult> {
  const [n] = x.shape;
  if (x.rank !== 2 || n === 0) throw new RangeError(`runEnsemble: x must be [n, d] with n ≥ 1, got shape [${x.shape.join(', ')}]`);
  if (y.length !== n) throw new RangeError(`runEnsemble: ${y.length} labels for ${n} points`);
  if (opts.specs.length > 127) throw new RangeError(`runEnsemble: at most 127 attacks (brokenBy is int8), got ${opts.specs.length}`);
  const specs = opts.specs.map(resolveSpec);
  const judge = opts.judge ?? model;
  const judgeRng = createRandom(opts.seed, 'ensemble/judge');
  throwIfAborted(opts.signal);

  const averagesDraws = specs.some((s) => s.name !== 'square' && s.eot > 1);
  const before = await modelChecks(model, x, y, {
    seed: deriveSeed(opts.seed, 'ensemble/checks'), skipRandomness: model.randomized && averagesDraws,
  });

  const cleanCorrect = await judged(judge, x, y, judgeRng.seed());
  const robust = Uint8Array.from(cleanCorrect);
  const brokenBy = Int8Array.from(cleanCorrect, (c) => (c ? -1 : -2));
  const attacks: EnsembleAttackRecord[] = [];
  const traces: EnsembleResult['traces'] = [];
  let adversarial: tf.Tensor2D = tf.clone(x);
  try {
    for (let k = 0; k < specs.length; k++) {
      throwIfAborted(opts.signal);
      const spec = specs[k];
      const started = performance.now();
      const record: EnsembleAttackRecord = {
        name: spec.name, robustAccuracy: count(robust) / n, seconds: 0, broken: 0,
        iterations: spec.iterations, restarts: spec.restarts, eot: model.randomized ? spec.eot : 1, attacked: 0,
        ...(spec.name === 'square' ? { queries: spec.iterations } : {}),
        ...(spec.name === 'apgd-t' ? { targets: Math.min(spec.targets ?? 9, model.numClasses - 1) } : {}),
      };
      attacks.push(record);
      const idx: number[] = [];
      for (let i = 0; i < n; i++) if (robust[i]) idx.push(i);
      if (idx.length === 0) {
        record.skipped = 'no point left robust';
        continue;
      }
      const total = plannedWork(spec, model.numClasses);
      opts.onProgress?.(spec.name, 0, total);
      const ys = Int32Array.from(idx, (i) => y[i]);
      const xs = tf.tidy(() => tf.gather(x, tf.tensor1d(idx, 'int32')) as tf.Tensor2D);
      let outcome: AttackOutcome;
      try {
        outcome = await runAttack(model, xs, ys, spec, {
          eps: opts.eps, norm: opts.norm, box: opts.box, eot: spec.eot,
          seed: deriveSeed(opts.seed, `ensemble/${k}/${spec.name}`) & 0x7fffffff,
          signal: opts.signal, onProgress: opts.onProgress && ((done, all) => opts.onProgress!(spec.name, done, all)),
        });
      } finally {
        xs.dispose();
      }
      const m = idx.length;
      let still: Uint8Array;
      try {
        if (outcome.skipped) {
          record.skipped = outcome.skipped;
          record.seconds = (performance.now() - started) / 1000;
          continue;
        }
        record.attacked = m;
        still = await judged(judge, outcome.adversarial, ys, judgeRng.seed());
        // Every attacked point takes this attack's result: its witness if broken, else its best-loss point.
        const from = Int32Array.from({ length: n }, (_, i) => i);
        idx.forEach((i, j) => { from[i] = n + j; });
        const prev = adversarial;
        const fresh = outcome.adversarial;
        adversarial = tf.tidy(() => tf.gather(tf.concat([prev, fresh]), tf.tensor1d(from, 'int32')) as tf.Tensor2D);
        prev.dispose();
      } finally {
        outcome.adversarial.dispose();
      }
      for (let j = 0; j < m; j++) {
        if (still[j]) continue;
        robust[idx[j]] = 0;
        brokenBy[idx[j]] = k;
        record.broken++;
      }
      record.robustAccuracy = count(robust) / n;
      record.seconds = (performance.now() - started) / 1000;
      traces.push({ name: spec.name, lossTrace: widen(outcome.lossTrace, idx, n), iterations: outcome.iterationsRun });
    }

    const largest = largestPerturbation(adversarial, x, opts.norm);
    let maxPerturbation: number;
    try {
      maxPerturbation = (await largest.data())[0];
    } finally {
      largest.dispose();
    }
    const result = {
      cleanCorrect, cleanAccuracy: count(cleanCorrect) / n, robust, robustAccuracy: count(robust) / n,
      attacks, adversarial, brokenBy, traces, maxPerturbation, flags: [] as string[],
    };
    result.flags = ensembleFlags(before, result);
    return result;
  } catch (error) {
    adversarial.dispose();
    throw error;
  }
}

/** A trace over the m attacked points (rows × m) as rows × n, NaN in the other columns. */
function widen(trace: Float32Array, idx: readonly number[], n: number): Float32Array {
  const m = idx.length;
  const rows = m > 0 ? trace.length / m : 0;
  const out = new Float32Array(rows * n).fill(NaN);
  for (let r = 0; r < rows; r++) for (let j = 0; j < m; j++) out[r * n + idx[j]] = trace[r * m + j];
  return out;
}
