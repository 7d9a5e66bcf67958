/**
 * The pipeline runner: runs the stages in order, each behind the stage cache, with timings,
 * progress and cancellation. Hosts (CLI, worker, tests) inject how data is loaded.
 */
import * as tf from '@tensorflow/tfjs';
import type { DataConfig, LabConfig } from '../config';
import { validateConfig } from '../config';
import { deriveSeed } from '../random';
import type { BackendInfo } from '../backend';
import type { ComponentStats, Dataset, ProgressFn } from '../types';
import type { TrainHistory } from '../models/train';
import { predictLogits } from '../models/train';
import { StageCache, hashKey } from './cache';
import { stageProgress, throwIfAborted, type ProgressListener, type StageName } from './progress';
import {
  SPLITS, classifierInputs, classifyStage, denoiserStage, imageCnnStage, imageMatrix, nmfStage, projectStage, selectStage,
  type ClassifierOutput, type DenoiserOutput, type NmfOutput, type Splits,
} from './stages';
import { evaluateClean, type CleanEvaluation } from './evaluate';
import { attackedPoints, robustBaseline, robustDefended, type RobustScenario } from './robust';

export type DataLoader = (data: DataConfig, seed: number, progress: ProgressFn, signal?: AbortSignal) => Promise<Dataset>;

export interface RunOptions {
  signal?: AbortSignal;
  onProgress?: ProgressListener;
  /** Called once the clean scenarios are evaluated and before any attack runs (with `robust`
   * null), so a host can show clean numbers while the attacks take their time. */
  onClean?: (partial: PipelineResult) => void | Promise<void>;
}

/**
 * One run's outputs. Its tensors and models belong to the pipeline's cache: they stay valid until a
 * later run recomputes their stage, or until dispose(); copy what must outlive that.
 */
export interface PipelineResult {
  config: LabConfig;
  backend: BackendInfo;
  dataset: Dataset;
  nmf: NmfOutput;
  /** L2-normalized activations, images × rank, before selection. */
  activations: Splits<tf.Tensor2D>;
  selection: { stats: ComponentStats[]; selected: number[] };
  imageCnn: { model: tf.LayersModel; history: TrainHistory } | null;
  classifier: ClassifierOutput;
  denoiser: DenoiserOutput;
  evaluation: CleanEvaluation;
  /** The robust scenarios; absent when attack.enabled is off. */
  robust: { baseline: RobustScenario; defended: RobustScenario } | null;
  /** Seconds spent computing each stage in this run (0 when reused). */
  timings: Partial<Record<StageName, number>>;
  /** Stages whose output came from the cache. */
  reused: StageName[];
}

function disposeSplits(s: Splits<tf.Tensor2D>): void {
  for (const k of SPLITS) s[k].dispose();
}

export class Pipeline {
  readonly cache = new StageCache();

  constructor(private readonly loadData: DataLoader, private readonly backend: BackendInfo) {}

  /**
   * The load stage alone (through the cache, so a later run with the same data and seed reuses it):
   * lets a host show a data set's counts, samples and skipped files before anything is trained.
   */
  async load(config: LabConfig, opts: RunOptions = {}): Promise<Dataset> {
    validateConfig(config);
    const key = hashKey({ data: config.data, seed: config.seed });
    const hit = this.cache.get<Dataset>('load', key);
    if (hit !== undefined) return hit;
    throwIfAborted(opts.signal);
    this.cache.evict('load');
    const seed = deriveSeed(config.seed, 'load') & 0x7fffffff;
    const dataset = await this.loadData(config.data, seed, stageProgress('load', opts.onProgress), opts.signal);
    return this.cache.set('load', key, dataset);
  }

  async run(config: LabConfig, opts: RunOptions = {}): Promise<PipelineResult> {
    validateConfig(config);
    const { signal, onProgress } = opts;
    const timings: Partial<Record<StageName, number>> = {};
    const reused: StageName[] = [];
    const seedFor = (stage: string) => deriveSeed(config.seed, stage) & 0x7fffffff;

    const stage = async <T>(name: StageName, key: string, compute: (progress: ProgressFn) => Promise<T>, dispose?: (v: T) => void): Promise<T> => {
      throwIfAborted(signal);
      const hit = this.cache.get<T>(name, key);
      if (hit !== undefined) {
        reused.push(name);
        timings[name] = 0;
        return hit;
      }
      // A stage about to be recomputed frees its old output first (bounded memory).
      this.cache.evict(name);
      const t0 = performance.now();
      const value = await compute(stageProgress(name, onProgress));
      timings[name] = (performance.now() - t0) / 1000;
      return this.cache.set(name, key, value, dispose);
    };

    const loadKey = hashKey({ data: config.data, seed: config.seed });
    const dataset = await stage('load', loadKey, (p) => this.loadData(config.data, seedFor('load'), p, signal));
    const numClasses = dataset.classNames.length;
    const ctx = (progress: ProgressFn) => ({ signal, progress });

    const { rank, loss, init, maxIter, tol, projectIter } = config.nmf;
    const nmfKey = hashKey({ loadKey, rank, loss, init, maxIter, tol });
    const nmf = await stage('nmf', nmfKey, (p) => nmfStage(dataset, config.nmf, seedFor('nmf'), ctx(p)), (v) => {
      v.W.dispose();
      v.H.dispose();
    });

    const projectKey = hashKey({ nmfKey, projectIter });
    const activations = await stage('project', projectKey, (p) => projectStage(dataset, nmf, config.nmf, ctx(p)), disposeSplits);

    const selectKey = hashKey({ projectKey, select: config.select });
    const selection = await stage('select', selectKey, async () => selectStage(activations.train, dataset.train.labels, numClasses, config.select));

    const kind = config.classifier.features === 'auto' ? (numClasses > 2 ? 'hybrid' : 'nmf') : config.classifier.features;
    const wantImageCnn = config.imageCnn.enabled || kind === 'hybrid';
    const imageCnnKey = hashKey({ loadKey, imageCnn: config.imageCnn });
    const imageCnn = wantImageCnn
      ? await stage('imageCnn', imageCnnKey, (p) => imageCnnStage(dataset, config.imageCnn, seedFor('imageCnn'), ctx(p)), (v) => v.model.dispose())
      : null;
    if (!imageCnn) this.cache.evict('imageCnn');

    // The classifier's inputs are a stage of their own: the classifier, the denoiser and the attacks
    // all read them, and none of those owns them.
    const featuresKey = hashKey({ selectKey, kind, imageCnnKey: kind === 'hybrid' ? imageCnnKey : null });
    const inputs = await stage('features', featuresKey, async (p) => {
      const v = classifierInputs(activations, selection.selected, dataset, kind === 'hybrid' ? imageCnn!.model : null);
      p(1, 1);
      return v;
    }, disposeSplits);

    const { timestep, eot, reverseSteps, ...training } = config.diffusion;
    const denoiserKey = hashKey({ featuresKey, training });
    const denoiser = await stage('denoiser', denoiserKey, (p) => denoiserStage(inputs.train, config.diffusion, seedFor('denoiser'), ctx(p)), (v) => v.model.dispose());

    const classifyKey = hashKey({ featuresKey, classifier: config.classifier });
    const classifier = await stage('classify', classifyKey, (p) => classifyStage(inputs, kind, dataset, config.classifier, seedFor('classify'), ctx(p)),
      (v) => v.model.dispose());

    const evaluateKey = hashKey({ classifyKey, denoiserKey, imageCnnKey: imageCnn ? imageCnnKey : null, timestep, eot, reverseSteps });
    const evaluation = await stage('evaluate', evaluateKey, async (p) => {
      const imageProbs = imageCnn
        ? () => tf.tidy(() => tf.softmax(predictLogits(imageCnn.model, imageMatrix(dataset.test, dataset.size))) as tf.Tensor2D)
        : undefined;
      const r = await evaluateClean(classifier, denoiser, dataset.test.labels, numClasses, config.diffusion, seedFor('evaluate'), imageProbs);
      p(1, 1);
      return r;
    });

    let robust: PipelineResult['robust'] = null;
    if (config.attack.enabled && opts.onClean) {
      await opts.onClean({ config, backend: this.backend, dataset, nmf, activations, selection, imageCnn, classifier, denoiser, evaluation, robust, timings: { ...timings }, reused: [...reused] });
    }
    if (config.attack.enabled) {
      const a = config.attack;
      const points = attackedPoints(dataset.test.count, a.limit);
      const testX = a.threat === 'feature' ? inputs.test : imageMatrix(dataset.test, dataset.size);
      const x = tf.tidy(() => tf.slice(testX, [0, 0], [points, -1]) as tf.Tensor2D);
      if (testX !== inputs.test) testX.dispose();
      const features = a.threat === 'image'
        ? { W: nmf.W, projectIter, loss, selected: selection.selected, imageCnn: kind === 'hybrid' ? imageCnn!.model : null, imageSize: dataset.size }
        : undefined;
      const robustCtx = (name: string) => (p: ProgressFn) => ({
        threat: a.threat, classifier: classifier.model, numClasses, x, y: dataset.test.labels.slice(0, points), features,
        seed: seedFor(name), signal, progress: p,
      });
      const { enabled: _enabled, ...attackKeyed } = a;
      try {
        const baselineKey = hashKey({ classifyKey, projectKey, attack: attackKeyed });
        const baseline = await stage('attackBaseline', baselineKey, (p) => robustBaseline(robustCtx('attackBaseline')(p), a));
        const defendedKey = hashKey({ baselineKey, denoiserKey, timestep, eot, reverseSteps });
        const purifier = {
          model: denoiser.model, schedule: denoiser.schedule,
          options: { timestep, embeddingDim: config.diffusion.embedding, prior: denoiser.prior, reverseSteps },
        };
        const defended = await stage('attackDefended', defendedKey, (p) => robustDefended(robustCtx('attackDefended')(p), a, { purifier, deployedDraws: eot }));
        robust = { baseline, defended };
      } finally {
        x.dispose();
      }
    } else {
      this.cache.evict('attackBaseline');
      this.cache.evict('attackDefended');
    }

    return { config, backend: this.backend, dataset, nmf, activations, selection, imageCnn, classifier, denoiser, evaluation, robust, timings, reused };
  }

  /** Frees every cached tensor and model. */
  dispose(): void {
    this.cache.clear();
  }
}
