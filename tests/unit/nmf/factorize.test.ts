import * as tf from '@tensorflow/tfjs';
import { describe, expect, it } from 'vitest';
import { CHECK_EVERY, factorize, type NmfOptions } from '../../../src/core/nmf/factorize';
import { klDivergence } from '../../../src/core/nmf/kl';
import { frobeniusLoss } from '../../../src/core/nmf/frobenius';
import { lowRankMatrix, relativeError, uniformMatrix } from './helpers';

const base: NmfOptions = { rank: 4, loss: 'kl', init: 'nndsvda', maxIter: 300, tol: 0, seed: 1 };

describe('factorize', () => {
  it('KL recovers an exactly rank-4 60 × 40 matrix: final/initial KL < 1e-3, ‖V − WH‖/‖V‖ < 2%', async () => {
    const V = lowRankMatrix(60, 40, 4, 3);
    const before = tf.memory().numTensors;
    const r = await factorize(V, base);
    expect(r.iterations).toBe(300);
    expect(r.loss).toHaveLength(300);
    expect(r.converged).toBe(false);
    expect(r.loss[r.loss.length - 1] / r.initialLoss).toBeLessThan(1e-3);
    const WH = tf.matMul(r.W, r.H);
    expect(relativeError(WH, V)).toBeLessThan(0.02);
    // The recorded loss is the loss of the returned factors.
    const direct = tf.tidy(() => klDivergence(V, WH as tf.Tensor2D).dataSync()[0]);
    expect(Math.abs(direct - r.loss[r.loss.length - 1])).toBeLessThan(1e-3 * r.initialLoss);
    tf.dispose([r.W, r.H, WH]);
    expect(tf.memory().numTensors).toBe(before);
    V.dispose();
  });

  // On a matrix no rank-3 product fits, the loss stays large and float32 resolves every step.
  for (const loss of ['kl', 'frobenius'] as const) {
    for (const init of ['nndsvda', 'random'] as const) {
      it(`${loss} loss never increases from ${init} init`, async () => {
        const V = uniformMatrix(50, 30, 11, 0, 1).tensor;
        const r = await factorize(V, { ...base, rank: 3, loss, init, maxIter: 120 });
        const curve = [r.initialLoss, ...r.loss];
        for (let i = 1; i < curve.length; i++) expect(curve[i]).toBeLessThanOrEqual(curve[i - 1] * (1 + 1e-6));
        expect(curve[curve.length - 1]).toBeLessThan(0.8 * curve[0]);
        const WH = tf.matMul(r.W, r.H) as tf.Tensor2D;
        const direct = tf.tidy(() => (loss === 'kl' ? klDivergence(V, WH) : frobeniusLoss(V, WH)).dataSync()[0]);
        expect(Math.abs(direct / curve[curve.length - 1] - 1)).toBeLessThan(1e-4);
        tf.dispose([V, r.W, r.H, WH]);
      });
    }
  }

  it('a caller-supplied Vᵀ gives the same factors bit for bit; one of the wrong shape is refused', async () => {
    const V = uniformMatrix(45, 25, 9, 0, 1).tensor;
    const VT = tf.transpose(V) as tf.Tensor2D;
    const opts: NmfOptions = { ...base, rank: 3, maxIter: 25 };
    const a = await factorize(V, opts);
    const b = await factorize(V, { ...opts, transposed: VT });
    expect(Array.from(b.W.dataSync())).toEqual(Array.from(a.W.dataSync()));
    expect(Array.from(b.H.dataSync())).toEqual(Array.from(a.H.dataSync()));
    expect(b.loss).toEqual(a.loss);
    await expect(factorize(V, { ...opts, transposed: V })).rejects.toThrow(/transposed is 45 × 25, V is 45 × 25/);
    tf.dispose([V, VT, a.W, a.H, b.W, b.H]);
  });

  it('same seed gives bitwise identical factors; stops on tol and reports progress', async () => {
    const V = lowRankMatrix(40, 30, 3, 5);
    const seen: number[] = [];
    const opts: NmfOptions = { ...base, rank: 3, maxIter: 500, tol: 1e-3, onProgress: (i, max, loss) => { expect(max).toBe(500); expect(Number.isFinite(loss)).toBe(true); seen.push(i); } };
    const a = await factorize(V, opts);
    const b = await factorize(V, { ...opts, onProgress: undefined });
    expect(Array.from(a.W.dataSync())).toEqual(Array.from(b.W.dataSync()));
    expect(Array.from(a.H.dataSync())).toEqual(Array.from(b.H.dataSync()));
    expect(a.loss).toEqual(b.loss);
    expect(a.converged).toBe(true);
    expect(a.iterations).toBeLessThan(500);
    expect(a.iterations % CHECK_EVERY).toBe(0); // stops at the check after the tolerance was met
    expect(seen).toEqual(Array.from({ length: a.iterations }, (_, i) => i + 1));
    const decrease = (k: number) => (k === 0 ? a.initialLoss : a.loss[k - 1]) - a.loss[k];
    const firstBelow = a.loss.findIndex((_, k) => decrease(k) / (k === 0 ? a.initialLoss : a.loss[k - 1]) < 1e-3);
    expect(firstBelow).toBeGreaterThanOrEqual(a.iterations - CHECK_EVERY);
    const c = await factorize(V, { ...opts, seed: 2, init: 'random', onProgress: undefined });
    expect(Array.from(c.W.dataSync())).not.toEqual(Array.from(a.W.dataSync()));
    tf.dispose([V, a.W, a.H, b.W, b.H, c.W, c.H]);
  });

  it('aborts with an AbortError and leaks nothing, whether aborted before or during the run', async () => {
    const V = lowRankMatrix(40, 30, 3, 6);
    const before = tf.memory().numTensors;
    const early = new AbortController();
    early.abort();
    await expect(factorize(V, { ...base, signal: early.signal })).rejects.toMatchObject({ name: 'AbortError' });
    expect(tf.memory().numTensors).toBe(before);
    const during = new AbortController();
    let last = 0;
    const running = factorize(V, { ...base, loss: 'kl', signal: during.signal, onProgress: (i) => { last = i; if (i === 15) during.abort(); } });
    await expect(running).rejects.toMatchObject({ name: 'AbortError' });
    expect(last).toBe(20); // the batch in flight is reported, then the run stops at that check
    expect(tf.memory().numTensors).toBe(before);
    V.dispose();
  });

  it('rejects negative input and bad options', async () => {
    const V = tf.tensor2d([[1, -1], [2, 3], [0, 1]]);
    await expect(factorize(V, { ...base, rank: 1 })).rejects.toThrow(RangeError);
    await expect(factorize(tf.abs(V) as tf.Tensor2D, { ...base, rank: 3 })).rejects.toThrow(RangeError);
    tf.disposeVariables();
    V.dispose();
  });
});
