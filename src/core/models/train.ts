/**
 * Supervised training of a logit model with softmax cross-entropy. A custom loop rather than
 * model.fit: fit shuffles with Math.random, which cannot be seeded, and the lab promises that a
 * seed fixes every number. Early stopping watches the validation loss and restores the weights of
 * its best epoch.
 */
import * as tf from '@tensorflow/tfjs';
import type { TrainConfig } from '../config';
import { createRandom, permutation, type RandomStream } from '../random';

export interface TrainHistory {
  /** Mean training cross-entropy per epoch (over the epoch's mini-batches, weighted by size). */
  loss: number[];
  /** Validation cross-entropy after each epoch (empty when there is no validation split). */
  valLoss: number[];
  valAccuracy: number[];
  /** 0-based epoch whose weights the model holds at the end. */
  bestEpoch: number;
  /** Epochs actually run (≤ cfg.epochs when early stopping fired). */
  epochs: number;
}

export interface TrainData {
  xTrain: tf.Tensor2D;
  yTrain: Int32Array;
  xVal: tf.Tensor2D;
  yVal: Int32Array;
}

/** Logits of x in batches of batchSize, concatenated: [N, C]. */
export function predictLogits(model: tf.LayersModel, x: tf.Tensor2D, batchSize = 256): tf.Tensor2D {
  const n = x.shape[0];
  return tf.tidy(() => {
    if (n <= batchSize) return model.predict(x) as tf.Tensor2D;
    const parts: tf.Tensor2D[] = [];
    for (let start = 0; start < n; start += batchSize) {
      parts.push(model.predict(tf.slice(x, [start, 0], [Math.min(batchSize, n - start), -1])) as tf.Tensor2D);
    }
    return tf.concat(parts, 0);
  });
}

function numClassesOf(model: tf.LayersModel): number {
  const shape = model.outputs[0].shape;
  const c = shape[shape.length - 1];
  if (c == null || c < 2) throw new Error(`trainClassifier: model output width ${c} is not a number of classes ≥ 2`);
  return c;
}

function abortError(): Error {
  const e = new Error('aborted');
  e.name = 'AbortError';
  return e;
}

/** [validation cross-entropy, validation accuracy] as a 2-vector on the device. */
function validationStats(model: tf.LayersModel, xVal: tf.Tensor2D, yValOneHot: tf.Tensor2D, yVal: tf.Tensor1D, batchSize: number): tf.Tensor1D {
  return tf.tidy(() => {
    const logits = predictLogits(model, xVal, batchSize);
    const ce = tf.losses.softmaxCrossEntropy(yValOneHot, logits);
    const accuracy = tf.mean(tf.cast(tf.equal(tf.argMax(logits, 1), yVal), 'float32'));
    return tf.stack([ce, accuracy]) as tf.Tensor1D;
  });
}

export async function trainClassifier(
  model: tf.LayersModel,
  data: TrainData,
  cfg: TrainConfig,
  seed: number,
  opts: {
    signal?: AbortSignal;
    onEpoch?: (epoch: number, h: TrainHistory) => void;
    /** Std of Gaussian noise added to each training input (data augmentation); 0 = none. */
    inputNoise?: number;
    /** Transforms each training mini-batch (data augmentation), drawing from the seeded stream
     * it is given; runs inside the gradient scope, on inputs only. */
    augment?: (xb: tf.Tensor2D, rng: RandomStream) => tf.Tensor2D;
  } = {},
): Promise<TrainHistory> {
  const { xTrain, yTrain, xVal, yVal } = data;
  const n = xTrain.shape[0];
  const nVal = xVal.shape[0];
  if (n === 0) throw new Error('trainClassifier: empty training set');
  if (yTrain.length !== n || yVal.length !== nVal) throw new Error('trainClassifier: features and labels differ in length');
  const numClasses = numClassesOf(model);
  const batchSize = Math.min(cfg.batchSize, n);
  const rng = createRandom(seed, 'classifier/shuffle');
  const noiseRng = createRandom(seed, 'classifier/input-noise');
  const augmentRng = createRandom(seed, 'classifier/augment');
  const inputNoise = opts.inputNoise ?? 0;
  const vars = model.trainableWeights.map((w) => w.read() as tf.Variable);
  const optimizer = tf.train.adam(cfg.learningRate);
  const yTrainOneHot = tf.tidy(() => tf.cast(tf.oneHot(tf.tensor1d(yTrain, 'int32'), numClasses), 'float32')) as tf.Tensor2D;
  const yValT = tf.tensor1d(yVal, 'int32');
  const yValOneHot = tf.tidy(() => tf.cast(tf.oneHot(yValT, numClasses), 'float32')) as tf.Tensor2D;
  const history: TrainHistory = { loss: [], valLoss: [], valAccuracy: [], bestEpoch: -1, epochs: 0 };
  // Copies of the best epoch's weights: clones share the variables' buffers until Adam assigns
  // new values, so keeping them costs no copy.
  let best: tf.Tensor[] | null = null;
  let bestLoss = Infinity;
  const disposeBest = () => {
    if (best) tf.dispose(best);
    best = null;
  };
  try {
    for (let epoch = 0; epoch < cfg.epochs; epoch++) {
      if (opts.signal?.aborted) throw abortError();
      const order = tf.tensor1d(permutation(n, rng), 'int32');
      let sum: tf.Scalar = tf.scalar(0);
      for (let start = 0; start < n; start += batchSize) {
        const size = Math.min(batchSize, n - start);
        const noiseSeed = inputNoise > 0 ? noiseRng.seed() : 0;
        const batchLoss = optimizer.minimize(() => {
          const idx = tf.slice(order, start, size);
          let xb = tf.gather(xTrain, idx) as tf.Tensor2D;
          if (opts.augment) xb = opts.augment(xb, augmentRng);
          if (inputNoise > 0) xb = tf.add(xb, tf.randomNormal(xb.shape, 0, inputNoise, 'float32', noiseSeed));
          const logits = model.apply(xb, { training: true }) as tf.Tensor2D;
          return tf.losses.softmaxCrossEntropy(tf.gather(yTrainOneHot, idx), logits) as tf.Scalar;
        }, true, vars) as tf.Scalar;
        const next = tf.tidy(() => tf.add(sum, tf.mul(batchLoss, size)) as tf.Scalar);
        tf.dispose([sum, batchLoss]);
        sum = next;
      }
      order.dispose();
      // One readback per epoch: [summed training loss, validation loss, validation accuracy].
      const stats = tf.tidy(() => (nVal > 0
        ? tf.concat([tf.reshape(sum, [1]), validationStats(model, xVal, yValOneHot, yValT, Math.max(batchSize, 256))])
        : tf.reshape(sum, [1])));
      sum.dispose();
      const values = await stats.data();
      stats.dispose();
      history.loss.push(values[0] / n);
      // Without a validation split the training loss is the monitored quantity.
      let monitored = values[0] / n;
      if (nVal > 0) {
        history.valLoss.push(values[1]);
        history.valAccuracy.push(values[2]);
        monitored = values[1];
      }
      history.epochs = epoch + 1;
      if (monitored < bestLoss) {
        bestLoss = monitored;
        history.bestEpoch = epoch;
        disposeBest();
        best = model.getWeights().map((w) => tf.clone(w));
      }
      opts.onEpoch?.(epoch, history);
      if (epoch - history.bestEpoch >= cfg.patience) break;
    }
    if (best) model.setWeights(best);
  } finally {
    disposeBest();
    optimizer.dispose();
    tf.dispose([yTrainOneHot, yValT, yValOneHot]);
  }
  return history;
}
