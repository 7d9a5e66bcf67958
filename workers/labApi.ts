/**
 * The engine behind the worker boundary: one Pipeline (with its stage cache) per worker, plain data
 * in and out. Runs are serialized — a second run while one is going is refused, never interleaved —
 * and a cancel stops the current stage at its next check, leaving the cache as it was.
 */
import * as tf from '@tensorflow/tfjs';
import * as Comlink from 'comlink';
import { initBackend, type BackendInfo, type BackendOptions } from '../src/core/backend';
import type { BackendName, LabConfig } from '../src/core/config';
import { Pipeline, type PipelineResult } from '../src/core/pipeline/run';
import type { ProgressEvent } from '../src/core/pipeline/progress';
import { buildView, summarizeDataset, type DatasetSummary, type LabView } from '../src/core/pipeline/view';
import { layersModelFiles, type LayersModelFiles } from '../src/core/models/serialize';
import { createBrowserLoader, folderId, type Folder, type FolderFile } from './browserData';
import { benchConfig, benchRun, nmfBenchShape, nmfSecondsPerIteration, type BenchScale } from '../src/core/pipeline/bench';
import { buildReport, type LabReport } from '../src/core/pipeline/report';
import { hashKey } from '../src/core/pipeline/cache';
import type { StageName } from '../src/core/pipeline/progress';
import { modelFromFiles } from '../src/core/models/serialize';
import { openLabDb, type LabDb } from '../src/persist/db';
import { IdbStageStore } from '../src/persist/idbStageStore';
import { RunHistory, accuracyOf, withRunLock, type RunRecord, type StoredModel } from '../src/persist/runs';
import { exportRun as bundleRun, importRun as readBundle } from '../src/persist/bundle';

export interface WorkerBackendInfo extends BackendInfo {
  /** Whether SharedArrayBuffer (WASM threads, instant cancel) is available. */
  crossOriginIsolated: boolean;
  /** Where finished stages and the run history are kept: IndexedDB, or nowhere (then why). */
  storage: { kind: 'indexeddb' } | { kind: 'none'; reason: string };
}

export interface ExportedModel extends LayersModelFiles {
  name: 'classifier' | 'denoiser' | 'imageCnn';
}

/** What the bench page reports: the same quantities as `npm run bench` in Node. */
export interface BenchResult {
  backend: WorkerBackendInfo;
  scale: BenchScale;
  nmfSecondsPerIteration: number;
  nmfShape: [number, number];
  endToEndSeconds: number;
  timestepRescoreSeconds: number;
  rescoreReused: string[];
  tensorsAfterRun: number;
  tensorsAfterRescore: number;
  report: LabReport;
}

export type ProgressCallback = (event: ProgressEvent) => void;

export class BusyError extends Error {
  constructor() {
    super('a run is already in progress: wait for it or cancel it');
    this.name = 'BusyError';
  }
}

export interface LabApi {
  init(request: BackendName | 'auto', cancelFlag?: SharedArrayBuffer): Promise<WorkerBackendInfo>;
  setFolder(name: string, files: FolderFile[]): Promise<string>;
  load(config: LabConfig, onProgress?: ProgressCallback): Promise<DatasetSummary>;
  /** `onClean` receives a view of the clean scenarios (robust: null) before the attacks start.
   * With `runId`, the run is recorded in the history under that id as it goes (a record that
   * exists already, e.g. an interrupted run being resumed, is continued). */
  run(config: LabConfig, onProgress?: ProgressCallback, onClean?: (view: LabView) => void, runId?: string): Promise<LabView>;
  listRuns(): Promise<RunRecord[]>;
  openRun(id: string): Promise<{ record: RunRecord; view: LabView | null } | null>;
  deleteRun(id: string): Promise<void>;
  /** The run as one file (see src/persist/bundle.ts). */
  exportRun(id: string): Promise<Uint8Array>;
  /** Validates a run file and adds it to the history; throws a message naming what is wrong. */
  importRun(bytes: Uint8Array, fileName: string): Promise<RunRecord>;
  cancel(): void;
  memory(): { numTensors: number; numBytes: number };
  /** The trained models of the recorded run `runId` (as stored with it), else of the last run. */
  exportModels(runId?: string | null): Promise<ExportedModel[]>;
  /** The bench's NMF timing and end-to-end run on mri-demo, on a pipeline of its own (the page's
   * cache is neither used nor disturbed). */
  bench(scale: BenchScale, onProgress?: ProgressCallback): Promise<BenchResult>;
}

/** An AbortSignal-like view of a shared flag the page sets without waiting for this worker. */
function combinedSignal(controller: AbortController, flag: Int32Array | null): AbortSignal {
  return { get aborted() { return controller.signal.aborted || (flag !== null && Atomics.load(flag, 0) === 1); } } as AbortSignal;
}

/** The WebGPU device behind tfjs, where there is one. */
export function gpuDevice(): GPUDevice | null {
  return tf.getBackend() === 'webgpu' ? ((tf.backend() as unknown as { device?: GPUDevice }).device ?? null) : null;
}

/**
 * A lost GPU device (driver reset, another tab's crash, the device destroyed) makes every later
 * kernel fail: this worker is then useless. Raising it as an uncaught error lets the page see the
 * worker fail, restart it and resume from the stored stages, on WASM if WebGPU does not come back.
 */
function watchDevice(): void {
  const device = gpuDevice();
  void device?.lost.then((info) => {
    setTimeout(() => {
      throw new Error(`WebGPU device lost (${info.reason}${info.message ? `: ${info.message}` : ''})`);
    });
  });
}

/** Resolves once the GPU has run everything tfjs queued (nothing to wait for on CPU backends). */
async function settleDevice(): Promise<void> {
  if (tf.getBackend() !== 'webgpu') return;
  const backend = tf.backend() as unknown as {
    commandEncoder?: unknown; endComputePassEncoder?(): void; submitQueue?(): void; device?: GPUDevice;
  };
  try {
    // tfjs records kernels into an open compute pass of a command encoder it submits lazily (none
    // when nothing is pending). Its own readbacks end the pass before submitting; so must this, or
    // the encoder is invalid and the queued kernels silently never run.
    backend.endComputePassEncoder?.();
    if (backend.commandEncoder) backend.submitQueue?.();
    await backend.device?.queue.onSubmittedWorkDone();
  } catch (err) {
    // Only a timing is at stake: a run must never fail here.
    console.warn('settle:', err);
  }
}

/** What distinguishes one dropped folder from another under the same name. */
function folderFingerprint(f: Folder): string {
  return hashKey(f.files.map((x) => [x.path, x.file.size, (x.file as File).lastModified ?? 0]));
}

async function modelsOf(r: PipelineResult): Promise<StoredModel[]> {
  const models: [StoredModel['name'], tf.LayersModel | undefined][] = [
    ['classifier', r.classifier.model], ['denoiser', r.denoiser.model], ['imageCnn', r.imageCnn?.model],
  ];
  const out: StoredModel[] = [];
  for (const [name, model] of models) if (model) out.push({ name, ...(await layersModelFiles(model, `${name}.weights.bin`)) });
  return out;
}

export function createLabApi(backendOptions: BackendOptions, baseUrl: string): LabApi {
  let db: LabDb | null = null;
  let history: RunHistory | null = null;
  let pipeline: Pipeline | null = null;
  let backendInfo: WorkerBackendInfo | null = null;
  let folder: Folder | null = null;
  let last: PipelineResult | null = null;
  let busy = false;
  let controller = new AbortController();
  let flag: Int32Array | null = null;

  const ready = () => {
    if (!pipeline) throw new Error('the engine is not initialized: call init() first');
    return pipeline;
  };
  const exclusive = async <T>(work: (signal: AbortSignal) => Promise<T>): Promise<T> => {
    if (busy) throw new BusyError();
    busy = true;
    controller = new AbortController();
    if (flag) Atomics.store(flag, 0, 0);
    try {
      return await work(combinedSignal(controller, flag));
    } finally {
      busy = false;
    }
  };

  return {
    async init(request, cancelFlag) {
      flag = cancelFlag ? new Int32Array(cancelFlag) : null;
      const info = await initBackend(request, backendOptions);
      if (info.name === 'webgpu') watchDevice();
      let storage: WorkerBackendInfo['storage'] = { kind: 'indexeddb' };
      try {
        db ??= await openLabDb();
        history = new RunHistory(db);
      } catch (err) {
        // Private windows and some embedded browsers refuse IndexedDB: the lab still runs, in memory.
        storage = { kind: 'none', reason: (err as Error)?.message ?? String(err) };
      }
      pipeline = new Pipeline(createBrowserLoader(() => folder, baseUrl), info, {
        store: db ? new IdbStageStore(db) : undefined,
        fingerprint: (data) => (folder && data.dataset === folder.id ? folderFingerprint(folder) : undefined),
        onStoreError: (stage, err) => console.warn(`stage store: ${stage}: ${(err as Error)?.message ?? err}`),
        settle: settleDevice,
      });
      backendInfo = { ...info, crossOriginIsolated: (globalThis as { crossOriginIsolated?: boolean }).crossOriginIsolated === true, storage };
      return backendInfo;
    },
    async setFolder(name, files) {
      if (busy) throw new BusyError();
      folder = { id: folderId(name), name, files };
      // A new folder under an old name must not hit the old folder's cached stages.
      ready().cache.clear();
      last = null;
      return folder.id;
    },
    load(config, onProgress) {
      return exclusive(async (signal) => summarizeDataset(await ready().load(config, { signal, onProgress })));
    },
    run(config, onProgress, onClean, runId) {
      return exclusive(async (signal) => {
        const clean = onClean ? async (partial: PipelineResult) => onClean(await buildView(partial)) : undefined;
        if (!runId || !history) {
          last = await ready().run(config, { signal, onProgress, onClean: clean });
          return buildView(last);
        }
        const runs = history;
        return withRunLock(runId, async () => {
          const datasetName = folder && config.data.dataset === folder.id ? folder.name : config.data.dataset;
          const existing = (await runs.get(runId))?.record;
          const stagesDone: StageName[] = [];
          if (existing) await runs.update(runId, { status: 'running', config, error: null });
          else await runs.create({ id: runId, status: 'running', config, datasetName, stagesDone, error: null, accuracy: accuracyOf(null) });
          // Records are written in order, each after the one before, without holding up the run.
          let writes = Promise.resolve();
          const record = (patch: Parameters<RunHistory['update']>[1], data?: Parameters<RunHistory['update']>[2]) => {
            writes = writes.then(() => runs.update(runId, patch, data)).then(() => undefined, (err) => console.warn('run history:', err));
            return writes;
          };
          try {
            last = await ready().run(config, {
              signal, onProgress, onClean: clean,
              onStageDone: (stage) => {
                stagesDone.push(stage);
                void record({ stagesDone: [...stagesDone] });
              },
            });
            const view = await buildView(last);
            await record({ status: 'complete', accuracy: accuracyOf(view) }, { view, models: await modelsOf(last) });
            return view;
          } catch (err) {
            const aborted = (err as Error)?.name === 'AbortError';
            await record({ status: aborted ? 'cancelled' : 'failed', error: aborted ? null : (err as Error)?.message ?? String(err) });
            throw err;
          }
        });
      });
    },
    async listRuns() {
      return history ? history.list() : [];
    },
    async openRun(id) {
      const got = await history?.get(id);
      return got ? { record: got.record, view: got.data?.view ?? null } : null;
    },
    async deleteRun(id) {
      await history?.delete(id);
    },
    async exportRun(id) {
      const got = await history?.get(id);
      if (!got?.data) throw new Error('this run has no results to export (it did not finish)');
      const bytes = bundleRun(got.record, got.data);
      return Comlink.transfer(bytes, [bytes.buffer]);
    },
    async importRun(bytes, fileName) {
      if (!history) throw new Error('run history is unavailable in this browser (no IndexedDB)');
      const imported = await readBundle(bytes, fileName, async (m) => {
        (await modelFromFiles(m)).dispose();
      });
      // A file exported from this very history gets a new id rather than overwriting the original.
      const ids = new Set((await history.list()).map((r) => r.id));
      const record = ids.has(imported.record.id) ? { ...imported.record, id: `${imported.record.id}-imported-${Date.now().toString(36)}` } : imported.record;
      await history.put(record, imported.data);
      return record;
    },
    cancel() {
      controller.abort();
    },
    memory() {
      const m = tf.memory();
      return { numTensors: m.numTensors, numBytes: m.numBytes };
    },
    async exportModels(runId) {
      if (runId && history) {
        const stored = (await history.get(runId))?.data?.models;
        if (!stored) throw new Error('the models of this run were not kept: it did not finish');
        return stored;
      }
      if (!last) throw new Error('no trained models yet: run the lab first');
      return modelsOf(last);
    },
    bench(scale, onProgress) {
      return exclusive(async () => {
        if (!backendInfo) throw new Error('the engine is not initialized: call init() first');
        // Small tensors would otherwise be computed on the CPU and the GPU figures would mix in CPU time.
        if (backendInfo.name === 'webgpu') tf.env().set('WEBGPU_CPU_FORWARD', false);
        const shape = nmfBenchShape(scale);
        const V = tf.randomUniform(shape, 0, 1, 'float32', 7) as tf.Tensor2D;
        let nmf: number;
        try {
          nmf = await nmfSecondsPerIteration(V, 15, scale === 'paper' ? 10 : 3, (done, total) => onProgress?.({
            stage: 'nmf', done, total, etaSeconds: null, note: `timing ${shape[0]} × ${shape[1]}`,
          }));
        } finally {
          V.dispose();
        }
        const own = new Pipeline(createBrowserLoader(() => null, baseUrl), backendInfo, { settle: settleDevice });
        try {
          const run = await benchRun(own, benchConfig(scale), onProgress);
          return {
            backend: backendInfo, scale, nmfSecondsPerIteration: nmf, nmfShape: shape, endToEndSeconds: run.endToEndSeconds,
            timestepRescoreSeconds: run.timestepRescoreSeconds, rescoreReused: run.rescoreReused,
            tensorsAfterRun: run.tensorsAfterRun, tensorsAfterRescore: run.tensorsAfterRescore, report: buildReport(run.first),
          };
        } finally {
          own.dispose();
        }
      });
    },
  };
}
