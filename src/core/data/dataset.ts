/** Labeled images (from any host) → a Dataset with its train/val/test split. */
import type { Dataset, ImageSet, SkippedFile } from '../types';
import { minimumPerClass, stratifiedSplit } from './split';

export interface LabeledImage {
  /** Source name, e.g. the path relative to the dataset folder. */
  name: string;
  className: string;
  /** size×size gray in [0,1]. */
  pixels: Float32Array;
  /** Set when the folder has Training/ and Testing/ at the top. */
  group?: 'train' | 'test';
}

export class DatasetError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'DatasetError';
  }
}

export interface AssembleOptions {
  size: number;
  split: [number, number, number];
  seed: number;
}

/** "3 not an image, 1 zero bytes": skipped files counted by reason (text before any ':';
 * "duplicate of <path>" counts as "duplicate"). */
export function summarizeSkipped(skipped: SkippedFile[]): string {
  const counts = new Map<string, number>();
  for (const s of skipped) {
    const reason = /^duplicate of /.test(s.reason) ? 'duplicate' : s.reason.split(':')[0].trim();
    counts.set(reason, (counts.get(reason) ?? 0) + 1);
  }
  return [...counts].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1)).map(([reason, n]) => `${n} ${reason}`).join(', ');
}

function gather(images: LabeledImage[], order: ArrayLike<number>, labels: Int32Array, size: number): ImageSet {
  const px = size * size;
  const out: ImageSet = { pixels: new Float32Array(order.length * px), labels: new Int32Array(order.length), count: order.length, names: [] };
  for (let k = 0; k < order.length; k++) {
    const i = order[k];
    out.pixels.set(images[i].pixels, k * px);
    out.labels[k] = labels[i];
    out.names!.push(images[i].name);
  }
  return out;
}

function countByClass(labels: Int32Array, indices: ArrayLike<number>, classes: number): number[] {
  const counts = new Array<number>(classes).fill(0);
  for (let k = 0; k < indices.length; k++) counts[labels[indices[k]]]++;
  return counts;
}

/**
 * Class names are sorted (label = index). When every image carries a group (Training/ and
 * Testing/ folders), train and test follow the folders and val is the `split[1]` fraction of
 * Training, carved out stratified and seeded; otherwise the whole set is split stratified.
 */
export function assembleDataset(name: string, images: LabeledImage[], skipped: SkippedFile[], opts: AssembleOptions): Dataset {
  const { size, split, seed } = opts;
  if (images.length === 0) {
    const why = skipped.length ? ` ${skipped.length} file(s) skipped: ${summarizeSkipped(skipped)}.` : ' The folder holds no files.';
    throw new DatasetError(`No images found in ${name}: expected ${name}/<class>/<image files>.${why}`);
  }
  for (const img of images) {
    if (img.pixels.length !== size * size) {
      throw new DatasetError(`${img.name}: ${img.pixels.length} pixels, expected ${size}×${size}`);
    }
  }
  const classNames = [...new Set(images.map((im) => im.className))].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  // When files were skipped, the class and count errors say which kinds: a class may be short
  // (or missing) because its files did not decode.
  const alsoSkipped = skipped.length ? ` (${skipped.length} file(s) skipped: ${summarizeSkipped(skipped)})` : '';
  if (classNames.length < 2) {
    throw new DatasetError(
      `${name} has one class only, '${classNames[0]}' (${images.length} images): a classifier needs at least two ` +
        `class folders side by side, e.g. normal/ and tumor/.${alsoSkipped}`,
    );
  }
  const labelOf = new Map(classNames.map((c, i) => [c, i]));
  const labels = Int32Array.from(images, (im) => labelOf.get(im.className)!);
  const grouped = images.filter((im) => im.group !== undefined).length;
  if (grouped > 0 && grouped < images.length) {
    throw new DatasetError(`${name}: ${grouped} of ${images.length} images are under Training/ or Testing/ and the rest are not; use one layout.`);
  }
  const needed = (counts: number[], min: number, where: string) => {
    counts.forEach((n, c) => {
      if (n < min) {
        throw new DatasetError(
          `Class '${classNames[c]}' has ${n} image(s)${where}; the ${split.join('/')} split needs at least ${min} per class.${alsoSkipped}`,
        );
      }
    });
  };
  if (grouped === 0) {
    const all = Int32Array.from(images, (_, i) => i);
    needed(countByClass(labels, all, classNames.length), minimumPerClass(split), '');
    const idx = stratifiedSplit(labels, split, seed);
    return {
      name, classNames, size, skipped, splitSource: 'stratified',
      train: gather(images, idx.train, labels, size),
      val: gather(images, idx.val, labels, size),
      test: gather(images, idx.test, labels, size),
    };
  }
  const trainIdx = Int32Array.from(images.flatMap((im, i) => (im.group === 'train' ? [i] : [])));
  const testIdx = Int32Array.from(images.flatMap((im, i) => (im.group === 'test' ? [i] : [])));
  const carve: [number, number, number] = [1 - split[1], split[1], 0];
  needed(countByClass(labels, trainIdx, classNames.length), minimumPerClass(carve), ' in Training/');
  needed(countByClass(labels, testIdx, classNames.length), 1, ' in Testing/');
  const trainLabels = Int32Array.from(trainIdx, (i) => labels[i]);
  const carved = stratifiedSplit(trainLabels, carve, seed);
  const back = (local: Int32Array) => Int32Array.from(local, (k) => trainIdx[k]);
  return {
    name, classNames, size, skipped, splitSource: 'folders',
    train: gather(images, back(carved.train), labels, size),
    val: gather(images, back(carved.val), labels, size),
    test: gather(images, testIdx, labels, size),
  };
}
