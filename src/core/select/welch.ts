import tCdf from '@stdlib/stats-base-dists-t-cdf';
import { sampleMoments } from './moments';

export interface WelchResult {
  t: number;
  df: number;
  pValue: number;
}

/**
 * Welch's unequal-variance t-test of mean a = mean b, two-sided.
 *   t  = (m_a − m_b) / √(s_a²/n_a + s_b²/n_b)
 *   df = (s_a²/n_a + s_b²/n_b)² / ((s_a²/n_a)²/(n_a − 1) + (s_b²/n_b)²/(n_b − 1))   (Welch–Satterthwaite)
 *   p  = 2 F_t(−|t|; df)   — the lower tail, so tiny p-values keep their digits instead of 1 − F rounding to 0.
 * Degenerate: both samples constant → df = n_a + n_b − 2 (the Satterthwaite ratio is 0/0) and
 * t = 0, p = 1 for equal means, t = ±Infinity, p = 0 otherwise. Fewer than 2 values in a sample → all NaN.
 */
export function welchTTest(a: ArrayLike<number>, b: ArrayLike<number>): WelchResult {
  const ma = sampleMoments(a);
  const mb = sampleMoments(b);
  if (ma.n < 2 || mb.n < 2) return { t: NaN, df: NaN, pValue: NaN };
  const va = ma.variance / ma.n;
  const vb = mb.variance / mb.n;
  const se2 = va + vb;
  const diff = ma.mean - mb.mean;
  if (se2 === 0) {
    const df = ma.n + mb.n - 2;
    if (diff === 0) return { t: 0, df, pValue: 1 };
    return { t: diff > 0 ? Infinity : -Infinity, df, pValue: 0 };
  }
  const t = diff / Math.sqrt(se2);
  const df = (se2 * se2) / ((va * va) / (ma.n - 1) + (vb * vb) / (mb.n - 1));
  const pValue = Math.min(1, 2 * tCdf(-Math.abs(t), df));
  return { t, df, pValue };
}
