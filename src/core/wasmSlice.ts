/**
 * tfjs-backend-wasm 4.22's Slice kernel starts with `backend.readSync(x)`, which copies the whole
 * input out of the WASM heap before taking the few rows it needs: a 32-row batch of the 220 test
 * images at 128² cost 55 ms, so `model.predict` on them (seven batches) took 0.4 s, and every
 * slice of the 100 MB training matrix copied all of it. This re-registers Slice to read the input
 * through a view on the heap instead, for numeric tensors of rank ≤ 2 (the lab's matrices); strings
 * and higher ranks keep the original kernel. Same values.
 */
import * as tf from '@tensorflow/tfjs';

type KernelArgs = Parameters<tf.KernelFunc>[0];
interface HeapBackend {
  makeOutput(shape: number[], dtype: tf.DataType): tf.TensorInfo;
  typedArrayFromHeap(info: tf.TensorInfo): tf.TypedArray;
}

let patched = false;

/** Idempotent: patches the WASM Slice kernel once per process (or worker). */
export function patchWasmSlice(): void {
  const original = tf.getKernel('Slice', 'wasm');
  if (patched || !original) return;
  patched = true;
  const kernelFunc = (args: KernelArgs) => {
    const x = (args.inputs as unknown as { x: tf.TensorInfo }).x;
    if (x.dtype === 'string' || x.shape.length > 2) return original.kernelFunc(args);
    const attrs = args.attrs as unknown as { begin: number | number[]; size?: number | number[] };
    const [begin, size] = tf.slice_util.parseSliceParams(x as tf.Tensor, attrs.begin, attrs.size);
    const backend = args.backend as unknown as HeapBackend;
    const out = backend.makeOutput(size, x.dtype);
    // Views only after makeOutput: an allocation that grows the heap detaches earlier views.
    const xVals = backend.typedArrayFromHeap(x);
    const outVals = backend.typedArrayFromHeap(out);
    if (tf.slice_util.isSliceContinous(x.shape, begin, size)) {
      const offset = tf.slice_util.computeFlatOffset(begin, tf.util.computeStrides(x.shape));
      outVals.set(xVals.subarray(offset, offset + tf.util.sizeFromShape(size)));
      return out;
    }
    // Rank 2, a band of columns: one copy per row.
    const [rows, cols] = size;
    const stride = x.shape[1];
    for (let i = 0; i < rows; i++) {
      const from = (begin[0] + i) * stride + begin[1];
      outVals.set(xVals.subarray(from, from + cols), i * cols);
    }
    return out;
  };
  tf.unregisterKernel('Slice', 'wasm');
  tf.registerKernel({ ...original, kernelFunc: kernelFunc as tf.KernelFunc });
}
