import { describe, expect, it } from 'vitest';
import { rankComponents, selectComponents } from '../../../src/core/select/ranking';
import { rocAuc } from '../../../src/core/select/auc';
import { cohensD } from '../../../src/core/select/cohensD';
import { welchTTest } from '../../../src/core/select/welch';
import { anovaF } from '../../../src/core/select/anova';
import { createRandom } from '../../../src/core/random';
import type { ComponentStats } from '../../../src/core/types';

/** count × rank row-major activations from per-component generators f(label, i). */
function buildActivations(labels: number[], generators: ((y: number, i: number) => number)[]): Float32Array {
  const rank = generators.length;
  const out = new Float32Array(labels.length * rank);
  labels.forEach((y, i) => generators.forEach((g, j) => (out[i * rank + j] = g(y, i))));
  return out;
}

function column(a: Float32Array, rank: number, j: number): number[] {
  return Array.from({ length: a.length / rank }, (_, i) => a[i * rank + j]);
}

/** Rank by counting: 1 + #strictly better + ½ #others tied (the average rank), lower key = better. */
function countingRanks(keys: number[]): number[] {
  return keys.map((k, j) => 1 + keys.reduce((s, o, m) => s + (m === j ? 0 : o < k ? 1 : o === k ? 0.5 : 0), 0));
}

describe('rankComponents (binary)', () => {
  const rng = createRandom(3, 'ranking-binary');
  const labels = Array.from({ length: 40 }, (_, i) => i % 2);
  const activations = buildActivations(labels, [
    () => rng.next(), // 0: noise
    (y) => 0.3 + 0.1 * y + 0.2 * rng.next(), // 1: weakly informative, class 1 higher
    (y) => (y === 1 ? 0.7 : 0.2) + 0.1 * rng.next(), // 2: perfect separation
    (y) => (y === 1 ? 0.3 : 0.5) + 0.4 * rng.next(), // 3: informative with class 1 LOWER (AUC < 0.5)
  ]);
  const stats = rankComponents(activations, 40, 4, Int32Array.from(labels), 2);

  it('stores AUC, d (class 1 − class 0) and Welch p of each column', () => {
    stats.forEach((s, j) => {
      const x = column(activations, 4, j);
      const pos = labels.map((y) => y === 1);
      expect(s.index).toBe(j);
      expect(s.auc).toBeCloseTo(rocAuc(x, pos), 12);
      expect(s.cohensD).toBeCloseTo(cohensD(x.filter((_, i) => pos[i]), x.filter((_, i) => !pos[i])), 12);
      expect(s.pValue).toBeCloseTo(welchTTest(x.filter((_, i) => pos[i]), x.filter((_, i) => !pos[i])).pValue, 14);
      expect(s.anovaP).toBeUndefined();
      expect(s.selected).toBe(false);
    });
    expect(stats[2].auc).toBe(1);
    expect(stats[3].auc).toBeLessThan(0.3);
    expect(stats[3].cohensD).toBeLessThan(0);
  });

  it('ranks the separating component first, noise last, and a reversed one above noise', () => {
    expect(stats[2].rank).toBe(1);
    expect(stats[0].rank).toBe(4);
    expect(stats[3].rank).toBeLessThan(stats[0].rank);
  });

  it('aggregate rank = order of the mean of the three criterion ranks', () => {
    const byAuc = countingRanks(stats.map((s) => -Math.abs(s.auc - 0.5)));
    const byD = countingRanks(stats.map((s) => -Math.abs(s.cohensD)));
    const byP = countingRanks(stats.map((s) => s.pValue));
    const mean = stats.map((_, j) => (byAuc[j] + byD[j] + byP[j]) / 3);
    const expected = stats.map((_, j) => 1 + mean.filter((m, k) => m < mean[j] || (m === mean[j] && k < j)).length);
    expect(stats.map((s) => s.rank)).toEqual(expected);
  });

  it('breaks aggregate ties by component index', () => {
    // Two identical columns tie on every criterion.
    const same = buildActivations(labels, [(y, i) => y + 0.03 * (i % 7), (y, i) => y + 0.03 * (i % 7)]);
    const twin = rankComponents(same, 40, 2, Int32Array.from(labels), 2);
    expect(twin.map((s) => s.rank)).toEqual([1, 2]);
  });

  it("'auto' keeps p < alpha, fills to minSelected by rank, never more than all", () => {
    const auto = selectComponents(stats, { top: 'auto', alpha: 0.05, minSelected: 1 });
    const significant = stats.filter((s) => s.pValue < 0.05).map((s) => s.index);
    expect(significant).toContain(2);
    expect(significant).not.toContain(0);
    expect([...auto.selected].sort()).toEqual(significant.sort());
    expect(auto.selected[0]).toBe(2);
    expect(auto.stats.filter((s) => s.selected).map((s) => s.index).sort()).toEqual([...auto.selected].sort());
    // Input untouched (copies returned).
    expect(stats.every((s) => !s.selected)).toBe(true);

    const filled = selectComponents(stats, { top: 'auto', alpha: 1e-300, minSelected: 2 });
    const byRank = [...stats].sort((a, b) => a.rank - b.rank).map((s) => s.index);
    expect(filled.selected).toEqual(byRank.slice(0, 2));
    expect(selectComponents(stats, { top: 'auto', alpha: 0.05, minSelected: 10 }).selected).toEqual(byRank);
  });

  it('top = k keeps exactly the k best in rank order', () => {
    const byRank = [...stats].sort((a, b) => a.rank - b.rank).map((s) => s.index);
    for (const k of [1, 2, 3]) {
      const r = selectComponents(stats, { top: k, alpha: 0.05, minSelected: 4 });
      expect(r.selected).toEqual(byRank.slice(0, k));
      expect(r.stats.filter((s) => s.selected)).toHaveLength(k);
    }
    expect(() => selectComponents(stats, { top: 0, alpha: 0.05, minSelected: 1 })).toThrow();
  });
});

describe('rankComponents (multi-class)', () => {
  const rng = createRandom(5, 'ranking-multi');
  const labels = Array.from({ length: 45 }, (_, i) => i % 3);
  const activations = buildActivations(labels, [
    () => rng.next(), // 0: noise
    (y) => y + 0.2 * rng.normal(), // 1: class means 0, 1, 2 — the middle class vs rest has equal means
    (y) => (y === 2 ? 1 : 0) + 0.3 * rng.next(), // 2: class 2 vs the rest
  ]);
  const stats = rankComponents(activations, 45, 3, Int32Array.from(labels), 3);

  it('averages direction-free one-vs-rest statistics and adds the ANOVA p', () => {
    stats.forEach((s, j) => {
      const x = column(activations, 3, j);
      const groups = [0, 1, 2].map((c) => x.filter((_, i) => labels[i] === c));
      const perClass = [0, 1, 2].map((c) => {
        const pos = labels.map((y) => y === c);
        const auc = rocAuc(x, pos);
        const a = x.filter((_, i) => pos[i]);
        const b = x.filter((_, i) => !pos[i]);
        return { auc: Math.max(auc, 1 - auc), d: Math.abs(cohensD(a, b)), p: welchTTest(a, b).pValue };
      });
      expect(s.auc).toBeCloseTo(perClass.reduce((t, v) => t + v.auc, 0) / 3, 12);
      expect(s.cohensD).toBeCloseTo(perClass.reduce((t, v) => t + v.d, 0) / 3, 12);
      expect(s.pValue).toBeCloseTo(perClass.reduce((t, v) => t + v.p, 0) / 3, 12);
      expect(s.anovaP).toBeCloseTo(anovaF(groups).pValue, 14);
    });
    // Class 0 has all of component 1's lowest values: its one-vs-rest AUC is near 0, counted as near 1.
    expect(stats[1].auc).toBeGreaterThan(0.8);
    expect(stats[0].rank).toBe(3);
  });

  it("'auto' selects by anovaP even when the mean one-vs-rest p is large", () => {
    expect(stats[1].anovaP!).toBeLessThan(1e-10);
    expect(stats[1].pValue).toBeGreaterThan(0.05);
    const r = selectComponents(stats, { top: 'auto', alpha: 0.05, minSelected: 1 });
    expect(r.selected).toContain(1);
    expect(r.selected).toContain(2);
    expect(r.selected).not.toContain(0);
  });
});

describe('rankComponents input checks', () => {
  it('refuses mismatched shapes and out-of-range labels', () => {
    const a = new Float32Array(6);
    expect(() => rankComponents(a, 3, 3, new Int32Array(3), 2)).toThrow();
    expect(() => rankComponents(a, 3, 2, new Int32Array(2), 2)).toThrow();
    expect(() => rankComponents(a, 3, 2, Int32Array.from([0, 1, 2]), 2)).toThrow();
  });
  it('a constant component ranks below an informative one', () => {
    const labels = Int32Array.from([0, 0, 0, 1, 1, 1]);
    const a = buildActivations(Array.from(labels), [() => 0.5, (y, i) => y + 0.1 * i]);
    const s: ComponentStats[] = rankComponents(a, 6, 2, labels, 2);
    expect(s[0]).toMatchObject({ auc: 0.5, cohensD: 0, pValue: 1, rank: 2 });
    expect(s[1].rank).toBe(1);
  });
});
