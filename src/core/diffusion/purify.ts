/**
 * Feature-space diffusion purification with EOT (seed 001, stage 4): noise the features to step t,
 * denoise back to x̂_0, classify, and average the class probabilities over K independent draws.
 * Everything here is differentiable w.r.t. the input features, so an adaptive attacker can take
 * gradients through the whole defense; the Gaussian draws are constants w.r.t. the input.
 */
import * as tf from '@tensorflow/tfjs';
import { denoise, type FeaturePrior } from './denoiser';
import type { NoiseSchedule } from './schedule';

export interface PurifyOptions {
  /** Purification timestep t ∈ {1, …, T−1} (alphaBar[t], see schedule.ts). */
  timestep: number;
  /** K, the number of EOT draws. */
  eot: number;
  /** Seed of the one randomNormal draw; the same seed gives the same purified features. */
  seed: number;
  /** Width of the sinusoidal timestep embedding the denoiser was built with. */
  embeddingDim: number;
  /** The clean-feature statistics the denoiser was trained with. */
  prior: FeaturePrior;
  /** Denoiser evaluations on the way back from t to 0: 1 = one-shot x̂_0 (the papers), more =
   * deterministic DDIM steps (Song et al. 2021, eq. 12 with σ = 0). Default 1. */
  reverseSteps?: number;
}

/**
 * `f(x)` with gradient checkpointing: the forward pass keeps no intermediate tensors for the
 * backward pass (only x), and the backward pass re-runs `f` under its own tape to get the
 * vector-Jacobian product. Gradients reach x only, not the variables `f` reads (the attacks
 * differentiate w.r.t. the input features; nothing trains through the purifier).
 */
function checkpointed(f: (x: tf.Tensor2D) => tf.Tensor2D, x: tf.Tensor2D): tf.Tensor2D {
  const op = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const input = args[0] as tf.Tensor2D;
    (args[1] as tf.GradSaveFunc)([input]);
    return {
      value: f(input),
      gradFunc: (dy: tf.Tensor | tf.Tensor[], saved: tf.Tensor[]) => {
        // The engine keeps one tape: a nested tf.grad, run while the outer backward pass is in
        // progress, starts a fresh tape and sets it to null when done, which would lose the
        // outer tape (whose saved tensors the outer pass disposes at its end). Put it back.
        const engine = tf.engine() as unknown as { state: { activeTape: unknown } };
        const outerTape = engine.state.activeTape;
        try {
          return tf.grad((z: tf.Tensor) => f(z as tf.Tensor2D))(saved[0], Array.isArray(dy) ? dy[0] : dy);
        } finally {
          engine.state.activeTape = outerTape;
        }
      },
    };
  });
  return op(x) as tf.Tensor2D;
}

/**
 * From x_t back to x̂_0 in `steps` DDIM steps on evenly spaced timesteps t = τ_S > … > τ_1 > 0:
 * x̂_0 = D(x_τ, τ), ε̂ = (x_τ − √ᾱ_τ x̂_0)/√(1−ᾱ_τ), x_τ' = √ᾱ_τ' x̂_0 + √(1−ᾱ_τ') ε̂. One step is
 * the one-shot posterior-mean estimate; more steps land on the data rather than between its modes.
 *
 * With more than one step each step is checkpointed (see `checkpointed`): a gradient through the
 * chain then holds one step's intermediate tensors at a time, not all S steps'. Without it an
 * attack on the defended digits model (≈1,400 points × 8–20 EOT draws × 10 steps × the MLP's
 * activations in one gradient) outgrew the WASM backend's 4 GB heap and aborted.
 */
export function reverseDiffusion(
  xt: tf.Tensor2D, t: number, denoiser: tf.LayersModel, schedule: NoiseSchedule, embeddingDim: number, prior: FeaturePrior, steps = 1,
): tf.Tensor2D {
  const S = Math.max(1, Math.min(steps, t));
  const taus = Array.from({ length: S }, (_, i) => Math.round((t * (S - i)) / S));
  // One step: x_τ → x̂_0 (last step) or → x_τ'.
  const step = (i: number) => (x: tf.Tensor2D): tf.Tensor2D => tf.tidy(() => {
    const tau = taus[i];
    const x0hat = denoise(denoiser, x, tau, schedule, embeddingDim, prior);
    if (i === S - 1) return x0hat;
    const ab = schedule.alphaBar[tau];
    const abNext = schedule.alphaBar[taus[i + 1]];
    const epsHat = tf.div(tf.sub(x, tf.mul(x0hat, Math.sqrt(ab))), Math.sqrt(1 - ab));
    return tf.add(tf.mul(x0hat, Math.sqrt(abNext)), tf.mul(epsHat, Math.sqrt(1 - abNext))) as tf.Tensor2D;
  });
  if (S === 1) return step(0)(xt);
  return tf.tidy(() => {
    let x = xt;
    for (let i = 0; i < S; i++) x = checkpointed(step(i), x);
    return x;
  });
}

/** Forward noising to step t (DDPM eq. 4): x_t = √ᾱ_t x_0 + √(1−ᾱ_t) ε with the given ε. */
export function noiseFeatures(x0: tf.Tensor2D, t: number, schedule: NoiseSchedule, noise: tf.Tensor2D): tf.Tensor2D {
  if (!Number.isInteger(t) || t < 0 || t >= schedule.steps) throw new Error(`noiseFeatures: t = ${t} outside [0, ${schedule.steps - 1}]`);
  const alphaBar = schedule.alphaBar[t];
  return tf.tidy(() => tf.add(tf.mul(x0, Math.sqrt(alphaBar)), tf.mul(noise, Math.sqrt(1 - alphaBar))) as tf.Tensor2D);
}

/**
 * K purified copies of each of the N rows of x, computed as one batched K·N pass: row k·N + n of
 * the tiled batch is x[n] with draw k. Returns [K, N, d].
 */
export function purify(x: tf.Tensor2D, denoiser: tf.LayersModel, schedule: NoiseSchedule, opts: PurifyOptions): tf.Tensor3D {
  const { timestep, eot, seed, embeddingDim, prior } = opts;
  if (!Number.isInteger(eot) || eot < 1) throw new Error(`purify: eot = ${eot} must be an integer ≥ 1`);
  const [n, d] = x.shape;
  return tf.tidy(() => {
    const tiled = tf.tile(x, [eot, 1]) as tf.Tensor2D;
    const noise = tf.randomNormal([eot * n, d], 0, 1, 'float32', seed) as tf.Tensor2D;
    const xt = noiseFeatures(tiled, timestep, schedule, noise);
    const x0hat = reverseDiffusion(xt, timestep, denoiser, schedule, embeddingDim, prior, opts.reverseSteps);
    return tf.reshape(x0hat, [eot, n, d]) as tf.Tensor3D;
  });
}

/** p̄(y | x) = (1/K) Σ_k softmax(classifier(purified_k(x))) → [N, C]. */
export function defendedProbabilities(
  x: tf.Tensor2D,
  classifier: tf.LayersModel,
  denoiser: tf.LayersModel,
  schedule: NoiseSchedule,
  opts: PurifyOptions,
): tf.Tensor2D {
  const [n, d] = x.shape;
  return tf.tidy(() => {
    const purified = tf.reshape(purify(x, denoiser, schedule, opts), [opts.eot * n, d]);
    const probs = tf.softmax(classifier.apply(purified) as tf.Tensor2D);
    return tf.mean(tf.reshape(probs, [opts.eot, n, -1]), 0) as tf.Tensor2D;
  });
}

/** Smallest probability kept before the log, so a saturated softmax gives a finite logit. */
const MIN_PROBABILITY = 1e-30;

/**
 * log p̄ as logits for attacks that expect a logit model: softmax(log p̄) = p̄ because p̄ sums to
 * one, so cross-entropy on these logits equals the cross-entropy of the EOT-averaged
 * probabilities (the loss an EOT attacker should maximize), not the average of per-draw losses.
 */
export function defendedLogits(...args: Parameters<typeof defendedProbabilities>): tf.Tensor2D {
  return tf.tidy(() => tf.log(tf.maximum(defendedProbabilities(...args), MIN_PROBABILITY)) as tf.Tensor2D);
}
