import { describe, expect, it } from 'vitest';
import { decodeBound, decodeSize, imageSizeProblem, MAX_IMAGE_PIXELS, MAX_IMAGE_SIDE, planDecode } from '../../../src/core/data/limits';

describe('image size limits', () => {
  it('accepts a 10,000 × 10,000 image and refuses beyond the limits, naming the size', () => {
    expect(imageSizeProblem(10_000, 10_000)).toBeNull();
    expect(imageSizeProblem(MAX_IMAGE_SIDE, MAX_IMAGE_PIXELS / MAX_IMAGE_SIDE)).toBeNull();
    expect(imageSizeProblem(100_000, 100_000)).toBe(
      'too large: 100000×100000 pixels (10000 megapixels); the limit is 20000 pixels per side and 200 megapixels',
    );
    expect(imageSizeProblem(25_000, 100)).toMatch(/^too large: 25000×100 pixels \(2\.5 megapixels\)/);
    expect(imageSizeProblem(15_000, 15_000)).toMatch(/^too large: 15000×15000 pixels \(225 megapixels\)/);
    expect(imageSizeProblem(0, 10)).toBe('no pixels: the header says 0×10');
  });

  it('shrinks to the bound keeping the aspect, never below one pixel', () => {
    expect(decodeBound(8)).toBe(512);
    expect(decodeBound(256)).toBe(1024);
    expect(decodeSize(300, 200, 512)).toEqual({ width: 300, height: 200 });
    expect(decodeSize(10_000, 10_000, 512)).toEqual({ width: 512, height: 512 });
    expect(decodeSize(4000, 1000, 512)).toEqual({ width: 512, height: 128 });
    expect(decodeSize(20_000, 3, 512)).toEqual({ width: 512, height: 1 });
  });

  it('plans the browser decode from the header: refuse, shrink (oriented), or decode as is', () => {
    expect(planDecode({ width: 100_000, height: 100_000 }, 128)).toEqual({ reason: expect.stringMatching(/^too large: 100000×100000/) });
    expect(planDecode({ width: 10_000, height: 10_000 }, 128)).toEqual({ width: 512, height: 512, resize: true });
    expect(planDecode({ width: 4000, height: 1000 }, 128)).toEqual({ width: 512, height: 128, resize: true });
    // EXIF orientation 6 (turned a quarter): the decoded bitmap is 1000 wide, 4000 high.
    expect(planDecode({ width: 4000, height: 1000, orientation: 6 }, 128)).toEqual({ width: 128, height: 512, resize: true });
    expect(planDecode({ width: 4000, height: 1000, orientation: 3 }, 128)).toEqual({ width: 512, height: 128, resize: true });
    expect(planDecode({ width: 256, height: 256 }, 128)).toEqual({ width: 256, height: 256, resize: false });
  });
});
