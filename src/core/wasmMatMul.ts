/**
 * tfjs-backend-wasm 4.22 runs BatchMatMul and _FusedMatMul about ten times slower when a
 * transpose flag is set than on plain operands (measured: [14336, 72]·[72, 16] forward 1.2 ms,
 * its flagged backward products 12.8 and 15.9 ms; explicit transposes 1.2 and 2 ms). Every Dense
 * layer's gradient and the NMF updates hit the flagged path, so this re-registers both kernels to
 * transpose explicitly (with the backend's own Transpose kernel) and call the original on plain
 * operands. Same arithmetic, bit-identical results.
 */
import * as tf from '@tensorflow/tfjs';

type KernelArgs = Parameters<tf.KernelFunc>[0];
interface TransposableInputs { a: tf.TensorInfo; b: tf.TensorInfo; [name: string]: tf.TensorInfo }
interface Backend { disposeData(dataId: object): void }

const patched = new Set<string>();

function swapLastTwo(rank: number): number[] {
  const perm = Array.from({ length: rank }, (_, i) => i);
  perm[rank - 2] = rank - 1;
  perm[rank - 1] = rank - 2;
  return perm;
}

function withExplicitTransposes(name: string): void {
  const original = tf.getKernel(name, 'wasm');
  const transpose = tf.getKernel('Transpose', 'wasm');
  if (!original || !transpose) return;
  const kernelFunc = (args: KernelArgs) => {
    const inputs = args.inputs as unknown as TransposableInputs;
    const attrs = args.attrs as { transposeA?: boolean; transposeB?: boolean };
    if (!attrs.transposeA && !attrs.transposeB) return original.kernelFunc(args);
    const backend = args.backend as unknown as Backend;
    const flip = (x: tf.TensorInfo) =>
      transpose.kernelFunc({ inputs: { x }, attrs: { perm: swapLastTwo(x.shape.length) }, backend: args.backend }) as tf.TensorInfo;
    const a = attrs.transposeA ? flip(inputs.a) : inputs.a;
    const b = attrs.transposeB ? flip(inputs.b) : inputs.b;
    try {
      return original.kernelFunc({ ...args, inputs: { ...inputs, a, b }, attrs: { ...attrs, transposeA: false, transposeB: false } });
    } finally {
      if (a !== inputs.a) backend.disposeData(a.dataId);
      if (b !== inputs.b) backend.disposeData(b.dataId);
    }
  };
  tf.unregisterKernel(name, 'wasm');
  tf.registerKernel({ ...original, kernelFunc: kernelFunc as tf.KernelFunc });
}

/** Idempotent: patches the WASM kernels once per process (or worker). */
export function patchWasmMatMul(): void {
  for (const name of ['BatchMatMul', '_FusedMatMul']) {
    if (patched.has(name)) continue;
    withExplicitTransposes(name);
    patched.add(name);
  }
}
