/**
 * TF.js Layers models on disk in the format `model.save('file://…')` writes with tfjs-node:
 * DIR/model.json (topology + weights manifest) and DIR/weights.bin. The browser build of tfjs
 * has no file:// handler, so the CLI writes and reads that layout itself.
 */
import * as tf from '@tensorflow/tfjs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { layersModelFiles } from '../core/models/serialize';

export async function saveLayersModel(model: tf.LayersModel, dir: string): Promise<void> {
  await mkdir(dir, { recursive: true });
  const files = await layersModelFiles(model);
  await writeFile(join(dir, 'model.json'), files.modelJson);
  await writeFile(join(dir, files.weightsFile), new Uint8Array(files.weights));
}

/** Loads DIR/model.json (any TF.js Layers model, e.g. one a user saved) with its weight shards. */
export async function loadLayersModel(modelJsonPath: string): Promise<tf.LayersModel> {
  const path = resolve(modelJsonPath);
  let modelJson: tf.io.ModelJSON;
  try {
    modelJson = JSON.parse(await readFile(path, 'utf8')) as tf.io.ModelJSON;
  } catch (err) {
    throw new Error(`${modelJsonPath}: not a readable TF.js model.json (${(err as Error).message})`);
  }
  if (!modelJson.modelTopology || !Array.isArray(modelJson.weightsManifest)) {
    throw new Error(`${modelJsonPath}: missing modelTopology or weightsManifest; expected a TF.js Layers model.json`);
  }
  const base = dirname(path);
  const artifacts = await tf.io.getModelArtifactsForJSON(modelJson, async (manifest) => {
    const specs: tf.io.WeightsManifestEntry[] = [];
    const buffers: ArrayBuffer[] = [];
    for (const group of manifest) {
      for (const p of group.paths) {
        const bytes = await readFile(join(base, p));
        buffers.push(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer);
      }
      specs.push(...group.weights);
    }
    return [specs, tf.io.concatenateArrayBuffers(buffers)];
  });
  return tf.loadLayersModel(tf.io.fromMemory(artifacts));
}
