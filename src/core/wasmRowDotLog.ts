/**
 * Registers the fused `rowDotLog` kernel (src/core/nmf/rowDotLog.ts) on the WASM backend: the
 * lab's own WASM SIMD module (src/core/wasmKernels/rowDotLog.source.ts), run on the backend's
 * memory with no copies in or out. Where it cannot be instantiated the kernel stays unregistered
 * and rowDotLog runs its composition of tfjs ops.
 */
import * as tf from '@tensorflow/tfjs';
import { ROW_DOT_LOG } from './nmf/rowDotLog';
import { rowDotLogBase64 } from './wasmKernels/rowDotLog.wasm';
import { heapOffset, instantiateOnWasmBackend, type WasmHeapBackend } from './wasmKernels/instantiate';

type KernelArgs = Parameters<tf.KernelFunc>[0];
type RowDotLogExport = (a: number, b: number, rows: number, cols: number, out: number) => void;

/** Idempotent. Returns whether the fused kernel is in place. */
export function registerWasmRowDotLog(): boolean {
  if (tf.getKernel(ROW_DOT_LOG, 'wasm')) return true;
  const run = instantiateOnWasmBackend<RowDotLogExport>(rowDotLogBase64, 'rowDotLog', { log: Math.log });
  if (!run) return false;
  const kernelFunc = (args: KernelArgs) => {
    const { a, b } = args.inputs as unknown as { a: tf.TensorInfo; b: tf.TensorInfo };
    if (a.dtype !== 'float32' || b.dtype !== 'float32') throw new TypeError(`rowDotLog: float32 inputs expected, got ${a.dtype} and ${b.dtype}`);
    const out = (args.backend as unknown as WasmHeapBackend).makeOutput([a.shape[0]], 'float32');
    run(heapOffset(args.backend, a), heapOffset(args.backend, b), a.shape[0], a.shape[1], heapOffset(args.backend, out));
    return out;
  };
  tf.registerKernel({ kernelName: ROW_DOT_LOG, backendName: 'wasm', kernelFunc: kernelFunc as tf.KernelFunc });
  return true;
}
