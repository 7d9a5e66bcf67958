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

export interface WorkerBackendInfo extends BackendInfo {
  /** Whether SharedArrayBuffer (WASM threads, instant cancel) is available. */
  crossOriginIsolated: boolean;
}

export interface ExportedModel extends LayersModelFiles {
  name: 'classifier' | 'denoiser' | 'imageCnn';
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
}

/** An AbortSignal-like view of a shared flag the page sets without waiting for this worker. */
function combinedSignal(controller: AbortController, flag: Int32Array | null): AbortSignal {
  return { get aborted() { return controller.signal.aborted || (flag !== null && Atomics.load(flag, 0) === 1); } } as AbortSignal;
}

export function createLabApi(backendOptions: BackendOptions, baseUrl: string): LabApi {
  let pipeline: Pipeline | null = null;
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
      return { ...info, crossOriginIsolated: (globalThis as { crossOriginIsolated?: boolean }).crossOriginIsolated === true };
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
  };
}
