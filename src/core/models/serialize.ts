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
