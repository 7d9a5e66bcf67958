/**
 * report.json: the contract outside tools read (DESIGN.md). camelCase keys; numbers that are
 * undefined for the data (e.g. ROC-AUC with one class present) are written as null.
 */
import type { LabConfig } from '../config';
import type { BackendInfo } from '../backend';
import type { ComponentStats, Metrics, SkippedFile } from '../types';
import type { TrainHistory } from '../models/train';
import type { PipelineResult } from './run';
import type { StageName } from './progress';
import type { AttackSettings, AttackStep, RobustScenario } from './robust';

export const REPORT_VERSION = 1;

export interface ScenarioReport {
  /** Which model scored it and how. */
  model: string;
  purified: boolean;
  timestep?: number;
  eot?: number;
  reverseSteps?: number;
  metrics: Metrics;
  /** Robust scenarios: the attack settings (threat model, norm, ε, attacks with their iterations,
   * restarts, queries and EOT draws), the ensemble's robust accuracy after each attack, the sanity
   * flags, and for the defended model the adaptive PGD-EOT figure. */
  attack?: AttackSettings;
  cleanAccuracy?: number;
  robustAccuracy?: number;
  robustAccuracyAfter?: AttackStep[];
  maxPerturbation?: number;
  flags?: string[];
  adaptive?: RobustScenario['adaptive'];
  /** Per attacked test image: held / fell / misclassified. */
  outcomes?: { held: number; fell: number; misclassified: number };
}

export interface LabReport {
  version: number;
  config: LabConfig;
  backend: BackendInfo;
  dataset: {
    name: string;
    classNames: string[];
    imageSize: number;
    splitSource: 'stratified' | 'folders';
    /** Images per class per split. */
    counts: Record<'train' | 'val' | 'test', Record<string, number>>;
    skipped: SkippedFile[];
  };
  nmf: { rank: number; objective: string; loss: number[]; iterations: number; converged: boolean };
  selection: { components: ComponentStats[]; selected: number[] };
  classifier: { kind: 'nmf' | 'hybrid'; inputDim: number; history: TrainHistory };
  imageCnn: { history: TrainHistory } | null;
  denoiser: { loss: number[]; steps: number; timestep: number; alphaBar: number; meanNoisedError: number; meanDenoisedError: number };
  scenarios: Record<string, ScenarioReport>;
  timings: Partial<Record<StageName, number>>;
  reused: StageName[];
  /** Stages that ran on a second thread beside the main line; their timings overlap it. */
  beside: StageName[];
}

function countsPerClass(labels: Int32Array, classNames: string[]): Record<string, number> {
  const out: Record<string, number> = Object.fromEntries(classNames.map((c) => [c, 0]));
  for (const l of labels) out[classNames[l]] += 1;
  return out;
}

function robustReport(s: RobustScenario): Omit<ScenarioReport, 'model' | 'purified'> {
  const outcomes = { held: 0, fell: 0, misclassified: 0 };
  for (const t of s.traces) outcomes[t.status] += 1;
  return {
    metrics: s.metrics, attack: s.settings, cleanAccuracy: s.cleanAccuracy, robustAccuracy: s.robustAccuracy,
    robustAccuracyAfter: s.robustAccuracyAfter, maxPerturbation: s.maxPerturbation, flags: s.flags,
    ...(s.adaptive ? { adaptive: s.adaptive } : {}), outcomes,
  };
}

export function buildReport(r: PipelineResult): LabReport {
  const { dataset: d, config, evaluation: e } = r;
  const t = config.diffusion.timestep;
  const scenarios: Record<string, ScenarioReport> = {
    cleanBaseline: { model: r.classifier.kind === 'hybrid' ? 'hybridCnn' : 'featureCnn', purified: false, metrics: e.cleanBaseline.metrics },
    cleanDefended: {
      model: r.classifier.kind === 'hybrid' ? 'hybridCnn' : 'featureCnn', purified: true, timestep: t, eot: config.diffusion.eot,
      reverseSteps: config.diffusion.reverseSteps,
      metrics: e.cleanDefended.metrics,
    },
  };
  if (r.robust) {
    const model = scenarios.cleanBaseline.model;
    scenarios.robustBaseline = { model, purified: false, ...robustReport(r.robust.baseline) };
    scenarios.robustDefended = {
      model, purified: true, timestep: t, eot: config.diffusion.eot, reverseSteps: config.diffusion.reverseSteps, ...robustReport(r.robust.defended),
    };
  }
  if (e.imageCnn) scenarios.imageCnn = { model: 'imageCnn', purified: false, metrics: e.imageCnn.metrics };
  return {
    version: REPORT_VERSION,
    config,
    backend: r.backend,
    dataset: {
      name: d.name,
      classNames: d.classNames,
      imageSize: d.size,
      splitSource: d.splitSource,
      counts: {
        train: countsPerClass(d.train.labels, d.classNames),
        val: countsPerClass(d.val.labels, d.classNames),
        test: countsPerClass(d.test.labels, d.classNames),
      },
      skipped: d.skipped,
    },
    nmf: { rank: config.nmf.rank, objective: config.nmf.loss, loss: r.nmf.loss, iterations: r.nmf.iterations, converged: r.nmf.converged },
    selection: { components: r.selection.stats, selected: r.selection.selected },
    classifier: { kind: r.classifier.kind, inputDim: r.classifier.inputs.train.shape[1], history: r.classifier.history },
    imageCnn: r.imageCnn ? { history: r.imageCnn.history } : null,
    denoiser: {
      loss: r.denoiser.loss,
      steps: config.diffusion.steps,
      timestep: t,
      alphaBar: r.denoiser.schedule.alphaBar[t],
      meanNoisedError: e.quality.meanNoisedError,
      meanDenoisedError: e.quality.meanDenoisedError,
    },
    scenarios,
    timings: r.timings,
    reused: r.reused,
    beside: r.beside,
  };
}

/** JSON with NaN/±Infinity as null (JSON has no such numbers) and two-space indentation. */
export function reportToJson(report: LabReport): string {
  return JSON.stringify(report, (_k, v) => (typeof v === 'number' && !Number.isFinite(v) ? null : v), 2);
}

/**
 * traces.json: per attacked test image of each robust scenario, its outcome, the attack's loss per
 * iteration and the class probabilities at each stage (the adversarial inputs themselves are in
 * `--dump`'s adversarial_*.npy).
 */
export function tracesToJson(robust: NonNullable<PipelineResult['robust']>): string {
  const out = {
    version: REPORT_VERSION,
    robustBaseline: { attack: robust.baseline.settings, traces: robust.baseline.traces },
    robustDefended: { attack: robust.defended.settings, traces: robust.defended.traces },
  };
  return JSON.stringify(out, (_k, v) => (typeof v === 'number' && !Number.isFinite(v) ? null : v));
}
