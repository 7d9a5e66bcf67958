import { averageRanks } from './ranks';

/**
 * Area under the ROC curve via the Mann–Whitney statistic:
 *   AUC = (R₊ − n₊(n₊ + 1)/2) / (n₊ n₋),
 * R₊ the sum of the positives' average ranks among all scores. With average ranks for ties this
 * equals P(score₊ > score₋) + ½ P(score₊ = score₋), the trapezoidal ROC area (sklearn's roc_auc_score).
 * Returns NaN when either class is empty (the area is undefined); a NaN score gives NaN.
 */
export function rocAuc(scores: ArrayLike<number>, positive: ArrayLike<boolean>): number {
  const n = scores.length;
  if (positive.length !== n) {
    throw new Error(`rocAuc: ${n} scores but ${positive.length} labels`);
  }
  let nPositive = 0;
  for (let i = 0; i < n; i++) {
    if (Number.isNaN(scores[i])) return NaN;
    if (positive[i]) nPositive++;
  }
  const nNegative = n - nPositive;
  if (nPositive === 0 || nNegative === 0) return NaN;
  return aucFromRanks(averageRanks(scores), positive, nPositive);
}

/**
 * The Mann–Whitney AUC from precomputed average ranks, so that one sort of a score column serves
 * every one-vs-rest split of it. nPositive must be the number of true entries in positive.
 */
export function aucFromRanks(ranks: ArrayLike<number>, positive: ArrayLike<boolean>, nPositive: number): number {
  const nNegative = ranks.length - nPositive;
  if (nPositive === 0 || nNegative === 0) return NaN;
  let rankSum = 0;
  for (let i = 0; i < ranks.length; i++) if (positive[i]) rankSum += ranks[i];
  const u = rankSum - (nPositive * (nPositive + 1)) / 2;
  return u / (nPositive * nNegative);
}
