import * as tf from '@tensorflow/tfjs';
import { describe, expect, it } from 'vitest';
import { createRandom } from '../../src/core/random';

function random(shape: number[], seed: number): Float32Array {
  const rng = createRandom(seed, 'conv');
  return Float32Array.from({ length: shape.reduce((a, b) => a * b, 1) }, () => rng.normal());
}

/** dW[a, b, c, f] = Σ x̃[n, i+a, j+b, c]·dy[n, i, j, f] by direct summation in float64 (stride 1). */
function reference(x: Float32Array, xs: number[], dy: Float32Array, ys: number[], k: [number, number], pad: [number, number]): Float64Array {
  const [n, h, w, c] = xs;
  const [, ho, wo, f] = ys;
  const out = new Float64Array(k[0] * k[1] * c * f);
  for (let a = 0; a < k[0]; a++) for (let b = 0; b < k[1]; b++) for (let ci = 0; ci < c; ci++) for (let fi = 0; fi < f; fi++) {
    let s = 0;
    for (let z = 0; z < n; z++) for (let i = 0; i < ho; i++) for (let j = 0; j < wo; j++) {
      const yi = i + a - pad[0];
      const xj = j + b - pad[1];
      if (yi < 0 || yi >= h || xj < 0 || xj >= w) continue;
      s += x[((z * h + yi) * w + xj) * c + ci] * dy[((z * ho + i) * wo + j) * f + fi];
    }
    out[((a * k[1] + b) * c + ci) * f + fi] = s;
  }
  return out;
}

describe('WASM Conv2DBackpropFilter (registered by the backend set-up)', () => {
  it('gives the filter gradient of tf.conv2d for same and valid padding, odd and even kernels, leaking no data', () => {
    expect(tf.getBackend()).toBe('wasm');
    const backend = tf.engine().backend as unknown as { numDataIds(): number };
    const before = backend.numDataIds();
    for (const [xs, k, f, pad] of [
      [[2, 6, 5, 3], [3, 3], 4, 'same'], [[3, 7, 1, 2], [3, 1], 5, 'same'], [[2, 6, 6, 2], [2, 2], 3, 'same'], [[2, 6, 5, 3], [3, 2], 2, 'valid'],
    ] as [number[], [number, number], number, 'same' | 'valid'][]) {
      const x = random(xs, 1);
      const filter = random([k[0], k[1], xs[3], f], 2);
      const padding: [number, number] = pad === 'same' ? [Math.floor((k[0] - 1) / 2), Math.floor((k[1] - 1) / 2)] : [0, 0];
      const ys = pad === 'same' ? [xs[0], xs[1], xs[2], f] : [xs[0], xs[1] - k[0] + 1, xs[2] - k[1] + 1, f];
      const dy = random(ys, 3);
      const got = tf.tidy(() => {
        const xt = tf.tensor4d(x, xs as [number, number, number, number]);
        const dyt = tf.tensor4d(dy, ys as [number, number, number, number]);
        const loss = (w: tf.Tensor) => tf.sum(tf.mul(tf.conv2d(xt, w as tf.Tensor4D, 1, pad), dyt));
        return tf.grad(loss)(tf.tensor4d(filter, [k[0], k[1], xs[3], f])).dataSync();
      });
      const want = reference(x, xs, dy, ys, k, padding);
      expect(got.length).toBe(want.length);
      let worst = 0;
      for (let i = 0; i < want.length; i++) worst = Math.max(worst, Math.abs(got[i] - want[i]) / (1 + Math.abs(want[i])));
      expect(worst).toBeLessThan(1e-4);
    }
    expect(backend.numDataIds()).toBe(before);
  });

  it('refuses strides it does not implement instead of returning a wrong gradient', () => {
    const x = tf.zeros([1, 6, 6, 1]) as tf.Tensor4D;
    const loss = (w: tf.Tensor) => tf.sum(tf.conv2d(x, w as tf.Tensor4D, 2, 'same'));
    expect(() => tf.grad(loss)(tf.zeros([3, 3, 1, 1]))).toThrow(/stride 1/);
    x.dispose();
  });
});
