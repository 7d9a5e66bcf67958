import * as tf from '@tensorflow/tfjs';
import { describe, expect, it } from 'vitest';
import { defaultConfig, type DiffusionConfig } from '../../../src/core/config';
import { buildDenoiser, denoise, timestepEmbedding, trainDenoiser } from '../../../src/core/diffusion/denoiser';
import { noiseFeatures } from '../../../src/core/diffusion/purify';
import { linearSchedule } from '../../../src/core/diffusion/schedule';
import { createRandom } from '../../../src/core/random';

describe('timestepEmbedding', () => {
  it('is [sin(tω_k), cos(tω_k)] with ω_k = 10000^(−2k/dim)', () => {
    const before = tf.memory().numTensors;
    const t = tf.tensor1d([0, 5]);
    const e = timestepEmbedding(t, 8, 100);
    expect(e.shape).toEqual([2, 8]);
    const v = e.arraySync();
    expect(v[0]).toEqual([0, 0, 0, 0, 1, 1, 1, 1]);
    // ω = 1, 0.1, 0.01, 0.001 for dim 8; values of sin/cos at 5ω in float64.
    const expected = [
      -0.9589242746631385, 0.479425538604203, 0.04997916927067833, 0.004999979166692708,
      0.28366218546322625, 0.8775825618903728, 0.9987502603949663, 0.9999875000260416,
    ];
    v[1].forEach((x, i) => expect(x).toBeCloseTo(expected[i], 6));
    tf.dispose([t, e]);
    expect(tf.memory().numTensors).toBe(before);
  });

  it('refuses an odd width', () => {
    const t = tf.tensor1d([1]);
    expect(() => timestepEmbedding(t, 7, 100)).toThrow(/even/);
    t.dispose();
  });
});

/** Unit vectors near one of four non-negative centers in 8-D: a few-cluster manifold like L2-normalized activations. */
function clusteredFeatures(n: number, seed: number): tf.Tensor2D {
  const rng = createRandom(seed, 'clusters');
  const centersRng = createRandom(1, 'centers');
  const d = 8;
  // Parts-based centers: cluster c loads mainly on coordinates 2c and 2c + 1.
  const centers = Array.from({ length: 4 }, (_, c) => Array.from({ length: d }, (_, j) => (j >> 1 === c ? 1 : 0) + 0.2 * centersRng.next()));
  const out = new Float32Array(n * d);
  for (let i = 0; i < n; i++) {
    const c = centers[rng.int(4)];
    let norm = 0;
    const row = c.map((v) => Math.max(0, v + 0.05 * rng.normal()));
    for (const v of row) norm += v * v;
    row.forEach((v, j) => (out[i * d + j] = v / Math.sqrt(norm)));
  }
  return tf.tensor2d(out, [n, d]);
}

describe('trainDenoiser / denoise', () => {
  it('lowers the error of held-out features at t = 41 well below the noise', async () => {
    const cfg: DiffusionConfig = { ...defaultConfig().diffusion, steps: 100, hidden: 64, embedding: 16, epochs: 60, batchSize: 128, learningRate: 5e-3 };
    const schedule = linearSchedule(cfg.steps, cfg.betaStart, cfg.betaEnd);
    const train = clusteredFeatures(768, 11);
    const test = clusteredFeatures(256, 12);
    const model = buildDenoiser(8, cfg, 3);
    const before = tf.memory().numTensors;
    const epochs: number[] = [];
    const { loss, prior } = await trainDenoiser(model, train, schedule, cfg, 5, { onEpoch: (e) => epochs.push(e) });
    expect(tf.memory().numTensors).toBe(before);
    expect(epochs).toEqual(Array.from({ length: 60 }, (_, i) => i));
    // The preconditioned start is already the linear (Wiener) estimate; training still improves it.
    expect(loss[59]).toBeLessThan(0.9 * loss[0]);

    const [noiseError, denoisedError, meanError] = tf.tidy(() => {
      const noise = tf.randomNormal(test.shape, 0, 1, 'float32', 99) as tf.Tensor2D;
      const xt = noiseFeatures(test, 41, schedule, noise);
      const x0hat = denoise(model, xt, tf.fill([256], 41) as tf.Tensor1D, schedule, cfg.embedding, prior);
      const rowNorm = (a: tf.Tensor2D) => tf.mean(tf.norm(tf.sub(a, test), 'euclidean', 1));
      // The trivial estimator that ignores x_t: the training mean.
      const trainMean = tf.broadcastTo(tf.mean(train, 0, true), test.shape) as tf.Tensor2D;
      return [rowNorm(xt).dataSync()[0], rowNorm(x0hat).dataSync()[0], rowNorm(trainMean).dataSync()[0]];
    });
    // One timestep for every row (the purifier's form) is the same function as per-row timesteps.
    const [perRow, shared] = tf.tidy(() => {
      const xt = noiseFeatures(test, 41, schedule, tf.randomNormal(test.shape, 0, 1, 'float32', 98) as tf.Tensor2D);
      return [denoise(model, xt, tf.fill([256], 41) as tf.Tensor1D, schedule, cfg.embedding, prior), denoise(model, xt, 41, schedule, cfg.embedding, prior)];
    });
    const sharedValues = shared.dataSync();
    const perRowValues = perRow.dataSync();
    let gap = 0;
    for (let i = 0; i < perRowValues.length; i++) gap = Math.max(gap, Math.abs(perRowValues[i] - sharedValues[i]));
    expect(gap).toBeLessThan(1e-5);
    tf.dispose([perRow, shared]);
    expect(() => denoise(model, test, 100, schedule, cfg.embedding, prior)).toThrow(/outside/);
    // ‖x_t − x_0‖ ≈ √(8 · (1 − ᾱ_41)) ≈ 1.14; a denoiser that found the clusters is far closer.
    expect(noiseError).toBeGreaterThan(1);
    // Measured on WASM: 1.115 → 0.336, against 0.770 for the training mean.
    expect(denoisedError).toBeLessThan(0.4 * noiseError);
    // It uses x_t: clearly better than the constant estimate that ignores it.
    expect(denoisedError).toBeLessThan(0.6 * meanError);
    tf.dispose([train, test]);
    model.dispose();
  });

  it('is deterministic for a seed', async () => {
    const cfg: DiffusionConfig = { ...defaultConfig().diffusion, hidden: 16, embedding: 8, epochs: 3, batchSize: 32 };
    const schedule = linearSchedule(cfg.steps, cfg.betaStart, cfg.betaEnd);
    const x = clusteredFeatures(100, 4);
    const run = async (seed: number) => {
      const m = buildDenoiser(8, cfg, 1);
      const { loss } = await trainDenoiser(m, x, schedule, cfg, seed);
      const w = m.getWeights().map((t) => Array.from(t.dataSync()));
      m.dispose();
      return { loss, w };
    };
    const a = await run(7);
    const b = await run(7);
    const c = await run(8);
    expect(b).toEqual(a);
    expect(c.loss).not.toEqual(a.loss);
    x.dispose();
  });
});

describe('denoise at one timestep', () => {
  const cfg: DiffusionConfig = { ...defaultConfig().diffusion, hidden: 16, embedding: 8 };
  const schedule = linearSchedule(cfg.steps, cfg.betaStart, cfg.betaEnd);
  const prior = { mean: Float32Array.from([0.1, -0.2, 0.3, 0.05, 0, 0.4]), sigma: 0.7 };

  /** Largest gaps between the per-row and the one-timestep forms: values, and gradients w.r.t. x_t. */
  function gaps(model: tf.LayersModel, t: number): [number, number] {
    return tf.tidy(() => {
      const xt = tf.randomNormal([40, 6], 0, 1, 'float32', 21) as tf.Tensor2D;
      const weights = tf.randomNormal([40, 6], 0, 1, 'float32', 22);
      const perRow = (x: tf.Tensor) => denoise(model, x as tf.Tensor2D, tf.fill([40], t) as tf.Tensor1D, schedule, cfg.embedding, prior);
      const shared = (x: tf.Tensor) => denoise(model, x as tf.Tensor2D, t, schedule, cfg.embedding, prior);
      const valueGap = tf.max(tf.abs(tf.sub(perRow(xt), shared(xt)))).dataSync()[0];
      const grad = (f: (x: tf.Tensor) => tf.Tensor) => tf.grad((x: tf.Tensor) => tf.sum(tf.mul(f(x), weights)))(xt);
      const gradientGap = tf.max(tf.abs(tf.sub(grad(perRow), grad(shared)))).dataSync()[0];
      return [valueGap, gradientGap];
    });
  }

  it('evaluates a swish dense chain with folded constants as the network itself would', () => {
    const model = buildDenoiser(6, cfg, 4);
    const before = tf.memory().numTensors;
    for (const t of [1, 41, 700]) {
      const [valueGap, gradientGap] = gaps(model, t);
      expect(valueGap).toBeLessThan(1e-5);
      expect(gradientGap).toBeLessThan(1e-4);
    }
    expect(tf.memory().numTensors).toBe(before);
    model.dispose();
  });

  it('calls any other network as it is', () => {
    // A ReLU chain and a chain with a non-dense layer: neither has the swish/linear dense form.
    const relu = tf.sequential({ layers: [tf.layers.dense({ units: 16, activation: 'relu', inputShape: [14] }), tf.layers.dense({ units: 6 })] });
    const normalized = tf.sequential({
      layers: [tf.layers.dense({ units: 16, activation: 'swish', inputShape: [14] }), tf.layers.layerNormalization(), tf.layers.dense({ units: 6 })],
    });
    for (const model of [relu, normalized]) {
      const [valueGap, gradientGap] = gaps(model, 41);
      expect(valueGap).toBeLessThan(1e-5);
      expect(gradientGap).toBeLessThan(1e-4);
      model.dispose();
    }
  });
});
