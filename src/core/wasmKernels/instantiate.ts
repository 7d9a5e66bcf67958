/**
 * Instantiates one of the lab's WASM kernels on the memory of the tfjs WASM backend, so that it
 * reads and writes tensors where they lie. A backend whose memory is shared (the threaded binary)
 * cannot be imported by a module that declares plain memory; then, or without a WASM backend,
 * this returns null and the caller keeps the backend's own kernel.
 */
import * as tf from '@tensorflow/tfjs';

export interface WasmHeapBackend {
  wasm: { asm?: { memory?: WebAssembly.Memory } };
  dataIdMap: { get(dataId: object): { memoryOffset: number } | undefined };
  makeOutput(shape: number[], dtype: tf.DataType): tf.TensorInfo;
}

export function decodeBase64(text: string): Uint8Array {
  const binary = atob(text);
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
  return bytes;
}

/** The named export of the kernel in `base64`, bound to the WASM backend's memory; null where it cannot be. */
export function instantiateOnWasmBackend<F extends (...args: number[]) => unknown>(
  base64: string, exportName: string, imports: Record<string, unknown> = {},
): F | null {
  const backend = tf.findBackend('wasm') as unknown as WasmHeapBackend | null;
  const memory = backend?.wasm.asm?.memory;
  if (!backend || !(memory instanceof WebAssembly.Memory)) return null;
  try {
    // Each kernel is under 4 KB, so synchronous compilation is allowed on a browser's main thread too.
    const module = new WebAssembly.Module(decodeBase64(base64) as BufferSource);
    const instance = new WebAssembly.Instance(module, { env: { memory, ...imports } });
    return instance.exports[exportName] as F;
  } catch {
    return null;
  }
}

/** Byte offset of a tensor's data in the WASM backend's memory. */
export function heapOffset(backend: object, tensor: tf.TensorInfo): number {
  return (backend as unknown as WasmHeapBackend).dataIdMap.get(tensor.dataId)!.memoryOffset;
}
