import { describe, expect, it } from 'vitest';
import { rocAuc } from '../../../src/core/select/auc';
import { cohensD } from '../../../src/core/select/cohensD';
import { welchTTest } from '../../../src/core/select/welch';
import { anovaF } from '../../../src/core/select/anova';
import { averageRanks } from '../../../src/core/select/ranks';
import { createRandom } from '../../../src/core/random';
import { fKernel, tKernel, upperTail } from './numeric';

/** P(s₊ > s₋) + ½ P(s₊ = s₋) by counting every pair: the definition, O(n₊ n₋). */
function pairCountAuc(scores: number[], positive: boolean[]): number {
  let wins = 0;
  let pairs = 0;
  scores.forEach((sp, i) => {
    if (!positive[i]) return;
    scores.forEach((sn, j) => {
      if (positive[j]) return;
      pairs++;
      wins += sp > sn ? 1 : sp === sn ? 0.5 : 0;
    });
  });
  return wins / pairs;
}

describe('averageRanks', () => {
  it('gives tied values the mean of their positions', () => {
    // sorted: 1(pos1) 2,2(pos2,3 → 2.5) 5(pos4) 7,7,7(pos5..7 → 6)
    expect(Array.from(averageRanks([7, 2, 5, 7, 1, 2, 7]))).toEqual([6, 2.5, 4, 6, 1, 2.5, 6]);
  });
});

describe('rocAuc', () => {
  it('hand-worked example: 3 of 4 positive–negative pairs ordered', () => {
    // positives 0.35, 0.8; negatives 0.1, 0.4: 0.35>0.1, 0.35<0.4, 0.8>0.1, 0.8>0.4 → 3/4
    expect(rocAuc([0.1, 0.4, 0.35, 0.8], [false, false, true, true])).toBeCloseTo(0.75, 12);
  });
  it('counts a tie across classes as one half', () => {
    // positives 0.5, 0.9; negatives 0.5, 0.2, 0.7.
    // 0.5: tie with 0.5 (½) + beats 0.2 (1) + loses to 0.7 (0) = 1.5; 0.9 beats all three = 3 → 4.5 / 6
    expect(rocAuc([0.5, 0.9, 0.5, 0.2, 0.7], [true, true, false, false, false])).toBeCloseTo(0.75, 12);
    // positives 0.5, 0.9, 0.5; negatives 0.2, 0.5: 1.5 + 2 + 1.5 = 5 of 6
    expect(rocAuc([0.2, 0.5, 0.5, 0.9, 0.5], [false, false, true, true, true])).toBeCloseTo(5 / 6, 12);
  });
  it('is 1 for perfect separation, 0 reversed, NaN with an empty class', () => {
    expect(rocAuc([0.1, 0.2, 0.8, 0.9], [false, false, true, true])).toBe(1);
    expect(rocAuc([0.9, 0.8, 0.2, 0.1], [false, false, true, true])).toBe(0);
    expect(rocAuc([0.1, 0.2], [true, true])).toBeNaN();
    expect(rocAuc([0.1, 0.2], [false, false])).toBeNaN();
    expect(() => rocAuc([0.1, 0.2], [true])).toThrow();
  });
  it('matches pair counting on data with many ties', () => {
    const rng = createRandom(7, 'auc-ties');
    const scores = Array.from({ length: 60 }, () => Math.round(rng.next() * 6) / 6);
    const positive = scores.map((s) => rng.next() < 0.3 + 0.4 * s);
    expect(rocAuc(scores, positive)).toBeCloseTo(pairCountAuc(scores, positive), 12);
  });
});

describe('cohensD', () => {
  it('hand-computed small samples', () => {
    // a = 2,4,6: mean 4, s² = (4+0+4)/2 = 4; b = 1..5: mean 3, s² = (4+1+0+1+4)/4 = 2.5
    // pooled s² = (2·4 + 4·2.5) / (3+5−2) = 18/6 = 3 → d = (4−3)/√3
    expect(cohensD([2, 4, 6], [1, 2, 3, 4, 5])).toBeCloseTo(1 / Math.sqrt(3), 12);
    expect(cohensD([1, 2, 3, 4, 5], [2, 4, 6])).toBeCloseTo(-1 / Math.sqrt(3), 12);
  });
  it('constant samples: 0 for equal means, ±Infinity otherwise', () => {
    expect(cohensD([1, 1, 1], [1, 1])).toBe(0);
    expect(cohensD([2, 2], [1, 1, 1])).toBe(Infinity);
    expect(cohensD([1, 1], [2, 2, 2])).toBe(-Infinity);
    expect(cohensD([], [1, 2])).toBeNaN();
  });
});

describe('welchTTest', () => {
  it('small example: t and df by formula, p by Simpson integration of the t density', () => {
    // s_a²/n_a = 4/3, s_b²/n_b = 2.5/5 = 0.5; t = 1/√(11/6)
    // df = (11/6)² / ((4/3)²/2 + 0.5²/4)
    const se2 = 4 / 3 + 0.5;
    const t = 1 / Math.sqrt(se2);
    const df = (se2 * se2) / ((4 / 3) ** 2 / 2 + 0.25 / 4);
    const r = welchTTest([2, 4, 6], [1, 2, 3, 4, 5]);
    expect(r.t).toBeCloseTo(t, 12);
    expect(r.df).toBeCloseTo(df, 12);
    expect(r.df).toBeCloseTo(3.532846715, 8);
    expect(r.pValue).toBeCloseTo(upperTail(tKernel(df), t), 7);
  });
  it('textbook example (Wikipedia, Welch\'s t-test): t = −2.46, ν = 24.99, p = 0.021', () => {
    const a1 = [27.5, 21.0, 19.0, 23.6, 17.0, 17.9, 16.9, 20.1, 21.9, 22.6, 23.1, 19.6, 19.0, 21.7, 21.4];
    const a2 = [27.1, 22.0, 20.8, 23.4, 23.4, 23.5, 25.8, 22.0, 24.8, 20.2, 21.9, 22.1, 22.9, 20.5, 24.4];
    const r = welchTTest(a1, a2);
    expect(r.t).toBeCloseTo(-2.46, 2);
    expect(r.df).toBeCloseTo(24.99, 2);
    expect(r.pValue).toBeCloseTo(0.021, 3);
    expect(r.pValue).toBeCloseTo(upperTail(tKernel(r.df), Math.abs(r.t)), 7);
  });
  it('keeps a tiny but positive p in the far tail', () => {
    // s² = 0.00625 in both, s²/n = 0.00125 each → se = 0.05, t = 10/0.05 = 200, df = 8
    const r = welchTTest([10, 10.1, 9.9, 10.05, 9.95], [0, 0.1, -0.1, 0.05, -0.05]);
    expect(r.t).toBeCloseTo(200, 9);
    expect(r.df).toBeCloseTo(8, 9);
    expect(r.pValue).toBeGreaterThan(0);
    expect(r.pValue).toBeLessThan(1e-12);
    // Independent: the same tail by quadrature (scipy.stats.ttest_ind gives 4.3719e-16).
    const reference = upperTail(tKernel(8), 200);
    expect(Math.abs(r.pValue / reference - 1)).toBeLessThan(1e-5);
  });
  it('degenerate: constant samples, too few values', () => {
    expect(welchTTest([1, 1], [1, 1, 1])).toEqual({ t: 0, df: 3, pValue: 1 });
    expect(welchTTest([2, 2], [1, 1, 1])).toEqual({ t: Infinity, df: 3, pValue: 0 });
    expect(welchTTest([1], [1, 2, 3]).pValue).toBeNaN();
  });
});

describe('anovaF', () => {
  // Textbook one-way example (Wikipedia, "One-way analysis of variance"): F ≈ 9.3 on (2, 15).
  const groups = [
    [6, 8, 4, 5, 3, 4],
    [8, 12, 9, 11, 6, 8],
    [13, 9, 11, 8, 7, 12],
  ];
  it('F from sums of squares written out', () => {
    // means 5, 9, 10; grand mean 8; SS_between = 6·(9 + 1 + 4) = 84, MS_between = 84/2 = 42
    // SS_within = (1+9+1+0+4+1) + (1+9+0+4+9+1) + (9+1+1+4+9+4) = 16 + 24 + 28 = 68, MS_within = 68/15
    const r = anovaF(groups);
    expect(r.df1).toBe(2);
    expect(r.df2).toBe(15);
    expect(r.f).toBeCloseTo(42 / (68 / 15), 12);
    // F(2, d2) has the closed-form upper tail (1 + 2f/d2)^(−d2/2).
    expect(r.pValue).toBeCloseTo((1 + (2 * r.f) / 15) ** -7.5, 12);
    expect(r.pValue).toBeCloseTo(0.0024, 4);
  });
  it('p for df1 = 3 agrees with Simpson integration of the F density', () => {
    const four = [...groups, [7, 5, 9, 6, 10, 8, 6]];
    const r = anovaF(four);
    expect(r.df1).toBe(3);
    expect(r.df2).toBe(21);
    expect(r.pValue).toBeCloseTo(upperTail(fKernel(3, 21), r.f), 6);
  });
  it('ignores empty groups; degenerate cases', () => {
    expect(anovaF([...groups, []])).toEqual(anovaF(groups));
    expect(anovaF([[1, 1], [1, 1]])).toEqual({ f: 0, df1: 1, df2: 2, pValue: 1 });
    expect(anovaF([[1, 1], [2, 2]])).toEqual({ f: Infinity, df1: 1, df2: 2, pValue: 0 });
    expect(anovaF([[1, 2, 3]]).pValue).toBeNaN();
  });
});
