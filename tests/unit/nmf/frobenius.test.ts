import * as tf from '@tensorflow/tfjs';
import { describe, expect, it } from 'vitest';
import { frobeniusLoss, frobeniusUpdateH, frobeniusUpdateW } from '../../../src/core/nmf/frobenius';
import { matMulJs, maxAbsDiff, uniformMatrix } from './helpers';

describe('Frobenius loss and updates', () => {
  it('½‖V − WH‖² matches a hand-computed value', () => {
    const before = tf.memory().numTensors;
    const V = tf.tensor2d([[1, 0], [2, 3]]);
    const WH = tf.tensor2d([[2, 1], [1, 5]]);
    const loss = frobeniusLoss(V, WH);
    expect(loss.dataSync()[0]).toBeCloseTo(0.5 * (1 + 1 + 1 + 4), 6);
    tf.dispose([V, WH, loss]);
    expect(tf.memory().numTensors).toBe(before);
  });

  it('updates match H ⊙ WᵀV ⊘ WᵀWH and W ⊙ VHᵀ ⊘ WHHᵀ in float64, and lower the loss', () => {
    const m = 6, n = 5, r = 2;
    const V = uniformMatrix(m, n, 21);
    const W = uniformMatrix(m, r, 22);
    const H = uniformMatrix(r, n, 23);
    const before = tf.memory().numTensors;
    const Hn = frobeniusUpdateH(V.tensor, W.tensor, H.tensor);
    const Wn = frobeniusUpdateW(V.tensor, W.tensor, H.tensor);

    const transpose = (A: Float64Array, rows: number, cols: number) => {
      const T = new Float64Array(rows * cols);
      for (let i = 0; i < rows; i++) for (let j = 0; j < cols; j++) T[j * rows + i] = A[i * cols + j];
      return T;
    };
    const Wt = transpose(W.values, m, r);
    const Ht = transpose(H.values, r, n);
    const WtV = matMulJs(Wt, V.values, r, m, n);
    const WtWH = matMulJs(matMulJs(Wt, W.values, r, m, r), H.values, r, r, n);
    const VHt = matMulJs(V.values, Ht, m, n, r);
    const WHHt = matMulJs(W.values, matMulJs(H.values, Ht, r, n, r), m, r, r);
    expect(maxAbsDiff(Hn.dataSync(), H.values.map((h, i) => (h * WtV[i]) / WtWH[i]))).toBeLessThan(1e-5);
    expect(maxAbsDiff(Wn.dataSync(), W.values.map((w, i) => (w * VHt[i]) / WHHt[i]))).toBeLessThan(1e-5);

    const loss = (Wk: tf.Tensor2D, Hk: tf.Tensor2D) => tf.tidy(() => frobeniusLoss(V.tensor, tf.matMul(Wk, Hk)).dataSync()[0]);
    const Wnn = frobeniusUpdateW(V.tensor, W.tensor, Hn);
    expect(loss(W.tensor, Hn)).toBeLessThan(loss(W.tensor, H.tensor));
    expect(loss(Wnn, Hn)).toBeLessThan(loss(W.tensor, Hn));
    tf.dispose([Hn, Wn, Wnn]);
    expect(tf.memory().numTensors).toBe(before);
  });
});
