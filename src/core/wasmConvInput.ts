/**
 * tfjs-backend-wasm 4.22's Conv2DBackpropInput is a direct loop: 25 ms of an 83 ms image-CNN
 * training step, for a gradient of 38 MFLOP. The input gradient of a stride-1 convolution is
 * itself a convolution, of the output gradient with the filter turned by 180° and its channel axes
 * swapped (Dumoulin & Visin 2016, §4.1):
 *   dx[n, i, j, c] = Σ_{a,b,f} dy[n, i + top − a, j + left − b, f] · W[a, b, c, f]
 *                  = conv2d_valid(dỹ, W')[n, i, j, c],   W'[a, b, f, c] = W[kh−1−a, kw−1−b, c, f],
 * with dy padded by kh−1−top rows before (and as many after as make the output H tall), likewise
 * for columns. This re-registers the kernel to run that on the backend's own Reverse, Transpose,
 * PadV2 and Conv2D (XNNPACK) kernels for stride 1 and dilation 1, NHWC; anything else goes to the
 * original kernel.
 */
import * as tf from '@tensorflow/tfjs';
import { intermediates, pair, paddingOf, type Backend, type ConvGradAttrs, type KernelArgs } from './wasmConvFilter';

interface InputGradAttrs extends ConvGradAttrs {
  inputShape: [number, number, number, number];
}

let patched = false;

/** Idempotent: patches the WASM Conv2DBackpropInput once per process (or worker). */
export function patchWasmConvInputGrad(): void {
  const original = tf.getKernel('Conv2DBackpropInput', 'wasm');
  const conv = tf.getKernel('Conv2D', 'wasm');
  const transpose = tf.getKernel('Transpose', 'wasm');
  const reverse = tf.getKernel('Reverse', 'wasm');
  const padV2 = tf.getKernel('PadV2', 'wasm');
  if (patched || !original || !conv || !transpose || !reverse || !padV2) return;
  patched = true;
  const kernelFunc = (args: KernelArgs) => {
    const { dy, filter } = args.inputs as unknown as { dy: tf.TensorInfo; filter: tf.TensorInfo };
    const attrs = args.attrs as unknown as InputGradAttrs;
    const [kh, kw] = filter.shape;
    const [, height, width] = attrs.inputShape;
    const [, outHeight, outWidth] = dy.shape;
    const [top] = paddingOf(attrs.pad, kh, 1);
    const [left] = paddingOf(attrs.pad, kw, 2);
    const padding = [[0, 0], [kh - 1 - top, 0], [kw - 1 - left, 0], [0, 0]];
    padding[1][1] = height + kh - 1 - outHeight - padding[1][0];
    padding[2][1] = width + kw - 1 - outWidth - padding[2][0];
    const direct = attrs.dataFormat === 'NHWC' && pair(attrs.strides).every((s) => s === 1) && padding.flat().every((p) => p >= 0);
    if (!direct) return original.kernelFunc(args);
    const backend = args.backend as unknown as Backend;
    const { run, temps } = intermediates(args);
    try {
      const turned = run(reverse, { x: filter }, { dims: [0, 1] });
      const swapped = run(transpose, { x: turned }, { perm: [0, 1, 3, 2] }); // [kh, kw, F, C]
      const padded = padding.flat().some((p) => p > 0) ? run(padV2, { x: dy }, { paddings: padding, constantValue: 0 }) : dy;
      return conv.kernelFunc({
        inputs: { x: padded, filter: swapped },
        attrs: { strides: [1, 1], pad: 'valid', dataFormat: 'NHWC', dilations: [1, 1] } as unknown as tf.NamedAttrMap,
        backend: args.backend,
      }) as tf.TensorInfo;
    } finally {
      for (const t of temps) backend.disposeData(t.dataId);
    }
  };
  tf.unregisterKernel('Conv2DBackpropInput', 'wasm');
  tf.registerKernel({ ...original, kernelFunc: kernelFunc as tf.KernelFunc });
}
