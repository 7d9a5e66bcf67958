/**
 * A TF.js Layers model as the two files `model.save()` writes: the model.json (topology + weights
 * manifest) and one weights shard, in memory, so each host writes them its own way (Node: to
 * disk; browser: as downloads).
 */
import * as tf from '@tensorflow/tfjs';

export interface LayersModelFiles {
  modelJson: string;
  weights: ArrayBuffer;
  /** The shard's file name, as the manifest refers to it (next to model.json). */
  weightsFile: string;
}

function toArrayBuffer(data: tf.io.WeightData): ArrayBuffer {
  return data instanceof ArrayBuffer ? data : tf.io.CompositeArrayBuffer.join(data);
}

export async function layersModelFiles(model: tf.LayersModel, weightsFile = 'weights.bin'): Promise<LayersModelFiles> {
  let out: LayersModelFiles | null = null;
  await model.save(tf.io.withSaveHandler(async (artifacts) => {
    const modelJson: tf.io.ModelJSON = {
      modelTopology: artifacts.modelTopology as object,
      format: artifacts.format ?? 'layers-model',
      generatedBy: artifacts.generatedBy ?? `TensorFlow.js tfjs-layers v${tf.version_layers}`,
      convertedBy: artifacts.convertedBy ?? null,
      weightsManifest: [{ paths: [`./${weightsFile}`], weights: artifacts.weightSpecs ?? [] }],
    };
    if (artifacts.trainingConfig) modelJson.trainingConfig = artifacts.trainingConfig;
    if (artifacts.userDefinedMetadata) modelJson.userDefinedMetadata = artifacts.userDefinedMetadata;
    out = {
      modelJson: JSON.stringify(modelJson),
      weights: artifacts.weightData ? toArrayBuffer(artifacts.weightData) : new ArrayBuffer(0),
      weightsFile,
    };
    return { modelArtifactsInfo: tf.io.getModelArtifactsInfoForJSON(artifacts) };
  }));
  if (!out) throw new Error('layersModelFiles: the model did not save');
  return out;
}

/** The inverse of layersModelFiles: a model from its model.json and single weights shard, checked
 * so that a crafted or truncated file is an error rather than a model with garbage weights. */
export async function modelFromFiles(files: LayersModelFiles): Promise<tf.LayersModel> {
  let json: tf.io.ModelJSON;
  try {
    json = JSON.parse(files.modelJson) as tf.io.ModelJSON;
  } catch {
    throw new Error('model.json is not JSON');
  }
  if (!json || typeof json.modelTopology !== 'object' || !Array.isArray(json.weightsManifest)) {
    throw new Error('model.json lacks modelTopology or weightsManifest');
  }
  const specs = json.weightsManifest.flatMap((g) => g.weights ?? []);
  const bytesPer: Record<string, number> = { float32: 4, int32: 4, bool: 1 };
  let expected = 0;
  for (const w of specs) {
    if (!Array.isArray(w.shape) || !w.shape.every((d) => Number.isInteger(d) && d >= 0) || !(w.dtype in bytesPer) || w.quantization) {
      throw new Error(`weight ${String(w.name)}: unsupported shape or dtype`);
    }
    expected += w.shape.reduce((a, b) => a * b, 1) * bytesPer[w.dtype];
  }
  if (expected !== files.weights.byteLength) {
    throw new Error(`weights hold ${files.weights.byteLength} bytes, the manifest describes ${expected}`);
  }
  return tf.loadLayersModel(tf.io.fromMemory({ modelTopology: json.modelTopology, weightSpecs: specs, weightData: files.weights }));
}
