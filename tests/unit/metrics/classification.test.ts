import { describe, expect, it } from 'vitest';
import { argmaxRows, classificationMetrics, confusionMatrix } from '../../../src/core/metrics/classification';

/** Rows of class probabilities → the n × C Float32Array the API takes. */
const flat = (rows: number[][]) => Float32Array.from(rows.flat());

/** P(s₊ > s₋) + ½ P(tie), by counting pairs (Float32 scores as the metric sees them). */
function pairAuc(scores: number[], positive: boolean[]): number {
  let wins = 0;
  let pairs = 0;
  scores.forEach((a, i) =>
    scores.forEach((b, j) => {
      if (positive[i] && !positive[j]) {
        pairs++;
        wins += a > b ? 1 : a === b ? 0.5 : 0;
      }
    }),
  );
  return wins / pairs;
}

describe('binary metrics by hand', () => {
  // [y, p(class 1)]; prediction = 1 when p1 > 0.5.
  const table: [number, number][] = [
    [1, 0.9], // TP
    [1, 0.8], // TP
    [1, 0.4], // FN
    [1, 0.6], // TP
    [0, 0.3], // TN
    [0, 0.7], // FP
    [0, 0.2], // TN
    [0, 0.1], // TN
    [0, 0.45], // TN
    [1, 0.35], // FN
    [0, 0.05], // TN
  ];
  const labels = Int32Array.from(table.map(([y]) => y));
  const probs = flat(table.map(([, p]) => [1 - p, p]));
  const m = classificationMetrics(probs, labels, 2);
  const TP = 3;
  const FN = 2;
  const FP = 1;
  const TN = 5;

  it('counts the confusion matrix', () => {
    expect(confusionMatrix(probs, labels, 2)).toEqual([
      [TN, FP],
      [FN, TP],
    ]);
  });

  it('threshold metrics from TP/FP/TN/FN', () => {
    expect(m.accuracy).toBeCloseTo((TP + TN) / 11, 12); // 8/11
    expect(m.precision).toBeCloseTo(TP / (TP + FP), 12); // 3/4
    expect(m.recall).toBeCloseTo(TP / (TP + FN), 12); // 3/5
    expect(m.f1).toBeCloseTo((2 * (3 / 4) * (3 / 5)) / (3 / 4 + 3 / 5), 12); // 2/3
    expect(m.mcc).toBeCloseTo((TP * TN - FP * FN) / Math.sqrt((TP + FP) * (TP + FN) * (TN + FP) * (TN + FN)), 12); // 13/√840
    expect(m.balancedAccuracy).toBeCloseTo((TP / (TP + FN) + TN / (TN + FP)) / 2, 12); // (3/5 + 5/6)/2
  });

  it('probabilistic metrics', () => {
    // Positives 0.9, 0.8, 0.6 beat all 6 / all 6 / 5 negatives (0.7 above 0.6); 0.4 and 0.35 beat
    // 0.3, 0.2, 0.1, 0.05 → (6 + 6 + 5 + 4 + 4) / (5 · 6) = 25/30.
    expect(m.rocAuc).toBeCloseTo(25 / 30, 12);
    // Σ (p1 − y)² = .01+.04+.36+.16+.09+.49+.04+.01+.2025+.4225+.0025 = 1.8275
    expect(m.brier).toBeCloseTo(1.8275 / 11, 6);
    const pTrue = [0.9, 0.8, 0.4, 0.6, 0.7, 0.3, 0.8, 0.9, 0.55, 0.35, 0.95];
    expect(m.logLoss).toBeCloseTo(-pTrue.reduce((s, p) => s + Math.log(p), 0) / 11, 6);
  });
});

describe('three-class macro metrics by hand', () => {
  // Confusion (rows true, columns predicted): [[2,1,0],[0,3,0],[1,0,3]].
  const rows: [number, number[]][] = [
    [0, [0.7, 0.2, 0.1]],
    [0, [0.5, 0.3, 0.2]],
    [0, [0.3, 0.6, 0.1]],
    [1, [0.1, 0.8, 0.1]],
    [1, [0.2, 0.5, 0.3]],
    [1, [0.25, 0.4, 0.35]],
    [2, [0.6, 0.1, 0.3]],
    [2, [0.1, 0.1, 0.8]],
    [2, [0.2, 0.3, 0.5]],
    [2, [0.3, 0.2, 0.5]],
  ];
  const labels = Int32Array.from(rows.map(([y]) => y));
  const probs = flat(rows.map(([, p]) => p));
  const m = classificationMetrics(probs, labels, 3);
  const cm = confusionMatrix(probs, labels, 3);

  it('per-class precision / recall / F1, macro-averaged', () => {
    expect(cm).toEqual([
      [2, 1, 0],
      [0, 3, 0],
      [1, 0, 3],
    ]);
    // precision = TP / column: 2/3, 3/4, 3/3; recall = TP / row: 2/3, 3/3, 3/4
    const precision = [2 / 3, 3 / 4, 1];
    const recall = [2 / 3, 1, 3 / 4];
    const f1 = precision.map((p, c) => (2 * p * recall[c]) / (p + recall[c])); // 2/3, 6/7, 6/7
    const macro = (v: number[]) => v.reduce((s, x) => s + x, 0) / v.length;
    expect(m.accuracy).toBeCloseTo(8 / 10, 12);
    expect(m.precision).toBeCloseTo(macro(precision), 12);
    expect(m.recall).toBeCloseTo(macro(recall), 12);
    expect(m.f1).toBeCloseTo(macro(f1), 12);
    expect(m.f1).toBeCloseTo((2 / 3 + 12 / 7) / 3, 12);
    expect(m.balancedAccuracy).toBeCloseTo(macro(recall), 12);
  });

  it('MCC equals the correlation of the one-hot truth and prediction matrices (Gorodkin R_K)', () => {
    const n = 10;
    const pred = argmaxRows(probs, 3);
    const X = Array.from(labels, (y) => [0, 1, 2].map((c) => (y === c ? 1 : 0)));
    const Y = Array.from(pred, (y) => [0, 1, 2].map((c) => (y === c ? 1 : 0)));
    const cov = (A: number[][], B: number[][]) => {
      let s = 0;
      for (let k = 0; k < 3; k++) {
        const ma = A.reduce((t, r) => t + r[k], 0) / n;
        const mb = B.reduce((t, r) => t + r[k], 0) / n;
        for (let i = 0; i < n; i++) s += (A[i][k] - ma) * (B[i][k] - mb);
      }
      return s;
    };
    expect(m.mcc).toBeCloseTo(cov(X, Y) / Math.sqrt(cov(X, X) * cov(Y, Y)), 12);
    expect(m.mcc).toBeCloseTo(47 / 66, 12); // (c·s − Σ t_k p_k) / (s² − Σ p_k²)^½ (s² − Σ t_k²)^½ = (80 − 33)/66
  });

  it('one-vs-rest macro ROC-AUC, multi-class Brier, log-loss', () => {
    const aucs = [0, 1, 2].map((c) =>
      pairAuc(
        Array.from(labels, (_, i) => probs[i * 3 + c]),
        Array.from(labels, (y) => y === c),
      ),
    );
    expect(m.rocAuc).toBeCloseTo((aucs[0] + aucs[1] + aucs[2]) / 3, 12);
    const brier = rows.reduce((s, [y, p]) => s + p.reduce((t, pc, c) => t + (pc - (c === y ? 1 : 0)) ** 2, 0), 0) / 10;
    expect(m.brier).toBeCloseTo(brier, 6);
    expect(m.logLoss).toBeCloseTo(-rows.reduce((s, [y, p]) => s + Math.log(p[y]), 0) / 10, 6);
  });

  it('a class absent from both labels and predictions does not enter the macro means', () => {
    const padded = flat(rows.map(([, p]) => [...p, 0]));
    const m4 = classificationMetrics(padded, labels, 4);
    for (const key of ['accuracy', 'precision', 'recall', 'f1', 'mcc', 'balancedAccuracy', 'rocAuc', 'brier'] as const) {
      expect(m4[key]).toBeCloseTo(m[key], 6);
    }
  });
});

describe('degenerate cases', () => {
  it('everything predicted negative: precision, recall, F1, MCC are 0, not NaN', () => {
    const labels = Int32Array.from([0, 1, 0, 1]);
    const m = classificationMetrics(flat([[0.9, 0.1], [0.8, 0.2], [0.7, 0.3], [0.6, 0.4]]), labels, 2);
    expect(m).toMatchObject({ accuracy: 0.5, precision: 0, recall: 0, f1: 0, mcc: 0, balancedAccuracy: 0.5 });
    // Ranking is still informative: positives 0.2, 0.4 vs negatives 0.1, 0.3 → 0.2>0.1, 0.4>0.1, 0.4>0.3 → 3/4
    expect(m.rocAuc).toBeCloseTo(3 / 4, 12);
  });
  it('one class present: ROC-AUC NaN, the rest defined', () => {
    const m = classificationMetrics(flat([[0.9, 0.1], [0.4, 0.6]]), Int32Array.from([0, 0]), 2);
    expect(m.rocAuc).toBeNaN();
    expect(m.accuracy).toBe(0.5);
    expect(m.precision).toBe(0);
    expect(m.mcc).toBe(0);
    expect(m.balancedAccuracy).toBe(0.5);
  });
  it('perfect one-hot predictions: MCC 1, log-loss ≈ 0, Brier 0', () => {
    const m = classificationMetrics(flat([[1, 0, 0], [0, 1, 0], [0, 0, 1], [0, 1, 0]]), Int32Array.from([0, 1, 2, 1]), 3);
    expect(m).toMatchObject({ accuracy: 1, precision: 1, recall: 1, f1: 1, mcc: 1, balancedAccuracy: 1, rocAuc: 1, brier: 0 });
    expect(m.logLoss).toBeGreaterThan(0);
    expect(m.logLoss).toBeLessThan(1e-12);
  });
  it('log-loss clips zeros and renormalizes rows', () => {
    // Row [0.2, 0.2] renormalizes to ½ each → ln 2; row [1, 0] with true class 1 clips to 1e-15 → −ln 1e-15.
    const m = classificationMetrics(flat([[0.2, 0.2], [1, 0]]), Int32Array.from([1, 1]), 2);
    expect(m.logLoss).toBeCloseTo((Math.log(2) - Math.log(1e-15)) / 2, 9);
  });
  it('argmax takes the first of tied maxima; bad input throws', () => {
    expect(Array.from(argmaxRows(flat([[0.5, 0.5], [0.2, 0.8], [0.4, 0.4]]), 2))).toEqual([0, 1, 0]);
    expect(() => classificationMetrics(new Float32Array(0), new Int32Array(0), 2)).toThrow();
    expect(() => classificationMetrics(new Float32Array(3), new Int32Array(2), 2)).toThrow();
    expect(() => classificationMetrics(flat([[0.5, 0.5]]), Int32Array.from([2]), 2)).toThrow();
  });
});
