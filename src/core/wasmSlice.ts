/**
 * tfjs-backend-wasm 4.22's Slice kernel starts with `backend.readSync(x)`, which copies the whole
 * input out of the WASM heap before taking the few values it needs: a 32-row batch of the 220 test
 * images at 128² cost 55 ms, so `model.predict` on them (seven batches) took 0.4 s, and every
 * slice of the 100 MB training matrix copied all of it; the feature CNN's im2col slices its
 * [N, L, 1, C] maps several times per call. This re-registers Slice to read the input through a
 * view on the heap instead, for numeric tensors of any rank: the trailing dimensions the slice
 * keeps whole make one contiguous run with the partial dimension before them, and the run is
 * copied once per index of the dimensions in front. Strings keep the original kernel. Same values.
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
    if (x.dtype === 'string') return original.kernelFunc(args);
    const attrs = args.attrs as unknown as { begin: number | number[]; size?: number | number[] };
    const [begin, size] = tf.slice_util.parseSliceParams(x as tf.Tensor, attrs.begin, attrs.size);
    const backend = args.backend as unknown as HeapBackend;
    const out = backend.makeOutput(size, x.dtype);
    // Views only after makeOutput: an allocation that grows the heap detaches earlier views.
    const xVals = backend.typedArrayFromHeap(x);
    const outVals = backend.typedArrayFromHeap(out);
    const rank = x.shape.length;
    if (rank === 0 || tf.util.sizeFromShape(size) === 0) {
      if (rank === 0) outVals[0] = xVals[0];
      return out;
    }
    const strides = [...tf.util.computeStrides(x.shape), 1];
    // Dimension `axis` is the last one cut short (or the first one): from it inward the slice is one run.
    let axis = rank - 1;
    while (axis > 0 && begin[axis] === 0 && size[axis] === x.shape[axis]) axis--;
    const run = size[axis] * strides[axis];
    const outer = size.slice(0, axis);
    const count = tf.util.sizeFromShape(outer);
    const index = new Array<number>(axis).fill(0);
    for (let k = 0; k < count; k++) {
      let from = begin[axis] * strides[axis];
      for (let j = 0; j < axis; j++) from += (begin[j] + index[j]) * strides[j];
      outVals.set(xVals.subarray(from, from + run), k * run);
      // Next index of the outer dimensions, last one fastest.
      for (let j = axis - 1; j >= 0 && ++index[j] === outer[j]; j--) index[j] = 0;
    }
    return out;
  };
  tf.unregisterKernel('Slice', 'wasm');
  tf.registerKernel({ ...original, kernelFunc: kernelFunc as tf.KernelFunc });
}
