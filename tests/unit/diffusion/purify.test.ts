import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { defaultConfig } from '../../../src/core/config';
import { buildDenoiser, denoise } from '../../../src/core/diffusion/denoiser';
import { defendedLogits, defendedProbabilities, noiseFeatures, purify, reverseDiffusion } from '../../../src/core/diffusion/purify';
import { linearSchedule } from '../../../src/core/diffusion/schedule';
import { buildFeatureCnn } from '../../../src/core/models/featureCnn';

const schedule = linearSchedule(100, 1e-4, 0.02);

describe('noiseFeatures', () => {
  it('is √ᾱ_t x_0 + √(1−ᾱ_t) ε for a given ε, in float32', () => {
    const x0 = tf.tensor2d([[0.5, -1.25, 2], [0.1, 0.2, 0.3]]);
    const eps = tf.tensor2d([[1, 0, -0.5], [2.5, -1.5, 0.75]]);
    const xt = noiseFeatures(x0, 41, schedule, eps);
    const a = Math.fround(Math.sqrt(schedule.alphaBar[41]));
    const s = Math.fround(Math.sqrt(1 - schedule.alphaBar[41]));
    const x = x0.dataSync();
    const e = eps.dataSync();
    const expected = Array.from(x, (v, i) => Math.fround(Math.fround(v * a) + Math.fround(e[i] * s)));
    expect(Array.from(xt.dataSync())).toEqual(expected);
    // Against float64 with ᾱ_41 = 0.8371344618 (numpy): 0.5 · 0.9149505242 + 1 · 0.4035660271.
    expect(xt.dataSync()[0]).toBeCloseTo(0.8610412892, 5);
    tf.dispose([x0, eps, xt]);
  });

  it('adds noise of variance 1 − ᾱ_t', () => {
    const [mean, variance] = tf.tidy(() => {
      const x0 = tf.fill([20000, 4], 0.7) as tf.Tensor2D;
      const eps = tf.randomNormal([20000, 4], 0, 1, 'float32', 3) as tf.Tensor2D;
      const residual = tf.sub(noiseFeatures(x0, 60, schedule, eps), tf.mul(x0, Math.sqrt(schedule.alphaBar[60])));
      const m = tf.moments(residual);
      return [m.mean.dataSync()[0], m.variance.dataSync()[0]];
    });
    const target = 1 - schedule.alphaBar[60];
    expect(Math.abs(mean)).toBeLessThan(0.01);
    expect(variance / target).toBeGreaterThan(0.97);
    expect(variance / target).toBeLessThan(1.03);
  });

  it('refuses a timestep outside the schedule', () => {
    const x = tf.zeros([1, 2]) as tf.Tensor2D;
    expect(() => noiseFeatures(x, 100, schedule, x)).toThrow(/outside/);
    x.dispose();
  });
});

describe('purify and the defended model', () => {
  const cfg = { ...defaultConfig().diffusion, hidden: 16, embedding: 8 };
  const prior = { mean: new Float32Array([0.3, 0.25, 0.2, 0.3, 0.35]), sigma: 0.25 };
  const opts = { timestep: 41, eot: 4, seed: 123, embeddingDim: 8, prior };
  // Built once the backend is ready (the setup file's beforeAll runs first).
  let denoiser: tf.LayersModel;
  let classifier: tf.LayersModel;
  let x: tf.Tensor2D;
  beforeAll(() => {
    denoiser = buildDenoiser(5, cfg, 1);
    classifier = buildFeatureCnn(5, 3, { ...defaultConfig().classifier, filters: [4], dense: 8 }, 2);
    x = tf.tensor2d([[0.1, 0.5, 0.2, 0.7, 0.3], [0.9, 0.1, 0.0, 0.2, 0.4], [0.3, 0.3, 0.3, 0.3, 0.3]]);
  });

  it('returns [K, N, d]; draw k of row n is denoise(noise row k·N + n)', () => {
    const before = tf.memory().numTensors;
    const p = purify(x, denoiser, schedule, opts);
    expect(p.shape).toEqual([4, 3, 5]);
    const expected = tf.tidy(() => {
      const noise = tf.randomNormal([12, 5], 0, 1, 'float32', 123) as tf.Tensor2D;
      const draws = [0, 1, 2, 3].map((k) => {
        const xt = noiseFeatures(x, 41, schedule, tf.slice(noise, [k * 3, 0], [3, 5]));
        return denoise(denoiser, xt, tf.fill([3], 41) as tf.Tensor1D, schedule, 8, prior);
      });
      return tf.stack(draws);
    });
    const got = p.dataSync();
    expected.dataSync().forEach((v, i) => expect(got[i]).toBeCloseTo(v, 5));
    // The draws differ from one another (the noise is not shared across k).
    expect(got[0]).not.toBe(got[15]);
    tf.dispose([p, expected]);
    expect(tf.memory().numTensors).toBe(before);
  });

  it('same seed → identical, other seed → different', () => {
    const a = purify(x, denoiser, schedule, opts);
    const b = purify(x, denoiser, schedule, opts);
    const c = purify(x, denoiser, schedule, { ...opts, seed: 124 });
    expect(Array.from(b.dataSync())).toEqual(Array.from(a.dataSync()));
    expect(Array.from(c.dataSync())).not.toEqual(Array.from(a.dataSync()));
    tf.dispose([a, b, c]);
  });

  it('averages the class probabilities over the K draws; logits are their log', () => {
    const before = tf.memory().numTensors;
    const probs = defendedProbabilities(x, classifier, denoiser, schedule, opts);
    const logits = defendedLogits(x, classifier, denoiser, schedule, opts);
    expect(probs.shape).toEqual([3, 3]);
    const expected = tf.tidy(() => {
      const p = purify(x, denoiser, schedule, opts);
      const perDraw = tf.unstack(p).map((xk) => tf.softmax(classifier.predict(xk) as tf.Tensor2D));
      return tf.div(tf.addN(perDraw), 4);
    });
    const got = probs.dataSync();
    expected.dataSync().forEach((v, i) => expect(got[i]).toBeCloseTo(v, 6));
    for (let n = 0; n < 3; n++) expect(got[3 * n] + got[3 * n + 1] + got[3 * n + 2]).toBeCloseTo(1, 6);
    logits.dataSync().forEach((v, i) => expect(v).toBeCloseTo(Math.log(got[i]), 5));
    tf.dispose([probs, logits, expected]);
    expect(tf.memory().numTensors).toBe(before);
  });

  it('is differentiable w.r.t. the input features', () => {
    const before = tf.memory().numTensors;
    const g = tf.grad((input: tf.Tensor) => {
      const p = defendedProbabilities(input as tf.Tensor2D, classifier, denoiser, schedule, opts);
      return tf.sum(tf.slice(p, [0, 0], [-1, 1]));
    })(x);
    const values = Array.from(g.dataSync());
    expect(g.shape).toEqual([3, 5]);
    expect(values.every(Number.isFinite)).toBe(true);
    expect(values.some((v) => Math.abs(v) > 1e-6)).toBe(true);
    // Central finite difference on one coordinate (the noise is fixed by the seed).
    const h = 1e-2;
    const f = (dx: number) => tf.tidy(() => {
      const shifted = tf.add(x, tf.mul(tf.oneHot(tf.tensor1d([1], 'int32'), 5).reshape([1, 5]).pad([[0, 2], [0, 0]]), dx)) as tf.Tensor2D;
      const p = defendedProbabilities(shifted, classifier, denoiser, schedule, opts);
      return tf.sum(tf.slice(p, [0, 0], [-1, 1])).dataSync()[0];
    });
    expect(values[1]).toBeCloseTo((f(h) - f(-h)) / (2 * h), 2);
    g.dispose();
    expect(tf.memory().numTensors).toBe(before);
  });

  it('reverseDiffusion: one step is denoise; S steps follow DDIM (σ = 0) on evenly spaced τ', () => {
    const before = tf.memory().numTensors;
    const [oneStep, direct, threeSteps, manual] = tf.tidy(() => {
      const xt = noiseFeatures(x, 41, schedule, tf.randomNormal([3, 5], 0, 1, 'float32', 9) as tf.Tensor2D);
      const d = (xs: tf.Tensor2D, tau: number) => denoise(denoiser, xs, tf.fill([3], tau) as tf.Tensor1D, schedule, 8, prior);
      // τ = 41, 27, 14 (round(41·(3−i)/3)); x_τ' = √ᾱ_τ' x̂_0 + √(1−ᾱ_τ') ε̂.
      let xs = xt;
      let x0 = xt;
      const taus = [41, 27, 14];
      taus.forEach((tau, i) => {
        x0 = d(xs, tau);
        if (i < 2) {
          const ab = schedule.alphaBar[tau];
          const abNext = schedule.alphaBar[taus[i + 1]];
          const eps = tf.div(tf.sub(xs, tf.mul(x0, Math.sqrt(ab))), Math.sqrt(1 - ab));
          xs = tf.add(tf.mul(x0, Math.sqrt(abNext)), tf.mul(eps, Math.sqrt(1 - abNext)));
        }
      });
      return [reverseDiffusion(xt, 41, denoiser, schedule, 8, prior, 1), d(xt, 41), reverseDiffusion(xt, 41, denoiser, schedule, 8, prior, 3), x0];
    });
    const dir = direct.dataSync();
    oneStep.dataSync().forEach((v, i) => expect(v).toBeCloseTo(dir[i], 6));
    const m = manual.dataSync();
    threeSteps.dataSync().forEach((v, i) => expect(v).toBeCloseTo(m[i], 5));
    expect(Array.from(threeSteps.dataSync())).not.toEqual(Array.from(oneStep.dataSync()));
    tf.dispose([oneStep, direct, threeSteps, manual]);
    expect(tf.memory().numTensors).toBe(before);
  });

  it('reverseDiffusion: gradients through S steps equal the unrolled chain\'s, in memory that does not grow with S', async () => {
    const before = tf.memory().numTensors;
    const xt = tf.tidy(() => noiseFeatures(x, 41, schedule, tf.randomNormal([3, 5], 0, 1, 'float32', 9) as tf.Tensor2D));
    const w = tf.tensor2d([[1, -2, 0.5, 3, -1]]);
    // The plain DDIM chain, taped end to end.
    const unrolled = (xs: tf.Tensor2D, taus: number[]) => {
      let x0 = xs;
      taus.forEach((tau, i) => {
        x0 = denoise(denoiser, xs, tf.fill([xs.shape[0]], tau) as tf.Tensor1D, schedule, 8, prior);
        if (i < taus.length - 1) {
          const ab = schedule.alphaBar[tau];
          const abNext = schedule.alphaBar[taus[i + 1]];
          const eps = tf.div(tf.sub(xs, tf.mul(x0, Math.sqrt(ab))), Math.sqrt(1 - ab));
          xs = tf.add(tf.mul(x0, Math.sqrt(abNext)), tf.mul(eps, Math.sqrt(1 - abNext)));
        }
      });
      return x0;
    };
    const loss = (f: (z: tf.Tensor2D) => tf.Tensor2D) => (z: tf.Tensor) => tf.sum(tf.mul(f(z as tf.Tensor2D), w));
    const got = tf.grad(loss((z) => reverseDiffusion(z, 41, denoiser, schedule, 8, prior, 3)))(xt);
    const want = tf.grad(loss((z) => unrolled(z, [41, 27, 14])))(xt);
    const g = want.dataSync();
    expect(g.some((v) => Math.abs(v) > 1e-4)).toBe(true);
    got.dataSync().forEach((v, i) => expect(v).toBeCloseTo(g[i], 5));
    tf.dispose([got, want]);

    // Peak bytes of one gradient on a batch big enough for the activations to dominate: the
    // taped chain holds every step's intermediates (≈ S times one step's), the checkpointed one
    // one step's plus the S step inputs. This is what overflowed the WASM heap on digits.
    const big = tf.tile(xt, [400, 1]) as tf.Tensor2D;
    const peak = async (f: (z: tf.Tensor2D) => tf.Tensor2D) => {
      const info = await tf.profile(() => tf.tidy(() => tf.grad(loss(f))(big)));
      info.result instanceof tf.Tensor ? info.result.dispose() : tf.dispose(info.result as tf.Tensor[]);
      return info.peakBytes - info.newBytes;
    };
    const one = await peak((z) => reverseDiffusion(z, 41, denoiser, schedule, 8, prior, 1));
    const ten = await peak((z) => reverseDiffusion(z, 41, denoiser, schedule, 8, prior, 10));
    const taus = Array.from({ length: 10 }, (_, i) => Math.round((41 * (10 - i)) / 10));
    const tenTaped = await peak((z) => unrolled(z, taus));
    expect(tenTaped).toBeGreaterThan(5 * one);
    expect(ten).toBeLessThan(2.5 * one);
    tf.dispose([xt, w, big]);
    expect(tf.memory().numTensors).toBe(before);
  });

  it('the preconditioning makes even an untrained denoiser nearly the identity at t = 1', () => {
    const [gap, raw] = tf.tidy(() => {
      const out = denoise(denoiser, x, tf.fill([3], 1) as tf.Tensor1D, schedule, 8, prior);
      // c_skip(1) = √ᾱσ²/(ᾱσ² + 1 − ᾱ) ≈ 1, c_out(1) = σ√(1−ᾱ)/√v ≈ 0.0025 for σ = 0.25.
      const rawOut = denoiser.predict(tf.ones([3, 13])) as tf.Tensor2D;
      return [tf.max(tf.abs(tf.sub(out, x))).dataSync()[0], tf.max(tf.abs(rawOut)).dataSync()[0]];
    });
    expect(gap).toBeLessThan(0.01);
    // Without the preconditioning the output would be the raw MLP's, far from x.
    expect(raw).toBeGreaterThan(0.01);
  });
});
