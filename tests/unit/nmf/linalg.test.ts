import * as tf from '@tensorflow/tfjs';
import { describe, expect, it } from 'vitest';
import { orthonormalColumns } from '../../../src/core/nmf/householder';
import { symmetricEigen } from '../../../src/core/nmf/symmetricEigen';
import { randomizedSvd, randomizedSvdAsync } from '../../../src/core/nmf/svd';
import { createRandom } from '../../../src/core/random';
import { matMulJs } from './helpers';

function gaussian(size: number, seed: number): Float64Array {
  const rng = createRandom(seed, 'linalg-test');
  return Float64Array.from({ length: size }, () => rng.normal());
}

/** max |QᵀQ − I| for Q rows × cols row-major. */
function orthogonalityError(Q: ArrayLike<number>, rows: number, cols: number): number {
  let worst = 0;
  for (let a = 0; a < cols; a++) {
    for (let b = 0; b < cols; b++) {
      let dot = 0;
      for (let i = 0; i < rows; i++) dot += Q[i * cols + a] * Q[i * cols + b];
      worst = Math.max(worst, Math.abs(dot - (a === b ? 1 : 0)));
    }
  }
  return worst;
}

describe('orthonormalColumns (Householder)', () => {
  it('returns orthonormal columns spanning A', () => {
    const rows = 30, cols = 6;
    const A = gaussian(rows * cols, 1);
    const Q = orthonormalColumns(A, rows, cols);
    expect(orthogonalityError(Q, rows, cols)).toBeLessThan(1e-12);
    // A lies in span(Q): Q Qᵀ A = A.
    const Qt = new Float64Array(cols * rows);
    for (let i = 0; i < rows; i++) for (let j = 0; j < cols; j++) Qt[j * rows + i] = Q[i * cols + j];
    const projected = matMulJs(Q, matMulJs(Qt, A, cols, rows, cols), rows, cols, cols);
    for (let i = 0; i < A.length; i++) expect(projected[i]).toBeCloseTo(A[i], 10);
  });

  it('stays orthonormal for a rank-deficient input (zero and repeated columns)', () => {
    const rows = 10, cols = 4;
    const A = new Float64Array(rows * cols);
    for (let i = 0; i < rows; i++) {
      A[i * cols] = i + 1;
      A[i * cols + 1] = 2 * (i + 1); // parallel to column 0
      A[i * cols + 2] = 0; // zero column
      A[i * cols + 3] = (i % 3) - 1;
    }
    const Q = orthonormalColumns(A, rows, cols);
    expect(orthogonalityError(Q, rows, cols)).toBeLessThan(1e-12);
  });
});

describe('symmetricEigen (Jacobi)', () => {
  it('finds the eigenpairs of a 2×2 example by hand: [[2, 1], [1, 2]] → 3, 1', () => {
    const { values, vectors } = symmetricEigen([2, 1, 1, 2], 2);
    expect(values[0]).toBeCloseTo(3, 12);
    expect(values[1]).toBeCloseTo(1, 12);
    expect(Math.abs(vectors[0])).toBeCloseTo(Math.SQRT1_2, 12);
    expect(vectors[0] * vectors[2]).toBeCloseTo(0.5, 12); // (1, 1)/√2 up to sign
  });

  it('recovers a known spectrum P diag(d) Pᵀ, largest first', () => {
    const n = 8;
    const P = orthonormalColumns(gaussian(n * n, 2), n, n);
    const d = [5, -3, 2.5, 1e-3, 0, 7, -0.5, 1];
    const A = new Float64Array(n * n);
    for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) for (let k = 0; k < n; k++) A[i * n + j] += P[i * n + k] * d[k] * P[j * n + k];
    const { values, vectors } = symmetricEigen(A, n);
    const sorted = [...d].sort((a, b) => b - a);
    for (let i = 0; i < n; i++) expect(values[i]).toBeCloseTo(sorted[i], 10);
    expect(orthogonalityError(vectors, n, n)).toBeLessThan(1e-12);
    // A v = λ v for each column.
    for (let c = 0; c < n; c++) {
      for (let i = 0; i < n; i++) {
        let Av = 0;
        for (let k = 0; k < n; k++) Av += A[i * n + k] * vectors[k * n + c];
        expect(Av).toBeCloseTo(values[c] * vectors[i * n + c], 10);
      }
    }
  });
});

describe('randomizedSvd', () => {
  /** A = U₀ diag(σ) V₀ᵀ with orthonormal U₀ (m × q), V₀ (n × q). */
  function knownMatrix(m: number, n: number, sigma: number[], seed: number) {
    const q = sigma.length;
    const U0 = orthonormalColumns(gaussian(m * q, seed), m, q);
    const V0 = orthonormalColumns(gaussian(n * q, seed + 1), n, q);
    const A = new Float32Array(m * n);
    for (let i = 0; i < m; i++) for (let j = 0; j < n; j++) {
      let s = 0;
      for (let k = 0; k < q; k++) s += U0[i * q + k] * sigma[k] * V0[j * q + k];
      A[i * n + j] = s;
    }
    return { A: tf.tensor2d(A, [m, n]), U0, V0 };
  }
  const sigma = [50, 20, 10, 5, 2, 1, 0.5, 0.25, 0.1, 0.05, 0.02, 0.01];

  for (const [m, n] of [[120, 40], [40, 120]] as const) {
    it(`recovers the leading singular triplets of a ${m} × ${n} matrix with a known spectrum`, async () => {
      const { A, U0, V0 } = knownMatrix(m, n, sigma, 3);
      const before = tf.memory().numTensors;
      const rank = 4;
      const svd = randomizedSvd(A, rank, 7);
      for (let j = 0; j < rank; j++) expect(Math.abs(svd.S[j] - sigma[j]) / sigma[j]).toBeLessThan(1e-4);
      const U = svd.U.dataSync();
      const Vt = svd.Vt.dataSync();
      const q = sigma.length;
      for (let j = 0; j < rank; j++) {
        let du = 0, dv = 0;
        for (let i = 0; i < m; i++) du += U[i * rank + j] * U0[i * q + j];
        for (let i = 0; i < n; i++) dv += Vt[j * n + i] * V0[i * q + j];
        expect(Math.abs(du)).toBeGreaterThan(1 - 1e-4);
        expect(du * dv).toBeGreaterThan(1 - 1e-4); // same sign on both sides: U S Vᵀ reproduces A
      }
      // Deterministic for a seed, bitwise; the async driver computes the same numbers.
      const again = await randomizedSvdAsync(A, rank, 7);
      expect(Array.from(again.S)).toEqual(Array.from(svd.S));
      expect(Array.from(again.U.dataSync())).toEqual(Array.from(U));
      // Handing over Aᵀ changes how the products run, not what they compute.
      const At = tf.transpose(A);
      const viaTranspose = randomizedSvd(A, rank, 7, { transposed: At });
      for (let j = 0; j < rank; j++) expect(Math.abs(viaTranspose.S[j] / svd.S[j] - 1)).toBeLessThan(1e-5);
      tf.dispose([svd.U, svd.Vt, again.U, again.Vt, viaTranspose.U, viaTranspose.Vt, At]);
      expect(tf.memory().numTensors).toBe(before);
      A.dispose();
    });
  }

  it('reports zero singular values beyond the rank of A, without NaNs', () => {
    const { A } = knownMatrix(30, 20, [3, 2], 9);
    const svd = randomizedSvd(A, 5, 1);
    expect(svd.S[0]).toBeCloseTo(3, 4);
    expect(svd.S[1]).toBeCloseTo(2, 4);
    expect(Array.from(svd.S.slice(2))).toEqual([0, 0, 0]);
    expect(svd.U.dataSync().every(Number.isFinite)).toBe(true);
    expect(svd.Vt.dataSync().every(Number.isFinite)).toBe(true);
    tf.dispose([A, svd.U, svd.Vt]);
  });
});
