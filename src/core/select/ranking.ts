import type { ComponentStats } from '../types';
import { anovaF } from './anova';
import { aucFromRanks } from './auc';
import { cohensD } from './cohensD';
import { averageRanks } from './ranks';
import { welchTTest } from './welch';

/**
 * Per-component discriminability statistics and their aggregate rank.
 *
 * activations: count × rank, row-major (one row per image, one column per NNMF component).
 * Binary (numClasses = 2): auc = ROC-AUC with class 1 positive, cohensD = d(class 1 − class 0),
 * pValue = Welch two-sided p — signed, as the papers report them.
 * Multi-class: each statistic is computed one-vs-rest per class (class c vs all others) and averaged
 * over the classes where it is defined, direction-free, because a component that is high for one
 * class and low for another is discriminative although its signed one-vs-rest AUCs would average
 * to about ½:
 *   auc     = mean_c max(AUC_c, 1 − AUC_c)   (in [0.5, 1])
 *   cohensD = mean_c |d_c|
 *   pValue  = mean_c p_c                     (Welch, class c vs rest)
 *   anovaP  = one-way ANOVA F-test p across all classes (used by 'auto' selection).
 *
 * Aggregate: each criterion ranks the components — |auc − 0.5| descending (AUC < 0.5 is as
 * discriminative as its mirror), |cohensD| descending, pValue ascending — with average ranks for
 * ties and undefined (NaN) values last; the aggregate score is the mean of the three ranks, and
 * `rank` is the 1-based position in ascending aggregate order, ties broken by component index.
 */
export function rankComponents(
  activations: Float32Array,
  count: number,
  rank: number,
  labels: Int32Array,
  numClasses: number,
): ComponentStats[] {
  if (activations.length !== count * rank) {
    throw new Error(`rankComponents: ${activations.length} activations, expected ${count} × ${rank}`);
  }
  if (labels.length !== count) throw new Error(`rankComponents: ${labels.length} labels for ${count} images`);
  if (!Number.isInteger(numClasses) || numClasses < 2) {
    throw new Error(`rankComponents: numClasses = ${numClasses}, need an integer ≥ 2`);
  }
  const classSizes = new Int32Array(numClasses);
  for (let i = 0; i < count; i++) {
    const y = labels[i];
    if (!(y >= 0 && y < numClasses)) throw new Error(`rankComponents: label ${y} outside [0, ${numClasses})`);
    classSizes[y]++;
  }
  const column = new Float64Array(count);
  const stats: ComponentStats[] = [];
  for (let j = 0; j < rank; j++) {
    for (let i = 0; i < count; i++) column[i] = activations[i * rank + j];
    const groups = splitByClass(column, labels, classSizes);
    stats.push(
      numClasses === 2
        ? binaryStats(j, column, labels, groups, classSizes[1])
        : multiClassStats(j, column, labels, groups, classSizes),
    );
  }
  assignAggregateRank(stats);
  return stats;
}

function splitByClass(column: Float64Array, labels: Int32Array, classSizes: Int32Array): Float64Array[] {
  const groups = Array.from(classSizes, (n) => new Float64Array(n));
  const fill = new Int32Array(classSizes.length);
  for (let i = 0; i < column.length; i++) groups[labels[i]][fill[labels[i]]++] = column[i];
  return groups;
}

function binaryStats(
  index: number,
  column: Float64Array,
  labels: Int32Array,
  groups: Float64Array[],
  nPositive: number,
): ComponentStats {
  const positive = Array.from(labels, (y) => y === 1);
  return {
    index,
    auc: aucFromRanks(averageRanks(column), positive, nPositive),
    cohensD: cohensD(groups[1], groups[0]),
    pValue: welchTTest(groups[1], groups[0]).pValue,
    rank: 0,
    selected: false,
  };
}

function multiClassStats(
  index: number,
  column: Float64Array,
  labels: Int32Array,
  groups: Float64Array[],
  classSizes: Int32Array,
): ComponentStats {
  const ranks = averageRanks(column);
  const aucs: number[] = [];
  const ds: number[] = [];
  const ps: number[] = [];
  for (let c = 0; c < groups.length; c++) {
    const positive = Array.from(labels, (y) => y === c);
    const rest = new Float64Array(column.length - classSizes[c]);
    let r = 0;
    for (let i = 0; i < column.length; i++) if (labels[i] !== c) rest[r++] = column[i];
    const auc = aucFromRanks(ranks, positive, classSizes[c]);
    aucs.push(Math.max(auc, 1 - auc));
    ds.push(Math.abs(cohensD(groups[c], rest)));
    ps.push(welchTTest(groups[c], rest).pValue);
  }
  return {
    index,
    auc: meanDefined(aucs),
    cohensD: meanDefined(ds),
    pValue: meanDefined(ps),
    anovaP: anovaF(groups).pValue,
    rank: 0,
    selected: false,
  };
}

/** Mean over the non-NaN entries (a class with no members has no one-vs-rest statistic); NaN if none. */
function meanDefined(values: number[]): number {
  let sum = 0;
  let n = 0;
  for (const v of values) {
    if (!Number.isNaN(v)) {
      sum += v;
      n++;
    }
  }
  return n > 0 ? sum / n : NaN;
}

/** Lower is better for every key; NaN (undefined statistic) ranks last. */
function criterionRanks(stats: ComponentStats[], key: (s: ComponentStats) => number): Float64Array {
  return averageRanks(stats.map((s) => {
    const v = key(s);
    return Number.isNaN(v) ? Infinity : v;
  }));
}

function assignAggregateRank(stats: ComponentStats[]): void {
  const byAuc = criterionRanks(stats, (s) => -Math.abs(s.auc - 0.5));
  const byD = criterionRanks(stats, (s) => -Math.abs(s.cohensD));
  const byP = criterionRanks(stats, (s) => s.pValue);
  const aggregate = stats.map((_, j) => (byAuc[j] + byD[j] + byP[j]) / 3);
  const order = stats.map((_, j) => j).sort((a, b) => aggregate[a] - aggregate[b] || a - b);
  order.forEach((j, position) => {
    stats[j].rank = position + 1;
  });
}

export interface SelectOptions {
  top: number | 'auto';
  alpha: number;
  minSelected: number;
}

/**
 * Keeps components by aggregate rank.
 * top = k: the k best ranked (all when k exceeds the count).
 * top = 'auto': every component whose test rejects at level alpha — pValue < alpha for binary,
 * anovaP < alpha when present (multi-class) — then, if fewer than minSelected, the best-ranked
 * remaining ones until minSelected (or all) are kept.
 * Returns copies of stats (input order) with `selected` set, and the selected indices in
 * aggregate-rank order.
 */
export function selectComponents(
  stats: ComponentStats[],
  opts: SelectOptions,
): { stats: ComponentStats[]; selected: number[] } {
  const ranked = [...stats].sort((a, b) => a.rank - b.rank || a.index - b.index);
  let keep: Set<number>;
  if (opts.top === 'auto') {
    keep = new Set(ranked.filter((s) => (s.anovaP ?? s.pValue) < opts.alpha).map((s) => s.index));
    for (const s of ranked) {
      if (keep.size >= opts.minSelected) break;
      keep.add(s.index);
    }
  } else {
    if (!Number.isInteger(opts.top) || opts.top < 1) {
      throw new Error(`selectComponents: top = ${opts.top}, need a positive integer or 'auto'`);
    }
    keep = new Set(ranked.slice(0, opts.top).map((s) => s.index));
  }
  return {
    stats: stats.map((s) => ({ ...s, selected: keep.has(s.index) })),
    selected: ranked.filter((s) => keep.has(s.index)).map((s) => s.index),
  };
}
