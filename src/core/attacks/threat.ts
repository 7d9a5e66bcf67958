/**
 * The two threat models as AttackModels over the lab's trained pipeline.
 * - feature (the papers' protocol): the input is the classifier's feature vector (the
 *   L2-normalized selected NNMF activations, joined to the image-CNN embedding for the hybrid);
 *   every coordinate of such a vector lies in [0, 1], which is the box.
 * - image (end to end): the input is the pixels in [0, 1]; the forward pass is the unrolled
 *   projection onto W, the normalization, the selection (and the hybrid's embedding), then the
 *   classifier, so gradients reach the pixels through every stage.
 * The defended variants put the purifier in front of the classifier: log p̄ over `draws` purification
 * draws (defendedLogits), a randomized model that attackers handle with EOT.
 */
import * as tf from '@tensorflow/tfjs';
import type { ThreatModel } from '../config';
import { defendedLogits, type PurifyOptions } from '../diffusion/purify';
import { imageFeatures, normalizeRows, type ProjectionLoss } from '../nmf/project';
import { embeddingModel } from '../models/imageCnn';
import { hybridFeatures } from '../models/hybrid';
import type { NoiseSchedule } from '../diffusion/schedule';
import { attackModel, type AttackModel, type Box } from './model';

/** The classifier's input space and the [0, 1] box both threat models attack in. */
export const UNIT_BOX: Box = { lo: 0, hi: 1 };

export interface Purifier {
  model: tf.LayersModel;
  schedule: NoiseSchedule;
  /** Timestep, prior, embedding width and reverse steps; `eot` and `seed` are set per call. */
  options: Omit<PurifyOptions, 'eot' | 'seed'>;
}

/** What the image threat model needs to turn pixels into the classifier's features. */
export interface FeatureMap {
  W: tf.Tensor2D;
  projectIter: number;
  loss: ProjectionLoss;
  selected: number[];
  /** The image CNN whose embedding the hybrid classifier reads; null for the NNMF-only classifier. */
  imageCnn: tf.LayersModel | null;
  imageSize: number;
}

/** Pixels [n, S²] → the classifier's feature vectors, differentiably (the pipeline's classifierInputs). */
export function pixelsToFeatures(x: tf.Tensor2D, map: FeatureMap): tf.Tensor2D {
  return tf.tidy(() => {
    const activations = imageFeatures(x, map.W, map.projectIter, map.loss);
    // Selection as a product with a 0/1 matrix rather than tf.gather: gather's gradient needs
    // UnsortedSegmentSum, which tfjs-backend-wasm 4.22 does not register.
    const rank = activations.shape[1];
    const pick = new Float32Array(rank * map.selected.length);
    map.selected.forEach((k, j) => { pick[k * map.selected.length + j] = 1; });
    const nmf = normalizeRows(tf.matMul(activations, tf.tensor2d(pick, [rank, map.selected.length])) as tf.Tensor2D);
    if (!map.imageCnn) return nmf;
    const emb = embeddingModel(map.imageCnn).apply(x) as tf.Tensor2D;
    return hybridFeatures(emb, nmf);
  });
}

export interface ThreatSetup {
  threat: ThreatModel;
  classifier: tf.LayersModel;
  numClasses: number;
  /** Needed for the image threat model. */
  features?: FeatureMap;
}

function toFeatures(setup: ThreatSetup): (x: tf.Tensor2D) => tf.Tensor2D {
  if (setup.threat === 'feature') return (x) => x;
  const map = setup.features;
  if (!map) throw new Error('the image threat model needs the NNMF basis and selection (ThreatSetup.features)');
  return (x) => pixelsToFeatures(x, map);
}

function imageShape(setup: ThreatSetup): [number, number] | undefined {
  return setup.threat === 'image' && setup.features ? [setup.features.imageSize, setup.features.imageSize] : undefined;
}

/** The undefended classifier under the chosen threat model. */
export function baselineModel(setup: ThreatSetup): AttackModel {
  const features = toFeatures(setup);
  return attackModel((x) => tf.tidy(() => setup.classifier.apply(features(x)) as tf.Tensor2D), setup.numClasses, {
    imageShape: imageShape(setup),
  });
}

/** The classifier behind the purifier, `draws` purification draws averaged per call (log p̄). */
export function defendedModel(setup: ThreatSetup, purifier: Purifier, draws: number): AttackModel {
  const features = toFeatures(setup);
  return attackModel(
    (x, seed) => tf.tidy(() => defendedLogits(features(x), setup.classifier, purifier.model, purifier.schedule, { ...purifier.options, eot: draws, seed })),
    setup.numClasses, { randomized: true, imageShape: imageShape(setup) },
  );
}
