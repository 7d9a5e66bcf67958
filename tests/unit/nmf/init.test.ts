import * as tf from '@tensorflow/tfjs';
import { describe, expect, it } from 'vitest';
import { initFactors, initFactorsAsync } from '../../../src/core/nmf/init';
import { klDivergence } from '../../../src/core/nmf/kl';
import { symmetricEigen } from '../../../src/core/nmf/symmetricEigen';
import { lowRankMatrix, maxAbsDiff, relativeError, uniformMatrix } from './helpers';

/** V = W₀H₀ + 10⁻³ with a parts-based W₀ (about two thirds of its entries zero), like images made of regions. */
function partsBasedMatrix(m: number, n: number, r: number, seed: number): tf.Tensor2D {
  return tf.tidy(() => {
    const W0 = tf.relu(uniformMatrix(m, r, seed, -2, 1).tensor);
    return tf.add(tf.matMul(W0, uniformMatrix(r, n, seed + 1).tensor), 1e-3) as tf.Tensor2D;
  });
}

/**
 * NNDSVDA in float64 from an exact SVD (eigenvectors of VᵀV, u = Vv/σ), written out step by step
 * as scikit-learn's _initialize_nmf does it.
 */
function nndsvdaReference(V: Float64Array, m: number, n: number, r: number): { W: Float64Array; H: Float64Array } {
  const G = new Float64Array(n * n);
  for (let a = 0; a < n; a++) for (let b = 0; b < n; b++) for (let i = 0; i < m; i++) G[a * n + b] += V[i * n + a] * V[i * n + b];
  const { values, vectors } = symmetricEigen(G, n);
  const W = new Float64Array(m * r);
  const H = new Float64Array(r * n);
  const norm = (x: number[]) => Math.sqrt(x.reduce((s, t) => s + t * t, 0));
  for (let j = 0; j < r; j++) {
    const sigma = Math.sqrt(values[j]);
    const y = Array.from({ length: n }, (_, k) => vectors[k * n + j]);
    const x = Array.from({ length: m }, (_, i) => y.reduce((s, yk, k) => s + V[i * n + k] * yk, 0) / sigma);
    let u: number[], v: number[], scale: number;
    if (j === 0) {
      [u, v, scale] = [x.map(Math.abs), y.map(Math.abs), 1];
    } else {
      const [xp, xn, yp, yn] = [x.map((t) => Math.max(t, 0)), x.map((t) => Math.max(-t, 0)), y.map((t) => Math.max(t, 0)), y.map((t) => Math.max(-t, 0))];
      const [mp, mn] = [norm(xp) * norm(yp), norm(xn) * norm(yn)];
      [u, v, scale] = mp > mn ? [xp.map((t) => t / norm(xp)), yp.map((t) => t / norm(yp)), mp] : [xn.map((t) => t / norm(xn)), yn.map((t) => t / norm(yn)), mn];
    }
    const lambda = Math.sqrt(sigma * scale);
    for (let i = 0; i < m; i++) W[i * r + j] = lambda * u[i];
    for (let k = 0; k < n; k++) H[j * n + k] = lambda * v[k];
  }
  const mean = V.reduce((s, t) => s + t, 0) / V.length;
  return { W: W.map((t) => (t < 1e-6 ? mean : t)), H: H.map((t) => (t < 1e-6 ? mean : t)) };
}

describe('initFactors', () => {
  it("'random' draws |N(0,1)|·sqrt(mean(V)/rank), deterministic for a seed", () => {
    const V = lowRankMatrix(400, 300, 3, 1);
    const rank = 4;
    const before = tf.memory().numTensors;
    const a = initFactors(V, rank, 'random', 5);
    const b = initFactors(V, rank, 'random', 5);
    const c = initFactors(V, rank, 'random', 6);
    expect(a.W.shape).toEqual([400, rank]);
    expect(a.H.shape).toEqual([rank, 300]);
    expect(Array.from(a.W.dataSync())).toEqual(Array.from(b.W.dataSync()));
    expect(Array.from(a.H.dataSync())).toEqual(Array.from(b.H.dataSync()));
    expect(Array.from(a.W.dataSync())).not.toEqual(Array.from(c.W.dataSync()));
    // E|N(0,1)| = sqrt(2/π): the mean entry is sqrt(mean(V)/rank)·sqrt(2/π) up to sampling error.
    const scale = Math.sqrt(tf.tidy(() => tf.mean(V).dataSync()[0]) / rank) * Math.sqrt(2 / Math.PI);
    for (const F of [a.W, a.H]) expect(Math.abs(tf.tidy(() => tf.mean(F).dataSync()[0]) / scale - 1)).toBeLessThan(0.05);
    expect(tf.tidy(() => tf.min(a.W).dataSync()[0])).toBeGreaterThanOrEqual(0);
    tf.dispose([a.W, a.H, b.W, b.H, c.W, c.H]);
    expect(tf.memory().numTensors).toBe(before);
    V.dispose();
  });

  it("'nndsvda' is exact on a rank-1 positive matrix: W H = u vᵀ", () => {
    const u = uniformMatrix(30, 1, 2).tensor;
    const v = uniformMatrix(1, 20, 3).tensor;
    const V = tf.matMul(u, v) as tf.Tensor2D;
    const { W, H } = initFactors(V, 1, 'nndsvda', 1);
    const WH = tf.matMul(W, H);
    expect(relativeError(WH, V)).toBeLessThan(1e-5);
    tf.dispose([u, v, V, W, H, WH]);
  });

  it("'nndsvda' matches an independent float64 NNDSVDA (exact SVD, scikit-learn's steps)", () => {
    const m = 30, n = 12, r = 3;
    const V = partsBasedMatrix(m, n, r, 4);
    const v = Float64Array.from(V.dataSync());
    const ref = nndsvdaReference(v, m, n, r);
    const { W, H } = initFactors(V, r, 'nndsvda', 9);
    expect(maxAbsDiff(W.dataSync(), ref.W)).toBeLessThan(1e-4);
    expect(maxAbsDiff(H.dataSync(), ref.H)).toBeLessThan(1e-4);
    tf.dispose([V, W, H]);
  });

  it("'nndsvda' gives positive factors and, on parts-based data, starts closer to V than 'random'", async () => {
    const V = partsBasedMatrix(60, 40, 4, 7);
    const before = tf.memory().numTensors;
    const nnd = await initFactorsAsync(V, 4, 'nndsvda', 3);
    const rnd = initFactors(V, 4, 'random', 3);
    for (const F of [nnd.W, nnd.H]) expect(tf.tidy(() => tf.min(F).dataSync()[0])).toBeGreaterThan(0);
    const loss = (W: tf.Tensor2D, H: tf.Tensor2D) => tf.tidy(() => klDivergence(V, tf.matMul(W, H)).dataSync()[0]);
    const [nndLoss, rndLoss] = [loss(nnd.W, nnd.H), loss(rnd.W, rnd.H)];
    expect(nndLoss).toBeLessThan(0.5 * rndLoss);
    // The synchronous and asynchronous paths compute the same factors.
    const sync = initFactors(V, 4, 'nndsvda', 3);
    expect(Array.from(sync.W.dataSync())).toEqual(Array.from(nnd.W.dataSync()));
    tf.dispose([nnd.W, nnd.H, rnd.W, rnd.H, sync.W, sync.H]);
    expect(tf.memory().numTensors).toBe(before);
    V.dispose();
  });

  it('rejects a rank outside 1..min(m, n)', () => {
    const V = lowRankMatrix(10, 6, 2, 1);
    expect(() => initFactors(V, 7, 'nndsvda', 1)).toThrow(RangeError);
    expect(() => initFactors(V, 0, 'random', 1)).toThrow(RangeError);
    V.dispose();
  });
});
