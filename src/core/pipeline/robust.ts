/**
 * Robust scenarios: the baseline classifier and the purified (defended) classifier under the
 * AutoAttack ensemble, in the chosen threat model, with the adaptive PGD-EOT beside the defended
 * figure and a per-image trace of every attacked test image.
 */
import * as tf from '@tensorflow/tfjs';
import type { AttackConfig, ThreatModel } from '../config';
import type { Metrics } from '../types';
import { classificationMetrics } from '../metrics/classification';
import { deriveSeed } from '../random';
import { defendedProbabilities, noiseFeatures } from '../diffusion/purify';
import { attackPlan, runEnsemble, type AttackName, type AttackSpec, type EnsembleResult } from '../attacks/ensemble';
import { pgdEot } from '../attacks/pgdEot';
import { UNIT_BOX, baselineModel, defendedModel, pixelsToFeatures, type FeatureMap, type Purifier } from '../attacks/threat';
import type { AttackModel } from '../attacks/model';
import { throwIfAborted } from './progress';
import type { ProgressFn } from '../types';

/** Everything a reader needs to know which number this is. */
export interface AttackSettings {
  threat: ThreatModel;
  norm: 'Linf' | 'L2';
  eps: number;
  version: AttackConfig['version'];
  attacks: AttackSpec[];
  /** EOT draws per gradient for the randomized (defended) model; 1 for the baseline. */
  eot: number;
  /** Purification draws inside each attacked forward pass, and in the deployed defense that judges. */
  draws?: number;
  judgeDraws?: number;
  /** Test images attacked (the first `points` of the test split). */
  points: number;
  notes: string[];
}

export interface AttackStep {
  name: AttackName;
  robustAccuracy: number;
  seconds: number;
  skipped?: string;
}

/** Per attacked test image: why it fell or held. Probabilities are class vectors. */
export interface ImageTrace {
  index: number;
  label: number;
  /** 'misclassified' = wrong before any attack; 'fell' = an attack broke it; 'held' = robust. */
  status: 'held' | 'fell' | 'misclassified';
  brokenBy: AttackName | null;
  /** Loss per iteration of the first attack that ran on the point (empty when none did). */
  loss: number[];
  lossAttack: AttackName | null;
  /** L∞ (or L2) size of the final perturbation. */
  perturbation: number;
  probs: { clean: number[]; adversarial: number[]; noised?: number[]; purified?: number[] };
}

export interface RobustScenario {
  metrics: Metrics;
  /** Class probabilities at the final adversarial inputs, attacked images × classes. */
  probs: Float32Array;
  cleanAccuracy: number;
  /** The ensemble's robust accuracy (a point counts as broken once any attack broke it). */
  robustAccuracy: number;
  robustAccuracyAfter: AttackStep[];
  settings: AttackSettings;
  flags: string[];
  maxPerturbation: number;
  /** PGD-EOT with full gradients through the purifier (defended scenario only). */
  adaptive?: { name: 'pgd-eot'; robustAccuracy: number; seconds: number; steps: number; eot: number; draws: number };
  /** Final adversarial inputs, attacked images × input size (features or pixels). */
  adversarial: Float32Array;
  inputSize: number;
  traces: ImageTrace[];
}

export interface RobustContext {
  threat: ThreatModel;
  classifier: tf.LayersModel;
  numClasses: number;
  /** Clean test inputs in the threat model's space (features or pixels) and their labels. */
  x: tf.Tensor2D;
  y: Int32Array;
  /** For the image threat model: pixels → features. */
  features?: FeatureMap;
  seed: number;
  signal?: AbortSignal;
  progress: ProgressFn;
}

export interface DefenseContext {
  purifier: Purifier;
  /** Draws of the deployed defense (diffusion.eot). */
  deployedDraws: number;
}

/** The reference's budgets unless the config overrides them for a quick look. */
function planFor(cfg: AttackConfig): { specs: AttackSpec[]; notes: string[] } {
  const plan = attackPlan(cfg.version, cfg.version === 'custom' ? cfg.attacks : undefined);
  const specs = plan.specs.map((s) => ({
    ...s,
    ...(cfg.iterations > 0 && s.name !== 'square' ? { iterations: cfg.iterations } : {}),
    ...(cfg.queries > 0 && s.name === 'square' ? { queries: cfg.queries } : {}),
  }));
  const notes = [...plan.notes];
  if (cfg.iterations > 0) notes.push(`gradient attacks cut to ${cfg.iterations} iterations (reference: 100; PGD-EOT 200)`);
  if (cfg.queries > 0) notes.push(`Square cut to ${cfg.queries} queries (reference: 5000)`);
  return { specs, notes };
}

/** The first `limit` rows (all when limit is 0). */
export function attackedPoints(count: number, limit: number): number {
  return limit > 0 ? Math.min(limit, count) : count;
}

function rows(data: Float32Array, n: number, i: number): number[] {
  const w = data.length / n;
  return Array.from(data.subarray(i * w, (i + 1) * w));
}

async function read(t: tf.Tensor): Promise<Float32Array> {
  const v = (await t.data()) as Float32Array;
  t.dispose();
  return v;
}

/** Per-point size of x − x0 in the attack's norm. */
function perturbationSizes(adv: tf.Tensor2D, x: tf.Tensor2D, norm: 'Linf' | 'L2'): tf.Tensor1D {
  return tf.tidy(() => {
    const d = tf.sub(adv, x);
    return (norm === 'Linf' ? tf.max(tf.abs(d), 1) : tf.norm(d, 'euclidean', 1)) as tf.Tensor1D;
  });
}

/**
 * Runs the ensemble on `model` (judged by `judge`), then reads back once: probabilities at the
 * final adversarials, the per-point stage probabilities and sizes, and assembles the traces.
 */
async function scenario(
  ctx: RobustContext, cfg: AttackConfig, model: AttackModel, judge: AttackModel,
  stageProbs: (x: tf.Tensor2D, seed: number) => { clean: tf.Tensor2D; adversarial: tf.Tensor2D; noised?: tf.Tensor2D; purified?: tf.Tensor2D; final: tf.Tensor2D },
  extra: Partial<AttackSettings>,
): Promise<{ result: EnsembleResult; scenario: Omit<RobustScenario, 'adaptive'> }> {
  const { specs, notes } = planFor(cfg);
  const withEot = specs.map((s) => (model.randomized ? { ...s, eot: cfg.version === 'rand' ? (s.eot ?? 20) : cfg.eot } : { ...s, eot: 1 }));
  const total = withEot.length;
  let index = 0;
  let current: AttackName | null = null;
  const result = await runEnsemble(model, ctx.x, ctx.y, {
    eps: cfg.eps, norm: cfg.norm, box: UNIT_BOX, seed: ctx.seed, specs: withEot, judge, signal: ctx.signal,
    onProgress: (attack, done, all) => {
      if (attack !== current) {
        current = attack;
        index = withEot.findIndex((s) => s.name === attack);
      }
      ctx.progress(index * 1000 + Math.round((1000 * done) / Math.max(all, 1)), total * 1000, attack);
    },
  });
  try {
    const n = ctx.y.length;
    const c = ctx.numClasses;
    const evalSeed = deriveSeed(ctx.seed, 'robust/probs') & 0x7fffffff;
    const stages = stageProbs(result.adversarial, evalSeed);
    const sizes = perturbationSizes(result.adversarial, ctx.x, cfg.norm);
    const [finalProbs, clean, adversarial, noised, purified, size, advFlat] = await Promise.all([
      read(stages.final), read(stages.clean), read(stages.adversarial),
      stages.noised ? read(stages.noised) : Promise.resolve(null), stages.purified ? read(stages.purified) : Promise.resolve(null),
      read(sizes), result.adversarial.data() as Promise<Float32Array>,
    ]);
    const traces: ImageTrace[] = [];
    for (let i = 0; i < n; i++) {
      const by = result.brokenBy[i];
      const traced = result.traces.find((t) => !Number.isNaN(t.lossTrace[i]));
      const loss: number[] = [];
      if (traced) {
        const iters = traced.lossTrace.length / n;
        for (let k = 0; k < iters; k++) {
          const v = traced.lossTrace[k * n + i];
          if (Number.isNaN(v)) break;
          loss.push(v);
        }
      }
      traces.push({
        index: i, label: ctx.y[i],
        status: by === -2 ? 'misclassified' : by >= 0 ? 'fell' : 'held',
        brokenBy: by >= 0 ? result.attacks[by].name : null,
        loss, lossAttack: traced?.name ?? null,
        perturbation: size[i],
        probs: {
          clean: rows(clean, n, i), adversarial: rows(adversarial, n, i),
          ...(noised ? { noised: rows(noised, n, i) } : {}), ...(purified ? { purified: rows(purified, n, i) } : {}),
        },
      });
    }
    return {
      result,
      scenario: {
        metrics: classificationMetrics(finalProbs, ctx.y, c),
        probs: finalProbs,
        cleanAccuracy: result.cleanAccuracy,
        robustAccuracy: result.robustAccuracy,
        robustAccuracyAfter: result.attacks.map((a) => ({ name: a.name, robustAccuracy: a.robustAccuracy, seconds: a.seconds, ...(a.skipped ? { skipped: a.skipped } : {}) })),
        settings: {
          threat: ctx.threat, norm: cfg.norm, eps: cfg.eps, version: cfg.version, attacks: withEot,
          eot: model.randomized ? (cfg.version === 'rand' ? 20 : cfg.eot) : 1, points: n, notes, ...extra,
        },
        flags: result.flags,
        maxPerturbation: result.maxPerturbation,
        adversarial: advFlat,
        inputSize: ctx.x.shape[1],
        traces,
      },
    };
  } catch (err) {
    result.adversarial.dispose();
    throw err;
  }
}

function toFeatures(ctx: RobustContext): (x: tf.Tensor2D) => tf.Tensor2D {
  if (ctx.threat === 'feature') return (x) => x;
  const map = ctx.features;
  if (!map) throw new Error('the image threat model needs the NNMF basis and selection');
  return (x) => pixelsToFeatures(x, map);
}

/** Robust baseline: the classifier alone, attacked in the threat model's space. */
export async function robustBaseline(ctx: RobustContext, cfg: AttackConfig): Promise<RobustScenario> {
  throwIfAborted(ctx.signal);
  const setup = { threat: ctx.threat, classifier: ctx.classifier, numClasses: ctx.numClasses, features: ctx.features };
  const model = baselineModel(setup);
  const features = toFeatures(ctx);
  const { result, scenario: s } = await scenario(ctx, cfg, model, model, (adv) => tf.tidy(() => {
    const clean = tf.softmax(ctx.classifier.apply(features(ctx.x)) as tf.Tensor2D) as tf.Tensor2D;
    const adversarial = tf.softmax(ctx.classifier.apply(features(adv)) as tf.Tensor2D) as tf.Tensor2D;
    return { clean, adversarial, final: adversarial.clone() };
  }), {});
  result.adversarial.dispose();
  return s;
}

/**
 * Robust defended: the classifier behind the purifier. The attacks see `cfg.draws` purification
 * draws per forward pass and average gradients over `cfg.eot` of them; the deployed defense
 * (`deployedDraws` draws, as in the clean defended scenario) judges which points fell. PGD-EOT then
 * attacks every clean-correct point afresh with full gradients (Lee & Kim 2023).
 */
export async function robustDefended(ctx: RobustContext, cfg: AttackConfig, defense: DefenseContext): Promise<RobustScenario> {
  throwIfAborted(ctx.signal);
  const setup = { threat: ctx.threat, classifier: ctx.classifier, numClasses: ctx.numClasses, features: ctx.features };
  const { purifier, deployedDraws } = defense;
  const model = defendedModel(setup, purifier, cfg.draws);
  const judge = defendedModel(setup, purifier, deployedDraws);
  const features = toFeatures(ctx);
  const K = deployedDraws;
  const defended = (f: tf.Tensor2D, seed: number) =>
    defendedProbabilities(f, ctx.classifier, purifier.model, purifier.schedule, { ...purifier.options, eot: K, seed });
  const { result, scenario: s } = await scenario(ctx, cfg, model, judge, (adv, seed) => tf.tidy(() => {
    const fClean = features(ctx.x);
    const fAdv = features(adv);
    const [n, d] = fAdv.shape;
    const noise = tf.randomNormal([K * n, d], 0, 1, 'float32', seed) as tf.Tensor2D;
    const xt = noiseFeatures(tf.tile(fAdv, [K, 1]) as tf.Tensor2D, purifier.options.timestep, purifier.schedule, noise);
    const noised = tf.mean(tf.reshape(tf.softmax(ctx.classifier.apply(xt) as tf.Tensor2D), [K, n, -1]), 0) as tf.Tensor2D;
    const purified = defended(fAdv, seed);
    return {
      clean: defended(fClean, seed),
      adversarial: tf.softmax(ctx.classifier.apply(fAdv) as tf.Tensor2D) as tf.Tensor2D,
      noised, purified, final: purified.clone(),
    };
  }), { draws: cfg.draws, judgeDraws: K });
  result.adversarial.dispose();

  if (!cfg.adaptive.enabled) return s;
  ctx.progress(0, cfg.adaptive.steps, 'pgd-eot');
  const t0 = performance.now();
  const active = new Uint8Array(result.cleanCorrect);
  const pgd = await pgdEot(model, ctx.x, ctx.y, {
    eps: cfg.eps, norm: cfg.norm, box: UNIT_BOX, seed: deriveSeed(ctx.seed, 'pgd-eot') & 0x7fffffff,
    steps: cfg.adaptive.steps, eot: cfg.adaptive.eot, active, signal: ctx.signal,
    onProgress: (done, all) => ctx.progress(done, all, 'pgd-eot'),
  });
  // The deployed defense judges PGD's final iterates too.
  const judged = tf.tidy(() => tf.equal(tf.argMax(judge.logits(pgd.adversarial, deriveSeed(ctx.seed, 'pgd-eot/judge') & 0x7fffffff), 1), tf.tensor1d(ctx.y, 'int32')));
  const correct = await judged.data();
  judged.dispose();
  pgd.adversarial.dispose();
  let held = 0;
  for (let i = 0; i < correct.length; i++) held += active[i] && correct[i] ? 1 : 0;
  return {
    ...s,
    adaptive: {
      name: 'pgd-eot', robustAccuracy: held / Math.max(ctx.y.length, 1), seconds: (performance.now() - t0) / 1000,
      steps: cfg.adaptive.steps, eot: cfg.adaptive.eot, draws: cfg.draws,
    },
  };
}
