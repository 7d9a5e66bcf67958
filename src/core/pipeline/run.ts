/**
 * The pipeline runner: runs the stages in order, each behind the stage cache, with timings,
 * progress and cancellation. Hosts (CLI, worker, tests) inject how data is loaded.
 */
import * as tf from '@tensorflow/tfjs';
import type { DataConfig, LabConfig } from '../config';
import { checkConfigForDataset, validateConfig } from '../config';
import { deriveSeed } from '../random';
import type { BackendInfo } from '../backend';
import type { ComponentStats, Dataset, ProgressFn } from '../types';
import type { TrainHistory } from '../models/train';
import { predictLogits } from '../models/train';
import { StageCache, hashKey } from './cache';
import { codecs, type StageCodec, type StageStore } from './stageStore';
import { layersModelFiles } from '../models/serialize';
import { stageProgress, throwIfAborted, type ProgressListener, type StageName } from './progress';
import {
  SPLITS, classifierInputs, classifyStage, denoiserStage, imageCnnStage, imageMatrix, nmfStage, projectSplit, projectStage, selectStage,
  type ClassifierOutput, type DenoiserOutput, type NmfOutput, type Splits,
} from './stages';
import { evaluateClean, type CleanEvaluation } from './evaluate';
import { attackedPoints, robustBaseline, robustDefended, type RobustScenario } from './robust';
import type { KlShareBlocks } from '../nmf/klShare';
import { storedMatrix, type BesideJob, type BesideResult, type BesideRunner, type StoredMatrix as BesideMatrix } from './beside';

export type DataLoader = (data: DataConfig, seed: number, progress: ProgressFn, signal?: AbortSignal) => Promise<Dataset>;

export interface RunOptions {
  signal?: AbortSignal;
  onProgress?: ProgressListener;
  /** Called once the clean scenarios are evaluated and before any attack runs (with `robust`
   * null), so a host can show clean numbers while the attacks take their time. */
  onClean?: (partial: PipelineResult) => void | Promise<void>;
  /** Called as each stage's output is ready (computed, reused or restored), in order. */
  onStageDone?: (stage: StageName, source: 'computed' | 'cache' | 'store') => void;
}

export interface PipelineOptions {
  /** Where finished stage outputs are kept beyond this pipeline's memory (IndexedDB in the browser). */
  store?: StageStore;
  /** What identifies the data behind a config beyond its name, e.g. a dropped folder's file list,
   * so stored stages of another folder under the same name are never taken for this one's. */
  fingerprint?: (data: DataConfig) => string | undefined;
  /** A stored stage could not be written or read back; the run goes on without it. */
  onStoreError?: (stage: StageName, err: unknown) => void;
  /** Waits for the device to finish the work queued so far. A GPU backend returns a stage's
   * tensors before computing them; without this, a stage's time is billed to the next stage that
   * reads a value back (on WebGPU the projection showed up as selection). */
  settle?: () => Promise<void>;
  /** A second thread for the stages that can run beside the main line (which ones: beside.ts).
   * Without it every stage runs here. */
  beside?: BesideRunner;
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
  /** Stages whose output came from the cache (memory or store). */
  reused: StageName[];
  /** Of those, the stages read back from the stage store. */
  restored: StageName[];
  /** Stages computed on the second thread, beside the main line: their `timings` are their own
   * thread's seconds, which overlap the main line's. */
  beside: StageName[];
}

/**
 * Two stages in pipeline order, `first` then `second`; when `first` runs on the second thread,
 * `second` runs first so that this thread works meanwhile, and `first` is then only awaited.
 */
async function pairInOrder<A, B>(firstBeside: unknown, first: () => Promise<A>, second: () => Promise<B>): Promise<[A, B]> {
  if (!firstBeside) {
    const a = await first();
    return [a, await second()];
  }
  const b = await second();
  return [await first(), b];
}

function disposeSplits(s: Splits<tf.Tensor2D>): void {
  for (const k of SPLITS) s[k].dispose();
}

export class Pipeline {
  readonly cache = new StageCache();

  constructor(private readonly loadData: DataLoader, private readonly backend: BackendInfo, private readonly options: PipelineOptions = {}) {}

  private running = false;

  private loadKey(config: LabConfig): string {
    const fingerprint = this.options.fingerprint?.(config.data);
    return hashKey({ data: config.data, seed: config.seed, ...(fingerprint === undefined ? {} : { fingerprint }) });
  }

  /** Stored outputs are per backend: a report that names a backend was computed on it. */
  private storeKey(key: string): string {
    return `${this.backend.name}:${key}`;
  }

  private async fromStore<T, C>(name: StageName, key: string, codec: StageCodec<T, C>, ctx: C): Promise<T | undefined> {
    const { store, onStoreError } = this.options;
    if (!store) return undefined;
    key = this.storeKey(key);
    try {
      const stored = await store.get(name, key);
      return stored === undefined ? undefined : await codec.restore(stored, ctx);
    } catch (err) {
      onStoreError?.(name, err);
      await store.delete(name, key).catch(() => undefined);
      return undefined;
    }
  }

  private async toStore<T, C>(name: StageName, key: string, codec: StageCodec<T, C>, value: T): Promise<void> {
    const { store, onStoreError } = this.options;
    if (!store) return;
    try {
      await store.put(name, this.storeKey(key), await codec.save(value));
    } catch (err) {
      onStoreError?.(name, err);
    }
  }

  /**
   * The load stage alone (through the cache, so a later run with the same data and seed reuses it):
   * lets a host show a data set's counts, samples and skipped files before anything is trained.
   */
  async load(config: LabConfig, opts: RunOptions = {}): Promise<Dataset> {
    validateConfig(config);
    const key = this.loadKey(config);
    const hit = this.cache.get<Dataset>('load', key);
    if (hit !== undefined) return hit;
    throwIfAborted(opts.signal);
    this.cache.evict('load');
    const seed = deriveSeed(config.seed, 'load') & 0x7fffffff;
    const dataset = await this.loadData(config.data, seed, stageProgress('load', opts.onProgress), opts.signal);
    return this.cache.set('load', key, dataset);
  }

  /** One run at a time: two interleaved runs would evict each other's cached stages mid-use. */
  async run(config: LabConfig, opts: RunOptions = {}): Promise<PipelineResult> {
    if (this.running) throw new Error('a run is already in progress on this pipeline: wait for it or cancel it');
    this.running = true;
    try {
      return await this.runExclusive(config, opts);
    } finally {
      this.running = false;
    }
  }

  private async runExclusive(config: LabConfig, opts: RunOptions): Promise<PipelineResult> {
    // Beside jobs this run stops waiting for (it failed or was cancelled) are ended with it. The
    // run's own signal may be poll-only (the worker API's), so the main line's exit decides.
    const besideJobs = new AbortController();
    try {
      return await this.runStages(config, opts, besideJobs.signal);
    } finally {
      besideJobs.abort();
    }
  }

  private async runStages(config: LabConfig, opts: RunOptions, besideSignal: AbortSignal): Promise<PipelineResult> {
    validateConfig(config);
    const { signal, onProgress, onStageDone } = opts;
    const timings: Partial<Record<StageName, number>> = {};
    const reused: StageName[] = [];
    const restored: StageName[] = [];
    // Stages whose value came from the second thread, with that thread's seconds (insertion order).
    const besideSeconds = new Map<StageName, number>();
    const seedFor = (stage: string) => deriveSeed(config.seed, stage) & 0x7fffffff;

    const stage = async <T, C = void>(
      name: StageName, key: string, compute: (progress: ProgressFn) => Promise<T>, dispose?: (v: T) => void,
      persist?: { codec: StageCodec<T, C>; ctx: C },
    ): Promise<T> => {
      throwIfAborted(signal);
      const hit = this.cache.get<T>(name, key);
      if (hit !== undefined) {
        reused.push(name);
        timings[name] = 0;
        onStageDone?.(name, 'cache');
        return hit;
      }
      // A stage about to be recomputed frees its old output first (bounded memory).
      this.cache.evict(name);
      const stored = persist ? await this.fromStore(name, key, persist.codec, persist.ctx) : undefined;
      if (stored !== undefined) {
        reused.push(name);
        restored.push(name);
        timings[name] = 0;
        const value = this.cache.set(name, key, stored, dispose);
        onStageDone?.(name, 'store');
        return value;
      }
      const t0 = performance.now();
      const value = await compute(stageProgress(name, onProgress));
      await this.options.settle?.();
      // A stage computed beside is timed on its own thread: its wait here overlapped other work.
      timings[name] = besideSeconds.get(name) ?? (performance.now() - t0) / 1000;
      this.cache.set(name, key, value, dispose);
      if (persist) await this.toStore(name, key, persist.codec, value);
      onStageDone?.(name, 'computed');
      return value;
    };
    const kept = <T>(codec: StageCodec<T>) => ({ codec, ctx: undefined });

    /**
     * Starts `name` on the second thread unless there is none or the stage will be reused (the job
     * is built only then). The job's promise comes wrapped: an async function returning it bare
     * would wait for the job.
     */
    const startBeside = async (
      name: StageName, key: string, job: () => BesideJob | Promise<BesideJob>,
    ): Promise<{ pending: Promise<BesideResult> } | null> => {
      const { beside, store } = this.options;
      if (!beside || this.cache.get(name, key) !== undefined) return null;
      if (store && (await store.get(name, this.storeKey(key)).catch(() => undefined)) !== undefined) return null;
      const pending = beside.run(await job(), stageProgress(name, onProgress && ((e) => onProgress({ ...e, beside: true }))), besideSignal);
      // Awaited at its stage; a run that ends before then must not leave the rejection unhandled.
      pending.catch(() => undefined);
      return { pending };
    };
    /** The stage's value from its beside job. */
    const besideValue = async <T>(name: StageName, job: { pending: Promise<BesideResult> }, codec: StageCodec<T>): Promise<T> => {
      const { stored, seconds } = await job.pending;
      const value = await codec.restore(stored);
      besideSeconds.set(name, seconds);
      return value;
    };

    const loadKey = this.loadKey(config);
    const dataset = await stage('load', loadKey, (p) => this.loadData(config.data, seedFor('load'), p, signal));
    // Ranges that depend on the data (the rank against the training images) are known only now.
    checkConfigForDataset(config, dataset);
    const numClasses = dataset.classNames.length;
    const ctx = (progress: ProgressFn) => ({ signal, progress });

    const kind = config.classifier.features === 'auto' ? (numClasses > 2 ? 'hybrid' : 'nmf') : config.classifier.features;
    const wantImageCnn = config.imageCnn.enabled || kind === 'hybrid';
    const imageCnnKey = hashKey({ loadKey, imageCnn: config.imageCnn });

    const { rank, loss, init, maxIter, tol, projectIter } = config.nmf;
    const nmfKey = hashKey({ loadKey, rank, loss, init, maxIter, tol });
    // With a second thread, it takes a share of every KL iteration (the same factors, bit for bit).
    const { beside } = this.options;
    const helpers = beside?.klShare ? [(blocks: KlShareBlocks) => beside.klShare!(blocks, besideSignal)] : undefined;
    const nmf = await stage('nmf', nmfKey, (p) => nmfStage(dataset, config.nmf, seedFor('nmf'), ctx(p), helpers), (v) => {
      v.W.dispose();
      v.H.dispose();
    }, kept(codecs.nmf));

    // The image CNN needs only the pixels: on the second thread it trains while this one projects.
    const imageCnnBeside = wantImageCnn
      ? await startBeside('imageCnn', imageCnnKey, () => ({
        stage: 'imageCnn', size: dataset.size, classNames: dataset.classNames, train: dataset.train, val: dataset.val,
        cfg: config.imageCnn, seed: seedFor('imageCnn'),
      }))
      : null;

    const projectKey = hashKey({ nmfKey, projectIter });
    // A second thread with no image CNN to train projects the validation and test images while this
    // one projects the training images (each split on its own, as projectStage does: the same numbers).
    const projectBeside = imageCnnBeside ? null : await startBeside('project', projectKey, async () => ({
      stage: 'project', W: await storedMatrix(nmf.W), size: dataset.size, sets: { val: dataset.val, test: dataset.test }, cfg: config.nmf,
    }));
    const activations = await stage('project', projectKey, async (p) => {
      if (!projectBeside) return projectStage(dataset, nmf, config.nmf, ctx(p));
      const train = projectSplit(dataset.train, dataset.size, nmf.W, config.nmf);
      p(dataset.train.count, dataset.train.count, 'train');
      try {
        const parts = (await projectBeside.pending).stored as Record<'val' | 'test', BesideMatrix>;
        return { train, val: tf.tensor2d(parts.val.values, parts.val.shape), test: tf.tensor2d(parts.test.values, parts.test.shape) };
      } catch (err) {
        train.dispose();
        throw err;
      }
    }, disposeSplits, kept(codecs.project));

    const selectKey = hashKey({ projectKey, select: config.select });
    const selection = await stage('select', selectKey, async () => selectStage(activations.train, dataset.train.labels, numClasses, config.select),
      undefined, kept(codecs.select as StageCodec<{ stats: ComponentStats[]; selected: number[] }>));

    const imageCnn = wantImageCnn
      ? await stage('imageCnn', imageCnnKey, (p) => (imageCnnBeside
        ? besideValue('imageCnn', imageCnnBeside, codecs.imageCnn)
        : imageCnnStage(dataset, config.imageCnn, seedFor('imageCnn'), ctx(p))), (v) => v.model.dispose(), kept(codecs.imageCnn))
      : null;
    if (!imageCnn) this.cache.evict('imageCnn');

    // The classifier's inputs are a stage of their own: the classifier, the denoiser and the attacks
    // all read them, and none of those owns them.
    const featuresKey = hashKey({ selectKey, kind, imageCnnKey: kind === 'hybrid' ? imageCnnKey : null });
    const inputs = await stage('features', featuresKey, async (p) => {
      const v = classifierInputs(activations, selection.selected, dataset, kind === 'hybrid' ? imageCnn!.model : null);
      p(1, 1);
      return v;
    }, disposeSplits, kept(codecs.features));

    const { timestep, eot, reverseSteps, ...training } = config.diffusion;
    const denoiserKey = hashKey({ featuresKey, training });
    const denoiserBeside = await startBeside('denoiser', denoiserKey, async () => ({
      stage: 'denoiser', features: await storedMatrix(inputs.train), cfg: config.diffusion, seed: seedFor('denoiser'),
    }));
    const denoiserRun = () => stage('denoiser', denoiserKey, (p) => (denoiserBeside
      ? besideValue('denoiser', denoiserBeside, codecs.denoiser)
      : denoiserStage(inputs.train, config.diffusion, seedFor('denoiser'), ctx(p))), (v) => v.model.dispose(), kept(codecs.denoiser));

    const classifyKey = hashKey({ featuresKey, classifier: config.classifier });
    const classifyRun = () => stage('classify', classifyKey, (p) => classifyStage(inputs, kind, dataset, config.classifier, seedFor('classify'), ctx(p)),
      (v) => v.model.dispose(), { codec: codecs.classify, ctx: inputs });
    const [denoiser, trained] = await pairInOrder(denoiserBeside, denoiserRun, classifyRun);
    // A cached classifier can outlive the features tensors it was trained with (a cancelled run
    // recomputed the features stage under the same key): the key says the values are the same, so
    // bind it to this run's tensors rather than to freed ones.
    const classifier: ClassifierOutput = trained.inputs === inputs ? trained : { ...trained, inputs };

    const evaluateKey = hashKey({ classifyKey, denoiserKey, imageCnnKey: imageCnn ? imageCnnKey : null, timestep, eot, reverseSteps });
    const evaluation = await stage('evaluate', evaluateKey, async (p) => {
      const imageProbs = imageCnn
        ? () => tf.tidy(() => tf.softmax(predictLogits(imageCnn.model, imageMatrix(dataset.test, dataset.size))) as tf.Tensor2D)
        : undefined;
      const r = await evaluateClean(classifier, denoiser, dataset.test.labels, numClasses, config.diffusion, seedFor('evaluate'), imageProbs);
      p(1, 1);
      return r;
    }, undefined, kept(codecs.evaluate as StageCodec<CleanEvaluation>));

    let robust: PipelineResult['robust'] = null;
    if (config.attack.enabled && opts.onClean) {
      await opts.onClean({
        config, backend: this.backend, dataset, nmf, activations, selection, imageCnn, classifier, denoiser, evaluation, robust,
        timings: { ...timings }, reused: [...reused], restored: [...restored], beside: [...besideSeconds.keys()],
      });
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
        const baselineCodec = codecs.attackBaseline as StageCodec<RobustScenario>;
        // The feature-space attacks on the classifier alone need only it and x: they can run beside.
        const baselineBeside = a.threat === 'feature'
          ? await startBeside('attackBaseline', baselineKey, async () => ({
            stage: 'attackBaseline', classifier: await layersModelFiles(classifier.model), numClasses, x: await storedMatrix(x),
            y: dataset.test.labels.slice(0, points), cfg: a, seed: seedFor('attackBaseline'),
          }))
          : null;
        const baselineRun = () => stage('attackBaseline', baselineKey, (p) => (baselineBeside
          ? besideValue('attackBaseline', baselineBeside, baselineCodec)
          : robustBaseline(robustCtx('attackBaseline')(p), a)), undefined, kept(baselineCodec));
        const defendedKey = hashKey({ baselineKey, denoiserKey, timestep, eot, reverseSteps });
        const purifier = {
          model: denoiser.model, schedule: denoiser.schedule,
          options: { timestep, embeddingDim: config.diffusion.embedding, prior: denoiser.prior, reverseSteps },
        };
        const defendedRun = () => stage('attackDefended', defendedKey, (p) => robustDefended(robustCtx('attackDefended')(p), a, { purifier, deployedDraws: eot }),
          undefined, kept(codecs.attackDefended as StageCodec<RobustScenario>));
        const [baseline, defended] = await pairInOrder(baselineBeside, baselineRun, defendedRun);
        robust = { baseline, defended };
      } finally {
        x.dispose();
      }
    } else {
      this.cache.evict('attackBaseline');
      this.cache.evict('attackDefended');
    }

    return { config, backend: this.backend, dataset, nmf, activations, selection, imageCnn, classifier, denoiser, evaluation, robust, timings, reused, restored, beside: [...besideSeconds.keys()] };
  }

  /** Frees every cached tensor and model. */
  dispose(): void {
    this.cache.clear();
  }
}
