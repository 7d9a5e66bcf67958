/**
 * The image-space baseline: a small CNN on the pixels, and (seed 003) the source of the deep
 * embedding of the hybrid classifier. Input is flat pixels [S·S] so that every model of the lab
 * takes 2-D batches; output is logits.
 *
 * The convolutions are tf.layers.conv2d: on tfjs-backend-wasm, which lacks the filter gradient,
 * the backend set-up registers one (wasmConvFilter.ts); measured there, a training step of this
 * CNN on 64 MRI images takes 48 ms, against 233 ms for the earlier im2col + Dense form, whose
 * slices and concatenations dominated. WASM's own MaxPoolGrad (tfjs 4.22) routes the gradient
 * wrongly when a pooling window holds only negative values; the backend set-up replaces it
 * (wasmMaxPoolGrad.ts), so a max pool need not follow a ReLU, though here each does.
 */
import * as tf from '@tensorflow/tfjs';
import type { ImageCnnConfig } from '../config';
import { deriveSeed } from '../random';

/** Working resolution above which the image is average-pooled first (128 → 32 for the MRI data):
 * the convolutions' cost grows with the pixel count, and 32×32 keeps an epoch on 1,540 MRI images
 * at a few seconds on WASM. */
const MAX_WORKING_SIZE = 32;

export function buildImageCnn(size: number, numClasses: number, cfg: ImageCnnConfig, seed: number): tf.LayersModel {
  if (!Number.isInteger(size) || size < 4) throw new Error(`buildImageCnn: size = ${size} must be an integer ≥ 4`);
  if (!Number.isInteger(numClasses) || numClasses < 2) throw new Error(`buildImageCnn: numClasses = ${numClasses} must be ≥ 2`);
  const init = (name: string) => tf.initializers.glorotUniform({ seed: deriveSeed(seed, `imageCnn/${name}`) });
  const input = tf.input({ shape: [size * size], name: 'pixels' });
  let x = tf.layers.reshape({ targetShape: [size, size, 1], name: 'image' }).apply(input) as tf.SymbolicTensor;
  let side = size;
  const downsample = side > MAX_WORKING_SIZE ? 2 ** Math.ceil(Math.log2(side / MAX_WORKING_SIZE)) : 1;
  if (downsample > 1) {
    x = tf.layers.averagePooling2d({ poolSize: downsample, strides: downsample, name: 'downsample' }).apply(x) as tf.SymbolicTensor;
    side = Math.floor(side / downsample);
  }
  // Per filter count: conv 3×3 'same' + ReLU, then 2×2 max pooling.
  cfg.filters.forEach((filters, i) => {
    x = tf.layers.conv2d({
      filters, kernelSize: 3, padding: 'same', activation: 'relu', kernelInitializer: init(`conv${i}`), name: `conv2d_${i}`,
    }).apply(x) as tf.SymbolicTensor;
    // Pool only while the map can still be halved; tiny inputs keep their last pixels.
    if (side >= 2) {
      x = tf.layers.maxPooling2d({ poolSize: 2, strides: 2, name: `pool_${i}` }).apply(x) as tf.SymbolicTensor;
      side = Math.floor(side / 2);
    }
  });
  x = tf.layers.flatten({ name: 'flatten' }).apply(x) as tf.SymbolicTensor;
  x = tf.layers.dense({ units: cfg.dense, activation: 'relu', kernelInitializer: init('embedding'), name: 'embedding' }).apply(x) as tf.SymbolicTensor;
  const logits = tf.layers.dense({ units: numClasses, kernelInitializer: init('logits'), name: 'logits' }).apply(x) as tf.SymbolicTensor;
  return tf.model({ inputs: input, outputs: logits, name: 'imageCnn' });
}

/**
 * For training: the layers after the input average pooling as a model of their own (sharing the
 * weights of `model`), and the pooling as a function, so the training set is pooled once rather
 * than gathered at full resolution and pooled again in every step. On WASM, gathering a batch of
 * 64 rows of 128² pixels took 36 ms of a 89 ms step, and the backward pass copied the whole
 * training matrix once more. The pooled values are the ones the model's own pooling layer computes,
 * so training on them is the same optimization. Null when the model does not downsample. Unlike
 * `embeddingModel`'s, this model applies the layers anew, which counts a reference on each: dispose
 * it when training is done (that drops the references; `model` keeps its weights).
 */
export function pooledTrainingView(model: tf.LayersModel): { model: tf.LayersModel; pool: (x: tf.Tensor2D) => tf.Tensor2D } | null {
  const downsample = model.layers.find((l) => l.name === 'downsample');
  if (!downsample) return null;
  const [, side, , ] = downsample.outputShape as number[];
  const [, size] = model.inputs[0].shape as number[];
  const full = Math.round(Math.sqrt(size));
  const factor = full / side;
  const input = tf.input({ shape: [side * side], name: 'pooledPixels' });
  let x = tf.layers.reshape({ targetShape: [side, side, 1], name: 'pooledImage' }).apply(input) as tf.SymbolicTensor;
  for (const layer of model.layers.slice(model.layers.indexOf(downsample) + 1)) x = layer.apply(x) as tf.SymbolicTensor;
  return {
    model: tf.model({ inputs: input, outputs: x, name: `${model.name}_pooled` }),
    pool: (pixels) => tf.tidy(() => {
      const images = tf.reshape(pixels, [pixels.shape[0], full, full, 1]) as tf.Tensor4D;
      return tf.reshape(tf.avgPool(images, factor, factor, 'valid'), [pixels.shape[0], side * side]) as tf.Tensor2D;
    }),
  };
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

/**
 * Training augmentation: shifts each flat S×S image of the batch by its own whole-pixel offset
 * (dx, dy) ∈ [−maxShift, maxShift]² drawn from `rng`, filling the uncovered border with 0
 * (the background). Handwriting is not centred exactly; the shifted copies teach the CNN that.
 */
export function randomShifts(xb: tf.Tensor2D, size: number, maxShift: number, rng: { int(n: number): number }): tf.Tensor2D {
  const n = xb.shape[0];
  if (maxShift <= 0 || n === 0) return xb;
  const transforms = new Float32Array(n * 8);
  for (let i = 0; i < n; i++) {
    // Output pixel (x, y) reads input (x + dx, y + dy).
    transforms.set([1, 0, rng.int(2 * maxShift + 1) - maxShift, 0, 1, rng.int(2 * maxShift + 1) - maxShift, 0, 0], i * 8);
  }
  return tf.tidy(() => {
    const images = tf.reshape(xb, [n, size, size, 1]) as tf.Tensor4D;
    const moved = tf.image.transform(images, tf.tensor2d(transforms, [n, 8]), 'nearest', 'constant', 0);
    return tf.reshape(moved, [n, size * size]) as tf.Tensor2D;
  });
}
