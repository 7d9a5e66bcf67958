/**
 * Beside jobs (src/core/pipeline/beside.ts) on a Node worker thread: one worker, started on the
 * first job and kept for the next, on the main thread's backend. The CLI runs under tsx, so the
 * worker registers tsx itself before it imports its TypeScript entry.
 */
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import type { BackendName } from '../core/config';
import type { BesideJob, BesideResult, BesideRunner } from '../core/pipeline/beside';
import type { ProgressFn } from '../core/types';
import type { BesideMessage } from './besideWorker';

function abortError(): Error {
  const error = new Error('aborted');
  error.name = 'AbortError';
  return error;
}

export class WorkerBesideRunner implements BesideRunner {
  private worker: Worker | null = null;
  /** Jobs run one after another on the one worker. */
  private queue: Promise<unknown> = Promise.resolve();

  constructor(private readonly backend: BackendName) {}

  private start(): Worker {
    const entry = new URL('./besideWorker.ts', import.meta.url).href;
    // The ESM entry of tsx's API, as this module resolves it (an eval worker resolves from the cwd).
    const tsx = typeof import.meta.resolve === 'function' ? import.meta.resolve('tsx/esm/api') : 'tsx/esm/api';
    const source = `import(${JSON.stringify(tsx)}).then(({ register }) => { register(); return import(${JSON.stringify(entry)}); })`;
    const worker = new Worker(source, { eval: true, workerData: { backend: this.backend } });
    // The CLI exits when its work is done: an idle helper thread must not keep it alive (it is
    // held only while a job runs, see runNow).
    worker.unref();
    return worker;
  }

  run(job: BesideJob, progress: ProgressFn, signal?: AbortSignal): Promise<BesideResult> {
    const next = this.queue.then(() => this.runNow(job, progress, signal));
    this.queue = next.catch(() => undefined);
    return next;
  }

  private runNow(job: BesideJob, progress: ProgressFn, signal?: AbortSignal): Promise<BesideResult> {
    if (signal?.aborted) return Promise.reject(abortError());
    const worker = (this.worker ??= this.start());
    return new Promise<BesideResult>((resolve, reject) => {
      const finish = () => {
        worker.unref();
        worker.off('message', onMessage);
        worker.off('error', onError);
        worker.off('exit', onExit);
        signal?.removeEventListener('abort', onAbort);
      };
      const fail = (err: Error) => {
        finish();
        reject(err);
      };
      const onMessage = (m: BesideMessage) => {
        if (m.type === 'progress') progress(m.done, m.total, m.note);
        else if (m.type === 'done') {
          finish();
          resolve({ stored: m.stored, seconds: m.seconds });
        } else fail(new Error(`${job.stage} (on the second thread): ${m.message}`));
      };
      const onError = (err: Error) => {
        this.worker = null;
        fail(new Error(`${job.stage} (on the second thread): ${err.message}`));
      };
      const onExit = (code: number) => {
        this.worker = null;
        fail(new Error(`${job.stage}: the second thread exited with code ${code}`));
      };
      // A job cannot be interrupted inside the worker; ending the worker ends it.
      const onAbort = () => {
        finish();
        this.worker = null;
        void worker.terminate();
        reject(abortError());
      };
      worker.on('message', onMessage);
      worker.on('error', onError);
      worker.on('exit', onExit);
      signal?.addEventListener('abort', onAbort, { once: true });
      worker.ref();
      worker.postMessage(job);
    });
  }

  dispose(): void {
    void this.worker?.terminate();
    this.worker = null;
  }
}

/** The CLI's second thread: where there is a second core and the backend computes on the CPU. */
export function cliBesideRunner(backend: BackendName, singleThread: boolean): WorkerBesideRunner | undefined {
  if (singleThread || (backend !== 'wasm' && backend !== 'cpu') || availableParallelism() < 2) return undefined;
  return new WorkerBesideRunner(backend);
}
