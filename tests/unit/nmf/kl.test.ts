import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { ZERO_LOG_GUARD, klDivergence, klDivergenceFromRatio, klRatio, klUpdateH, klUpdateW } from '../../../src/core/nmf/kl';
import { matMulJs, maxAbsDiff, uniformMatrix } from './helpers';

/** Lee & Seung's KL updates written out elementwise in float64, independent of the tensor code. */
function klUpdateHJs(V: Float64Array, W: Float64Array, H: Float64Array, m: number, r: number, n: number): Float64Array {
  const WH = matMulJs(W, H, m, r, n);
  const out = new Float64Array(r * n);
  for (let a = 0; a < r; a++) {
    let colSum = 0;
    for (let i = 0; i < m; i++) colSum += W[i * r + a];
    for (let j = 0; j < n; j++) {
      let num = 0;
      for (let i = 0; i < m; i++) num += (W[i * r + a] * V[i * n + j]) / WH[i * n + j];
      out[a * n + j] = (H[a * n + j] * num) / colSum;
    }
  }
  return out;
}

function klUpdateWJs(V: Float64Array, W: Float64Array, H: Float64Array, m: number, r: number, n: number): Float64Array {
  const WH = matMulJs(W, H, m, r, n);
  const out = new Float64Array(m * r);
  for (let a = 0; a < r; a++) {
    let rowSum = 0;
    for (let j = 0; j < n; j++) rowSum += H[a * n + j];
    for (let i = 0; i < m; i++) {
      let num = 0;
      for (let j = 0; j < n; j++) num += (H[a * n + j] * V[i * n + j]) / WH[i * n + j];
      out[i * r + a] = (W[i * r + a] * num) / rowSum;
    }
  }
  return out;
}

describe('KL divergence', () => {
  it('matches a hand-computed 2×2 value with a zero in V (0·log 0 = 0)', () => {
    const before = tf.memory().numTensors;
    // Terms: 1·ln(1/2) − 1 + 2 = 1 − ln 2;  0 → WH = 1;  2·ln 2 − 2 + 1 = 2 ln 2 − 1;  3·ln 1 − 3 + 3 = 0.
    const V = tf.tensor2d([[1, 0], [2, 3]]);
    const WH = tf.tensor2d([[2, 1], [1, 3]]);
    const d = klDivergence(V, WH);
    expect(d.dataSync()[0]).toBeCloseTo(1 + Math.LN2, 5);
    const self = klDivergence(V, V);
    expect(self.dataSync()[0]).toBeCloseTo(0, 6);
    tf.dispose([V, WH, d, self]);
    expect(tf.memory().numTensors).toBe(before);
  });

  it('the fused form from the ratio equals the direct form', () => {
    const m = 12, n = 9, r = 3;
    const V0 = uniformMatrix(m, n, 1, -0.3, 1).tensor; // about a quarter of the entries clipped to 0
    const V = tf.relu(V0) as tf.Tensor2D;
    const W = uniformMatrix(m, r, 2).tensor;
    const H = uniformMatrix(r, n, 3).tensor;
    const before = tf.memory().numTensors;
    const direct = tf.tidy(() => klDivergence(V, tf.matMul(W, H)));
    const fused = tf.tidy(() => {
      const Vg = tf.add(V, ZERO_LOG_GUARD) as tf.Tensor2D;
      return klDivergenceFromRatio(Vg, klRatio(Vg, W, H), W, H, tf.sum(Vg, 1));
    });
    const [a, b] = [direct.dataSync()[0], fused.dataSync()[0]];
    expect(a).toBeGreaterThan(1);
    expect(Math.abs(a - b) / a).toBeLessThan(1e-5);
    tf.dispose([direct, fused]);
    expect(tf.memory().numTensors).toBe(before);
    tf.dispose([V0, V, W, H]);
  });
});

describe('KL multiplicative updates', () => {
  const m = 7, n = 5, r = 2;
  let V: ReturnType<typeof uniformMatrix>, W: typeof V, H: typeof V;
  beforeAll(() => {
    V = uniformMatrix(m, n, 11);
    W = uniformMatrix(m, r, 12);
    H = uniformMatrix(r, n, 13);
  });

  it('klUpdateH and klUpdateW match the elementwise float64 formulas', () => {
    const before = tf.memory().numTensors;
    const Hn = klUpdateH(V.tensor, W.tensor, H.tensor);
    const Wn = klUpdateW(V.tensor, W.tensor, H.tensor);
    expect(Hn.shape).toEqual([r, n]);
    expect(Wn.shape).toEqual([m, r]);
    expect(maxAbsDiff(Hn.dataSync(), klUpdateHJs(V.values, W.values, H.values, m, r, n))).toBeLessThan(1e-5);
    expect(maxAbsDiff(Wn.dataSync(), klUpdateWJs(V.values, W.values, H.values, m, r, n))).toBeLessThan(1e-5);
    tf.dispose([Hn, Wn]);
    expect(tf.memory().numTensors).toBe(before);
  });

  it('each update lowers the divergence', () => {
    const loss = (Wt: tf.Tensor2D, Ht: tf.Tensor2D) => tf.tidy(() => klDivergence(V.tensor, tf.matMul(Wt, Ht)).dataSync()[0]);
    const d0 = loss(W.tensor, H.tensor);
    const Hn = klUpdateH(V.tensor, W.tensor, H.tensor);
    const d1 = loss(W.tensor, Hn);
    const Wn = klUpdateW(V.tensor, W.tensor, Hn);
    const d2 = loss(Wn, Hn);
    expect(d1).toBeLessThan(d0);
    expect(d2).toBeLessThan(d1);
    tf.dispose([Hn, Wn]);
  });
});
