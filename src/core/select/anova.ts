import fCdf from '@stdlib/stats-base-dists-f-cdf';

export interface AnovaResult {
  f: number;
  df1: number;
  df2: number;
  pValue: number;
}

/**
 * One-way ANOVA F-test that all group means are equal.
 *   SS_between = Σ_g n_g (m_g − m)²,  SS_within = Σ_g Σ_i (x_gi − m_g)²
 *   F = (SS_between / (k − 1)) / (SS_within / (N − k)),  df1 = k − 1, df2 = N − k.
 * The upper tail uses 1/F ~ F(df2, df1): P(F > f) = F_cdf(1/f; df2, df1), which keeps small p-values
 * accurate where 1 − F_cdf(f) would round to 0.
 * Empty groups are ignored (k counts non-empty ones). Fewer than 2 groups or N ≤ k → all NaN.
 * No within-group variation: F = 0, p = 1 if the means are equal too, F = Infinity, p = 0 otherwise.
 */
export function anovaF(groups: ArrayLike<number>[]): AnovaResult {
  const nonEmpty = groups.filter((g) => g.length > 0);
  const k = nonEmpty.length;
  let total = 0;
  let sum = 0;
  const means = nonEmpty.map((g) => {
    let s = 0;
    for (let i = 0; i < g.length; i++) s += g[i];
    total += g.length;
    sum += s;
    return s / g.length;
  });
  const df1 = k - 1;
  const df2 = total - k;
  if (k < 2 || df2 < 1) return { f: NaN, df1, df2, pValue: NaN };
  const grandMean = sum / total;
  let ssBetween = 0;
  let ssWithin = 0;
  nonEmpty.forEach((g, j) => {
    const dm = means[j] - grandMean;
    ssBetween += g.length * dm * dm;
    for (let i = 0; i < g.length; i++) {
      const d = g[i] - means[j];
      ssWithin += d * d;
    }
  });
  if (ssWithin === 0) {
    return ssBetween === 0 ? { f: 0, df1, df2, pValue: 1 } : { f: Infinity, df1, df2, pValue: 0 };
  }
  const f = ssBetween / df1 / (ssWithin / df2);
  const pValue = f === 0 ? 1 : fCdf(1 / f, df2, df1);
  return { f, df1, df2, pValue };
}
