/**
 * mri-demo: a seeded two-class MRI set built from real anatomy (axial slices of the Colin27 "ch2"
 * T1 template) with synthesized tumors of known extent. Both classes pass through the same
 * augmentation (rotation, scale, shift, multiplicative bias field, gain, Rician noise), so nothing
 * global — brightness, noise level, framing — tells them apart; only the lesion does.
 */
import { parse } from 'npyjs';
import type { Dataset, ImageSet, ProgressFn } from '../types';
import { createRandom, type RandomStream } from '../random';
import { resizeSquare } from './preprocess';
import { stratifiedSplit } from './split';
import { bilinear, headDistance, lesionScale, renderLesion } from './lesion';

/** uint8 slices, (count, height, width), row-major. */
export interface SliceStack {
  data: Uint8Array;
  count: number;
  height: number;
  width: number;
}

export interface MriDemoOptions {
  count: number;
  size: number;
  /** 0 → large high-contrast lesions and little noise; 1 → small faint lesions in more noise. */
  difficulty: number;
  seed: number;
  split: [number, number, number];
  onProgress?: ProgressFn;
}

export const MRI_DEMO_CLASSES = ['normal', 'tumor'];

/** The shipped public/data/ch2-slices.npy (or any uint8 (n, H, W) .npy) → SliceStack. */
export function parseSliceStack(buffer: ArrayBuffer): SliceStack {
  let npy;
  try {
    npy = parse(buffer);
  } catch (e) {
    throw new Error(`slice stack: not a readable .npy file (${(e as Error).message})`);
  }
  if (npy.dtype !== 'u1' || !(npy.data instanceof Uint8Array)) {
    throw new Error(`slice stack: dtype must be uint8 ('u1'), got '${npy.dtype}'`);
  }
  if (npy.shape.length !== 3 || npy.shape.some((d) => d < 1)) {
    throw new Error(`slice stack: shape must be (slices, height, width), got (${npy.shape.join(', ')})`);
  }
  if (npy.fortranOrder) throw new Error('slice stack: Fortran-ordered arrays are not supported');
  const [count, height, width] = npy.shape;
  return { data: npy.data, count, height, width };
}

/** Slices resampled once to the working side, with each head's distance map for placing lesions. */
class SliceCache {
  private readonly images: (Float32Array | undefined)[];
  private readonly distances: (Float32Array | undefined)[];
  constructor(private readonly stack: SliceStack, readonly side: number) {
    this.images = new Array(stack.count);
    this.distances = new Array(stack.count);
  }
  image(s: number): Float32Array {
    let img = this.images[s];
    if (!img) {
      const { data, height, width } = this.stack;
      const n = height * width;
      const gray = new Float32Array(n);
      for (let i = 0; i < n; i++) gray[i] = data[s * n + i] / 255;
      img = resizeSquare(gray, width, height, this.side);
      this.images[s] = img;
    }
    return img;
  }
  distance(s: number): Float32Array {
    let dist = this.distances[s];
    if (!dist) {
      dist = headDistance(this.image(s), this.side);
      this.distances[s] = dist;
    }
    return dist;
  }
}

/**
 * Typical sites (fractions of the side from the slice centre; anterior is up): frontal and
 * parieto-occipital white matter of each hemisphere. Gliomas favour such lobar sites rather than
 * falling uniformly anywhere, and a site prior is what lets a low-rank parts-based basis (NNMF)
 * represent lesions at all; the spread around the sites grows with difficulty.
 */
const LESION_SITES: [number, number][] = [[-0.17, -0.16], [0.17, -0.16], [-0.19, 0.14], [0.19, 0.14]];

/** Spread (fraction of the side) of lesion centres around their site. */
export function siteSpread(difficulty: number): number {
  return 0.02 + 0.1 * difficulty;
}

/**
 * A lesion centre near one of the typical sites, at least `depth` pixels inside the head; falls
 * back to anywhere deep enough, then to the deepest pixel.
 */
function lesionCentre(dist: Float32Array, side: number, depth: number, spread: number, rng: RandomStream): [number, number] {
  const [sx, sy] = LESION_SITES[rng.int(LESION_SITES.length)];
  for (let tries = 0; tries < 200; tries++) {
    const x = Math.round(side * (0.5 + sx + spread * rng.normal()));
    const y = Math.round(side * (0.5 + sy + spread * rng.normal()));
    if (x >= 0 && y >= 0 && x < side && y < side && dist[y * side + x] >= depth) return [x, y];
  }
  for (let tries = 0; tries < 500; tries++) {
    const p = rng.int(side * side);
    if (dist[p] >= depth) return [p % side, Math.floor(p / side)];
  }
  let best = 0;
  for (let p = 1; p < dist.length; p++) if (dist[p] > dist[best]) best = p;
  return [best % side, Math.floor(best / side)];
}

/** 2^16 standard normal draws; Rician noise indexes it with 16-bit halves of one uniform draw. */
function normalTable(seed: number): Float32Array {
  const rng = createRandom(seed, 'data/mri-demo/normal-table');
  const table = new Float32Array(65536);
  for (let i = 0; i < table.length; i++) table[i] = rng.normal();
  return table;
}

/**
 * Shared augmentation: output pixel (u, v) reads the source at a rotated, scaled, shifted position
 * (bilinear), times a smooth bias field exp(βx·X + γx·X²)·exp(βy·Y + γy·Y²) and a gain, then
 * Rician noise |x + σ(n1 + i·n2)|. Writes size² values into out[offset…]; the lesion mask, when
 * given, goes through the same geometry into maskOut[maskOffset…] (thresholded at ½).
 */
function augment(
  source: Float32Array,
  side: number,
  size: number,
  difficulty: number,
  rng: RandomStream,
  table: Float32Array,
  out: Float32Array,
  offset: number,
  lesionMask?: Float32Array,
  maskOut?: Uint8Array,
  maskOffset = 0,
): void {
  const theta = rng.uniform(-5, 5) * (Math.PI / 180);
  const zoom = rng.uniform(0.96, 1.04);
  const tx = rng.uniform(-0.02, 0.02) * side;
  const ty = rng.uniform(-0.02, 0.02) * side;
  const gain = rng.uniform(0.9, 1.1);
  const sigma = (0.015 + 0.045 * difficulty) * rng.uniform(0.8, 1.2);
  const bx = new Float32Array(size);
  const by = new Float32Array(size);
  const [bx1, bx2, by1, by2] = [rng.uniform(-0.12, 0.12), rng.uniform(-0.1, 0.1), rng.uniform(-0.12, 0.12), rng.uniform(-0.1, 0.1)];
  for (let i = 0; i < size; i++) {
    const t = (2 * (i + 0.5)) / size - 1;
    bx[i] = Math.exp(bx1 * t + bx2 * t * t);
    by[i] = gain * Math.exp(by1 * t + by2 * t * t);
  }
  const k = side / (size * zoom);
  const cos = k * Math.cos(theta);
  const sin = k * Math.sin(theta);
  const half = size / 2;
  for (let v = 0; v < size; v++) {
    const oy = v + 0.5 - half;
    let sx = side / 2 + tx - 0.5 + cos * (0.5 - half) - sin * oy;
    let sy = side / 2 + ty - 0.5 + sin * (0.5 - half) + cos * oy;
    const row = offset + v * size;
    const rowGain = by[v];
    for (let u = 0; u < size; u++) {
      const clean = bilinear(source, side, sx, sy) * bx[u] * rowGain;
      const bits = rng.next() * 4294967296;
      const n1 = sigma * table[bits >>> 16];
      const n2 = sigma * table[bits & 0xffff];
      const re = clean + n1;
      out[row + u] = Math.min(1, Math.sqrt(re * re + n2 * n2));
      if (lesionMask && maskOut && bilinear(lesionMask, side, sx, sy) >= 0.5) maskOut[maskOffset + v * size + u] = 1;
      sx += cos;
      sy += sin;
    }
  }
}

function emptySet(n: number, size: number): ImageSet & { names: string[] } {
  return { pixels: new Float32Array(n * size * size), labels: new Int32Array(n), count: n, names: new Array<string>(n) };
}

/** Seeded mri-demo dataset: `count` images (even indices normal, odd tumor), split stratified. */
export function synthesizeMriDemo(slices: SliceStack, opts: MriDemoOptions): Dataset {
  const { count, size, seed, onProgress } = opts;
  const difficulty = Math.min(1, Math.max(0, opts.difficulty));
  if (!Number.isInteger(count) || count < 2) throw new Error(`mri-demo: count must be an integer ≥ 2, got ${count}`);
  if (!Number.isInteger(size) || size < 8) throw new Error(`mri-demo: size must be an integer ≥ 8, got ${size}`);
  // Work a little above the output resolution so the augmentation resamples rather than upsamples.
  const side = Math.round(size * 1.25);
  const cache = new SliceCache(slices, side);
  const table = normalTable(seed);
  const labels = new Int32Array(count);
  for (let i = 0; i < count; i++) labels[i] = i % 2;
  const idx = stratifiedSplit(labels, opts.split, seed);
  const sets = [emptySet(idx.train.length, size), emptySet(idx.val.length, size), emptySet(idx.test.length, size)];
  const where = new Int32Array(count * 2);
  [idx.train, idx.val, idx.test].forEach((list, part) => list.forEach((i, pos) => {
    where[2 * i] = part;
    where[2 * i + 1] = pos;
  }));
  const testMasks = new Uint8Array(idx.test.length * size * size);
  const scale = lesionScale(difficulty, side);
  const step = Math.max(1, Math.floor(count / 100));
  for (let i = 0; i < count; i++) {
    const rng = createRandom(seed, `data/mri-demo/image/${i}`);
    const s = rng.int(slices.count);
    const label = labels[i];
    const [part, pos] = [where[2 * i], where[2 * i + 1]];
    const set = sets[part];
    set.labels[pos] = label;
    set.names[pos] = `synthetic/${MRI_DEMO_CLASSES[label]}/${String(i).padStart(6, '0')}`;
    let source = cache.image(s);
    let mask: Float32Array | undefined;
    if (label === 1) {
      const radius = scale.radius * rng.uniform(0.85, 1.15);
      // Centre deep enough that the mass stays inside the skull (scalp + bone ≈ 6% of the side).
      const [cx, cy] = lesionCentre(cache.distance(s), side, 0.06 * side + 1.2 * radius, siteSpread(difficulty), rng);
      const lesion = renderLesion(source, side, { cx, cy, radius, contrast: scale.contrast, massEffect: scale.massEffect }, rng);
      source = lesion.image;
      mask = lesion.mask;
    }
    const inTest = part === 2;
    augment(source, side, size, difficulty, rng, table, set.pixels, pos * size * size,
      inTest ? mask : undefined, inTest ? testMasks : undefined, pos * size * size);
    if (onProgress && ((i + 1) % step === 0 || i + 1 === count)) onProgress(i + 1, count, 'synthesizing mri-demo');
  }
  const [train, val, test] = sets;
  return { name: 'mri-demo', classNames: [...MRI_DEMO_CLASSES], size, train, val, test, skipped: [], splitSource: 'stratified', testMasks };
}
