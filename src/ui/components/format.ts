/**
 * Formatting helpers and shared labels/colors for the result views. Formatting only: every number
 * shown is one the engine computed.
 */
import type { Metrics } from '../../core/types';
import type { StageName } from '../../core/pipeline/progress';

/** A metric-like number with `digits` decimals; '—' for null, undefined and NaN. */
export function fmt(v: number | null | undefined, digits = 3): string {
  if (v === null || v === undefined || Number.isNaN(v)) return '—';
  if (v === Infinity) return '∞';
  if (v === -Infinity) return '−∞';
  return v.toFixed(digits);
}

/** A p-value in exponent notation (2 significant decimals). */
export function fmtP(p: number | null | undefined): string {
  if (p === null || p === undefined || Number.isNaN(p)) return '—';
  if (p === 0) return '0 (underflow)';
  if (p >= 0.01) return p.toFixed(3);
  return p.toExponential(2);
}

/** A fraction as a percentage with one decimal. */
export function fmtPct(v: number | null | undefined, digits = 1): string {
  if (v === null || v === undefined || Number.isNaN(v)) return '—';
  return `${(100 * v).toFixed(digits)}%`;
}

/** Seconds: ms below one second, s below a minute, then m s. */
export function fmtSeconds(s: number | null | undefined): string {
  if (s === null || s === undefined || Number.isNaN(s)) return '—';
  if (s === 0) return '0 s';
  if (s < 1) return `${(s * 1000).toFixed(0)} ms`;
  if (s < 60) return `${s.toFixed(1)} s`;
  const m = Math.floor(s / 60);
  return `${m} min ${(s - 60 * m).toFixed(0)} s`;
}

/** Compact number for axis ticks: 900K, 1.2M, 0.0285, 3e-5. */
const COMPACT = new Intl.NumberFormat('en', { notation: 'compact', maximumFractionDigits: 2 });
export function fmtTick(v: unknown): string {
  if (typeof v !== 'number' || !Number.isFinite(v)) return String(v);
  const a = Math.abs(v);
  if (a === 0) return '0';
  if (a >= 1e4) return COMPACT.format(v);
  if (a < 1e-3) return v.toExponential(0);
  if (a >= 100) return v.toFixed(0);
  return String(Number(v.toPrecision(3)));
}

/** A finite number or null (recharts skips null points and bars). */
export function finiteOrNull(v: number | null | undefined): number | null {
  return v === null || v === undefined || !Number.isFinite(v) ? null : v;
}

/** Tooltip value formatter for recharts: 3 decimals for numbers. */
export function tooltipValue(v: unknown): string {
  return typeof v === 'number' ? fmt(v) : v === null || v === undefined ? '—' : String(v);
}

export const SCENARIO_ORDER = ['cleanBaseline', 'cleanDefended', 'robustBaseline', 'robustDefended', 'imageCnn'] as const;

export const SCENARIO_LABELS: Record<string, string> = {
  cleanBaseline: 'Clean · baseline',
  cleanDefended: 'Clean · defended',
  robustBaseline: 'Robust · baseline',
  robustDefended: 'Robust · defended',
  imageCnn: 'Image CNN (reference)',
};

export const SCENARIO_COLORS: Record<string, string> = {
  cleanBaseline: '#2563eb',
  cleanDefended: '#16a34a',
  robustBaseline: '#dc2626',
  robustDefended: '#d97706',
  imageCnn: '#7c3aed',
};

export function scenarioLabel(name: string): string {
  return SCENARIO_LABELS[name] ?? name;
}

/** Scenario names in the papers' order, then any others in their own order. */
export function orderScenarios(names: string[]): string[] {
  const known = SCENARIO_ORDER.filter((s) => names.includes(s)) as string[];
  return [...known, ...names.filter((n) => !known.includes(n))];
}

export const METRIC_LABELS: Record<keyof Metrics, string> = {
  accuracy: 'Accuracy',
  precision: 'Precision',
  recall: 'Recall',
  f1: 'F1',
  mcc: 'MCC',
  balancedAccuracy: 'Balanced acc.',
  rocAuc: 'ROC-AUC',
  brier: 'Brier',
  logLoss: 'Log-loss',
};

export const HIGHER_IS_BETTER: (keyof Metrics)[] = ['accuracy', 'precision', 'recall', 'f1', 'mcc', 'balancedAccuracy', 'rocAuc'];
export const LOWER_IS_BETTER: (keyof Metrics)[] = ['brier', 'logLoss'];

export const ATTACK_LABELS: Record<string, string> = {
  'apgd-ce': 'APGD-CE',
  'apgd-dlr': 'APGD-DLR',
  'apgd-t': 'APGD-T',
  square: 'Square',
  'pgd-eot': 'PGD-EOT',
};

export function attackLabel(name: string | null | undefined): string {
  if (!name) return '—';
  return ATTACK_LABELS[name] ?? name;
}

export const STAGE_ORDER: StageName[] = [
  'load', 'nmf', 'project', 'select', 'imageCnn', 'features', 'classify', 'denoiser', 'evaluate', 'attackBaseline', 'attackDefended',
];

export const STAGE_LABELS: Record<StageName, string> = {
  load: 'Load images',
  nmf: 'NNMF (W, H)',
  project: 'Project onto W',
  select: 'Select components',
  imageCnn: 'Image CNN',
  features: 'Classifier features',
  classify: 'Train classifier',
  denoiser: 'Train denoiser',
  evaluate: 'Clean evaluation',
  attackBaseline: 'Attack baseline',
  attackDefended: 'Attack defended',
};

/** Colors of the stages of an attacked image. */
export const STAGE_COLORS = {
  clean: '#2563eb',
  adversarial: '#dc2626',
  noised: '#9ca3af',
  purified: '#16a34a',
} as const;

/** Common recharts props: no animation (snappy, deterministic screenshots). */
export const NO_ANIMATION = { isAnimationActive: false } as const;

/** A filename-safe slug. */
export function slug(s: string): string {
  return s.toLowerCase().normalize('NFKD').replace(/[^a-z0-9]+/g, '-').replace(/^-+|-+$/g, '') || 'chart';
}
