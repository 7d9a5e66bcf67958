import * as tf from '@tensorflow/tfjs';
import { describe, expect, it } from 'vitest';
import { ROW_DOT_LOG, rowDotLog } from '../../src/core/nmf/rowDotLog';
import { assembleWat } from '../../src/core/wasmKernels/assemble';
import { WASM_KERNELS } from '../../src/core/wasmKernels/sources';
import { rowDotLogBase64 } from '../../src/core/wasmKernels/rowDotLog.wasm';
import { decodeBase64 } from '../../src/core/wasmKernels/instantiate';
import { createRandom } from '../../src/core/random';

/** Σ_j a[i, j] · log b[i, j] in float64, term by term. */
function reference(a: Float32Array, b: Float32Array, rows: number, cols: number): number[] {
  return Array.from({ length: rows }, (_, i) => {
    let sum = 0;
    for (let j = 0; j < cols; j++) sum += a[i * cols + j] * Math.log(b[i * cols + j]);
    return sum;
  });
}

describe('rowDotLog', () => {
  it('the committed WASM binary is what its source assembles to', async () => {
    const bytes = await assembleWat('rowDotLog', WASM_KERNELS.rowDotLog);
    expect(Buffer.from(decodeBase64(rowDotLogBase64)).equals(Buffer.from(bytes))).toBe(true);
  });

  it('runs the fused kernel on the WASM backend', () => {
    expect(Boolean(tf.getKernel(ROW_DOT_LOG, 'wasm'))).toBe(tf.getBackend() === 'wasm');
  });

  it('matches a float64 sum of a·log b over many magnitudes, to float32 accuracy', () => {
    // 37 columns: four full steps of eight and a tail of five; b spans e^±80.
    const rows = 6;
    const cols = 37;
    const rng = createRandom(11, 'rowDotLog');
    const a = Float32Array.from({ length: rows * cols }, () => rng.uniform(0, 2));
    const b = Float32Array.from({ length: rows * cols }, (_, k) => Math.exp((k % 3 === 0 ? 160 : 4) * rng.uniform(-0.5, 0.5)));
    const got = tf.tidy(() => rowDotLog(tf.tensor2d(a, [rows, cols]), tf.tensor2d(b, [rows, cols])).arraySync());
    const want = reference(a, b, rows, cols);
    const scale = want.map((_, i) => {
      let s = 0;
      for (let j = 0; j < cols; j++) s += Math.abs(a[i * cols + j] * Math.log(b[i * cols + j]));
      return s;
    });
    got.forEach((g, i) => expect(Math.abs(g - want[i])).toBeLessThan(3e-7 * scale[i]));
  });

  it('each log is within 1.5e-7 of Math.log, relative, over the whole normal range', () => {
    // One-hot rows of eight: row i is exactly log b[i, i mod 8], so each element's log is seen alone.
    const rows = 40000;
    const rng = createRandom(5, 'rowDotLog-elementwise');
    const a = new Float32Array(rows * 8);
    const b = new Float32Array(rows * 8);
    for (let i = 0; i < rows; i++) {
      a[i * 8 + (i % 8)] = 1;
      for (let j = 0; j < 8; j++) {
        // Half spread over e^±87, half dense around the √2 split where the polynomial is widest.
        b[i * 8 + j] = i % 2 === 0 ? Math.exp(rng.uniform(-87, 87)) : rng.uniform(0.6, 1.6);
      }
    }
    const got = tf.tidy(() => rowDotLog(tf.tensor2d(a, [rows, 8]), tf.tensor2d(b, [rows, 8])).dataSync());
    let worst = 0;
    for (let i = 0; i < rows; i++) {
      const want = Math.log(b[i * 8 + (i % 8)]);
      worst = Math.max(worst, Math.abs(got[i] - want) / Math.max(Math.abs(want), 1e-30));
    }
    expect(worst).toBeLessThan(1.5e-7);
  });

  it('log of values near 1 keeps its relative accuracy (no cancellation in e·ln2 + log1p)', () => {
    const b = Float32Array.from([1, 1 + 2 ** -20, 1 - 2 ** -20, 1.41421, 1.41422, 0.70711, 0.5, 2, 1e-3]);
    const rowsOfOne = Array.from(b, (value) => tf.tidy(() => rowDotLog(tf.tensor2d([1], [1, 1]), tf.tensor2d([value], [1, 1])).arraySync()[0]));
    rowsOfOne.forEach((g, i) => expect(Math.abs(g - Math.log(b[i]))).toBeLessThanOrEqual(Math.abs(Math.log(b[i])) * 2e-7 + 1e-12));
    // The same values inside one vector step take the SIMD path: must agree with the above.
    const padded = Float32Array.from({ length: 16 }, (_, k) => b[k % b.length]);
    const got = tf.tidy(() => rowDotLog(tf.tensor2d(new Float32Array(16).fill(1), [1, 16]), tf.tensor2d(padded, [1, 16])).arraySync()[0]);
    const want = reference(new Float32Array(16).fill(1), padded, 1, 16)[0];
    expect(Math.abs(got - want)).toBeLessThan(1e-6);
  });

  it('gives 0, a subnormal, ∞ and NaN the values Math.log gives, wherever they sit', () => {
    const cases: [number, number][] = [
      [1, 0], // −∞
      [0.5, 1e-40], // subnormal: finite, ≈ −92
      [1, Infinity],
      [1, NaN],
      [1, -2],
    ];
    for (const [weight, value] of cases) {
      for (const position of [0, 5, 9]) {
        const a = new Float32Array(10).fill(1);
        const b = new Float32Array(10).fill(Math.E);
        a[position] = weight;
        b[position] = value;
        const got = tf.tidy(() => rowDotLog(tf.tensor2d(a, [1, 10]), tf.tensor2d(b, [1, 10])).arraySync()[0]);
        const want = 9 + Math.fround(weight) * Math.log(Math.fround(value));
        if (Number.isNaN(want)) expect(got).toBeNaN();
        else if (!Number.isFinite(want)) expect(got).toBe(want);
        else expect(got).toBeCloseTo(want, 4);
      }
    }
  });

  it('handles empty shapes and leaks nothing', () => {
    const before = tf.memory().numTensors;
    tf.tidy(() => {
      expect(rowDotLog(tf.zeros([0, 4]), tf.ones([0, 4])).shape).toEqual([0]);
      expect(Array.from(rowDotLog(tf.zeros([2, 0]), tf.ones([2, 0])).dataSync())).toEqual([0, 0]);
    });
    expect(tf.memory().numTensors).toBe(before);
    expect(() => rowDotLog(tf.ones([2, 3]) as tf.Tensor2D, tf.ones([3, 2]) as tf.Tensor2D)).toThrow(/rowDotLog/);
  });
});
