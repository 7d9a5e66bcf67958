/**
 * 'same', stride-1 convolutions built from standard tfjs-layers layers as im2col + Dense.
 *
 * Why not tf.layers.conv1d/conv2d: tfjs-backend-wasm 4.22 registers no Conv2DBackpropFilter, so
 * they cannot be trained there, and its Conv3D kernels (the previous workaround) are naive and
 * slow. Pad, slice, concat, transpose and their gradients are exact on every backend, and the
 * Dense layer runs on WASM's fast XNNPACK matMul (tfjs-layers' Dense contracts the last axis of a
 * rank-4 input by reshaping it to 2-D). Every layer used is a registered tfjs-layers class, so the
 * model saves and loads with tf.loadLayersModel without custom classes.
 *
 * Layout, for a [kh, kw] kernel on a channels-last map [N, H, W, C] (the "flat-row" im2col):
 *  1. zero-pad to [Hp, Wp, C]: 'same' padding, plus one spare bottom row when kw > 1;
 *  2. flatten each sample to one row of L = Hp·Wp·C values. Kernel tap (dy, dx) of output pixel
 *     (h, w) reads padded pixel (h + dy, w + dx), at flat offset ((h·Wp + w) + (dy·Wp + dx))·C:
 *     so tap (dy, dx) for all outputs is ONE contiguous run of H·Wp·C values starting at
 *     (dy·Wp + dx)·C, cut with a cropping2D along that row;
 *  3. concatenate the kh·kw taps, transpose to [H·Wp, taps, C] and reshape to [H, Wp, taps·C];
 *  4. Dense over the last axis, then crop the kw−1 right-hand columns w ≥ W, whose taps wrapped
 *     into the next padded row (the spare row keeps the last of them inside the buffer).
 * The WASM backend slices and concatenates in JavaScript, one typed-array copy per contiguous
 * run: cutting per-pixel views of a channels-last map costs one copy per pixel and channel run
 * (measured slower than Conv3D), the flat rows cost one copy per sample and tap.
 *
 * Kernel layout (the row order of the Dense kernel [kh·kw·C, F]): row (dy·kw + dx)·C + c holds
 * tap (dy, dx) and input channel c, i.e. exactly tf.conv2d's filter [kh, kw, C, F] reshaped
 * row-major (conv1d's [k, C, F] for a [k, 1] kernel).
 */
import * as tf from '@tensorflow/tfjs';

export interface SameConvOptions {
  filters: number;
  /** [kh, kw] kernel extent; [k, 1] is a 1-D convolution along the height of a [M, 1, C] map. */
  kernelSize: [number, number];
  activation?: 'relu' | 'linear';
  kernelInitializer?: ReturnType<typeof tf.initializers.glorotUniform>;
  /** Name of the Dense layer holding the kernel [kh·kw·C, F] and bias [F]; helper layers get
   * this name as a prefix. */
  name: string;
}

/** 'same' padding of one axis as tf.conv2d computes it: the extra pixel of an even kernel goes
 * after the map (bottom / right). */
function samePadding(k: number): [number, number] {
  const before = Math.floor((k - 1) / 2);
  return [before, k - 1 - before];
}

/** A 'same', stride-1 convolution (+ bias, activation) of a channels-last map: [N, H, W, F]. */
export function sameConv(x: tf.SymbolicTensor, opts: SameConvOptions): tf.SymbolicTensor {
  const [kh, kw] = opts.kernelSize;
  const { name } = opts;
  if (x.shape.length !== 4 || x.shape.slice(1).some((d) => d == null)) {
    throw new Error(`sameConv: expected a [N, H, W, C] map with known H, W, C, got shape [${x.shape}]`);
  }
  if (!Number.isInteger(kh) || !Number.isInteger(kw) || kh < 1 || kw < 1) throw new Error(`sameConv: kernel ${kh}×${kw} must be positive integers`);
  const [h, w, c] = x.shape.slice(1) as number[];
  const dense = tf.layers.dense({ units: opts.filters, activation: opts.activation ?? 'linear', kernelInitializer: opts.kernelInitializer, name });
  if (kh === 1 && kw === 1) return dense.apply(x) as tf.SymbolicTensor;

  const [top, bottom] = samePadding(kh);
  const [left, right] = samePadding(kw);
  const spareRow = kw > 1 ? 1 : 0;
  const wp = w + kw - 1;
  const length = (h + kh - 1 + spareRow) * wp * c;
  const run = h * wp * c;
  const padded = tf.layers.zeroPadding2d({ padding: [[top, bottom + spareRow], [left, right]], name: `${name}_pad` }).apply(x) as tf.SymbolicTensor;
  // [1, 1, L] read channels-first: cropping2D then cuts along the last (contiguous) axis.
  const rows = tf.layers.reshape({ targetShape: [1, 1, length], name: `${name}_rows` }).apply(padded) as tf.SymbolicTensor;
  const taps: tf.SymbolicTensor[] = [];
  for (let dy = 0; dy < kh; dy++) {
    for (let dx = 0; dx < kw; dx++) {
      const offset = (dy * wp + dx) * c;
      const crop = tf.layers.cropping2D({ cropping: [[0, 0], [offset, length - offset - run]], dataFormat: 'channelsFirst', name: `${name}_tap${dy}_${dx}` });
      taps.push(crop.apply(rows) as tf.SymbolicTensor);
    }
  }
  const stacked = tf.layers.concatenate({ axis: 1, name: `${name}_taps` }).apply(taps) as tf.SymbolicTensor; // [T, 1, run]
  const byTap = tf.layers.reshape({ targetShape: [kh * kw, h * wp, c], name: `${name}_tapmajor` }).apply(stacked) as tf.SymbolicTensor;
  const byPixel = tf.layers.permute({ dims: [2, 1, 3], name: `${name}_pixelmajor` }).apply(byTap) as tf.SymbolicTensor; // [H·Wp, T, C]
  const patches = tf.layers.reshape({ targetShape: [h, wp, kh * kw * c], name: `${name}_patches` }).apply(byPixel) as tf.SymbolicTensor;
  const out = dense.apply(patches) as tf.SymbolicTensor;
  if (kw === 1) return out;
  return tf.layers.cropping2D({ cropping: [[0, 0], [0, kw - 1]], name: `${name}_valid` }).apply(out) as tf.SymbolicTensor;
}
