import { describe, expect, it } from 'vitest';
import { minimumPerClass, splitCounts, stratifiedSplit } from '../../../src/core/data/split';

function labelsOf(counts: number[]): Int32Array {
  return Int32Array.from(counts.flatMap((n, c) => new Array<number>(n).fill(c)));
}

function perClass(labels: Int32Array, idx: Int32Array, classes: number): number[] {
  const out = new Array<number>(classes).fill(0);
  idx.forEach((i) => out[labels[i]]++);
  return out;
}

describe('stratifiedSplit', () => {
  // Interleave the classes so a split that ignored labels would not get these counts by luck.
  const base = labelsOf([100, 50, 10]);
  const labels = Int32Array.from(base, (_, i) => base[(i * 7) % base.length]);

  it('keeps the configured proportions in every class exactly', () => {
    const s = stratifiedSplit(labels, [0.7, 0.2, 0.1], 3);
    expect(perClass(labels, s.train, 3)).toEqual([70, 35, 7]);
    expect(perClass(labels, s.val, 3)).toEqual([20, 10, 2]);
    expect(perClass(labels, s.test, 3)).toEqual([10, 5, 1]);
  });

  it('is a partition of all indices', () => {
    const s = stratifiedSplit(labels, [0.6, 0.25, 0.15], 11);
    const all = [...s.train, ...s.val, ...s.test].sort((a, b) => a - b);
    expect(all).toEqual(Array.from({ length: labels.length }, (_, i) => i));
  });

  it('is reproducible for a seed and differs across seeds', () => {
    const a = stratifiedSplit(labels, [0.7, 0.2, 0.1], 5);
    const b = stratifiedSplit(labels, [0.7, 0.2, 0.1], 5);
    const c = stratifiedSplit(labels, [0.7, 0.2, 0.1], 6);
    expect(Array.from(a.test)).toEqual(Array.from(b.test));
    expect(Array.from(a.train)).toEqual(Array.from(b.train));
    expect(new Set(c.test)).not.toEqual(new Set(a.test));
  });

  it('interleaves classes inside a split rather than listing them in blocks', () => {
    const s = stratifiedSplit(labelsOf([50, 50]), [0.5, 0.2, 0.3], 1);
    const firstTen = Array.from(s.train.subarray(0, 10), (i) => (i < 50 ? 0 : 1));
    expect(new Set(firstTen).size).toBe(2);
  });
});

describe('splitCounts (per class)', () => {
  it('rounds test and val and gives train the rest', () => {
    expect(splitCounts(10, [0.7, 0.2, 0.1])).toEqual([7, 2, 1]);
    expect(splitCounts(5, [0.7, 0.2, 0.1])).toEqual([3, 1, 1]);
    expect(splitCounts(33, [0.7, 0.15, 0.15])).toEqual([23, 5, 5]);
  });

  it('gives every non-empty split at least one image when the class can afford it', () => {
    expect(splitCounts(4, [0.9, 0.05, 0.05])).toEqual([2, 1, 1]);
    expect(splitCounts(3, [0.7, 0.2, 0.1])).toEqual([1, 1, 1]);
    expect(splitCounts(2, [0.5, 0, 0.5])).toEqual([1, 0, 1]);
    expect(splitCounts(3, [0.05, 0.05, 0.9])).toEqual([1, 1, 1]);
  });

  it('fills train, then test, then val for tinier classes', () => {
    expect(splitCounts(1, [0.7, 0.2, 0.1])).toEqual([1, 0, 0]);
    expect(splitCounts(2, [0.7, 0.2, 0.1])).toEqual([1, 0, 1]);
    expect(splitCounts(0, [0.7, 0.2, 0.1])).toEqual([0, 0, 0]);
  });

  it('reports the minimum a class needs', () => {
    expect(minimumPerClass([0.7, 0.2, 0.1])).toBe(3);
    expect(minimumPerClass([0.8, 0, 0.2])).toBe(2);
    expect(minimumPerClass([0.8, 0.2, 0])).toBe(2);
  });
});
