import type { Metrics } from '../types';
import { aucFromRanks } from '../select/auc';
import { averageRanks } from '../select/ranks';

/** Bounds of the probability clip in log-loss (sklearn's historical eps = 1e-15). */
const LOG_LOSS_EPS = 1e-15;

/** Index of the largest probability in each row of an n × C matrix; the first one on ties (as numpy). */
export function argmaxRows(probs: Float32Array, numClasses: number): Int32Array {
  const n = Math.floor(probs.length / numClasses);
  const out = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    const row = i * numClasses;
    let best = 0;
    for (let c = 1; c < numClasses; c++) if (probs[row + c] > probs[row + best]) best = c;
    out[i] = best;
  }
  return out;
}

/** C × C counts of (true class, argmax prediction); rows = true class, columns = predicted. */
export function confusionMatrix(probs: Float32Array, labels: Int32Array, numClasses: number): number[][] {
  checkShapes(probs, labels, numClasses);
  const predicted = argmaxRows(probs, numClasses);
  const matrix = Array.from({ length: numClasses }, () => new Array<number>(numClasses).fill(0));
  for (let i = 0; i < labels.length; i++) matrix[labels[i]][predicted[i]]++;
  return matrix;
}

/**
 * The nine classification metrics, defined as scikit-learn defines them.
 * probs: n × C row-major class probabilities; prediction = argmax.
 * - precision, recall, f1: binary (C = 2) → of the positive class 1 (average='binary');
 *   multi-class → macro mean over the classes present in labels or predictions (sklearn's
 *   unique_labels). F1 per class = 2TP / (2TP + FP + FN).
 * - Zero denominators give 0 (zero_division=0): e.g. precision when nothing is predicted positive.
 * - mcc: sklearn's multi-class generalization (Gorodkin's R_K) from the confusion matrix, which
 *   reduces to (TP·TN − FP·FN)/√(…) for two classes; 0 when any marginal sum of squares vanishes.
 * - balancedAccuracy: mean recall over the classes present in labels.
 * - rocAuc: binary → from probs[:, 1]; multi-class → one-vs-rest macro mean over the classes present
 *   in labels (sklearn raises unless every column's class is present; we average those present).
 *   NaN — shown as undefined — when labels hold a single class (sklearn raises).
 * - brier: binary → mean (p₁ − y)², sklearn's brier_score_loss; multi-class →
 *   mean_i Σ_c (p_ic − [y_i = c])², the multi-class Brier the seeds' 10-class table reports
 *   (for two classes it is twice the binary one, so the binary form is kept for C = 2).
 * - logLoss: −mean log p_i,y_i with probabilities clipped to [1e-15, 1 − 1e-15] and each row
 *   renormalized to sum 1, in that order, as sklearn's log_loss.
 * Throws on empty input, mismatched shapes or labels outside [0, C).
 */
export function classificationMetrics(probs: Float32Array, labels: Int32Array, numClasses: number): Metrics {
  checkShapes(probs, labels, numClasses);
  const n = labels.length;
  const cm = confusionMatrix(probs, labels, numClasses);
  const trueCounts = cm.map((row) => row.reduce((s, v) => s + v, 0));
  const predCounts = cm[0].map((_, c) => cm.reduce((s, row) => s + row[c], 0));
  let correct = 0;
  for (let c = 0; c < numClasses; c++) correct += cm[c][c];

  const perClass = cm.map((row, c) => ({
    precision: safeDivide(row[c], predCounts[c]),
    recall: safeDivide(row[c], trueCounts[c]),
    f1: safeDivide(2 * row[c], trueCounts[c] + predCounts[c]),
  }));
  let precision: number;
  let recall: number;
  let f1: number;
  if (numClasses === 2) {
    ({ precision, recall, f1 } = perClass[1]);
  } else {
    const present = perClass.filter((_, c) => trueCounts[c] > 0 || predCounts[c] > 0);
    precision = mean(present.map((p) => p.precision));
    recall = mean(present.map((p) => p.recall));
    f1 = mean(present.map((p) => p.f1));
  }
  const balancedAccuracy = mean(perClass.filter((_, c) => trueCounts[c] > 0).map((p) => p.recall));

  return {
    accuracy: correct / n,
    precision,
    recall,
    f1,
    mcc: matthews(correct, n, trueCounts, predCounts),
    balancedAccuracy,
    rocAuc: rocAucOvr(probs, labels, numClasses, trueCounts),
    brier: brierScore(probs, labels, numClasses),
    logLoss: logLoss(probs, labels, numClasses),
  };
}

function checkShapes(probs: Float32Array, labels: Int32Array, numClasses: number): void {
  if (!Number.isInteger(numClasses) || numClasses < 2) {
    throw new Error(`classification metrics: numClasses = ${numClasses}, need an integer ≥ 2`);
  }
  if (labels.length === 0) throw new Error('classification metrics: empty input');
  if (probs.length !== labels.length * numClasses) {
    throw new Error(`classification metrics: ${probs.length} probabilities for ${labels.length} × ${numClasses}`);
  }
  for (let i = 0; i < labels.length; i++) {
    if (!(labels[i] >= 0 && labels[i] < numClasses)) {
      throw new Error(`classification metrics: label ${labels[i]} outside [0, ${numClasses})`);
    }
  }
}

function safeDivide(num: number, den: number): number {
  return den === 0 ? 0 : num / den;
}

function mean(values: number[]): number {
  return values.reduce((s, v) => s + v, 0) / values.length;
}

/**
 * MCC = (c·s − Σ t_k p_k) / √((s² − Σ p_k²)(s² − Σ t_k²)), with c correct predictions, s samples,
 * t_k true and p_k predicted counts of class k (Gorodkin 2004; sklearn's matthews_corrcoef).
 */
function matthews(correct: number, s: number, trueCounts: number[], predCounts: number[]): number {
  let tp = 0;
  let pp = 0;
  let tt = 0;
  for (let k = 0; k < trueCounts.length; k++) {
    tp += trueCounts[k] * predCounts[k];
    pp += predCounts[k] * predCounts[k];
    tt += trueCounts[k] * trueCounts[k];
  }
  const denominator = (s * s - pp) * (s * s - tt);
  return denominator === 0 ? 0 : (correct * s - tp) / Math.sqrt(denominator);
}

function rocAucOvr(probs: Float32Array, labels: Int32Array, numClasses: number, trueCounts: number[]): number {
  const present = trueCounts.filter((t) => t > 0).length;
  if (present < 2) return NaN;
  const n = labels.length;
  const column = new Float64Array(n);
  const classAuc = (c: number): number => {
    for (let i = 0; i < n; i++) column[i] = probs[i * numClasses + c];
    const positive = Array.from(labels, (y) => y === c);
    return aucFromRanks(averageRanks(column), positive, trueCounts[c]);
  };
  if (numClasses === 2) return classAuc(1);
  const aucs: number[] = [];
  for (let c = 0; c < numClasses; c++) if (trueCounts[c] > 0) aucs.push(classAuc(c));
  return mean(aucs);
}

function brierScore(probs: Float32Array, labels: Int32Array, numClasses: number): number {
  const n = labels.length;
  let sum = 0;
  for (let i = 0; i < n; i++) {
    if (numClasses === 2) {
      const d = probs[i * 2 + 1] - labels[i];
      sum += d * d;
    } else {
      for (let c = 0; c < numClasses; c++) {
        const d = probs[i * numClasses + c] - (labels[i] === c ? 1 : 0);
        sum += d * d;
      }
    }
  }
  return sum / n;
}

function logLoss(probs: Float32Array, labels: Int32Array, numClasses: number): number {
  const n = labels.length;
  let sum = 0;
  for (let i = 0; i < n; i++) {
    let rowSum = 0;
    let pTrue = 0;
    for (let c = 0; c < numClasses; c++) {
      const p = Math.min(Math.max(probs[i * numClasses + c], LOG_LOSS_EPS), 1 - LOG_LOSS_EPS);
      rowSum += p;
      if (c === labels[i]) pTrue = p;
    }
    sum -= Math.log(pTrue / rowSum);
  }
  return sum / n;
}
