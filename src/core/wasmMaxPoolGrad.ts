/**
 * Re-registers the WASM backend's MaxPoolGrad with the lab's kernel
 * (src/core/wasmKernels/maxPoolGrad.source.ts): the CPU backend's routing (first maximum of each
 * window gets the gradient) where tfjs-backend-wasm 4.22 misroutes windows of negative values, and
 * in a fraction of the time. NHWC float32 only; anything else keeps the original kernel.
 */
import * as tf from '@tensorflow/tfjs';
import { maxPoolGradBase64 } from './wasmKernels/maxPoolGrad.wasm';
import { heapOffset, instantiateOnWasmBackend, type WasmHeapBackend } from './wasmKernels/instantiate';

type KernelArgs = Parameters<tf.KernelFunc>[0];
type MaxPoolGradExport = (...args: number[]) => void;
interface MaxPoolGradAttrs {
  filterSize: number | [number, number];
  strides: number | [number, number];
  pad: 'valid' | 'same' | number | tf.backend_util.ExplicitPadding;
  dimRoundingMode?: 'floor' | 'round' | 'ceil';
}

let patched = false;

/** Idempotent: patches the WASM MaxPoolGrad once per process (or worker). */
export function patchWasmMaxPoolGrad(): void {
  const original = tf.getKernel('MaxPoolGrad', 'wasm');
  if (patched || !original) return;
  const run = instantiateOnWasmBackend<MaxPoolGradExport>(maxPoolGradBase64, 'maxPoolGrad');
  if (!run) return;
  patched = true;
  const kernelFunc = (args: KernelArgs) => {
    const { dy, input } = args.inputs as unknown as { dy: tf.TensorInfo; input: tf.TensorInfo };
    const attrs = args.attrs as unknown as MaxPoolGradAttrs;
    if (input.dtype !== 'float32' || dy.dtype !== 'float32' || input.shape.length !== 4) return original.kernelFunc(args);
    const info = tf.backend_util.computePool2DInfo(
      input.shape as [number, number, number, number], attrs.filterSize, attrs.strides, 1, attrs.pad, attrs.dimRoundingMode,
    );
    const dx = (args.backend as unknown as WasmHeapBackend).makeOutput(input.shape, 'float32');
    // Offsets after makeOutput: it may grow the memory (offsets stay valid; only views detach).
    run(
      heapOffset(args.backend, input), heapOffset(args.backend, dy), heapOffset(args.backend, dx),
      info.batchSize, info.inHeight, info.inWidth, info.inChannels, info.outHeight, info.outWidth,
      info.filterHeight, info.filterWidth, info.strideHeight, info.strideWidth, info.padInfo.top, info.padInfo.left,
    );
    return dx;
  };
  tf.unregisterKernel('MaxPoolGrad', 'wasm');
  tf.registerKernel({ ...original, kernelFunc: kernelFunc as tf.KernelFunc });
}
