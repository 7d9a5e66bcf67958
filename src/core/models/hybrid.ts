/**
 * The multi-class hybrid of seed 003: the image CNN's embedding and the selected NNMF features,
 * "both normalized and concatenated", classified by a lightweight network.
 *
 * The classifier on top is an MLP rather than the feature CNN: a convolution assumes that
 * neighbouring positions of its input are related, and the concatenated vector has no such order
 * (CNN units, then NNMF component indices). The paper calls it "a lightweight neural network".
 */
import * as tf from '@tensorflow/tfjs';
import type { ClassifierConfig } from '../config';
import { deriveSeed } from '../random';

/**
 * Added to the squared norm: a zero row stays zero and its gradient finite (√ has an infinite
 * slope at 0), while any row of norm ≫ 1e-12 is unchanged in float32.
 */
const NORM_EPSILON_SQUARED = 1e-24;

/**
 * concat[embedding / ‖embedding‖₂, nmfFeatures] row by row. The NNMF features arrive already
 * L2-normalized by the projection stage (then subset by selection), so both parts have norm ≤ 1.
 */
export function hybridFeatures(embedding: tf.Tensor2D, nmfFeatures: tf.Tensor2D): tf.Tensor2D {
  if (embedding.shape[0] !== nmfFeatures.shape[0]) {
    throw new Error(`hybridFeatures: ${embedding.shape[0]} embeddings but ${nmfFeatures.shape[0]} NNMF feature rows`);
  }
  return tf.tidy(() => {
    const norms = tf.sqrt(tf.add(tf.sum(tf.square(embedding), 1, true), NORM_EPSILON_SQUARED));
    return tf.concat([tf.div(embedding, norms), nmfFeatures], 1) as tf.Tensor2D;
  });
}

/** input [inputDim] → dense(cfg.dense, relu) → dense(cfg.dense, relu) → dense(numClasses) logits. */
export function buildHybridClassifier(inputDim: number, numClasses: number, cfg: ClassifierConfig, seed: number): tf.LayersModel {
  if (!Number.isInteger(inputDim) || inputDim < 1) throw new Error(`buildHybridClassifier: inputDim = ${inputDim} must be ≥ 1`);
  if (!Number.isInteger(numClasses) || numClasses < 2) throw new Error(`buildHybridClassifier: numClasses = ${numClasses} must be ≥ 2`);
  const init = (name: string) => tf.initializers.glorotUniform({ seed: deriveSeed(seed, `hybrid/${name}`) });
  const model = tf.sequential({ name: 'hybridClassifier' });
  model.add(tf.layers.dense({ inputShape: [inputDim], units: cfg.dense, activation: 'relu', kernelInitializer: init('hidden0'), name: 'hidden0' }));
  model.add(tf.layers.dense({ units: cfg.dense, activation: 'relu', kernelInitializer: init('hidden1'), name: 'hidden1' }));
  model.add(tf.layers.dense({ units: numClasses, kernelInitializer: init('logits'), name: 'logits' }));
  return model;
}
