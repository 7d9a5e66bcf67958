import * as tf from '@tensorflow/tfjs';
import { describe, expect, it } from 'vitest';
import { assembleWat } from '../../src/core/wasmKernels/assemble';
import { WASM_KERNELS } from '../../src/core/wasmKernels/sources';
import { maxPoolGradBase64 } from '../../src/core/wasmKernels/maxPoolGrad.wasm';
import { decodeBase64 } from '../../src/core/wasmKernels/instantiate';
import { createRandom } from '../../src/core/random';

/**
 * dx by the CPU backend's rule, written out: each output position's dy goes to the first strict
 * maximum of its window (row-major window order), windows clipped to the input.
 */
function reference(
  x: Float32Array, shape: [number, number, number, number], dy: Float32Array, outShape: number[],
  pool: [number, number], stride: [number, number], pad: [number, number],
): Float32Array {
  const [n, h, w, c] = shape;
  const [, oh, ow] = outShape;
  const dx = new Float32Array(x.length);
  for (let b = 0; b < n; b++) for (let oy = 0; oy < oh; oy++) for (let ox = 0; ox < ow; ox++) for (let ch = 0; ch < c; ch++) {
    let best = -Infinity;
    let at = -1;
    for (let wy = 0; wy < pool[0]; wy++) for (let wx = 0; wx < pool[1]; wx++) {
      const iy = oy * stride[0] - pad[0] + wy;
      const ix = ox * stride[1] - pad[1] + wx;
      if (iy < 0 || iy >= h || ix < 0 || ix >= w) continue;
      const k = ((b * h + iy) * w + ix) * c + ch;
      if (x[k] > best) {
        best = x[k];
        at = k;
      }
    }
    if (at >= 0) dx[at] += dy[((b * oh + oy) * ow + ox) * c + ch];
  }
  return dx;
}

describe('WASM MaxPoolGrad (re-registered by the backend set-up)', () => {
  it('the committed WASM binary is what its source assembles to', async () => {
    const bytes = await assembleWat('maxPoolGrad', WASM_KERNELS.maxPoolGrad);
    expect(Buffer.from(decodeBase64(maxPoolGradBase64)).equals(Buffer.from(bytes))).toBe(true);
  });

  it('routes each window to its first maximum, negative windows, ties, overlaps and padding included', () => {
    const backend = tf.engine().backend as unknown as { numDataIds(): number };
    const before = backend.numDataIds();
    const rng = createRandom(3, 'maxpool-grad');
    type Case = [[number, number, number, number], [number, number], [number, number], 'valid' | 'same'];
    const cases: Case[] = [
      [[2, 8, 8, 3], [2, 2], [2, 2], 'valid'],
      [[2, 7, 9, 2], [3, 3], [2, 2], 'same'], // overlapping windows, padded edges
      [[1, 6, 5, 4], [2, 3], [1, 2], 'valid'],
    ];
    for (const [shape, pool, stride, pad] of cases) {
      const size = shape.reduce((a, b) => a * b, 1);
      // Mostly negative values (the windows WASM's own kernel misrouted), a third of them tied.
      const x = Float32Array.from({ length: size }, (_, i) => (i % 3 === 0 ? -1 : Math.round(rng.uniform(-6, 2))));
      const got = tf.tidy(() => {
        const xt = tf.tensor4d(x, shape);
        const out = tf.maxPool(xt, pool, stride, pad);
        const dy = tf.tensor(Float32Array.from({ length: out.size }, () => rng.normal()), out.shape);
        const dx = tf.grad((z: tf.Tensor) => tf.sum(tf.mul(tf.maxPool(z as tf.Tensor4D, pool, stride, pad), dy)))(xt);
        return { dx: dx.dataSync() as Float32Array, dy: dy.dataSync() as Float32Array, outShape: out.shape };
      });
      const info = tf.backend_util.computePool2DInfo(shape, pool, stride, 1, pad);
      const want = reference(x, shape, got.dy, got.outShape, pool, stride, [info.padInfo.top, info.padInfo.left]);
      let worst = 0;
      for (let i = 0; i < want.length; i++) worst = Math.max(worst, Math.abs(got.dx[i] - want[i]));
      expect(worst).toBeLessThan(1e-6);
    }
    expect(backend.numDataIds()).toBe(before);
  });
});
