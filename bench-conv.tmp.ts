import * as tf from '@tensorflow/tfjs';
import { initBackend } from './src/core/backend';
import { nodeWasmPaths } from './src/cli/wasmPaths';
import { defaultConfig } from './src/core/config';
import { buildImageCnn } from './src/core/models/imageCnn';
import { buildFeatureCnn } from './src/core/models/featureCnn';
import { trainClassifier } from './src/core/models/train';

async function bench(name: string, model: tf.LayersModel, n: number, dim: number, classes: number, cfg: any) {
  const xTrain = tf.randomUniform([n, dim], 0, 1, 'float32', 1) as tf.Tensor2D;
  const xVal = tf.randomUniform([64, dim], 0, 1, 'float32', 2) as tf.Tensor2D;
  const yTrain = Int32Array.from({ length: n }, (_, i) => i % classes);
  const yVal = Int32Array.from({ length: 64 }, (_, i) => i % classes);
  const times: number[] = [];
  let t = performance.now();
  await trainClassifier(model, { xTrain, yTrain, xVal, yVal }, { ...cfg, epochs: 3, patience: 100 }, 0, {
    onEpoch: () => { const now = performance.now(); times.push((now - t) / 1000); t = now; },
  });
  console.log(name, 'params', model.countParams(), 'epoch s', times.map((x) => x.toFixed(2)).join(' '));
  model.dispose(); tf.dispose([xTrain, xVal]);
}

await initBackend('wasm', { wasmPaths: nodeWasmPaths() });
const c = defaultConfig();
const which = process.argv[2] ?? 'all';
const imgCfg = { ...c.imageCnn, ...(process.argv[3] ? JSON.parse(process.argv[3]) : {}) };
if (which === 'all' || which === 'mri') await bench('image 128 (1540)', buildImageCnn(128, 2, imgCfg, 0), 1540, 128 * 128, 2, imgCfg);
if (which === 'all' || which === 'digits') await bench('image 28 (7000)', buildImageCnn(28, 10, imgCfg, 0), 7000, 28 * 28, 10, imgCfg);
if (which === 'all' || which === 'feat') {
  const fc = c.classifier;
  const m = buildFeatureCnn(15, 2, fc, 0);
  await bench('feature 15 (1540)', m, 1540, 15, 2, fc);
}
