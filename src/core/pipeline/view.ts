/**
 * A run as plain data for a viewer (the browser lab): the report plus the arrays its charts and
 * per-image traces draw — basis images, class-mean activations, confusion matrices, the denoiser's
 * per-image errors, test images with their NNMF reconstructions, and for every attacked image its
 * features clean, adversarial, noised and purified. Typed arrays and numbers only: it crosses a
 * worker boundary by structured clone, and the viewer computes nothing.
 */
import * as tf from '@tensorflow/tfjs';
import { deriveSeed } from '../random';
import { noiseFeatures, reverseDiffusion } from '../diffusion/purify';
import { pixelsToFeatures, type FeatureMap } from '../attacks/threat';
import type { ImageTrace, RobustScenario } from './robust';
import { buildReport, type LabReport } from './report';
import type { PipelineResult } from './run';
import type { Dataset } from '../types';

/** n gray images of size×size, 0–255, row-major, image after image. */
export interface GrayImages {
  size: number;
  count: number;
  pixels: Uint8Array;
}

/** An attacked image of one robust scenario, with the classifier's input at every stage. */
export interface TraceView extends ImageTrace {
  /** Classifier inputs (features), each of length `featureDim`. */
  features: { clean: Float32Array; adversarial: Float32Array; noised: Float32Array; purified: Float32Array };
}

export interface RobustView {
  scenario: 'robustBaseline' | 'robustDefended';
  traces: TraceView[];
  /** Image threat model: the adversarial images, 0–255 (row i ↔ traces[i]); null for the feature threat. */
  adversarialImages: GrayImages | null;
}

export interface LabView {
  report: LabReport;
  classNames: string[];
  /** W's columns as images, each scaled to its own maximum. */
  basis: GrayImages;
  /** Mean L2-normalized training activation per component and class: rank × classes. */
  classMeans: number[][];
  /** Per scenario: counts[true][predicted] on its test images. */
  confusion: Record<string, number[][]>;
  /** Per test image at the chosen timestep: ‖x_t − x₀‖ and ‖x̂₀ − x₀‖. */
  denoiserErrors: { noised: Float32Array; denoised: Float32Array };
  /** Up to `samplesPerClass` training images of every class, class after class. */
  samples: GrayImages & { labels: Int32Array };
  test: GrayImages & { labels: Int32Array; names: string[] | null };
  /** W·h of every test image (h its normalized activations), each scaled to its maximum. */
  reconstructions: GrayImages;
  featureDim: number;
  robust: { baseline: RobustView; defended: RobustView } | null;
}

/** What a data panel shows before anything is trained. */
export interface DatasetSummary {
  name: string;
  classNames: string[];
  size: number;
  splitSource: Dataset['splitSource'];
  /** Images per class per split. */
  counts: Record<'train' | 'val' | 'test', number[]>;
  skipped: Dataset['skipped'];
  samples: GrayImages & { labels: Int32Array };
}

export interface ViewOptions {
  samplesPerClass?: number;
}

function toGray(values: Float32Array, size: number, count: number): GrayImages {
  const pixels = new Uint8Array(values.length);
  for (let i = 0; i < values.length; i++) pixels[i] = Math.round(255 * Math.min(1, Math.max(0, values[i])));
  return { size, count, pixels };
}

async function readAndDispose(t: tf.Tensor): Promise<Float32Array> {
  const v = (await t.data()) as Float32Array;
  t.dispose();
  return v;
}

/** Rows of an n × k tensor, each divided by its own maximum (zero rows stay zero). */
function scaleRowsToMax(x: tf.Tensor2D): tf.Tensor2D {
  return tf.tidy(() => tf.div(x, tf.maximum(tf.max(x, 1, true), 1e-12)) as tf.Tensor2D);
}

function confusionMatrix(probs: Float32Array, labels: Int32Array, numClasses: number): number[][] {
  const m = Array.from({ length: numClasses }, () => new Array<number>(numClasses).fill(0));
  const n = Math.min(labels.length, probs.length / numClasses);
  for (let i = 0; i < n; i++) {
    let best = 0;
    for (let c = 1; c < numClasses; c++) if (probs[i * numClasses + c] > probs[i * numClasses + best]) best = c;
    m[labels[i]][best] += 1;
  }
  return m;
}

function sampleIndices(labels: Int32Array, numClasses: number, perClass: number): number[] {
  const out: number[] = [];
  for (let c = 0; c < numClasses; c++) {
    let taken = 0;
    for (let i = 0; i < labels.length && taken < perClass; i++) {
      if (labels[i] === c) {
        out.push(i);
        taken++;
      }
    }
  }
  return out;
}

function featureMap(r: PipelineResult): FeatureMap {
  return {
    W: r.nmf.W, projectIter: r.config.nmf.projectIter, loss: r.config.nmf.loss, selected: r.selection.selected,
    imageCnn: r.classifier.kind === 'hybrid' ? r.imageCnn!.model : null, imageSize: r.dataset.size,
  };
}

function countPerClass(labels: Int32Array, numClasses: number): number[] {
  const out = new Array<number>(numClasses).fill(0);
  for (const l of labels) out[l] += 1;
  return out;
}

/** The first `perClass` training images of every class, class after class. */
function trainingSamples(ds: Dataset, perClass: number): DatasetSummary['samples'] {
  const picks = sampleIndices(ds.train.labels, ds.classNames.length, perClass);
  const px = ds.size * ds.size;
  const pixels = new Float32Array(picks.length * px);
  picks.forEach((i, k) => pixels.set(ds.train.pixels.subarray(i * px, (i + 1) * px), k * px));
  return { ...toGray(pixels, ds.size, picks.length), labels: Int32Array.from(picks, (i) => ds.train.labels[i]) };
}

export function summarizeDataset(ds: Dataset, samplesPerClass = 8): DatasetSummary {
  const numClasses = ds.classNames.length;
  return {
    name: ds.name, classNames: ds.classNames, size: ds.size, splitSource: ds.splitSource,
    counts: { train: countPerClass(ds.train.labels, numClasses), val: countPerClass(ds.val.labels, numClasses), test: countPerClass(ds.test.labels, numClasses) },
    skipped: ds.skipped,
    samples: trainingSamples(ds, samplesPerClass),
  };
}

async function robustView(r: PipelineResult, s: RobustScenario, name: RobustView['scenario']): Promise<RobustView> {
  const n = s.traces.length;
  const image = s.settings.threat === 'image';
  const { timestep, embedding, reverseSteps } = r.config.diffusion;
  const { model, schedule, prior } = r.denoiser;
  const seed = deriveSeed(r.config.seed, `view/${name}`) & 0x7fffffff;
  const [clean, adversarial, noised, purified] = tf.tidy(() => {
    const adv = tf.tensor2d(s.adversarial, [n, s.inputSize]);
    const fClean = tf.slice(r.classifier.inputs.test, [0, 0], [n, -1]) as tf.Tensor2D;
    const fAdv = image ? pixelsToFeatures(adv, featureMap(r)) : adv;
    // One purification draw of the adversarial features: what the defense sees on this image.
    const xt = noiseFeatures(fAdv, timestep, schedule, tf.randomNormal(fAdv.shape, 0, 1, 'float32', seed) as tf.Tensor2D);
    const x0 = reverseDiffusion(xt, timestep, model, schedule, embedding, prior, reverseSteps);
    return [fClean, fAdv, xt, x0];
  });
  const [c, a, nz, p] = await Promise.all([clean, adversarial, noised, purified].map(readAndDispose));
  const d = r.classifier.inputs.test.shape[1];
  const row = (v: Float32Array, i: number) => v.slice(i * d, (i + 1) * d);
  const traces = s.traces.map((t, i) => ({
    ...t, features: { clean: row(c, i), adversarial: row(a, i), noised: row(nz, i), purified: row(p, i) },
  }));
  return { scenario: name, traces, adversarialImages: image ? toGray(s.adversarial, r.dataset.size, n) : null };
}

export async function buildView(r: PipelineResult, opts: ViewOptions = {}): Promise<LabView> {
  const report = buildReport(r);
  const { dataset: ds, evaluation: e } = r;
  const numClasses = ds.classNames.length;
  const rank = r.config.nmf.rank;
  const size = ds.size;

  const [basisT, meansT, reconT] = tf.tidy(() => {
    const basis = scaleRowsToMax(tf.transpose(r.nmf.W) as tf.Tensor2D);
    const oneHot = tf.oneHot(tf.tensor1d(ds.train.labels, 'int32'), numClasses).toFloat();
    // rank × classes: Σ_i a_i ⊗ onehot_i / count per class.
    const sums = tf.matMul(r.activations.train, oneHot, true, false);
    const means = tf.div(sums, tf.maximum(tf.sum(oneHot, 0, true), 1));
    const recon = scaleRowsToMax(tf.matMul(r.activations.test, r.nmf.W, false, true) as tf.Tensor2D);
    return [basis, means, recon];
  });
  const [basisV, meansV, reconV] = await Promise.all([basisT, meansT, reconT].map(readAndDispose));
  const classMeans = Array.from({ length: rank }, (_, k) => Array.from(meansV.subarray(k * numClasses, (k + 1) * numClasses)));

  const labels = ds.test.labels;
  const confusion: Record<string, number[][]> = {
    cleanBaseline: confusionMatrix(e.cleanBaseline.probs, labels, numClasses),
    cleanDefended: confusionMatrix(e.cleanDefended.probs, labels, numClasses),
  };
  if (e.imageCnn) confusion.imageCnn = confusionMatrix(e.imageCnn.probs, labels, numClasses);
  if (r.robust) {
    confusion.robustBaseline = confusionMatrix(r.robust.baseline.probs, labels, numClasses);
    confusion.robustDefended = confusionMatrix(r.robust.defended.probs, labels, numClasses);
  }

  const robust = r.robust
    ? { baseline: await robustView(r, r.robust.baseline, 'robustBaseline'), defended: await robustView(r, r.robust.defended, 'robustDefended') }
    : null;

  return {
    report,
    classNames: ds.classNames,
    basis: toGray(basisV, size, rank),
    classMeans,
    confusion,
    denoiserErrors: { noised: e.quality.noisedError, denoised: e.quality.denoisedError },
    samples: trainingSamples(ds, opts.samplesPerClass ?? 8),
    test: { ...toGray(ds.test.pixels, size, ds.test.count), labels: ds.test.labels, names: ds.test.names ?? null },
    reconstructions: toGray(reconV, size, ds.test.count),
    featureDim: r.classifier.inputs.test.shape[1],
    robust,
  };
}
