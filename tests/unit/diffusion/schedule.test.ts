import { describe, expect, it } from 'vitest';
import { linearSchedule } from '../../../src/core/diffusion/schedule';

describe('linearSchedule', () => {
  const s = linearSchedule(100, 1e-4, 0.02);

  it('has exact ends and a linear step', () => {
    expect(s.steps).toBe(100);
    expect(s.betas.length).toBe(100);
    expect(s.betas[0]).toBe(Math.fround(1e-4));
    expect(s.betas[99]).toBe(Math.fround(0.02));
    // Mid-point of a linear ramp over an odd number of intervals: β_49 + β_50 = β_0 + β_99.
    expect(s.betas[49] + s.betas[50]).toBeCloseTo(1e-4 + 0.02, 7);
    for (let t = 0; t < 100; t++) expect(s.alphas[t]).toBe(Math.fround(1 - s.betas[t]));
  });

  it('alphaBar is the cumulative product of (1 − β), decreasing', () => {
    // Independent float64 product, β built by repeated addition of the step.
    const step = (0.02 - 1e-4) / 99;
    let beta = 1e-4;
    let product = 1;
    for (let t = 0; t < 100; t++) {
      product *= 1 - beta;
      expect(s.alphaBar[t]).toBeCloseTo(product, 6);
      if (t > 0) expect(s.alphaBar[t]).toBeLessThan(s.alphaBar[t - 1]);
      beta += step;
    }
    expect(s.alphaBar[0]).toBe(Math.fround(0.9999));
  });

  it('alphaBar at the default purification step t = 41 (index convention: 42 factors)', () => {
    // numpy: np.cumprod(1 - np.linspace(1e-4, 0.02, 100))[41]
    expect(s.alphaBar[41]).toBeCloseTo(0.8371344617954397, 6);
    expect(s.alphaBar[99]).toBeCloseTo(0.3635632480554922, 6);
  });

  it('refuses invalid arguments', () => {
    expect(() => linearSchedule(1, 1e-4, 0.02)).toThrow(/steps/);
    expect(() => linearSchedule(10, 0.02, 1e-4)).toThrow(/betaStart/);
  });
});
