/**
 * Beside jobs (src/core/pipeline/beside.ts) on a Node worker thread: one worker, started on the
 * first job and kept for the next, on the main thread's backend. The CLI runs under tsx, so the
 * worker registers tsx itself before it imports its TypeScript entry.
 */
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import type { BackendName } from '../core/config';
import * as tf from '@tensorflow/tfjs';
import { matrixTensor, type BesideJob, type BesideResult, type BesideRunner, type StoredMatrix } from '../core/pipeline/beside';
import type { KlShare, KlShareBlocks } from '../core/nmf/klShare';
import type { ProgressFn } from '../core/types';
import type { BesideMessage, ShareReply, ShareRequest } from './besideWorker';

function abortError(): Error {
  const error = new Error('aborted');
  error.name = 'AbortError';
  return error;
}

/** What one call on the worker listens for. */
interface CallHandlers<M> {
  message: (m: M) => void;
  error: (err: Error) => void;
  exit: (code: number) => void;
  abort: () => void;
}

/**
 * Listens for one call's replies and holds the worker (so the CLI waits for it) until the
 * returned function detaches everything again.
 */
function attach<M>(worker: Worker, on: CallHandlers<M>, signal?: AbortSignal): () => void {
  worker.on('message', on.message);
  worker.on('error', on.error);
  worker.on('exit', on.exit);
  signal?.addEventListener('abort', on.abort, { once: true });
  worker.ref();
  return () => {
    worker.unref();
    worker.off('message', on.message);
    worker.off('error', on.error);
    worker.off('exit', on.exit);
    signal?.removeEventListener('abort', on.abort);
  };
}

export class WorkerBesideRunner implements BesideRunner {
  private worker: Worker | null = null;
  /** Jobs run one after another on the one worker. */
  private queue: Promise<unknown> = Promise.resolve();

  /** Starts the worker now, so that its start-up (the backend's set-up) overlaps the main line's first stage. */
  constructor(private readonly backend: BackendName) {
    this.worker = this.start();
  }

  /**
   * A matrix's values as an array this thread owns, to be transferred rather than copied (a copy of
   * 1 MB per message costs ~8 ms here). The WASM backend's data() is a fresh copy of its heap; the
   * CPU backend's is the tensor's own storage, so that one is copied.
   */
  private owned(values: Float32Array): Float32Array {
    return this.backend === 'wasm' ? values : values.slice();
  }

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
      const fail = (err: Error) => {
        finish();
        reject(err);
      };
      const finish = attach<BesideMessage>(worker, {
        message: (m) => {
          if (m.type === 'progress') progress(m.done, m.total, m.note);
          else if (m.type === 'done') {
            finish();
            resolve({ stored: m.stored, seconds: m.seconds });
          } else fail(new Error(`${job.stage} (on the second thread): ${m.message}`));
        },
        error: (err) => {
          this.worker = null;
          fail(new Error(`${job.stage} (on the second thread): ${err.message}`));
        },
        exit: (code) => {
          this.worker = null;
          fail(new Error(`${job.stage}: the second thread exited with code ${code}`));
        },
        // A job cannot be interrupted inside the worker; ending the worker ends it.
        abort: () => {
          finish();
          this.worker = null;
          void worker.terminate();
          reject(abortError());
        },
      }, signal);
      worker.postMessage(job);
    });
  }

  /**
   * A KL share on the worker. The main thread drives it one request at a time, each posted as the
   * call is made (before the caller computes its own share: that is the overlap), the matrices
   * transferred (see owned()).
   */
  async klShare(blocks: KlShareBlocks, signal?: AbortSignal): Promise<KlShare> {
    const plain = (t: tf.Tensor2D, values: Float32Array): StoredMatrix => ({ shape: t.shape, values: this.owned(values) });
    const open: ShareRequest = {
      share: 'open', range: { images: blocks.images, pixels: blocks.pixels },
      VgT: plain(blocks.VgT, (await blocks.VgT.data()) as Float32Array), V: plain(blocks.V, (await blocks.V.data()) as Float32Array),
    };
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    const turn = this.queue;
    this.queue = turn.then(() => held);
    await turn;
    if (signal?.aborted) {
      release();
      throw abortError();
    }
    const worker = (this.worker ??= this.start());
    let pending: { resolve: (m: ShareReply) => void; reject: (e: Error) => void } | null = null;
    let ended: Error | null = null;
    let detached = false;
    // Assigned just below, before any handler can run.
    let unlisten = () => {};
    const detach = () => {
      if (detached) return;
      detached = true;
      unlisten();
      release();
    };
    const end = (err: Error) => {
      ended = err;
      pending?.reject(err);
      pending = null;
      detach();
    };
    unlisten = attach<ShareReply | BesideMessage>(worker, {
      message: (m) => {
        const waiting = pending;
        pending = null;
        if (!waiting) return;
        if (m.type === 'share') waiting.resolve(m);
        else waiting.reject(new Error(`nmf (on the second thread): ${m.type === 'error' ? m.message : 'unexpected reply'}`));
      },
      error: (err) => {
        this.worker = null;
        end(new Error(`nmf (on the second thread): ${err.message}`));
      },
      exit: (code) => {
        this.worker = null;
        end(new Error(`nmf: the second thread exited with code ${code}`));
      },
      abort: () => {
        this.worker = null;
        void worker.terminate();
        end(abortError());
      },
    }, signal);
    const call = (request: ShareRequest, ...matrices: StoredMatrix[]): Promise<ShareReply & { type: 'share' }> => {
      if (ended) return Promise.reject(ended);
      return new Promise((resolve, reject) => {
        pending = { resolve: resolve as (m: ShareReply) => void, reject };
        worker.postMessage(request, matrices.map((m) => m.values.buffer as ArrayBuffer));
      });
    };
    // Read synchronously: the request must be posted before the caller computes its own share.
    const now = (t: tf.Tensor2D) => plain(t, t.dataSync() as Float32Array);
    const matrix = (reply: ShareReply & { type: 'share' }) => matrixTensor(reply.matrix!);
    try {
      await call(open, open.VgT, open.V);
    } catch (err) {
      ended ??= err as Error;
      detach();
      throw err;
    }
    return {
      async ratio(W, Ht, next) {
        const request = { share: 'ratio', W: now(W), Ht: now(Ht), next } as const;
        const reply = await call(request, request.W, request.Ht);
        return { divergence: tf.tensor1d(reply.divergence!), nextHt: next ? matrix(reply) : null };
      },
      async updateW(nextHt) {
        const request = { share: 'updateW', nextHt: now(nextHt) } as const;
        return matrix(await call(request, request.nextHt));
      },
      dispose() {
        if (ended) return;
        ended = new Error('KL share used after dispose');
        // Messages arrive in order, so the worker ends the share before any later job. There is no
        // reply to wait for: this thread may be busy for seconds, and the next job is posted now.
        worker.postMessage({ share: 'close' } satisfies ShareRequest);
        detach();
      },
    };
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
