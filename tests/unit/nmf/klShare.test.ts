import * as tf from '@tensorflow/tfjs';
import { describe, expect, it } from 'vitest';
import { factorize, type NmfOptions } from '../../../src/core/nmf/factorize';
import { klDivergence } from '../../../src/core/nmf/kl';
import { inThreadKlShare, splitRows, type KlShareFactory } from '../../../src/core/nmf/klShare';
import { uniformMatrix } from './helpers';

const base: NmfOptions = { rank: 5, loss: 'kl', init: 'nndsvda', maxIter: 37, tol: 0, seed: 4 };

const bits = (t: tf.Tensor) => Array.from(new Uint32Array((t.dataSync() as Float32Array).slice().buffer));

describe('KL iterations split into shares', () => {
  it('splitRows cuts contiguous ranges that cover every row once', () => {
    expect(splitRows(10, 3)).toEqual([[0, 3], [3, 6], [6, 10]]);
    expect(splitRows(2, 2)).toEqual([[0, 1], [1, 2]]);
    expect(splitRows(7, 1)).toEqual([[0, 7]]);
  });

  for (const helpers of [1, 2]) {
    it(`with ${helpers} helper share(s): the same factors and losses, bit for bit, as one thread`, async () => {
      // Odd sizes, so the blocks are uneven and the cut falls inside SIMD groups.
      const V = uniformMatrix(203, 61, 3, 0, 1).tensor;
      const before = tf.memory().numTensors;
      const calls: number[] = [];
      const counting: KlShareFactory = async (b) => {
        calls.push(b.images[1] - b.images[0], b.pixels[1] - b.pixels[0]);
        return inThreadKlShare(b);
      };
      const one = await factorize(V, base);
      const split = await factorize(V, { ...base, helpers: Array(helpers).fill(counting) });
      expect(calls.length).toBe(2 * helpers);
      expect(bits(split.W)).toEqual(bits(one.W));
      expect(bits(split.H)).toEqual(bits(one.H));
      expect(split.loss).toEqual(one.loss);
      expect(split.initialLoss).toBe(one.initialLoss);
      expect(split.iterations).toBe(37);
      // The losses are those of the factors (not of a stale or partial product).
      const WH = tf.matMul(split.W, split.H) as tf.Tensor2D;
      const direct = tf.tidy(() => klDivergence(V, WH).dataSync()[0]);
      expect(Math.abs(direct / split.loss[36] - 1)).toBeLessThan(1e-4);
      tf.dispose([one.W, one.H, split.W, split.H, WH]);
      expect(tf.memory().numTensors).toBe(before);
      V.dispose();
    });
  }

  it('stops on the tolerance at the same iteration, and a random init splits the same way', async () => {
    const V = uniformMatrix(90, 40, 8, 0.05, 1).tensor;
    const opts: NmfOptions = { ...base, rank: 3, init: 'random', maxIter: 400, tol: 1e-4 };
    const before = tf.memory().numTensors;
    const one = await factorize(V, opts);
    const split = await factorize(V, { ...opts, helpers: [inThreadKlShare] });
    expect(one.converged).toBe(true);
    expect(split.converged).toBe(true);
    expect(split.iterations).toBe(one.iterations);
    expect(split.loss).toEqual(one.loss);
    expect(bits(split.W)).toEqual(bits(one.W));
    tf.dispose([one.W, one.H, split.W, split.H]);
    expect(tf.memory().numTensors).toBe(before);
    V.dispose();
  });

  it('a helper that fails ends the run with its error and frees every tensor', async () => {
    const V = uniformMatrix(60, 30, 5, 0, 1).tensor;
    const before = tf.memory().numTensors;
    let ratioCalls = 0;
    const flaky: KlShareFactory = async (b) => {
      const share = await inThreadKlShare(b);
      return {
        ...share,
        ratio: async (W, Ht, next) => {
          if (++ratioCalls === 5) throw new Error('helper thread exited');
          return share.ratio(W, Ht, next);
        },
      };
    };
    await expect(factorize(V, { ...base, helpers: [flaky] })).rejects.toThrow('helper thread exited');
    expect(ratioCalls).toBe(5);
    const refused: KlShareFactory = async () => {
      throw new Error('no second thread');
    };
    await expect(factorize(V, { ...base, helpers: [inThreadKlShare, refused] })).rejects.toThrow('no second thread');
    expect(tf.memory().numTensors).toBe(before);
    V.dispose();
  });

  it('the Frobenius loss ignores helpers', async () => {
    const V = uniformMatrix(30, 20, 2, 0, 1).tensor;
    let made = 0;
    const r = await factorize(V, { ...base, loss: 'frobenius', rank: 2, maxIter: 5, helpers: [async (b) => { made++; return inThreadKlShare(b); }] });
    expect(made).toBe(0);
    tf.dispose([r.W, r.H, V]);
  });
});
