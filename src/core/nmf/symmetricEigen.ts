/**
 * Eigen-decomposition of a small dense symmetric matrix by cyclic Jacobi rotations (Golub & Van
 * Loan, §8.5), in float64. Meant for the (rank + oversample)² projected matrices of the
 * randomized SVD, where n is a few dozen and Jacobi's accuracy on small eigenvalues matters more
 * than its O(n³) sweeps.
 */

export interface SymmetricEigen {
  /** Eigenvalues, largest first. */
  values: Float64Array;
  /** Eigenvectors as columns of an n × n row-major matrix; column j belongs to values[j]. */
  vectors: Float64Array;
}

const MAX_SWEEPS = 100;

export function symmetricEigen(S: ArrayLike<number>, n: number): SymmetricEigen {
  if (S.length !== n * n) throw new RangeError(`symmetricEigen: expected ${n * n} entries, got ${S.length}`);
  const A = new Float64Array(n * n);
  // Symmetrize: inputs come from float32 products whose two triangles differ by rounding.
  for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) A[i * n + j] = 0.5 * (S[i * n + j] + S[j * n + i]);
  const Vec = new Float64Array(n * n);
  for (let i = 0; i < n; i++) Vec[i * n + i] = 1;
  let total = 0;
  for (let i = 0; i < n * n; i++) total += A[i] * A[i];
  const threshold = 1e-30 * total;
  for (let sweep = 0; sweep < MAX_SWEEPS; sweep++) {
    let off = 0;
    for (let p = 0; p < n; p++) for (let q = p + 1; q < n; q++) off += A[p * n + q] * A[p * n + q];
    if (off <= threshold) break;
    for (let p = 0; p < n - 1; p++) {
      for (let q = p + 1; q < n; q++) {
        const apq = A[p * n + q];
        if (apq === 0) continue;
        // Rotation angle that zeroes A[p][q]: t = tan θ, the smaller root of t² + 2τt − 1 = 0.
        const tau = (A[q * n + q] - A[p * n + p]) / (2 * apq);
        const t = (tau >= 0 ? 1 : -1) / (Math.abs(tau) + Math.sqrt(1 + tau * tau));
        const c = 1 / Math.sqrt(1 + t * t);
        const s = t * c;
        for (let k = 0; k < n; k++) {
          const akp = A[k * n + p];
          const akq = A[k * n + q];
          A[k * n + p] = c * akp - s * akq;
          A[k * n + q] = s * akp + c * akq;
        }
        for (let k = 0; k < n; k++) {
          const apk = A[p * n + k];
          const aqk = A[q * n + k];
          A[p * n + k] = c * apk - s * aqk;
          A[q * n + k] = s * apk + c * aqk;
        }
        for (let k = 0; k < n; k++) {
          const vkp = Vec[k * n + p];
          const vkq = Vec[k * n + q];
          Vec[k * n + p] = c * vkp - s * vkq;
          Vec[k * n + q] = s * vkp + c * vkq;
        }
      }
    }
  }
  const order = Array.from({ length: n }, (_, i) => i).sort((a, b) => A[b * n + b] - A[a * n + a]);
  const values = new Float64Array(n);
  const vectors = new Float64Array(n * n);
  order.forEach((src, dst) => {
    values[dst] = A[src * n + src];
    for (let k = 0; k < n; k++) vectors[k * n + dst] = Vec[k * n + src];
  });
  return { values, vectors };
}
