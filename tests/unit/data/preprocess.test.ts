import { describe, expect, it } from 'vitest';
import { preprocess, resizeSquare, toGray } from '../../../src/core/data/preprocess';

const luma = (r: number, g: number, b: number) => 0.299 * r + 0.587 * g + 0.114 * b;

describe('toGray', () => {
  it('weights RGB by BT.601 luma', () => {
    const g = toGray({ width: 3, height: 1, channels: 3, bitDepth: 8, data: Uint8Array.of(255, 0, 0, 0, 255, 0, 10, 20, 30) });
    expect(g[0]).toBeCloseTo(0.299, 6);
    expect(g[1]).toBeCloseTo(0.587, 6);
    expect(g[2]).toBeCloseTo(luma(10, 20, 30) / 255, 6);
  });

  it('composites alpha over black (RGBA and gray+alpha)', () => {
    const rgba = toGray({ width: 2, height: 1, channels: 4, bitDepth: 8, data: Uint8ClampedArray.of(255, 255, 255, 128, 200, 100, 50, 0) });
    expect(rgba[0]).toBeCloseTo(128 / 255, 6);
    expect(rgba[1]).toBe(0);
    const ga = toGray({ width: 1, height: 1, channels: 2, bitDepth: 8, data: Uint8Array.of(200, 51) });
    expect(ga[0]).toBeCloseTo((200 / 255) * (51 / 255), 6);
  });

  it('divides 16-bit samples by 65535', () => {
    const g = toGray({ width: 3, height: 1, channels: 1, bitDepth: 16, data: Uint16Array.of(65535, 32768, 1000) });
    expect(g[0]).toBeCloseTo(1, 6);
    expect(g[1]).toBeCloseTo(32768 / 65535, 6);
    expect(g[2]).toBeCloseTo(1000 / 65535, 6);
    const rgb16 = toGray({ width: 1, height: 1, channels: 3, bitDepth: 16, data: Uint16Array.of(60000, 30000, 1000) });
    expect(rgb16[0]).toBeCloseTo(luma(60000, 30000, 1000) / 65535, 6);
  });

  it('refuses a buffer too short for its shape', () => {
    expect(() => toGray({ width: 2, height: 2, channels: 3, bitDepth: 8, data: new Uint8Array(11) })).toThrow(/needs 12/);
  });
});

describe('resizeSquare', () => {
  it('keeps a constant image constant, down and up', () => {
    const c = new Float32Array(7 * 5).fill(0.42);
    for (const size of [3, 11]) {
      for (const v of resizeSquare(c, 7, 5, size)) expect(v).toBeCloseTo(0.42, 6);
    }
  });

  it('averages 2×2 blocks when halving 4×4', () => {
    const img = Float32Array.from({ length: 16 }, (_, i) => i);
    // Blocks {0,1,4,5}, {2,3,6,7}, {8,9,12,13}, {10,11,14,15}.
    expect(Array.from(resizeSquare(img, 4, 4, 2))).toEqual([2.5, 4.5, 10.5, 12.5]);
  });

  it('weights partial pixels by overlap for non-integer ratios (3 → 2)', () => {
    // Output cells cover [0, 1.5) and [1.5, 3): (0·1 + 3·½)/1.5 = 1 and (3·½ + 6·1)/1.5 = 5.
    const out = resizeSquare(Float32Array.of(0, 3, 6), 3, 1, 2);
    expect(out[0]).toBeCloseTo(1, 6);
    expect(out[1]).toBeCloseTo(5, 6);
    expect(out[2]).toBeCloseTo(1, 6); // height 1 → 2 repeats the row
  });

  it('interpolates linearly between pixel centres when upscaling (2 → 4)', () => {
    const out = resizeSquare(Float32Array.of(0, 8, 0, 8), 2, 2, 4);
    expect(Array.from(out.subarray(0, 4))).toEqual([0, 2, 6, 8]);
  });

  it('does not alias a fine stripe pattern when shrinking a very wide image', () => {
    const w = 10000;
    const stripes = Float32Array.from({ length: w * 2 }, (_, i) => (i % 2 === 0 ? 1 : 0));
    // Each output cell averages 625 alternating pixels (313 or 312 ones); point sampling gives 0 or 1.
    for (const v of resizeSquare(stripes, w, 2, 16)) expect(Math.abs(v - 0.5)).toBeLessThan(0.001);
  });
});

describe('preprocess', () => {
  it('grays and resizes an RGBA image to [0,1]', () => {
    // 4×2: left half opaque white, right half red at half alpha.
    const data = new Uint8Array(4 * 2 * 4);
    for (let y = 0; y < 2; y++) {
      for (let x = 0; x < 4; x++) {
        const o = (y * 4 + x) * 4;
        data.set(x < 2 ? [255, 255, 255, 255] : [255, 0, 0, 51], o);
      }
    }
    const out = preprocess({ width: 4, height: 2, channels: 4, bitDepth: 8, data }, 2);
    expect(out[0]).toBeCloseTo(1, 5);
    expect(out[1]).toBeCloseTo(0.299 * 0.2, 5);
    expect(out[2]).toBeCloseTo(1, 5);
    expect(out[3]).toBeCloseTo(0.299 * 0.2, 5);
  });
});
