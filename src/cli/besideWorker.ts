/**
 * Entry of the worker thread that runs beside jobs for the CLI (src/cli/beside.ts): the same
 * backend set-up as the main thread, then one job at a time, with its progress sent back.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { initBackend } from '../core/backend';
import type { BackendName } from '../core/config';
import { runBesideJob, type BesideJob } from '../core/pipeline/beside';
import { nodeWasmPaths } from './wasmPaths';

export type BesideMessage =
  | { type: 'progress'; done: number; total: number; note?: string }
  | { type: 'done'; stored: unknown; seconds: number }
  | { type: 'error'; message: string };

const port = parentPort!;
const ready = initBackend((workerData as { backend: BackendName }).backend, { wasmPaths: nodeWasmPaths() });

port.on('message', async (job: BesideJob) => {
  try {
    await ready;
    const result = await runBesideJob(job, (done, total, note) => port.postMessage({ type: 'progress', done, total, note } satisfies BesideMessage));
    port.postMessage({ type: 'done', ...result } satisfies BesideMessage);
  } catch (err) {
    port.postMessage({ type: 'error', message: (err as Error).message ?? String(err) } satisfies BesideMessage);
  }
});
