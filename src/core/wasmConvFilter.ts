/**
 * tfjs-backend-wasm 4.22 registers Conv2D and Conv2DBackpropInput but no Conv2DBackpropFilter, so
 * a tf.layers.conv2d cannot be trained there. The filter gradient is itself a convolution (of the
 * input with the output gradient, batch and channels swapped):
 *   dW[a, b, c, f] = Σ_{n,i,j} x̃[n, i+a, j+b, c] · dy[n, i, j, f]
 *                  = conv2d_valid(x̃ᵀ[c, ·, ·, n], dyᵀ[·, ·, n, f])[c, a, b, f],
 * with x̃ the input padded as the forward pass padded it. This registers that, for stride 1 and
 * dilation 1 (the lab's convolutions), on the backend's own Transpose, PadV2 and Conv2D kernels.
 */
import * as tf from '@tensorflow/tfjs';

export type KernelArgs = Parameters<tf.KernelFunc>[0];
export interface Backend { disposeData(dataId: object): void }
/** The attributes both convolution gradients carry. */
export interface ConvGradAttrs {
  strides: number | [number, number];
  pad: 'valid' | 'same' | number | tf.backend_util.ExplicitPadding;
  dataFormat: 'NHWC' | 'NCHW';
}
interface FilterAttrs extends ConvGradAttrs {
  dilations?: number | [number, number];
  filterShape: [number, number, number, number];
}

export const pair = (v: number | [number, number] | undefined): [number, number] => (v === undefined ? [1, 1] : typeof v === 'number' ? [v, v] : v);

/** [before, after] padding of one spatial axis as the forward convolution applied it. */
export function paddingOf(pad: FilterAttrs['pad'], k: number, axis: 1 | 2): [number, number] {
  if (pad === 'valid') return [0, 0];
  if (pad === 'same') return [Math.floor((k - 1) / 2), k - 1 - Math.floor((k - 1) / 2)];
  if (typeof pad === 'number') return [pad, pad];
  return pad[axis] as [number, number];
}

/**
 * Calls other kernels of the same backend from inside a kernel: `run` records each output in
 * `temps`, which the caller frees (backend.disposeData) once its own output is made.
 */
export function intermediates(args: KernelArgs): {
  run: (kernel: tf.KernelConfig, inputs: Record<string, tf.TensorInfo>, attrs: object) => tf.TensorInfo;
  temps: tf.TensorInfo[];
} {
  const temps: tf.TensorInfo[] = [];
  const run = (kernel: tf.KernelConfig, inputs: Record<string, tf.TensorInfo>, attrs: object) => {
    const out = kernel.kernelFunc({ inputs, attrs: attrs as tf.NamedAttrMap, backend: args.backend }) as tf.TensorInfo;
    temps.push(out);
    return out;
  };
  return { run, temps };
}

let registered = false;

/** Idempotent: registers the WASM Conv2DBackpropFilter once per process (or worker). */
export function registerWasmConvFilterGrad(): void {
  if (registered || tf.getKernel('Conv2DBackpropFilter', 'wasm')) return;
  const conv = tf.getKernel('Conv2D', 'wasm');
  const transpose = tf.getKernel('Transpose', 'wasm');
  const padV2 = tf.getKernel('PadV2', 'wasm');
  if (!conv || !transpose || !padV2) return;
  registered = true;
  tf.registerKernel({
    kernelName: 'Conv2DBackpropFilter',
    backendName: 'wasm',
    kernelFunc: ((args: KernelArgs) => {
      const { x, dy } = args.inputs as unknown as { x: tf.TensorInfo; dy: tf.TensorInfo };
      const attrs = args.attrs as unknown as FilterAttrs;
      const backend = args.backend as unknown as Backend;
      const [kh, kw] = attrs.filterShape;
      if (attrs.dataFormat === 'NCHW') throw new Error('Conv2DBackpropFilter (wasm): only NHWC is supported');
      if (pair(attrs.strides).some((s) => s !== 1) || pair(attrs.dilations).some((d) => d !== 1)) {
        throw new Error('Conv2DBackpropFilter (wasm): only stride 1 and dilation 1 are supported');
      }
      const { run, temps } = intermediates(args);
      try {
        const [top, bottom] = paddingOf(attrs.pad, kh, 1);
        const [left, right] = paddingOf(attrs.pad, kw, 2);
        const padded = top + bottom + left + right > 0
          ? run(padV2, { x }, { paddings: [[0, 0], [top, bottom], [left, right], [0, 0]], constantValue: 0 })
          : x;
        const xT = run(transpose, { x: padded }, { perm: [3, 1, 2, 0] }); // [C, Hp, Wp, N]
        const dyT = run(transpose, { x: dy }, { perm: [1, 2, 0, 3] }); // [Ho, Wo, N, F]
        const grad = run(conv, { x: xT, filter: dyT }, { strides: [1, 1], pad: 'valid', dataFormat: 'NHWC', dilations: [1, 1] }); // [C, kh, kw, F]
        const out = transpose.kernelFunc({ inputs: { x: grad }, attrs: { perm: [1, 2, 0, 3] }, backend: args.backend }) as tf.TensorInfo;
        return out;
      } finally {
        for (const t of temps) backend.disposeData(t.dataId);
      }
    }) as tf.KernelFunc,
  });
}
