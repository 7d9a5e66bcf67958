import * as tf from '@tensorflow/tfjs';
import { describe, expect, it } from 'vitest';
import { createRandom } from '../../src/core/random';

function random(shape: number[], seed: number): Float32Array {
  const rng = createRandom(seed, 'matmul');
  return Float32Array.from({ length: shape.reduce((a, b) => a * b, 1) }, () => rng.normal());
}

/** Plain triple loop in float64 over the last two axes (batch = leading axis or none). */
function reference(a: Float32Array, sa: number[], b: Float32Array, sb: number[], ta: boolean, tb: boolean): Float64Array {
  const batch = sa.length === 3 ? sa[0] : 1;
  const [ar, ac] = sa.slice(-2);
  const [br, bc] = sb.slice(-2);
  const m = ta ? ac : ar;
  const k = ta ? ar : ac;
  const n = tb ? br : bc;
  const out = new Float64Array(batch * m * n);
  for (let z = 0; z < batch; z++) for (let i = 0; i < m; i++) for (let j = 0; j < n; j++) {
    let s = 0;
    for (let q = 0; q < k; q++) {
      const av = a[z * ar * ac + (ta ? q * ac + i : i * ac + q)];
      const bv = b[z * br * bc + (tb ? j * bc + q : q * bc + j)];
      s += av * bv;
    }
    out[(z * m + i) * n + j] = s;
  }
  return out;
}

describe('WASM matMul with transpose flags (explicit-transpose kernels)', () => {
  it('matches a float64 reference for every flag combination, batched too, leaking no data', () => {
    expect(tf.getBackend()).toBe('wasm');
    const backend = tf.engine().backend as unknown as { numDataIds(): number };
    const before = backend.numDataIds();
    for (const [sa, sb, ta, tb] of [
      [[7, 5], [5, 3], false, false], [[5, 7], [5, 3], true, false], [[7, 5], [3, 5], false, true],
      [[5, 7], [3, 5], true, true], [[2, 5, 7], [2, 5, 3], true, false], [[2, 7, 5], [2, 3, 5], false, true],
    ] as [number[], number[], boolean, boolean][]) {
      const a = random(sa, 1);
      const b = random(sb, 2);
      const got = tf.tidy(() => tf.matMul(tf.tensor(a, sa) as tf.Tensor, tf.tensor(b, sb) as tf.Tensor, ta, tb).dataSync());
      const want = reference(a, sa, b, sb, ta, tb);
      expect(got.length).toBe(want.length);
      want.forEach((v, i) => expect(got[i]).toBeCloseTo(v, 4));
    }
    expect(backend.numDataIds()).toBe(before);
  });

  it('keeps the fused path (bias + relu) and Dense gradients exact', () => {
    const a = random([6, 4], 3);
    const b = random([5, 4], 4);
    const bias = random([5], 5);
    const got = tf.tidy(() => tf.fused.matMul({
      a: tf.tensor2d(a, [6, 4]), b: tf.tensor2d(b, [5, 4]), transposeB: true, bias: tf.tensor1d(bias), activation: 'relu',
    }).dataSync());
    const want = reference(a, [6, 4], b, [5, 4], false, true).map((v, i) => Math.max(0, v + bias[i % 5]));
    want.forEach((v, i) => expect(got[i]).toBeCloseTo(v, 4));
    // d/dW of sum(x W) is xᵀ 1: the flagged product in the gradient.
    const x = random([6, 4], 6);
    const g = tf.tidy(() => tf.grad((w: tf.Tensor) => tf.sum(tf.matMul(tf.tensor2d(x, [6, 4]), w as tf.Tensor2D)))(tf.zeros([4, 3])).dataSync());
    for (let r = 0; r < 4; r++) {
      let s = 0;
      for (let i = 0; i < 6; i++) s += x[i * 4 + r];
      for (let c = 0; c < 3; c++) expect(g[r * 3 + c]).toBeCloseTo(s, 4);
    }
  });
});
