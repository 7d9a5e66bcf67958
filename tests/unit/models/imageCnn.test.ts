import * as tf from '@tensorflow/tfjs';
import { describe, expect, it } from 'vitest';
import { defaultConfig, type ImageCnnConfig } from '../../../src/core/config';
import { buildImageCnn, embeddingModel, pooledTrainingView, randomShifts } from '../../../src/core/models/imageCnn';
import { predictLogits, trainClassifier } from '../../../src/core/models/train';
import { createRandom } from '../../../src/core/random';
import { gradientErrors } from './gradientCheck';

const cfg: ImageCnnConfig = { ...defaultConfig().imageCnn, filters: [4, 8], dense: 16, epochs: 8, batchSize: 32, learningRate: 3e-3, patience: 8 };

/** 16×16 noisy images with a bright 4×4 square in the left (class 0) or right (class 1) half. */
function squares(n: number, seed: number) {
  const rng = createRandom(seed, 'squares');
  const x = new Float32Array(n * 256);
  const y = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    y[i] = i % 2;
    for (let p = 0; p < 256; p++) x[i * 256 + p] = 0.2 * rng.next();
    const top = rng.int(13);
    const left = (y[i] ? 8 : 0) + rng.int(5);
    for (let r = top; r < top + 4; r++) for (let c = left; c < left + 4; c++) x[i * 256 + r * 16 + c] = 0.8 + 0.2 * rng.next();
  }
  return { x: tf.tensor2d(x, [n, 256]), y };
}

describe('buildImageCnn', () => {
  it('learns left vs right squares; the embedding is the penultimate layer', async () => {
    const train = squares(256, 1);
    const val = squares(128, 2);
    const model = buildImageCnn(16, 2, cfg, 3);
    expect(model.inputs[0].shape).toEqual([null, 256]);
    expect(model.outputs[0].shape).toEqual([null, 2]);
    const h = await trainClassifier(model, { xTrain: train.x, yTrain: train.y, xVal: val.x, yVal: val.y }, cfg, 4);
    expect(h.valAccuracy[h.bestEpoch]).toBeGreaterThan(0.9);

    const emb = embeddingModel(model);
    expect(emb.outputs[0].shape).toEqual([null, 16]);
    // logits = relu-embedding · W + b with the logits layer's own weights: same weights, right layer.
    const [kernel, bias] = model.getLayer('logits').getWeights();
    const [fromEmbedding, direct] = tf.tidy(() => [
      tf.add(tf.matMul(emb.predict(val.x) as tf.Tensor2D, kernel as tf.Tensor2D), bias).dataSync(),
      predictLogits(model, val.x).dataSync(),
    ]);
    direct.forEach((v, i) => expect(fromEmbedding[i]).toBeCloseTo(v, 4));
    model.dispose();
    tf.dispose([train.x, val.x]);
  });

  it('has correct gradients on this backend (finite differences)', () => {
    const model = buildImageCnn(16, 3, cfg, 5);
    const e = gradientErrors(model, 256, 4);
    expect(e.input).toBeLessThan(0.02);
    expect(e.weights).toBeLessThan(0.02);
    model.dispose();
  });

  it('stays light at 128×128: pooled to 32 first', () => {
    const model = buildImageCnn(128, 2, { ...defaultConfig().imageCnn, filters: [8, 16], dense: 64 }, 0);
    expect(model.getLayer('downsample').outputShape).toEqual([null, 32, 32, 1]);
    // 'same' 3×3 convolutions: kernel [3, 3, C, F] + bias, the map's side unchanged.
    expect(model.getLayer('conv2d_0').outputShape).toEqual([null, 32, 32, 8]);
    expect(model.getLayer('conv2d_0').countParams()).toBe(9 * 1 * 8 + 8);
    expect(model.getLayer('conv2d_1').outputShape).toEqual([null, 16, 16, 16]);
    expect(model.getLayer('conv2d_1').countParams()).toBe(9 * 8 * 16 + 16);
    // 32 → 16 → 8 after two pools: flatten 8·8·16 = 1024 → 64 embedding units.
    expect(model.getLayer('embedding').countParams()).toBe(1024 * 64 + 64);
    const logits = tf.tidy(() => (model.predict(tf.zeros([2, 128 * 128])) as tf.Tensor).shape);
    expect(logits).toEqual([2, 2]);
    model.dispose();
  });

  it('trains through its pooled view: same logits, shared weights, nothing left behind', async () => {
    const before = tf.memory().numTensors;
    const model = buildImageCnn(64, 2, cfg, 6);
    const unpooled = buildImageCnn(16, 2, cfg, 6);
    expect(pooledTrainingView(unpooled)).toBeNull();
    unpooled.dispose();
    const view = pooledTrainingView(model)!;
    expect(view.model.inputs[0].shape).toEqual([null, 32 * 32]);
    // 64×64 images: a bright 8×8 square on the left (class 0) or right (class 1).
    const rng = createRandom(9, 'pooled');
    const n = 64;
    const pixels = new Float32Array(n * 64 * 64).map(() => 0.2 * rng.next());
    const y = new Int32Array(n).map((_, i) => i % 2);
    for (let i = 0; i < n; i++) for (let r = 20; r < 28; r++) for (let c = 0; c < 8; c++) pixels[i * 4096 + r * 64 + c + (y[i] ? 44 : 12)] = 0.9;
    const x = tf.tensor2d(pixels, [n, 4096]);
    const small = view.pool(x);
    const logitsOf = () => tf.tidy(() => [predictLogits(model, x).dataSync(), predictLogits(view.model, small).dataSync()]);
    const [fullBefore, pooledBefore] = logitsOf();
    expect(Array.from(pooledBefore)).toEqual(Array.from(fullBefore));
    await trainClassifier(view.model, { xTrain: small, yTrain: y, xVal: small, yVal: y }, { ...cfg, epochs: 3 }, 4);
    const [fullAfter, pooledAfter] = logitsOf();
    // Training the view moved the full model's weights: it is the same network.
    expect(Array.from(fullAfter)).not.toEqual(Array.from(fullBefore));
    expect(Array.from(pooledAfter)).toEqual(Array.from(fullAfter));
    view.model.dispose();
    const still = tf.tidy(() => predictLogits(model, x).dataSync());
    expect(Array.from(still)).toEqual(Array.from(fullAfter));
    model.dispose();
    tf.dispose([x, small]);
    expect(tf.memory().numTensors).toBe(before);
  });

  it('saves and reloads through tf.io with identical logits', async () => {
    const model = buildImageCnn(16, 2, cfg, 6);
    let saved: tf.io.ModelArtifacts | undefined;
    await model.save(tf.io.withSaveHandler(async (artifacts) => {
      saved = artifacts;
      return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } };
    }));
    expect(saved).toBeDefined();
    // Only built-in tfjs-layers classes: any tfjs host loads it without registering custom layers.
    const topology = saved?.modelTopology as { config: { layers: { class_name: string }[] } };
    const classes = new Set(topology.config.layers.map((l) => l.class_name));
    expect([...classes].sort()).toEqual(['Conv2D', 'Dense', 'Flatten', 'InputLayer', 'MaxPooling2D', 'Reshape']);
    const reloaded = await tf.loadLayersModel(tf.io.fromMemory(saved as tf.io.ModelArtifacts));
    const x = squares(5, 9).x;
    const [a, b] = tf.tidy(() => [predictLogits(model, x).dataSync(), predictLogits(reloaded, x).dataSync()]);
    expect(Array.from(b)).toEqual(Array.from(a));
    expect(embeddingModel(reloaded).outputs[0].shape).toEqual([null, 16]);
    tf.dispose(x);
    model.dispose();
    reloaded.dispose();
  });
});

describe('randomShifts', () => {
  it('moves each image by its own whole-pixel offset, filling with 0; shift 0 is the identity', () => {
    const before = tf.memory().numTensors;
    const x = tf.tensor2d([Array.from({ length: 16 }, (_, i) => i + 1), Array.from({ length: 16 }, (_, i) => i + 1)]);
    // Draws dx, dy per image as int(5) − 2: image 0 (dx, dy) = (1, 0), image 1 (−2, 2).
    const draws = [3, 2, 0, 4];
    let k = 0;
    const y = randomShifts(x, 4, 2, { int: (n: number) => { expect(n).toBe(5); return draws[k++]; } });
    expect(Array.from(y.dataSync())).toEqual([
      2, 3, 4, 0, 6, 7, 8, 0, 10, 11, 12, 0, 14, 15, 16, 0,
      0, 0, 9, 10, 0, 0, 13, 14, 0, 0, 0, 0, 0, 0, 0, 0,
    ]);
    expect(randomShifts(x, 4, 0, { int: () => 0 })).toBe(x);
    tf.dispose([x, y]);
    expect(tf.memory().numTensors).toBe(before);
  });
});
