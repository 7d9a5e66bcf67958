import { describe, expect, it } from 'vitest';
import { ConfigError, defaultConfig, mergeConfig, stableStringify, validateConfig } from '../../src/core/config';
import { createRandom, permutation } from '../../src/core/random';
import { linearSchedule } from '../../src/core/diffusion/schedule';
import * as tf from '@tensorflow/tfjs';

describe('config', () => {
  it('defaults are valid and match the paper', () => {
    const c = validateConfig(defaultConfig());
    expect(c.nmf.rank).toBe(15);
    expect(c.diffusion.timestep).toBe(41);
    expect(c.diffusion.eot).toBe(8);
    expect(c.attack.eps).toBe(0.1);
  });
  it("the default schedule puts the papers' t = 41 at the noise the README's trade-off was measured at", () => {
    const d = defaultConfig().diffusion;
    const noise = Math.sqrt(1 - linearSchedule(d.steps, d.betaStart, d.betaEnd).alphaBar[d.timestep]);
    // √(1−ᾱ_41): 0.145 at T = 1000, 0.113 at 2000, 0.099 at 3000 (DDPM's β ends).
    expect(noise).toBeCloseTo(0.0993, 3);
  });
  it('refuses out-of-range values and names the valid range', () => {
    const c = mergeConfig(defaultConfig(), { nmf: { rank: 0 }, diffusion: { timestep: 3000, eot: 0 }, attack: { eps: -1 } });
    try {
      validateConfig(c);
      expect.unreachable();
    } catch (e) {
      expect(e).toBeInstanceOf(ConfigError);
      const msg = (e as Error).message;
      expect(msg).toContain('nmf.rank = 0');
      expect(msg).toContain('diffusion.timestep = 3000: must be an integer in [1, 2999]');
      expect(msg).toContain('diffusion.eot = 0');
      expect(msg).toContain('attack.eps = -1');
    }
  });
  it('merges deeply and hashes order-independently', () => {
    const c = mergeConfig(defaultConfig(), { diffusion: { timestep: 10 } });
    expect(c.diffusion.timestep).toBe(10);
    expect(c.diffusion.eot).toBe(8);
    expect(stableStringify({ b: 1, a: [1, { d: 2, c: 3 }] })).toBe('{"a":[1,{"c":3,"d":2}],"b":1}');
  });
});

describe('random', () => {
  it('is reproducible per seed and label, and differs across labels', () => {
    const a = createRandom(7, 'x');
    const b = createRandom(7, 'x');
    const c = createRandom(7, 'y');
    const xs = [a.next(), a.next(), a.next()];
    expect([b.next(), b.next(), b.next()]).toEqual(xs);
    expect(c.next()).not.toBe(xs[0]);
  });
  it('draws uniform and normal values with the right moments', () => {
    const r = createRandom(1, 'moments');
    let s = 0, s2 = 0, u = 0;
    const n = 20000;
    for (let i = 0; i < n; i++) {
      const z = r.normal();
      s += z;
      s2 += z * z;
      u += r.next();
    }
    expect(Math.abs(s / n)).toBeLessThan(0.03);
    expect(Math.abs(s2 / n - 1)).toBeLessThan(0.04);
    expect(Math.abs(u / n - 0.5)).toBeLessThan(0.01);
  });
  it('permutation is a permutation', () => {
    const p = Array.from(permutation(100, createRandom(3)));
    expect([...p].sort((x, y) => x - y)).toEqual(Array.from({ length: 100 }, (_, i) => i));
    expect(p).not.toEqual(Array.from({ length: 100 }, (_, i) => i));
  });
  it('runs on the wasm backend', () => {
    expect(tf.getBackend()).toBe('wasm');
  });
});
