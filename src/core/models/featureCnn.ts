/**
 * The "lightweight CNN on the selected features" (seed 001, stage 3): 1-D convolutions along the
 * vector of selected NNMF activations, then a small dense head that outputs logits.
 *
 * The 1-D convolutions are Conv3D layers with a [1, kernelSize, 1] kernel over a [1, M, 1, 1]
 * volume: the same arithmetic as conv1d ('same' zero padding), but trainable on tfjs-backend-wasm
 * 4.22, which registers no Conv2DBackpropFilter kernel (conv1d and conv2d cannot be trained
 * there). The feature axis is the height, not the depth: WASM's Conv3DBackpropInputV2 returns
 * wrong input gradients for kernels deeper than 1 (measured against the CPU backend), and those
 * gradients are both the training signal of the first layers and the attacker's gradient.
 * Conv3D and both its gradients exist on WebGPU too. The model stays a standard Layers model.
 */
import * as tf from '@tensorflow/tfjs';
import type { ClassifierConfig } from '../config';
import { deriveSeed } from '../random';

export function buildFeatureCnn(inputDim: number, numClasses: number, cfg: ClassifierConfig, seed: number): tf.LayersModel {
  if (!Number.isInteger(inputDim) || inputDim < 1) throw new Error(`buildFeatureCnn: inputDim = ${inputDim} must be ≥ 1`);
  if (!Number.isInteger(numClasses) || numClasses < 2) throw new Error(`buildFeatureCnn: numClasses = ${numClasses} must be ≥ 2`);
  const init = (name: string) => tf.initializers.glorotUniform({ seed: deriveSeed(seed, `featureCnn/${name}`) });
  const model = tf.sequential({ name: 'featureCnn' });
  model.add(tf.layers.reshape({ inputShape: [inputDim], targetShape: [1, inputDim, 1, 1] }));
  cfg.filters.forEach((filters, i) => {
    model.add(tf.layers.conv3d({
      filters,
      kernelSize: [1, cfg.kernelSize, 1],
      padding: 'same',
      activation: 'relu',
      kernelInitializer: init(`conv${i}`),
      name: `conv1d_${i}`,
    }));
  });
  model.add(tf.layers.flatten());
  model.add(tf.layers.dense({ units: cfg.dense, activation: 'relu', kernelInitializer: init('dense'), name: 'dense' }));
  model.add(tf.layers.dense({ units: numClasses, kernelInitializer: init('logits'), name: 'logits' }));
  return model;
}
