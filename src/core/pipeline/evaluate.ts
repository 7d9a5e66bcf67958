/**
 * Clean scenarios: the feature classifier alone (baseline) and behind the purifier (defended),
 * plus the image CNN as a reference row, and the denoiser's quality at the chosen timestep.
 */
import * as tf from '@tensorflow/tfjs';
import type { DiffusionConfig } from '../config';
import type { Metrics } from '../types';
import { classificationMetrics } from '../metrics/classification';
import { defendedProbabilities, noiseFeatures } from '../diffusion/purify';
import { denoise } from '../diffusion/denoiser';
import { predictLogits } from '../models/train';
import type { ClassifierOutput, DenoiserOutput } from './stages';

export interface ScenarioResult {
  metrics: Metrics;
  /** Test images × classes. */
  probs: Float32Array;
}

export interface DenoiserQuality {
  timestep: number;
  /** Per test image: ‖x_t − x₀‖ and ‖x̂₀ − x₀‖ in the classifier's feature space. */
  noisedError: Float32Array;
  denoisedError: Float32Array;
  meanNoisedError: number;
  meanDenoisedError: number;
}

export interface CleanEvaluation {
  cleanBaseline: ScenarioResult;
  cleanDefended: ScenarioResult;
  imageCnn?: ScenarioResult;
  quality: DenoiserQuality;
}

async function scenario(probs: tf.Tensor2D, labels: Int32Array, numClasses: number): Promise<ScenarioResult> {
  const values = (await probs.data()) as Float32Array;
  probs.dispose();
  return { probs: values, metrics: classificationMetrics(values, labels, numClasses) };
}

function mean(a: Float32Array): number {
  let s = 0;
  for (const v of a) s += v;
  return a.length ? s / a.length : NaN;
}

export async function evaluateClean(
  classifier: ClassifierOutput, denoiser: DenoiserOutput, testLabels: Int32Array, numClasses: number,
  cfg: DiffusionConfig, seed: number, imageCnnProbs?: () => tf.Tensor2D,
): Promise<CleanEvaluation> {
  const x = classifier.inputs.test;
  const opts = { timestep: cfg.timestep, eot: cfg.eot, seed, embeddingDim: cfg.embedding, prior: denoiser.prior, reverseSteps: cfg.reverseSteps };
  const cleanBaseline = await scenario(tf.tidy(() => tf.softmax(predictLogits(classifier.model, x)) as tf.Tensor2D), testLabels, numClasses);
  const cleanDefended = await scenario(
    tf.tidy(() => defendedProbabilities(x, classifier.model, denoiser.model, denoiser.schedule, opts)), testLabels, numClasses,
  );
  const imageCnn = imageCnnProbs ? await scenario(imageCnnProbs(), testLabels, numClasses) : undefined;

  const [noised, denoised] = tf.tidy(() => {
    const noise = tf.randomNormal(x.shape, 0, 1, 'float32', seed ^ 0x5bd1e995) as tf.Tensor2D;
    const xt = noiseFeatures(x, cfg.timestep, denoiser.schedule, noise);
    const x0hat = denoise(denoiser.model, xt, cfg.timestep, denoiser.schedule, cfg.embedding, denoiser.prior);
    return [tf.norm(tf.sub(xt, x), 'euclidean', 1), tf.norm(tf.sub(x0hat, x), 'euclidean', 1)];
  });
  const noisedError = (await noised.data()) as Float32Array;
  const denoisedError = (await denoised.data()) as Float32Array;
  noised.dispose();
  denoised.dispose();
  return {
    cleanBaseline, cleanDefended, imageCnn,
    quality: {
      timestep: cfg.timestep, noisedError, denoisedError,
      meanNoisedError: mean(noisedError), meanDenoisedError: mean(denoisedError),
    },
  };
}
