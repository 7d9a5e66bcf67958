/** Count, mean and unbiased (n − 1) variance of a sample; variance is NaN when n < 2. */
export interface SampleMoments {
  n: number;
  mean: number;
  variance: number;
}

/** Two-pass mean and variance (numerically safer than Σx² − n·mean² for clustered data). */
export function sampleMoments(x: ArrayLike<number>): SampleMoments {
  const n = x.length;
  let sum = 0;
  for (let i = 0; i < n; i++) sum += x[i];
  const mean = n > 0 ? sum / n : NaN;
  let squares = 0;
  for (let i = 0; i < n; i++) {
    const dev = x[i] - mean;
    squares += dev * dev;
  }
  return { n, mean, variance: n > 1 ? squares / (n - 1) : NaN };
}
