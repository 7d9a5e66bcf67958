import * as tf from '@tensorflow/tfjs';
import { describe, expect, it } from 'vitest';
import { factorize } from '../../../src/core/nmf/factorize';
import { imageFeatures, normalizeActivations, projectActivations } from '../../../src/core/nmf/project';
import { lowRankMatrix, relativeError, uniformMatrix } from './helpers';

describe('projection onto a fixed basis', () => {
  for (const loss of ['kl', 'frobenius'] as const) {
    it(`${loss}: projecting the training images onto the learned W reproduces H within 5%`, async () => {
      const V = lowRankMatrix(60, 40, 4, 3);
      const r = await factorize(V, { rank: 4, loss, init: 'nndsvda', maxIter: 300, tol: 0, seed: 1 });
      const before = tf.memory().numTensors;
      const H = projectActivations(V, r.W, 300, loss);
      expect(tf.memory().numTensors).toBe(before + 1);
      expect(H.shape).toEqual([4, 40]);
      expect(relativeError(H, r.H)).toBeLessThan(0.05);
      // Features in the attacker's layout agree with the column layout.
      const viaColumns = normalizeActivations(H);
      const X = tf.transpose(V);
      const features = imageFeatures(X, r.W, 300, loss);
      expect(features.shape).toEqual([40, 4]);
      expect(relativeError(features, viaColumns)).toBeLessThan(1e-4);
      tf.dispose([V, r.W, r.H, H, viaColumns, X, features]);
    });
  }

  it('projection is deterministic and needs no randomness: one iteration from H = 1 is the KL update by hand', () => {
    // W = [[1, 0], [1, 1]], v = (2, 4): WH₀ = (1, 2), ratio = (2, 2); Wᵀ ratio = (4, 2); Wᵀ1 = (2, 1) → H₁ = (2, 2).
    const W = tf.tensor2d([[1, 0], [1, 1]]);
    const V = tf.tensor2d([[2], [4]]);
    const H = projectActivations(V, W, 1);
    const h = H.dataSync();
    expect(h[0]).toBeCloseTo(2, 5);
    expect(h[1]).toBeCloseTo(2, 5);
    // Two more: W H₁ = (2, 4) = v, a fixed point.
    const H3 = projectActivations(V, W, 3);
    expect(Array.from(H3.dataSync()).map((t) => Number(t.toFixed(4)))).toEqual([2, 2]);
    tf.dispose([W, V, H, H3]);
  });

  it('normalizeActivations gives images × rank rows of unit norm, in the same directions', () => {
    const H = tf.tensor2d([[3, 0, 1], [4, 2, 1]]); // columns: images
    const F = normalizeActivations(H);
    expect(F.shape).toEqual([3, 2]);
    const f = F.dataSync();
    expect([f[0], f[1]]).toEqual([expect.closeTo(0.6, 6), expect.closeTo(0.8, 6)]);
    expect([f[2], f[3]]).toEqual([expect.closeTo(0, 6), expect.closeTo(1, 6)]);
    expect(f[4]).toBeCloseTo(Math.SQRT1_2, 6);
    const big = uniformMatrix(5, 50, 4).tensor;
    const norms = tf.tidy(() => tf.norm(normalizeActivations(big), 'euclidean', 1).dataSync());
    for (const n of norms) expect(n).toBeCloseTo(1, 5);
    tf.dispose([H, F, big]);
  });

  it('imageFeatures is differentiable in the pixels: the gradient is finite, non-zero and matches a finite difference', () => {
    const W = uniformMatrix(36, 4, 8).tensor;
    const X = uniformMatrix(3, 36, 9).tensor;
    const weights = uniformMatrix(3, 4, 10, -1, 1).tensor;
    const objective = (x: tf.Tensor2D) => tf.sum(tf.mul(imageFeatures(x, W, 20), weights)) as tf.Scalar;
    const before = tf.memory().numTensors;
    const grad = tf.grad((x: tf.Tensor) => objective(x as tf.Tensor2D))(X);
    expect(tf.memory().numTensors).toBe(before + 1);
    const g = grad.dataSync();
    expect(g.every(Number.isFinite)).toBe(true);
    const gNorm = Math.hypot(...g);
    expect(gNorm).toBeGreaterThan(1e-4);
    // Directional derivative along the gradient against a central difference.
    const step = 1e-2 / gNorm;
    const shifted = (s: number) => tf.tidy(() => objective(tf.add(X, tf.mul(grad, s)) as tf.Tensor2D).dataSync()[0]);
    const numeric = (shifted(step) - shifted(-step)) / (2 * step);
    expect(Math.abs(numeric / (gNorm * gNorm) - 1)).toBeLessThan(0.02);
    tf.dispose([W, X, weights, grad]);
  });
});
