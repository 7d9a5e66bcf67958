import * as tf from '@tensorflow/tfjs';
import { describe, expect, it } from 'vitest';
import { defaultConfig, type ClassifierConfig } from '../../../src/core/config';
import { buildFeatureCnn } from '../../../src/core/models/featureCnn';
import { predictLogits, trainClassifier, type TrainHistory } from '../../../src/core/models/train';
import { createRandom } from '../../../src/core/random';
import { gradientErrors } from './gradientCheck';

/** Two Gaussian blobs in 10-D, means ±0.8·1, unit variance: Bayes accuracy Φ(0.8·√10) ≈ 0.994. */
function blobs(n: number, seed: number, randomLabels = false) {
  const rng = createRandom(seed, 'blobs');
  const x = new Float32Array(n * 10);
  const y = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    y[i] = i % 2;
    for (let j = 0; j < 10; j++) x[i * 10 + j] = (y[i] ? 0.8 : -0.8) + rng.normal();
    if (randomLabels) y[i] = rng.int(2);
  }
  return { x: tf.tensor2d(x, [n, 10]), y };
}

const cfg: ClassifierConfig = { ...defaultConfig().classifier, filters: [4, 8], kernelSize: 3, dense: 16, epochs: 12, batchSize: 32, learningRate: 3e-3, patience: 20 };

function valLossOf(model: tf.LayersModel, x: tf.Tensor2D, y: Int32Array): number {
  return tf.tidy(() => {
    const labels = tf.cast(tf.oneHot(tf.tensor1d(y, 'int32'), 2), 'float32');
    return tf.losses.softmaxCrossEntropy(labels, predictLogits(model, x, 64)).dataSync()[0];
  });
}

describe('buildFeatureCnn', () => {
  it('has the conv1d stack, the dense head and logits of the right widths', () => {
    const m = buildFeatureCnn(7, 3, cfg, 0);
    expect(m.inputs[0].shape).toEqual([null, 7]);
    expect(m.outputs[0].shape).toEqual([null, 3]);
    // Parameters: conv 3·1·4 + 4, conv 3·4·8 + 8, dense 7·8·16 + 16, logits 16·3 + 3.
    expect(m.countParams()).toBe(16 + 104 + 912 + 51);
    // The Dense kernel [k·1, 4] over the taps of [M, 1, 1] is conv1d with 'same' zero padding.
    const w = m.getLayer('conv1d_0').getWeights();
    expect(w[0].shape).toEqual([3, 4]);
    const kernel = w[0].dataSync();
    const bias = w[1].dataSync();
    const x = [0.3, -0.2, 0.5, 0.1, 0.9, -0.4, 0.2];
    const sub = tf.model({ inputs: m.inputs, outputs: m.getLayer('conv1d_0').output as tf.SymbolicTensor });
    const out = tf.tidy(() => (sub.predict(tf.tensor2d([x])) as tf.Tensor).dataSync()); // [1, 7, 1, 4]
    for (const pos of [0, 3, 6]) {
      for (let f = 0; f < 4; f++) {
        let acc = bias[f];
        for (let k = 0; k < 3; k++) {
          const p = pos + k - 1;
          if (p >= 0 && p < 7) acc += kernel[k * 4 + f] * x[p];
        }
        expect(out[pos * 4 + f]).toBeCloseTo(Math.max(0, acc), 5);
      }
    }
    m.dispose();
  });

  it('has correct gradients on this backend (finite differences)', () => {
    const m = buildFeatureCnn(6, 2, cfg, 8);
    const e = gradientErrors(m, 6);
    expect(e.input).toBeLessThan(0.02);
    expect(e.weights).toBeLessThan(0.02);
    m.dispose();
  });

  it('initializes from the seed', () => {
    const a = buildFeatureCnn(6, 2, cfg, 5).getWeights().map((t) => Array.from(t.dataSync()));
    const b = buildFeatureCnn(6, 2, cfg, 5).getWeights().map((t) => Array.from(t.dataSync()));
    const c = buildFeatureCnn(6, 2, cfg, 6).getWeights().map((t) => Array.from(t.dataSync()));
    expect(b).toEqual(a);
    expect(c[0]).not.toEqual(a[0]);
  });
});

describe('trainClassifier', () => {
  it('separates two blobs, deterministically, without leaking tensors', async () => {
    const train = blobs(400, 1);
    const val = blobs(200, 2);
    const data = { xTrain: train.x, yTrain: train.y, xVal: val.x, yVal: val.y };
    const run = async (seed: number) => {
      const model = buildFeatureCnn(10, 2, cfg, 3);
      const initial = model.getWeights().map((t) => Array.from(t.dataSync()));
      const before = tf.memory().numTensors;
      const seen: number[] = [];
      const h = await trainClassifier(model, data, cfg, seed, { onEpoch: (e, hist) => seen.push(e, hist.valLoss.length) });
      expect(tf.memory().numTensors).toBe(before);
      expect(seen).toEqual(Array.from({ length: 12 }, (_, e) => [e, e + 1]).flat());
      const weights = model.getWeights().map((t) => Array.from(t.dataSync()));
      expect(weights).not.toEqual(initial);
      model.dispose();
      return { h, weights };
    };
    const a = await run(9);
    expect(a.h.epochs).toBe(12);
    expect(a.h.valAccuracy[a.h.bestEpoch]).toBeGreaterThan(0.95);
    expect(a.h.loss[11]).toBeLessThan(a.h.loss[0]);
    const b = await run(9);
    expect(b.weights).toEqual(a.weights);
    expect(b.h).toEqual(a.h);
    const c = await run(10);
    expect(c.weights).not.toEqual(a.weights);
    tf.dispose([train.x, val.x]);
  });

  it('stops early when the validation loss stalls and restores the best epoch', async () => {
    // Validation labels unrelated to the features: the validation loss soon rises as training fits.
    const train = blobs(200, 3, true);
    const val = blobs(100, 4, true);
    const model = buildFeatureCnn(10, 2, cfg, 4);
    const stopCfg = { ...cfg, epochs: 200, patience: 3, learningRate: 1e-2 };
    const h: TrainHistory = await trainClassifier(model, { xTrain: train.x, yTrain: train.y, xVal: val.x, yVal: val.y }, stopCfg, 1);
    expect(h.epochs).toBeLessThan(200);
    const best = Math.min(...h.valLoss);
    expect(h.valLoss.indexOf(best)).toBe(h.bestEpoch);
    expect(h.epochs).toBe(h.bestEpoch + stopCfg.patience + 1);
    expect(h.valLoss.length).toBe(h.epochs);
    // The model holds the best epoch's weights, not the last epoch's.
    expect(h.valLoss[h.epochs - 1]).toBeGreaterThan(best);
    expect(valLossOf(model, val.x, val.y)).toBeCloseTo(best, 6);
    model.dispose();
    tf.dispose([train.x, val.x]);
  });

  it('stops on an aborted signal', async () => {
    const train = blobs(40, 5);
    const model = buildFeatureCnn(10, 2, cfg, 4);
    const ctrl = new AbortController();
    const before = tf.memory().numTensors;
    const run = trainClassifier(model, { xTrain: train.x, yTrain: train.y, xVal: train.x, yVal: train.y }, cfg, 1, {
      signal: ctrl.signal,
      onEpoch: (e) => e === 1 && ctrl.abort(),
    });
    await expect(run).rejects.toThrow(/aborted/);
    expect(tf.memory().numTensors).toBe(before);
    model.dispose();
    train.x.dispose();
  });
});

describe('predictLogits', () => {
  it('batches and concatenates in order', () => {
    const m = buildFeatureCnn(4, 2, cfg, 1);
    const x = tf.randomNormal([10, 4], 0, 1, 'float32', 1) as tf.Tensor2D;
    const before = tf.memory().numTensors;
    const whole = predictLogits(m, x, 100);
    const batched = predictLogits(m, x, 3);
    expect(batched.shape).toEqual([10, 2]);
    const w = whole.dataSync();
    batched.dataSync().forEach((v, i) => expect(v).toBeCloseTo(w[i], 6));
    tf.dispose([whole, batched]);
    expect(tf.memory().numTensors).toBe(before);
    tf.dispose(x);
    m.dispose();
  });
});
