/**
 * Image preprocessing shared by every host: decoded pixels → one gray channel in [0,1] → S×S.
 * The papers resize straight to a square, so a non-square image is stretched, not padded or cropped.
 */

/** Decoded pixels, interleaved channels, row-major (what sharp/bmp decoders hand back). */
export interface RawImage {
  width: number;
  height: number;
  /** 1 gray, 2 gray+alpha, 3 RGB, 4 RGBA. */
  channels: 1 | 2 | 3 | 4;
  bitDepth: 8 | 16;
  data: Uint8Array | Uint8ClampedArray | Uint16Array;
}

/**
 * Gray in [0,1]. RGB uses the ITU-R BT.601 luma weights 0.299/0.587/0.114; alpha is composited
 * over black (gray · alpha), so fully transparent pixels read as background, like an MRI's air.
 */
export function toGray(img: RawImage): Float32Array {
  const { width, height, channels, data } = img;
  const n = width * height;
  if (data.length < n * channels) {
    throw new Error(`toGray: ${width}×${height}×${channels} needs ${n * channels} samples, got ${data.length}`);
  }
  const scale = 1 / (img.bitDepth === 16 ? 65535 : 255);
  const out = new Float32Array(n);
  switch (channels) {
    case 1:
      for (let i = 0; i < n; i++) out[i] = data[i] * scale;
      break;
    case 2:
      for (let i = 0, j = 0; i < n; i++, j += 2) out[i] = data[j] * scale * (data[j + 1] * scale);
      break;
    case 3:
      for (let i = 0, j = 0; i < n; i++, j += 3) {
        out[i] = (0.299 * data[j] + 0.587 * data[j + 1] + 0.114 * data[j + 2]) * scale;
      }
      break;
    case 4:
      for (let i = 0, j = 0; i < n; i++, j += 4) {
        out[i] = (0.299 * data[j] + 0.587 * data[j + 1] + 0.114 * data[j + 2]) * scale * (data[j + 3] * scale);
      }
      break;
  }
  return out;
}

/**
 * Sparse 1-D resampling weights: output sample j reads inputs index[start[j] .. start[j+1]) with
 * weights weight[...]. Downscaling averages each output cell's footprint (box filter weighted by
 * overlap, so a very wide image is not aliased); upscaling interpolates linearly between the two
 * nearest input centres (pixel centres aligned: x_in = (j + ½)·in/out − ½).
 */
interface Resampler {
  start: Int32Array;
  index: Int32Array;
  weight: Float32Array;
}

function resampler(inLen: number, outLen: number): Resampler {
  const start = new Int32Array(outLen + 1);
  const index: number[] = [];
  const weight: number[] = [];
  const ratio = inLen / outLen;
  for (let j = 0; j < outLen; j++) {
    start[j] = index.length;
    if (ratio > 1) {
      const lo = j * ratio;
      const hi = lo + ratio;
      for (let i = Math.floor(lo); i < Math.min(inLen, Math.ceil(hi)); i++) {
        const overlap = Math.min(hi, i + 1) - Math.max(lo, i);
        if (overlap > 0) {
          index.push(i);
          weight.push(overlap / ratio);
        }
      }
    } else {
      const x = Math.min(Math.max((j + 0.5) * ratio - 0.5, 0), inLen - 1);
      const i0 = Math.floor(x);
      const i1 = Math.min(i0 + 1, inLen - 1);
      const f = x - i0;
      index.push(i0, i1);
      weight.push(1 - f, f);
    }
  }
  start[outLen] = index.length;
  return { start, index: Int32Array.from(index), weight: Float32Array.from(weight) };
}

/** Resample a width×height gray image to size×size (stretching: aspect ratio is not kept). */
export function resizeSquare(gray: Float32Array, width: number, height: number, size: number): Float32Array {
  if (gray.length !== width * height) throw new Error(`resizeSquare: ${gray.length} pixels is not ${width}×${height}`);
  if (width === size && height === size) return Float32Array.from(gray);
  const rx = resampler(width, size);
  const ry = resampler(height, size);
  // Separable: rows first (height × size), then columns (size × size).
  const rows = new Float32Array(height * size);
  for (let y = 0; y < height; y++) {
    const src = y * width;
    const dst = y * size;
    for (let j = 0; j < size; j++) {
      let acc = 0;
      for (let k = rx.start[j]; k < rx.start[j + 1]; k++) acc += rx.weight[k] * gray[src + rx.index[k]];
      rows[dst + j] = acc;
    }
  }
  const out = new Float32Array(size * size);
  for (let j = 0; j < size; j++) {
    const dst = j * size;
    for (let k = ry.start[j]; k < ry.start[j + 1]; k++) {
      const w = ry.weight[k];
      const src = ry.index[k] * size;
      for (let x = 0; x < size; x++) out[dst + x] += w * rows[src + x];
    }
  }
  return out;
}

/** Decoded image → size×size gray in [0,1]. */
export function preprocess(img: RawImage, size: number): Float32Array {
  const out = resizeSquare(toGray(img), img.width, img.height, size);
  // Float rounding in the weighted sums can step a hair outside [0,1].
  for (let i = 0; i < out.length; i++) out[i] = Math.min(1, Math.max(0, out[i]));
  return out;
}
