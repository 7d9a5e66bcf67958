import * as tf from '@tensorflow/tfjs';
import { describe, expect, it } from 'vitest';
import { createRandom } from '../../src/core/random';

function random(shape: number[], seed: number): Float32Array {
  const rng = createRandom(seed, 'conv-input');
  return Float32Array.from({ length: shape.reduce((a, b) => a * b, 1) }, () => rng.normal());
}

/** dx[n, i, j, c] = Σ_{a,b,f} dy[n, (i + top − a)/s, (j + left − b)/s, f]·W[a, b, c, f] in float64 (s the stride). */
function reference(
  xs: number[], w: Float32Array, k: [number, number], dy: Float32Array, ys: number[], pad: [number, number], stride: number,
): Float64Array {
  const [n, h, wd, c] = xs;
  const [, ho, wo, f] = ys;
  const out = new Float64Array(n * h * wd * c);
  for (let z = 0; z < n; z++) for (let i = 0; i < h; i++) for (let j = 0; j < wd; j++) for (let ci = 0; ci < c; ci++) {
    let s = 0;
    for (let a = 0; a < k[0]; a++) for (let b = 0; b < k[1]; b++) {
      const ri = i + pad[0] - a;
      const rj = j + pad[1] - b;
      if (ri % stride !== 0 || rj % stride !== 0) continue;
      const yi = ri / stride;
      const yj = rj / stride;
      if (yi < 0 || yi >= ho || yj < 0 || yj >= wo) continue;
      for (let fi = 0; fi < f; fi++) s += dy[((z * ho + yi) * wo + yj) * f + fi] * w[((a * k[1] + b) * c + ci) * f + fi];
    }
    out[((z * h + i) * wd + j) * c + ci] = s;
  }
  return out;
}

describe('WASM Conv2DBackpropInput (re-registered by the backend set-up)', () => {
  it('gives the input gradient of tf.conv2d for same, valid and explicit padding, odd and even kernels, strides 1 and 2, leaking no data', () => {
    expect(tf.getBackend()).toBe('wasm');
    const backend = tf.engine().backend as unknown as { numDataIds(): number };
    const before = backend.numDataIds();
    type Case = [number[], [number, number], number, 'same' | 'valid' | [[number, number], [number, number]], number];
    const cases: Case[] = [
      [[2, 6, 5, 3], [3, 3], 4, 'same', 1],
      [[3, 7, 4, 2], [3, 1], 5, 'same', 1],
      [[2, 6, 6, 2], [2, 2], 3, 'same', 1],
      [[2, 6, 5, 3], [3, 2], 2, 'valid', 1],
      [[1, 5, 5, 2], [3, 3], 2, [[2, 0], [1, 1]], 1],
      // Stride 2 goes to the original kernel; it must still be right.
      [[2, 6, 6, 2], [3, 3], 3, 'same', 2],
    ];
    for (const [xs, k, f, pad, stride] of cases) {
      const filter = random([k[0], k[1], xs[3], f], 2);
      const explicit = Array.isArray(pad) ? ([[0, 0], pad[0], pad[1], [0, 0]] as tf.backend_util.ExplicitPadding) : pad;
      const ys = tf.tidy(() => tf.conv2d(tf.zeros(xs as [number, number, number, number]) as tf.Tensor4D, tf.zeros([k[0], k[1], xs[3], f]) as tf.Tensor4D, stride, explicit).shape);
      const before0 = (ys[1] - 1) * stride + k[0] - xs[1];
      const padding: [number, number] = Array.isArray(pad)
        ? [pad[0][0], pad[1][0]]
        : pad === 'same' ? [Math.floor(Math.max(before0, 0) / 2), Math.floor(Math.max((ys[2] - 1) * stride + k[1] - xs[2], 0) / 2)] : [0, 0];
      const dy = random(ys, 3);
      const got = tf.tidy(() => {
        const dyt = tf.tensor4d(dy, ys as [number, number, number, number]);
        const w = tf.tensor4d(filter, [k[0], k[1], xs[3], f]);
        const loss = (x: tf.Tensor) => tf.sum(tf.mul(tf.conv2d(x as tf.Tensor4D, w, stride, explicit), dyt));
        return tf.grad(loss)(tf.tensor4d(random(xs, 1), xs as [number, number, number, number])).dataSync();
      });
      const want = reference(xs, filter, k, dy, ys, padding, stride);
      expect(got.length).toBe(want.length);
      let worst = 0;
      for (let i = 0; i < want.length; i++) worst = Math.max(worst, Math.abs(got[i] - want[i]) / (1 + Math.abs(want[i])));
      expect(worst).toBeLessThan(1e-4);
    }
    expect(backend.numDataIds()).toBe(before);
  });
});
