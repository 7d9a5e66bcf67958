/**
 * The engine behind the worker boundary: one Pipeline (with its stage cache) per worker, plain data
 * in and out. Runs are serialized — a second run while one is going is refused, never interleaved —
 * and a cancel stops the current stage at its next check, leaving the cache as it was.
 */
import * as tf from '@tensorflow/tfjs';
import { initBackend, type BackendInfo, type BackendOptions } from '../src/core/backend';
import type { BackendName, LabConfig } from '../src/core/config';
import { Pipeline, type PipelineResult } from '../src/core/pipeline/run';
import type { ProgressEvent } from '../src/core/pipeline/progress';
import { buildView, summarizeDataset, type DatasetSummary, type LabView } from '../src/core/pipeline/view';
import { layersModelFiles, type LayersModelFiles } from '../src/core/models/serialize';
import { createBrowserLoader, folderId, type Folder, type FolderFile } from './browserData';
import { benchConfig, benchRun, nmfBenchShape, nmfSecondsPerIteration, type BenchScale } from '../src/core/pipeline/bench';
import { buildReport, type LabReport } from '../src/core/pipeline/report';

export interface WorkerBackendInfo extends BackendInfo {
  /** Whether SharedArrayBuffer (WASM threads, instant cancel) is available. */
  crossOriginIsolated: boolean;
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
  /** `onClean` receives a view of the clean scenarios (robust: null) before the attacks start. */
  run(config: LabConfig, onProgress?: ProgressCallback, onClean?: (view: LabView) => void): Promise<LabView>;
  cancel(): void;
  memory(): { numTensors: number; numBytes: number };
  exportModels(): Promise<ExportedModel[]>;
  /** The bench's NMF timing and end-to-end run on mri-demo, on a pipeline of its own (the page's
   * cache is neither used nor disturbed). */
  bench(scale: BenchScale, onProgress?: ProgressCallback): Promise<BenchResult>;
}

/** An AbortSignal-like view of a shared flag the page sets without waiting for this worker. */
function combinedSignal(controller: AbortController, flag: Int32Array | null): AbortSignal {
  return { get aborted() { return controller.signal.aborted || (flag !== null && Atomics.load(flag, 0) === 1); } } as AbortSignal;
}

export function createLabApi(backendOptions: BackendOptions, baseUrl: string): LabApi {
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
      pipeline = new Pipeline(createBrowserLoader(() => folder, baseUrl), info);
      backendInfo = { ...info, crossOriginIsolated: (globalThis as { crossOriginIsolated?: boolean }).crossOriginIsolated === true };
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
    run(config, onProgress, onClean) {
      return exclusive(async (signal) => {
        const clean = onClean ? async (partial: PipelineResult) => onClean(await buildView(partial)) : undefined;
        last = await ready().run(config, { signal, onProgress, onClean: clean });
        return buildView(last);
      });
    },
    cancel() {
      controller.abort();
    },
    memory() {
      const m = tf.memory();
      return { numTensors: m.numTensors, numBytes: m.numBytes };
    },
    async exportModels() {
      if (!last) throw new Error('no trained models yet: run the lab first');
      const models: [ExportedModel['name'], tf.LayersModel | undefined][] = [
        ['classifier', last.classifier.model], ['denoiser', last.denoiser.model], ['imageCnn', last.imageCnn?.model],
      ];
      const out: ExportedModel[] = [];
      for (const [name, model] of models) if (model) out.push({ name, ...(await layersModelFiles(model, `${name}.weights.bin`)) });
      return out;
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
        const own = new Pipeline(createBrowserLoader(() => null, baseUrl), backendInfo);
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
