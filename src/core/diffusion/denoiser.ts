/**
 * The feature-space denoiser of the papers (seed 001 §"Feature-Space Diffusion Purification"): an
 * MLP on [x_t, sinusoidal(t)] whose output is the clean-feature estimate x̂_0, trained with
 * MSE(x̂_0, x_0) on pairs made by DDPM forward noising.
 *
 * The MLP output F is wrapped in a preconditioning (after Karras et al. 2022, "EDM", §5, written
 * for the variance-preserving x_t = √ᾱ x_0 + √(1−ᾱ) ε):
 *   x̂_0 = μ + c_skip(t)·(x_t − √ᾱ μ) + c_out(t)·F,   v = ᾱσ² + (1−ᾱ),
 *   c_skip = √ᾱ σ² / v,   c_out = σ √(1−ᾱ) / √v,
 * with μ, σ the mean and standard deviation of the training features. c_skip·x_t is the best
 * linear (Wiener) estimate, so at small t x̂_0 ≈ x_t (a purifier must not distort clean inputs)
 * and F only learns the non-linear correction; c_out keeps F's target at unit scale for every t.
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

/** Statistics of the clean training features that the preconditioning is built on. */
export interface FeaturePrior {
  /** Per-coordinate mean μ. */
  mean: Float32Array;
  /** One standard deviation σ over all coordinates (around μ). */
  sigma: number;
}

export async function featurePrior(x0: tf.Tensor2D): Promise<FeaturePrior> {
  const [meanT, sigmaT] = tf.tidy(() => {
    const m = tf.mean(x0, 0);
    return [m, tf.sqrt(tf.mean(tf.square(tf.sub(x0, m))))];
  });
  const mean = (await meanT.data()) as Float32Array;
  const sigma = Math.max((await sigmaT.data())[0], 1e-6);
  meanT.dispose();
  sigmaT.dispose();
  return { mean, sigma };
}

/**
 * x̂_0 for noisy features xt [N, d] at per-row integer timesteps t [N] (float dtype allowed), or at
 * one timestep t for every row. Differentiable w.r.t. xt.
 *
 * With one timestep (purification: every row and draw shares τ) the coefficients are numbers and
 * the embedding is one row, broadcast by a multiply (WASM's Tile kernel is slower):
 *   x̂_0 = c_skip·x_t + (1 − c_skip√ᾱ)·μ + c_out·F.
 * That drops the per-row sin/cos and gathers, which cost more than the MLP itself at this width.
 */
export function denoise(
  model: tf.LayersModel, xt: tf.Tensor2D, t: tf.Tensor1D | number, schedule: NoiseSchedule, embeddingDim: number, prior: FeaturePrior,
): tf.Tensor2D {
  if (typeof t === 'number') return denoiseAt(model, xt, t, schedule, embeddingDim, prior);
  return tf.tidy(() => {
    const s2 = prior.sigma * prior.sigma;
    const ab = tf.reshape(tf.gather(tf.tensor1d(schedule.alphaBar), tf.cast(t, 'int32')), [-1, 1]);
    const v = tf.add(tf.mul(ab, s2), tf.sub(1, ab));
    const cSkip = tf.div(tf.mul(tf.sqrt(ab), s2), v);
    const cOut = tf.div(tf.mul(tf.sqrt(tf.sub(1, ab)), prior.sigma), tf.sqrt(v));
    const mu = tf.tensor2d(prior.mean, [1, prior.mean.length]);
    const input = tf.concat([tf.div(xt, tf.sqrt(v)), timestepEmbedding(t, embeddingDim, schedule.steps)], 1);
    const f = model.apply(input) as tf.Tensor2D;
    return tf.add(tf.add(mu, tf.mul(cSkip, tf.sub(xt, tf.mul(tf.sqrt(ab), mu)))), tf.mul(cOut, f)) as tf.Tensor2D;
  });
}

/** A dense layer's weights and activation, as the direct evaluation below reads them. */
interface DenseStep {
  kernel: tf.Tensor2D;
  bias: tf.Tensor1D;
  swish: boolean;
}

/**
 * Per layer, whether it applies swish, for models that are a chain of dense layers with swish or
 * linear activations (what buildDenoiser makes); null for any other model. Read once per model.
 */
const denseChains = new WeakMap<tf.LayersModel, boolean[] | null>();

function denseChainActivations(model: tf.LayersModel): boolean[] | null {
  let known = denseChains.get(model);
  if (known === undefined) {
    const configs = model.layers.map((layer) => layer.getConfig() as { activation?: string; useBias?: boolean });
    const chain = model.layers.length > 0 && model.layers.every((layer, i) =>
      layer.getClassName() === 'Dense' && configs[i].useBias !== false && (configs[i].activation === 'swish' || configs[i].activation === 'linear'));
    known = chain ? configs.map((c) => c.activation === 'swish') : null;
    denseChains.set(model, known);
  }
  return known;
}

function denseSteps(model: tf.LayersModel, swish: boolean[]): DenseStep[] {
  return model.layers.map((layer, i) => {
    const [kernel, bias] = layer.getWeights();
    return { kernel: kernel as tf.Tensor2D, bias: bias as tf.Tensor1D, swish: swish[i] };
  });
}

function denoiseAt(
  model: tf.LayersModel, xt: tf.Tensor2D, t: number, schedule: NoiseSchedule, embeddingDim: number, prior: FeaturePrior,
): tf.Tensor2D {
  if (!Number.isInteger(t) || t < 0 || t >= schedule.steps) throw new Error(`denoise: t = ${t} outside [0, ${schedule.steps - 1}]`);
  const s2 = prior.sigma * prior.sigma;
  const ab = schedule.alphaBar[t];
  const v = ab * s2 + (1 - ab);
  const cSkip = (Math.sqrt(ab) * s2) / v;
  const cOut = (Math.sqrt(1 - ab) * prior.sigma) / Math.sqrt(v);
  const muTerm = prior.mean.map((m) => (1 - cSkip * Math.sqrt(ab)) * m);
  return tf.tidy(() => {
    const embedding = timestepEmbedding(tf.tensor1d([t]), embeddingDim, schedule.steps);
    const swishLayers = denseChainActivations(model);
    if (!swishLayers) {
      const input = tf.concat([tf.mul(xt, 1 / Math.sqrt(v)), tf.mul(tf.ones([xt.shape[0], 1]), embedding)], 1);
      const f = model.apply(input) as tf.Tensor2D;
      return tf.add(tf.add(tf.mul(xt, cSkip), tf.tensor2d(muTerm, [1, muTerm.length])), tf.mul(f, cOut)) as tf.Tensor2D;
    }
    // The same network evaluated with the constants folded into the weights: the first layer's
    // [x_t/√v, emb(t)]·K + b is x_t·(K_x/√v) + (emb(t)·K_e + b), one row for every row of x_t, and
    // the output c_out·(h·K + b) + μ-term is h·(c_out·K) + (c_out·b + μ-term). Every op of the
    // Sequential call and the concatenation drop out; 720 rows purified went from 14 to ~8 ms.
    const d = xt.shape[1];
    const steps = denseSteps(model, swishLayers);
    const first = steps[0];
    const last = steps[steps.length - 1];
    const swish = (h: tf.Tensor2D, step: DenseStep) => (step.swish ? (tf.mul(h, tf.sigmoid(h)) as tf.Tensor2D) : h);
    const inputKernel = tf.mul(tf.slice(first.kernel, [0, 0], [d, -1]), 1 / Math.sqrt(v)) as tf.Tensor2D;
    const embeddingBias = tf.add(tf.reshape(tf.matMul(embedding, tf.slice(first.kernel, [d, 0], [-1, -1])), [-1]), first.bias);
    let h = swish(tf.fused.matMul({ a: xt, b: inputKernel, bias: embeddingBias }) as tf.Tensor2D, first);
    for (const step of steps.slice(1, -1)) h = swish(tf.fused.matMul({ a: h, b: step.kernel, bias: step.bias }) as tf.Tensor2D, step);
    const outputKernel = tf.mul(last.kernel, cOut) as tf.Tensor2D;
    const outputBias = tf.add(tf.mul(last.bias, cOut), tf.tensor1d(muTerm));
    const f = swish(tf.fused.matMul({ a: h, b: outputKernel, bias: outputBias }) as tf.Tensor2D, last);
    return tf.add(f, tf.mul(xt, cSkip)) as tf.Tensor2D;
  });
}

/**
 * t ∈ {1, …, T−1} with density ∝ 1/√t (t = 1 + ⌊(T−1)·u²⌋): purification uses small and middle
 * steps (the papers' t = 41 of the default T = 3000), where uniform sampling would spend 99% of the training
 * elsewhere; every t keeps a non-zero share, so the slider's whole range stays trained.
 */
export function trainingTimestep(u: number, steps: number): number {
  return Math.min(steps - 1, 1 + Math.floor((steps - 1) * u * u));
}

function abortError(): Error {
  const e = new Error('aborted');
  e.name = 'AbortError';
  return e;
}

/**
 * DDPM training in feature space: each mini-batch draws t in {1, …, T−1} per example (trainingTimestep) and
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
): Promise<{ loss: number[]; prior: FeaturePrior }> {
  const [n, d] = x0.shape;
  if (n === 0) throw new Error('trainDenoiser: no training features');
  const prior = await featurePrior(x0);
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
      for (let i = 0; i < n; i++) timesteps[i] = trainingTimestep(timestepRng.next(), T);
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
          const x0hat = denoise(model, xt, tf.cast(tb, 'float32') as tf.Tensor1D, schedule, cfg.embedding, prior);
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
  return { loss, prior };
}
