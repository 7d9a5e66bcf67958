/** `--dump`: the arrays DESIGN.md lists, so any outside tool can recompute every number. */
import * as tf from '@tensorflow/tfjs';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { PipelineResult } from '../core/pipeline/run';
import { SPLITS } from '../core/pipeline/stages';
import { writeNpy } from './npy';
import { saveLayersModel } from './modelFiles';

async function writeTensor(path: string, t: tf.Tensor): Promise<void> {
  await writeNpy(path, (await t.data()) as Float32Array, t.shape);
}

export async function dumpArrays(r: PipelineResult, dir: string): Promise<string[]> {
  await mkdir(dir, { recursive: true });
  const written: string[] = [];
  const put = async (name: string, write: (p: string) => Promise<void>) => {
    await write(join(dir, name));
    written.push(name);
  };
  const { dataset: d } = r;
  const pixels = d.size * d.size;
  // V_train is pixels × train images: the transpose of the row-per-image layout.
  const V = tf.tidy(() => tf.tensor2d(d.train.pixels, [d.train.count, pixels]).transpose());
  await put('V_train.npy', (p) => writeTensor(p, V));
  V.dispose();
  await put('W.npy', (p) => writeTensor(p, r.nmf.W));
  await put('H_train.npy', (p) => writeTensor(p, r.nmf.H));
  for (const s of SPLITS) {
    await put(`activations_${s}.npy`, (p) => writeTensor(p, r.activations[s]));
    await put(`labels_${s}.npy`, (p) => writeNpy(p, d[s].labels, [d[s].count]));
  }
  const C = d.classNames.length;
  const n = d.test.count;
  await put('probs_cleanBaseline.npy', (p) => writeNpy(p, r.evaluation.cleanBaseline.probs, [n, C]));
  await put('probs_cleanDefended.npy', (p) => writeNpy(p, r.evaluation.cleanDefended.probs, [n, C]));
  if (r.robust) {
    for (const [name, sc] of [['robustBaseline', r.robust.baseline], ['robustDefended', r.robust.defended]] as const) {
      const m = sc.traces.length;
      await put(`probs_${name}.npy`, (p) => writeNpy(p, sc.probs, [m, C]));
      await put(`adversarial_${name}.npy`, (p) => writeNpy(p, sc.adversarial, [m, sc.inputSize]));
    }
  }
  await put('selected.npy', (p) => writeNpy(p, Int32Array.from(r.selection.selected), [r.selection.selected.length]));
  return written;
}

/** The trained models in TF.js Layers format: DIR/models/<name>/model.json. */
export async function saveModels(r: PipelineResult, dir: string): Promise<string[]> {
  const models: [string, tf.LayersModel][] = [['classifier', r.classifier.model], ['denoiser', r.denoiser.model]];
  if (r.imageCnn) models.push(['imageCnn', r.imageCnn.model]);
  for (const [name, m] of models) await saveLayersModel(m, join(dir, name));
  return models.map(([n]) => `${n}/model.json`);
}
