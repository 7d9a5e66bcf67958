/**
 * The "lightweight CNN on the selected features" (seed 001, stage 3): 1-D convolutions along the
 * vector of selected NNMF activations, then a small dense head that outputs logits.
 *
 * Each conv1d ('same' zero padding) is im2col + Dense over a [M, 1, C] map (see im2col.ts): the
 * feature axis is the height, the kernel [k, 1]. Standard layers only, fast and trainable on
 * tfjs-backend-wasm, which cannot train tf.layers.conv1d (no Conv2DBackpropFilter kernel).
 */
import * as tf from '@tensorflow/tfjs';
import type { ClassifierConfig } from '../config';
import { deriveSeed } from '../random';
import { sameConv } from './im2col';

export function buildFeatureCnn(inputDim: number, numClasses: number, cfg: ClassifierConfig, seed: number): tf.LayersModel {
  if (!Number.isInteger(inputDim) || inputDim < 1) throw new Error(`buildFeatureCnn: inputDim = ${inputDim} must be ≥ 1`);
  if (!Number.isInteger(numClasses) || numClasses < 2) throw new Error(`buildFeatureCnn: numClasses = ${numClasses} must be ≥ 2`);
  const init = (name: string) => tf.initializers.glorotUniform({ seed: deriveSeed(seed, `featureCnn/${name}`) });
  const input = tf.input({ shape: [inputDim], name: 'features' });
  let x = tf.layers.reshape({ targetShape: [inputDim, 1, 1], name: 'feature_map' }).apply(input) as tf.SymbolicTensor;
  cfg.filters.forEach((filters, i) => {
    x = sameConv(x, { filters, kernelSize: [cfg.kernelSize, 1], activation: 'relu', kernelInitializer: init(`conv${i}`), name: `conv1d_${i}` });
  });
  x = tf.layers.flatten({ name: 'flatten' }).apply(x) as tf.SymbolicTensor;
  x = tf.layers.dense({ units: cfg.dense, activation: 'relu', kernelInitializer: init('dense'), name: 'dense' }).apply(x) as tf.SymbolicTensor;
  const logits = tf.layers.dense({ units: numClasses, kernelInitializer: init('logits'), name: 'logits' }).apply(x) as tf.SymbolicTensor;
  return tf.model({ inputs: input, outputs: logits, name: 'featureCnn' });
}
