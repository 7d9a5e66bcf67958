import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import type { Dataset, ImageSet } from '../../../src/core/types';
import { parseSliceStack, synthesizeMriDemo, type SliceStack } from '../../../src/core/data/mriDemo';
import { dump } from 'npyjs';

const file = readFileSync(fileURLToPath(new URL('../../../public/data/ch2-slices.npy', import.meta.url)));
const stack: SliceStack = parseSliceStack(file.buffer.slice(file.byteOffset, file.byteOffset + file.byteLength) as ArrayBuffer);
const S = 64;
const small = (seed: number, difficulty = 0.5) =>
  synthesizeMriDemo(stack, { count: 40, size: S, difficulty, seed, split: [0.5, 0.2, 0.3] });
const sets = (d: Dataset): ImageSet[] => [d.train, d.val, d.test];

function imageMean(set: ImageSet, i: number, size: number): number {
  let s = 0;
  for (let p = i * size * size; p < (i + 1) * size * size; p++) s += set.pixels[p];
  return s / (size * size);
}

describe('parseSliceStack', () => {
  it('reads the shipped stack as uint8 (slices, 160, 160)', () => {
    expect(stack.height).toBe(160);
    expect(stack.width).toBe(160);
    expect(stack.count).toBeGreaterThanOrEqual(40);
    expect(stack.data.length).toBe(stack.count * 160 * 160);
    expect(Math.max(...stack.data.subarray(0, 160 * 160))).toBeGreaterThan(200);
  });

  it('refuses other dtypes and shapes with a clear message', () => {
    expect(() => parseSliceStack(dump(new Float32Array(8), [2, 2, 2]))).toThrow(/uint8/);
    expect(() => parseSliceStack(dump(new Uint8Array(8), [2, 4]))).toThrow(/\(slices, height, width\)/);
    expect(() => parseSliceStack(new TextEncoder().encode('not numpy').buffer as ArrayBuffer)).toThrow(/\.npy/);
  });
});

describe('synthesizeMriDemo', () => {
  const a = small(3);

  it('has the requested shape, range, classes and a balanced stratified split', () => {
    expect(a.name).toBe('mri-demo');
    expect(a.classNames).toEqual(['normal', 'tumor']);
    expect(a.splitSource).toBe('stratified');
    expect([a.train.count, a.val.count, a.test.count]).toEqual([20, 8, 12]);
    for (const set of sets(a)) {
      expect(set.pixels.length).toBe(set.count * S * S);
      let lo = Infinity;
      let hi = -Infinity;
      for (const v of set.pixels) {
        lo = Math.min(lo, v);
        hi = Math.max(hi, v);
      }
      expect(lo).toBeGreaterThanOrEqual(0);
      expect(hi).toBeLessThanOrEqual(1);
      expect(hi).toBeGreaterThan(0.6);
      const tumors = set.labels.reduce((n, l) => n + l, 0);
      expect(tumors * 2).toBe(set.count);
      set.names!.forEach((name, i) => expect(name).toMatch(new RegExp(`^synthetic/${a.classNames[set.labels[i]]}/\\d{6}$`)));
    }
  });

  it('keeps a non-empty mask for exactly the test tumors, inside the head', () => {
    expect(a.testMasks!.length).toBe(a.test.count * S * S);
    for (let i = 0; i < a.test.count; i++) {
      const mask = a.testMasks!.subarray(i * S * S, (i + 1) * S * S);
      const area = mask.reduce((n, m) => n + m, 0);
      if (a.test.labels[i] === 0) expect(area).toBe(0);
      else {
        expect(area).toBeGreaterThan(10);
        expect(area).toBeLessThan(0.15 * S * S);
        // Under the mask is tissue (tumor intensities), not air (air is Rician noise ≈ 0.05).
        let inside = 0;
        mask.forEach((m, p) => (inside += m ? a.test.pixels[i * S * S + p] : 0));
        expect(inside / area).toBeGreaterThan(0.2);
      }
    }
  });

  it('is reproducible for a seed and changes with it', () => {
    const again = small(3);
    const other = small(4);
    const bytes = (v: ArrayBufferView) => Buffer.from(v.buffer, v.byteOffset, v.byteLength);
    for (const k of ['train', 'val', 'test'] as const) expect(bytes(again[k].pixels).equals(bytes(a[k].pixels))).toBe(true);
    expect(bytes(again.testMasks!).equals(bytes(a.testMasks!))).toBe(true);
    let diff = 0;
    for (let p = 0; p < a.train.pixels.length; p++) diff += Math.abs(a.train.pixels[p] - other.train.pixels[p]);
    expect(diff / a.train.pixels.length).toBeGreaterThan(0.01);
  });

  it('leaves no global cue: class means and background noise agree', () => {
    const d = synthesizeMriDemo(stack, { count: 400, size: 32, difficulty: 0.5, seed: 9, split: [0.5, 0.25, 0.25] });
    const mean = [0, 0];
    const corner = [0, 0];
    const n = [0, 0];
    for (const set of sets(d)) {
      for (let i = 0; i < set.count; i++) {
        const l = set.labels[i];
        mean[l] += imageMean(set, i, 32);
        // 3×3 top-left corner: air, so only bias × noise.
        for (let y = 0; y < 3; y++) for (let x = 0; x < 3; x++) corner[l] += set.pixels[i * 1024 + y * 32 + x] / 9;
        n[l]++;
      }
    }
    const [m0, m1] = [mean[0] / n[0], mean[1] / n[1]];
    expect(Math.abs(m0 - m1) / m0).toBeLessThan(0.05);
    const [c0, c1] = [corner[0] / n[0], corner[1] / n[1]];
    expect(Math.abs(c0 - c1) / c0).toBeLessThan(0.1);
  });

  it('makes lesions smaller as difficulty rises (monotone knob)', () => {
    const areas = [0, 0.5, 1].map((difficulty) => {
      const d = synthesizeMriDemo(stack, { count: 40, size: 32, difficulty, seed: 2, split: [0.1, 0.1, 0.8] });
      let area = 0;
      let tumors = 0;
      d.test.labels.forEach((l, i) => {
        if (l !== 1) return;
        tumors++;
        for (let p = i * 1024; p < (i + 1) * 1024; p++) area += d.testMasks![p];
      });
      return area / tumors;
    });
    expect(areas[0]).toBeGreaterThan(1.5 * areas[1]);
    expect(areas[1]).toBeGreaterThan(1.5 * areas[2]);
  });
});
