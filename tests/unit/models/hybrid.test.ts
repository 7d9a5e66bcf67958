import * as tf from '@tensorflow/tfjs';
import { describe, expect, it } from 'vitest';
import { defaultConfig } from '../../../src/core/config';
import { buildHybridClassifier, hybridFeatures } from '../../../src/core/models/hybrid';
import { trainClassifier } from '../../../src/core/models/train';
import { createRandom } from '../../../src/core/random';

describe('hybridFeatures', () => {
  it('L2-normalizes the embedding rows and appends the NNMF features', () => {
    const before = tf.memory().numTensors;
    const emb = tf.tensor2d([[3, 4, 0], [0, 0, 0], [1, 1, 1]]);
    const nmf = tf.tensor2d([[0.1, 0.2], [0.3, 0.4], [0.5, 0.6]]);
    const h = hybridFeatures(emb, nmf);
    expect(h.shape).toEqual([3, 5]);
    const s = 1 / Math.sqrt(3);
    const expected = [0.6, 0.8, 0, 0.1, 0.2, 0, 0, 0, 0.3, 0.4, s, s, s, 0.5, 0.6];
    h.dataSync().forEach((v, i) => expect(v).toBeCloseTo(expected[i], 6));
    // A zero embedding row keeps a finite gradient.
    const g = tf.grad((e: tf.Tensor) => tf.sum(hybridFeatures(e as tf.Tensor2D, nmf)))(emb);
    expect(Array.from(g.dataSync()).every(Number.isFinite)).toBe(true);
    tf.dispose([emb, nmf, h, g]);
    expect(tf.memory().numTensors).toBe(before);
  });

  it('refuses mismatched row counts', () => {
    const a = tf.zeros([2, 3]) as tf.Tensor2D;
    const b = tf.zeros([3, 2]) as tf.Tensor2D;
    expect(() => hybridFeatures(a, b)).toThrow(/2 embeddings but 3/);
    tf.dispose([a, b]);
  });
});

describe('buildHybridClassifier', () => {
  it('learns three classes from hybrid features', async () => {
    // Three classes: embedding direction (4-D) plus two NNMF features, both informative.
    const rng = createRandom(2, 'hybrid');
    const make = (n: number) => {
      const emb = new Float32Array(n * 4);
      const nmf = new Float32Array(n * 2);
      const y = new Int32Array(n);
      for (let i = 0; i < n; i++) {
        y[i] = i % 3;
        for (let j = 0; j < 4; j++) emb[i * 4 + j] = (j === y[i] ? 3 : 0) + rng.normal();
        nmf[i * 2] = 0.3 * y[i] + 0.1 * rng.normal();
        nmf[i * 2 + 1] = 0.5 + 0.1 * rng.normal();
      }
      const e = tf.tensor2d(emb, [n, 4]);
      const f = tf.tensor2d(nmf, [n, 2]);
      const x = hybridFeatures(e, f);
      tf.dispose([e, f]);
      return { x, y };
    };
    const train = make(300);
    const val = make(150);
    const cfg = { ...defaultConfig().classifier, dense: 16, epochs: 15, batchSize: 32, learningRate: 1e-2 };
    const model = buildHybridClassifier(6, 3, cfg, 1);
    expect(model.outputs[0].shape).toEqual([null, 3]);
    const h = await trainClassifier(model, { xTrain: train.x, yTrain: train.y, xVal: val.x, yVal: val.y }, cfg, 2);
    expect(h.valAccuracy[h.bestEpoch]).toBeGreaterThan(0.95);
    model.dispose();
    tf.dispose([train.x, val.x]);
  });
});
