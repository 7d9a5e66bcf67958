import { sampleMoments } from './moments';

/**
 * Cohen's d = (mean a − mean b) / s_pooled, with
 *   s_pooled² = ((n_a − 1) s_a² + (n_b − 1) s_b²) / (n_a + n_b − 2)
 * and s² the unbiased (n − 1) variances. When s_pooled = 0 (both samples constant) the effect is
 * 0 if the means are equal and ±Infinity if they differ (a perfect, unbounded separation).
 * NaN when n_a + n_b < 3 or a sample is empty (no pooled variance exists).
 */
export function cohensD(a: ArrayLike<number>, b: ArrayLike<number>): number {
  const ma = sampleMoments(a);
  const mb = sampleMoments(b);
  const dof = ma.n + mb.n - 2;
  if (ma.n === 0 || mb.n === 0 || dof < 1) return NaN;
  // A sample of one contributes no within-group variation: (n − 1) s² = 0.
  const ssA = ma.n > 1 ? (ma.n - 1) * ma.variance : 0;
  const ssB = mb.n > 1 ? (mb.n - 1) * mb.variance : 0;
  const pooledSd = Math.sqrt((ssA + ssB) / dof);
  const diff = ma.mean - mb.mean;
  if (pooledSd === 0) return diff === 0 ? 0 : diff > 0 ? Infinity : -Infinity;
  return diff / pooledSd;
}
