/**
 * Registers the fused `rowDotLog` kernel (src/core/nmf/rowDotLog.ts) on the WASM backend. The
 * kernel is the lab's own WASM SIMD module (src/core/wasmKernels/rowDotLog.wat), instantiated on
 * the backend's own memory so that it reads the tensors where they lie: no copies in or out.
 * A backend whose memory is shared (the threaded binary) cannot be imported by a module that
 * declares plain memory; there the kernel is left unregistered and the composition runs.
 */
import * as tf from '@tensorflow/tfjs';
import { ROW_DOT_LOG } from './nmf/rowDotLog';
import { rowDotLogBase64 } from './wasmKernels/rowDotLog.wasm';

type KernelArgs = Parameters<tf.KernelFunc>[0];
interface WasmBackend {
  wasm: { asm?: { memory?: WebAssembly.Memory } };
  dataIdMap: { get(dataId: object): { memoryOffset: number } | undefined };
  makeOutput(shape: number[], dtype: tf.DataType): tf.TensorInfo;
}
type RowDotLogExport = (a: number, b: number, rows: number, cols: number, out: number) => void;

export function decodeBase64(text: string): Uint8Array {
  const binary = atob(text);
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
  return bytes;
}

function instantiate(memory: WebAssembly.Memory): RowDotLogExport | null {
  try {
    // Under 4 KB, so synchronous compilation is allowed on a browser's main thread too.
    const module = new WebAssembly.Module(decodeBase64(rowDotLogBase64) as BufferSource);
    const instance = new WebAssembly.Instance(module, { env: { memory, log: Math.log } });
    return instance.exports.rowDotLog as RowDotLogExport;
  } catch {
    return null;
  }
}

/** Idempotent. Returns whether the fused kernel is in place. */
export function registerWasmRowDotLog(): boolean {
  if (tf.getKernel(ROW_DOT_LOG, 'wasm')) return true;
  const backend = tf.findBackend('wasm') as unknown as WasmBackend | null;
  const memory = backend?.wasm.asm?.memory;
  if (!backend || !(memory instanceof WebAssembly.Memory)) return false;
  const run = instantiate(memory);
  if (!run) return false;
  const kernelFunc = (args: KernelArgs) => {
    const { a, b } = args.inputs as unknown as { a: tf.TensorInfo; b: tf.TensorInfo };
    if (a.dtype !== 'float32' || b.dtype !== 'float32') throw new TypeError(`rowDotLog: float32 inputs expected, got ${a.dtype} and ${b.dtype}`);
    const wasm = args.backend as unknown as WasmBackend;
    const out = wasm.makeOutput([a.shape[0]], 'float32');
    const offset = (t: tf.TensorInfo) => wasm.dataIdMap.get(t.dataId)!.memoryOffset;
    run(offset(a), offset(b), a.shape[0], a.shape[1], offset(out));
    return out;
  };
  tf.registerKernel({ kernelName: ROW_DOT_LOG, backendName: 'wasm', kernelFunc: kernelFunc as tf.KernelFunc });
  return true;
}
