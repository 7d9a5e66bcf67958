/**
 * Entry of the worker thread that runs beside jobs for the CLI (src/cli/beside.ts): the same
 * backend set-up as the main thread, then one job at a time, with its progress sent back, or one
 * share of NMF's KL iterations, driven message by message by the main thread.
 */
import * as tf from '@tensorflow/tfjs';
import { parentPort, workerData } from 'node:worker_threads';
import { initBackend } from '../core/backend';
import type { BackendName } from '../core/config';
import { matrixTensor, runBesideJob, storedMatrix, type BesideJob, type StoredMatrix } from '../core/pipeline/beside';
import { localKlShare, type KlShare, type KlShareRange } from '../core/nmf/klShare';
import { nodeWasmPaths } from './wasmPaths';

export type BesideMessage =
  | { type: 'progress'; done: number; total: number; note?: string }
  | { type: 'done'; stored: unknown; seconds: number }
  | { type: 'error'; message: string };

/** The main thread's side of a KL share (KlShare's methods, with matrices as plain data). */
export type ShareRequest =
  | { share: 'open'; range: KlShareRange; VgT: StoredMatrix; V: StoredMatrix }
  | { share: 'ratio'; W: StoredMatrix; Ht: StoredMatrix; next: boolean }
  | { share: 'updateW'; nextHt: StoredMatrix }
  /** Ends the share; not answered. */
  | { share: 'close' };

export type ShareReply =
  | { type: 'share'; divergence?: Float32Array; matrix?: StoredMatrix }
  | { type: 'error'; message: string };

const port = parentPort!;
const ready = initBackend((workerData as { backend: BackendName }).backend, { wasmPaths: nodeWasmPaths() });


let share: KlShare | null = null;

/** The reply to a request, with the buffers to transfer; none to 'close', which the main thread does not wait on. */
async function answer(request: ShareRequest): Promise<[ShareReply, ArrayBuffer[]] | null> {
  if (request.share === 'open') {
    share?.dispose();
    share = localKlShare({ ...request.range, VgT: matrixTensor(request.VgT), V: matrixTensor(request.V) });
    return [{ type: 'share' }, []];
  }
  if (request.share === 'close') {
    share?.dispose();
    share = null;
    return null;
  }
  if (!share) throw new Error('no KL share is open on this thread');
  if (request.share === 'ratio') {
    const W = matrixTensor(request.W);
    const Ht = matrixTensor(request.Ht);
    try {
      const { divergence, nextHt } = await share.ratio(W, Ht, request.next);
      const values = (await divergence.data()) as Float32Array;
      divergence.dispose();
      const matrix = nextHt ? await storedMatrix(nextHt) : undefined;
      nextHt?.dispose();
      return [{ type: 'share', divergence: values, matrix }, [values.buffer as ArrayBuffer, ...(matrix ? [matrix.values.buffer as ArrayBuffer] : [])]];
    } finally {
      tf.dispose([W, Ht]);
    }
  }
  const nextHt = matrixTensor(request.nextHt);
  try {
    const Wn = await share.updateW(nextHt);
    const matrix = await storedMatrix(Wn);
    Wn.dispose();
    return [{ type: 'share', matrix }, [matrix.values.buffer as ArrayBuffer]];
  } finally {
    nextHt.dispose();
  }
}

port.on('message', async (message: BesideJob | ShareRequest) => {
  if ('share' in message) {
    try {
      await ready;
      const answered = await answer(message);
      if (answered) port.postMessage(...answered);
    } catch (err) {
      if (message.share !== 'close') port.postMessage({ type: 'error', message: (err as Error).message ?? String(err) } satisfies ShareReply);
    }
    return;
  }
  try {
    await ready;
    const result = await runBesideJob(message, (done, total, note) => port.postMessage({ type: 'progress', done, total, note } satisfies BesideMessage));
    port.postMessage({ type: 'done', ...result } satisfies BesideMessage);
  } catch (err) {
    port.postMessage({ type: 'error', message: (err as Error).message ?? String(err) } satisfies BesideMessage);
  }
});
