/**
 * The image-space baseline: a small CNN on the pixels, and (seed 003) the source of the deep
 * embedding of the hybrid classifier. Input is flat pixels [S·S] so that every model of the lab
 * takes 2-D batches; output is logits.
 *
 * Convolutions and pooling are the 3-D layers over a [1, S, S, 1] volume (depth 1) with [1, 3, 3]
 * kernels and [1, 2, 2] pools: identical to conv2d/maxPool2d, but trainable on tfjs' WASM backend,
 * which has no Conv2DBackpropFilter kernel (see featureCnn.ts).
 * Each max pool must follow a ReLU: WASM's MaxPoolGrad/MaxPool3DGrad (tfjs 4.22) route the gradient
 * wrongly when a pooling window holds only negative values (measured against the CPU backend and a
 * hand-written argmax routing); on the non-negative ReLU outputs they are exact.
 */
import * as tf from '@tensorflow/tfjs';
import type { ImageCnnConfig } from '../config';
import { deriveSeed } from '../random';

/** Working resolution above which the image is average-pooled first (128 → 32 for the MRI data):
 * the naive Conv3D kernels of the WASM backend make a 64×64 working size cost ~30 s per epoch. */
const MAX_WORKING_SIZE = 32;

export function buildImageCnn(size: number, numClasses: number, cfg: ImageCnnConfig, seed: number): tf.LayersModel {
  if (!Number.isInteger(size) || size < 4) throw new Error(`buildImageCnn: size = ${size} must be an integer ≥ 4`);
  if (!Number.isInteger(numClasses) || numClasses < 2) throw new Error(`buildImageCnn: numClasses = ${numClasses} must be ≥ 2`);
  const init = (name: string) => tf.initializers.glorotUniform({ seed: deriveSeed(seed, `imageCnn/${name}`) });
  const model = tf.sequential({ name: 'imageCnn' });
  model.add(tf.layers.reshape({ inputShape: [size * size], targetShape: [1, size, size, 1] }));
  let side = size;
  const downsample = side > MAX_WORKING_SIZE ? 2 ** Math.ceil(Math.log2(side / MAX_WORKING_SIZE)) : 1;
  if (downsample > 1) {
    model.add(tf.layers.averagePooling3d({ poolSize: [1, downsample, downsample], strides: [1, downsample, downsample], name: 'downsample' }));
    side = Math.floor(side / downsample);
  }
  // Per filter count: conv 3×3 'same' + ReLU, then 2×2 max pooling.
  cfg.filters.forEach((filters, i) => {
    model.add(tf.layers.conv3d({
      filters,
      kernelSize: [1, 3, 3],
      padding: 'same',
      activation: 'relu',
      kernelInitializer: init(`conv${i}`),
      name: `conv2d_${i}`,
    }));
    // Pool only while the map can still be halved; tiny inputs keep their last pixels.
    if (side >= 2) {
      model.add(tf.layers.maxPooling3d({ poolSize: [1, 2, 2], strides: [1, 2, 2], name: `pool_${i}` }));
      side = Math.floor(side / 2);
    }
  });
  model.add(tf.layers.flatten());
  model.add(tf.layers.dense({ units: cfg.dense, activation: 'relu', kernelInitializer: init('embedding'), name: 'embedding' }));
  model.add(tf.layers.dense({ units: numClasses, kernelInitializer: init('logits'), name: 'logits' }));
  return model;
}

/**
 * The same weights with the 'embedding' layer (the penultimate features) as output. It shares the
 * layers of `model`: do not dispose it (tfjs would dispose the shared layers and break `model`);
 * disposing `model` frees both.
 */
export function embeddingModel(model: tf.LayersModel): tf.LayersModel {
  const embedding = model.getLayer('embedding');
  return tf.model({ inputs: model.inputs, outputs: embedding.output as tf.SymbolicTensor, name: `${model.name}_embedding` });
}
