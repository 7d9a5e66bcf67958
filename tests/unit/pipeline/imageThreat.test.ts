/**
 * The image threat model end to end: pixels in [0, 1] are perturbed and gradients flow through the
 * unrolled NNMF projection, the normalization, the selection, the purifier and the CNN.
 */
import * as tf from '@tensorflow/tfjs';
import { afterAll, describe, expect, it } from 'vitest';
import { Pipeline } from '../../../src/core/pipeline/run';
import { buildView } from '../../../src/core/pipeline/view';
import { pixelsToFeatures } from '../../../src/core/attacks/threat';
import { loadDataset } from '../../../src/cli/datasets';
import { smallMri } from './small';

const backend = { name: 'wasm' as const, reason: 'test' };

describe('image threat model on a small mri-demo', () => {
  const pipeline = new Pipeline(loadDataset, backend);
  afterAll(() => pipeline.dispose());

  it('attacks pixels within ε in [0, 1], breaks the baseline, and reports the threat model', async () => {
    const eps = 8 / 255;
    const config = smallMri({
      data: { imageSize: 32 }, nmf: { projectIter: 30 },
      attack: { threat: 'image', eps, limit: 8, iterations: 10, queries: 40, eot: 2, adaptive: { enabled: false } },
    });
    const r = await pipeline.run(config);
    const { baseline, defended } = r.robust!;
    const S = r.dataset.size;
    for (const s of [baseline, defended]) {
      expect(s.settings.threat).toBe('image');
      expect(s.inputSize).toBe(S * S);
      expect(s.adversarial).toHaveLength(8 * S * S);
      const clean = r.dataset.test.pixels;
      let worst = 0;
      for (let i = 0; i < s.adversarial.length; i++) {
        const v = s.adversarial[i];
        expect(v).toBeGreaterThanOrEqual(0);
        expect(v).toBeLessThanOrEqual(1);
        worst = Math.max(worst, Math.abs(v - clean[i]));
      }
      expect(worst).toBeLessThanOrEqual(eps + 1e-6);
      expect(s.maxPerturbation).toBeCloseTo(worst, 5);
    }
    // A few gray levels per pixel, through the whole feature map, move the undefended classifier.
    expect(baseline.robustAccuracy).toBeLessThan(baseline.cleanAccuracy);

    // The recorded outcome is the classifier's verdict on the features of the adversarial pixels.
    const fell = baseline.traces.filter((t) => t.status === 'fell').map((t) => t.index);
    const predicted = tf.tidy(() => {
      const adv = tf.tensor2d(baseline.adversarial, [8, S * S]);
      const f = pixelsToFeatures(adv, {
        W: r.nmf.W, projectIter: config.nmf.projectIter, loss: config.nmf.loss, selected: r.selection.selected, imageCnn: null, imageSize: S,
      });
      return tf.argMax(r.classifier.model.predict(f) as tf.Tensor2D, 1).arraySync() as number[];
    });
    for (const i of fell) expect(predicted[i]).not.toBe(r.dataset.test.labels[i]);

    const view = await buildView(r);
    expect(view.robust!.baseline.adversarialImages).toMatchObject({ size: S, count: 8 });
  });
});
