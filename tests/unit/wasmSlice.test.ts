import * as tf from '@tensorflow/tfjs';
import { describe, expect, it } from 'vitest';

/** Rows [r0, r0 + rows) and columns [c0, c0 + cols) of a row-major rows × cols matrix, by index. */
function block(values: ArrayLike<number>, width: number, r0: number, rows: number, c0: number, cols: number): number[] {
  const out: number[] = [];
  for (let i = r0; i < r0 + rows; i++) for (let j = c0; j < c0 + cols; j++) out.push(values[i * width + j]);
  return out;
}

describe('WASM Slice (read through a heap view)', () => {
  const values = Float32Array.from({ length: 7 * 5 }, (_, i) => i * 1.5 - 3);

  it('takes whole rows, a column band, a 1-D range and an empty slice exactly', () => {
    const before = tf.memory().numTensors;
    tf.tidy(() => {
      const x = tf.tensor2d(values, [7, 5]);
      expect(Array.from(tf.slice(x, [2, 0], [3, -1]).dataSync())).toEqual(block(values, 5, 2, 3, 0, 5));
      expect(Array.from(tf.slice(x, [1, 1], [4, 3]).dataSync())).toEqual(block(values, 5, 1, 4, 1, 3));
      expect(Array.from(tf.slice(x, [6, 4], [1, 1]).dataSync())).toEqual([values[34]]);
      expect(tf.slice(x, [3, 0], [0, 5]).shape).toEqual([0, 5]);
      expect(Array.from(tf.slice(tf.tensor1d(values), 30, 5).dataSync())).toEqual(Array.from(values.slice(30)));
      const s = tf.slice(tf.tensor2d([1, 2, 3, 4, 5, 6], [3, 2], 'int32'), [1, 1], [2, 1]);
      expect(s.dtype).toBe('int32');
      expect(Array.from(s.dataSync())).toEqual([4, 6]);
      const cube = tf.tensor3d(values.slice(0, 30), [2, 3, 5]);
      expect(Array.from(tf.slice(cube, [1, 1, 2], [1, 2, 2]).dataSync())).toEqual([values[22], values[23], values[27], values[28]]);
    });
    expect(tf.memory().numTensors).toBe(before);
  });

  it('takes any box of a rank-3 or rank-4 tensor, by index', () => {
    // Every begin and size along each axis of a [3, 4, 1, 5] tensor (the feature CNN's map layout)
    // and of a [2, 3, 4] one: the kernel's runs and outer loop against a direct index computation.
    const before = tf.memory().numTensors;
    for (const shape of [[3, 4, 1, 5], [2, 3, 4]]) {
      const n = shape.reduce((a, b) => a * b, 1);
      const data = Float32Array.from({ length: n }, (_, i) => i * 0.5 - 7);
      const x = tf.tensor(data, shape);
      const strides = shape.map((_, j) => shape.slice(j + 1).reduce((a, b) => a * b, 1));
      const boxes: [number[], number[]][] = [];
      for (let axis = 0; axis < shape.length; axis++) {
        for (let b = 0; b < shape[axis]; b++) {
          for (let len = 0; b + len <= shape[axis]; len++) {
            const begin = shape.map((d, j) => (j === axis ? b : j < axis ? Math.min(1, d - 1) : 0));
            const size = shape.map((d, j) => (j === axis ? len : j < axis ? d - begin[j] : d));
            boxes.push([begin, size]);
          }
        }
      }
      for (const [begin, size] of boxes) {
        const want: number[] = [];
        const count = size.reduce((a, b) => a * b, 1);
        for (let k = 0; k < count; k++) {
          let rest = k;
          let flat = 0;
          for (let j = size.length - 1; j >= 0; j--) {
            flat += (begin[j] + (rest % size[j])) * strides[j];
            rest = Math.floor(rest / size[j]);
          }
          want.push(data[flat]);
        }
        const got = tf.tidy(() => Array.from(tf.slice(x, begin, size).dataSync()));
        expect(got).toEqual(want);
      }
      x.dispose();
    }
    const ints = tf.tensor3d([1, 2, 3, 4, 5, 6, 7, 8], [2, 2, 2], 'int32');
    const s = tf.slice(ints, [0, 1, 0], [2, 1, 2]);
    expect(s.dtype).toBe('int32');
    expect(Array.from(s.dataSync())).toEqual([3, 4, 7, 8]);
    tf.dispose([ints, s]);
    expect(tf.memory().numTensors).toBe(before);
  });

  it('stays correct when the output allocation grows the WASM heap', () => {
    // 48 MB in, 48 MB out, in a fresh process: the output's allocation grows the heap, which
    // detaches any view taken before it.
    const rows = 3000;
    const cols = 4096;
    const heapBytes = () => (tf.backend() as unknown as { wasm: { HEAPU8: Uint8Array } }).wasm.HEAPU8.length;
    const x = tf.tensor2d(Float32Array.from({ length: rows * cols }, (_, i) => i * 1e-3), [rows, cols]);
    const heapBefore = heapBytes();
    const copy = tf.slice(x, [0, 0], [rows, cols]);
    expect(heapBytes()).toBeGreaterThan(heapBefore);
    const band = tf.slice(x, [rows - 2, cols - 3], [2, 3]);
    const c = copy.dataSync();
    expect(c[0]).toBe(0);
    expect(c[rows * cols - 1]).toBeCloseTo((rows * cols - 1) * 1e-3, 0);
    expect(c[1234567]).toBeCloseTo(1234.567, 1);
    expect(Array.from(band.dataSync())).toEqual(block(x.dataSync(), cols, rows - 2, 2, cols - 3, 3));
    tf.dispose([x, copy, band]);
  });
});
