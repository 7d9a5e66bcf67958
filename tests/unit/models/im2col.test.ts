import * as tf from '@tensorflow/tfjs';
import { describe, expect, it } from 'vitest';
import { sameConv } from '../../../src/core/models/im2col';

/** A model [H, W, C] → sameConv, with seeded random weights; returns it and its kernel/bias. */
function convModel(shape: [number, number, number], kernelSize: [number, number], filters: number, seed: number) {
  const input = tf.input({ shape });
  const out = sameConv(input, { filters, kernelSize, name: 'conv' });
  const model = tf.model({ inputs: input, outputs: out });
  const [kh, kw] = kernelSize;
  const kernel = tf.randomNormal([kh * kw * shape[2], filters], 0, 1, 'float32', seed);
  const bias = tf.randomNormal([filters], 0, 1, 'float32', seed + 1);
  model.getLayer('conv').setWeights([kernel, bias]);
  return { model, kernel, bias };
}

function maxAbsDiff(a: tf.Tensor, b: tf.Tensor): number {
  expect(a.shape).toEqual(b.shape);
  return tf.tidy(() => tf.max(tf.abs(tf.sub(a, b))).dataSync()[0]);
}

describe('sameConv (im2col + Dense)', () => {
  it.each([
    { kernelSize: [3, 3] as [number, number], shape: [5, 6, 3] as [number, number, number] },
    // Even extents put the extra zero row/column after the map, as tf.conv2d 'same' does.
    { kernelSize: [2, 4] as [number, number], shape: [4, 5, 2] as [number, number, number] },
  ])('equals tf.conv2d with the Dense kernel reshaped to [kh, kw, C, F] ($kernelSize)', ({ kernelSize, shape }) => {
    const before = tf.memory().numTensors;
    const { model, kernel, bias } = convModel(shape, kernelSize, 4, 7);
    const x = tf.randomNormal([2, ...shape], 0, 1, 'float32', 3);
    const ours = model.predict(x) as tf.Tensor;
    const reference = tf.tidy(() => tf.add(tf.conv2d(x as tf.Tensor4D, tf.reshape(kernel, [...kernelSize, shape[2], 4]) as tf.Tensor4D, 1, 'same'), bias));
    expect(ours.shape).toEqual([2, shape[0], shape[1], 4]);
    expect(maxAbsDiff(ours, reference)).toBeLessThan(1e-5);
    tf.dispose([kernel, bias, x, ours, reference]);
    model.dispose();
    expect(tf.memory().numTensors).toBe(before);
  });

  it.each([3, 4, 5])('a [k, 1] kernel over [M, 1, C] equals tf.conv1d (k = %i)', (k) => {
    const before = tf.memory().numTensors;
    const [m, c, f] = [7, 2, 3];
    const { model, kernel, bias } = convModel([m, 1, c], [k, 1], f, 11 + k);
    const x = tf.randomNormal([3, m, c], 0, 1, 'float32', 5);
    const ours = tf.tidy(() => tf.reshape(model.predict(tf.reshape(x, [3, m, 1, c])) as tf.Tensor, [3, m, f]));
    const reference = tf.tidy(() => tf.add(tf.conv1d(x as tf.Tensor3D, tf.reshape(kernel, [k, c, f]) as tf.Tensor3D, 1, 'same'), bias));
    expect(maxAbsDiff(ours, reference)).toBeLessThan(1e-5);
    tf.dispose([kernel, bias, x, ours, reference]);
    model.dispose();
    expect(tf.memory().numTensors).toBe(before);
  });

  it('lays the taps out as (dy·kw + dx)·C + c, zero outside the map', () => {
    // Identity Dense kernel: the output channels are the patch channels themselves.
    // 2×2 map with 2 channels: pixel (r, q) channel c holds 10·(2r + q) + c + 1.
    const { model, kernel, bias } = convModel([2, 2, 2], [3, 3], 18, 0);
    const eye = tf.eye(18);
    const zero = tf.zeros([18]);
    model.getLayer('conv').setWeights([eye, zero]);
    const x = tf.tensor4d([1, 2, 11, 12, 21, 22, 31, 32], [1, 2, 2, 2]);
    const out = tf.tidy(() => (model.predict(x) as tf.Tensor).dataSync());
    // At output pixel (r, q) tap (dy, dx) reads input (r + dy − 1, q + dx − 1).
    const expected: number[] = [];
    for (let r = 0; r < 2; r++) {
      for (let q = 0; q < 2; q++) {
        for (let dy = 0; dy < 3; dy++) {
          for (let dx = 0; dx < 3; dx++) {
            const [i, j] = [r + dy - 1, q + dx - 1];
            for (let ch = 0; ch < 2; ch++) expected.push(i >= 0 && i < 2 && j >= 0 && j < 2 ? 10 * (2 * i + j) + ch + 1 : 0);
          }
        }
      }
    }
    expect(Array.from(out)).toEqual(expected);
    tf.dispose([kernel, bias, eye, zero, x]);
    model.dispose();
  });

  it('applies a 1×1 kernel as a plain Dense layer and refuses empty kernels', () => {
    const input = tf.input({ shape: [3, 3, 2] });
    const out = sameConv(input, { filters: 4, kernelSize: [1, 1], name: 'pointwise' });
    expect(out.shape).toEqual([null, 3, 3, 4]);
    const model = tf.model({ inputs: input, outputs: out });
    expect(model.layers.map((l) => l.getClassName())).toEqual(['InputLayer', 'Dense']);
    model.dispose();
    expect(() => sameConv(input, { filters: 4, kernelSize: [0, 3], name: 'empty' })).toThrow(/positive integers/);
  });
});
