/**
 * The feature-space denoiser of the papers (seed 001 §"Feature-Space Diffusion Purification"): an
 * MLP on [x_t, sinusoidal(t)] that regresses the clean features x̂_0 directly, trained with
 * MSE(x̂_0, x_0) on pairs made by DDPM forward noising.
 *
 * It predicts x̂_0 with no skip connection from x_t: at the lab's timesteps the noise (√(1−ᾱ_t) ≈ 0.4
 * per coordinate at t = 41) is as large as a whole unit-norm feature vector, so the best estimate
 * lies much nearer the data than x_t, and a residual from x_t would mostly have to be cancelled.
 */
import * as tf from '@tensorflow/tfjs';
import type { DiffusionConfig } from '../config';
import { createRandom, deriveSeed, permutation } from '../random';
import type { NoiseSchedule } from './schedule';

/**
 * Sinusoidal embedding (Vaswani et al. 2017, §3.5): row i is [sin(t_i ω_k)]_k ++ [cos(t_i ω_k)]_k
 * with ω_k = 1 / 10000^(2k/dim), k = 0 … dim/2 − 1, on the raw (float) timestep t.
 * `steps` (T) is part of the contract so that callers pass the schedule's length; the Vaswani
 * frequencies do not depend on it.
 */
export function timestepEmbedding(t: tf.Tensor1D, dim: number, _steps: number): tf.Tensor2D {
  if (!Number.isInteger(dim) || dim < 2 || dim % 2 !== 0) throw new Error(`timestepEmbedding: dim = ${dim} must be an even integer ≥ 2`);
  const half = dim / 2;
  const omega = new Float32Array(half);
  for (let k = 0; k < half; k++) omega[k] = 1 / Math.pow(10000, (2 * k) / dim);
  return tf.tidy(() => {
    const phase = tf.mul(tf.reshape(tf.cast(t, 'float32'), [-1, 1]), tf.tensor2d(omega, [1, half]));
    return tf.concat([tf.sin(phase), tf.cos(phase)], 1) as tf.Tensor2D;
  });
}

/**
 * Input [featureDim + cfg.embedding] = concat[x_t, emb(t)] → 3 × dense(cfg.hidden, swish) →
 * dense(featureDim) = x̂_0. Swish rather than ReLU keeps the purifier smooth, so an adaptive
 * attacker's gradients through it are informative rather than piecewise constant.
 */
export function buildDenoiser(featureDim: number, cfg: DiffusionConfig, seed: number): tf.LayersModel {
  const init = (name: string) => tf.initializers.glorotUniform({ seed: deriveSeed(seed, `denoiser/${name}`) });
  const model = tf.sequential({ name: 'featureDenoiser' });
  for (let i = 0; i < 3; i++) {
    model.add(tf.layers.dense({
      units: cfg.hidden,
      activation: 'swish',
      kernelInitializer: init(`hidden${i}`),
      ...(i === 0 ? { inputShape: [featureDim + cfg.embedding] } : {}),
    }));
  }
  model.add(tf.layers.dense({ units: featureDim, kernelInitializer: init('out') }));
  return model;
}

/** x̂_0 for noisy features xt [N, d] at per-row timesteps t [N]. Differentiable w.r.t. xt. */
export function denoise(model: tf.LayersModel, xt: tf.Tensor2D, t: tf.Tensor1D, steps: number, embeddingDim: number): tf.Tensor2D {
  return tf.tidy(() => {
    const input = tf.concat([xt, timestepEmbedding(t, embeddingDim, steps)], 1);
    return model.apply(input) as tf.Tensor2D;
  });
}

function abortError(): Error {
  const e = new Error('aborted');
  e.name = 'AbortError';
  return e;
}

/**
 * DDPM training in feature space: each mini-batch draws t uniform in {1, …, T−1} per example and
 * ε ~ N(0, I), forms x_t = √ᾱ_t x_0 + √(1−ᾱ_t) ε (Ho et al. eq. 4) and minimizes MSE(x̂_0, x_0) with
 * Adam. Shuffling and t come from seeded streams, ε from tf.randomNormal with a fresh seed per
 * step drawn from a seeded stream, so a seed fixes the whole run. One readback per epoch.
 */
export async function trainDenoiser(
  model: tf.LayersModel,
  x0: tf.Tensor2D,
  schedule: NoiseSchedule,
  cfg: DiffusionConfig,
  seed: number,
  opts: { signal?: AbortSignal; onEpoch?: (epoch: number, loss: number) => void } = {},
): Promise<{ loss: number[] }> {
  const [n, d] = x0.shape;
  if (n === 0) throw new Error('trainDenoiser: no training features');
  const T = schedule.steps;
  const shuffleRng = createRandom(seed, 'denoiser/shuffle');
  const timestepRng = createRandom(seed, 'denoiser/timestep');
  const noiseRng = createRandom(seed, 'denoiser/noise');
  const sqrtAlphaBar = tf.tensor1d(schedule.alphaBar.map(Math.sqrt));
  const sqrtOneMinusAlphaBar = tf.tensor1d(schedule.alphaBar.map((a) => Math.sqrt(1 - a)));
  const optimizer = tf.train.adam(cfg.learningRate);
  const vars = model.trainableWeights.map((w) => w.read() as tf.Variable);
  const batchSize = Math.min(cfg.batchSize, n);
  const loss: number[] = [];
  try {
    for (let epoch = 0; epoch < cfg.epochs; epoch++) {
      if (opts.signal?.aborted) throw abortError();
      const order = permutation(n, shuffleRng);
      const timesteps = new Int32Array(n);
      for (let i = 0; i < n; i++) timesteps[i] = 1 + timestepRng.int(T - 1);
      const orderT = tf.tensor1d(order, 'int32');
      const timestepsT = tf.tensor1d(timesteps, 'int32');
      let sum: tf.Scalar = tf.scalar(0);
      for (let start = 0; start < n; start += batchSize) {
        const size = Math.min(batchSize, n - start);
        const noiseSeed = noiseRng.seed();
        const batchLoss = optimizer.minimize(() => {
          const idx = tf.slice(orderT, start, size);
          const x0b = tf.gather(x0, idx);
          const tb = tf.slice(timestepsT, start, size);
          const eps = tf.randomNormal([size, d], 0, 1, 'float32', noiseSeed);
          const a = tf.reshape(tf.gather(sqrtAlphaBar, tb), [-1, 1]);
          const s = tf.reshape(tf.gather(sqrtOneMinusAlphaBar, tb), [-1, 1]);
          const xt = tf.add(tf.mul(a, x0b), tf.mul(s, eps)) as tf.Tensor2D;
          const x0hat = denoise(model, xt, tf.cast(tb, 'float32') as tf.Tensor1D, T, cfg.embedding);
          return tf.losses.meanSquaredError(x0b, x0hat) as tf.Scalar;
        }, true, vars) as tf.Scalar;
        const next = tf.tidy(() => tf.add(sum, tf.mul(batchLoss, size)) as tf.Scalar);
        sum.dispose();
        batchLoss.dispose();
        sum = next;
      }
      orderT.dispose();
      timestepsT.dispose();
      const epochLoss = (await sum.data())[0] / n;
      sum.dispose();
      loss.push(epochLoss);
      opts.onEpoch?.(epoch, epochLoss);
    }
  } finally {
    optimizer.dispose();
    sqrtAlphaBar.dispose();
    sqrtOneMinusAlphaBar.dispose();
  }
  return { loss };
}
