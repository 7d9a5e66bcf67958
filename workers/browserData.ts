/**
 * The worker's data loader: the shipped mri-demo slices (fetched from this origin), the digits
 * package (a lazily loaded chunk), or a dropped folder decoded here with the browser's own image
 * decoders. Pixels never leave the worker.
 */
import type { DataConfig } from '../src/core/config';
import type { Dataset, ProgressFn, SkippedFile } from '../src/core/types';
import { assembleDataset, DatasetError, type LabeledImage } from '../src/core/data/dataset';
import { folderLayout } from '../src/core/data/layout';
import { preprocess } from '../src/core/data/preprocess';
import { sniffFormat } from '../src/core/data/sniff';
import { parseSliceStack, synthesizeMriDemo } from '../src/core/data/mriDemo';
import { throwIfAborted } from '../src/core/pipeline/progress';

/** A file of a dropped folder; `path` is relative to the folder (the folder's own name removed). */
export interface FolderFile {
  path: string;
  file: Blob;
}

export interface Folder {
  /** The config's dataset value for this folder: `folder:<name>`. */
  id: string;
  name: string;
  files: FolderFile[];
}

export const folderId = (name: string) => `folder:${name}`;

/** Images are decoded at most this large on a side before resizing, so a huge file costs bounded memory. */
const DECODE_BOUND = 1024;

/** One file → size×size gray pixels, or why not. */
export async function decodeBlob(blob: Blob, size: number): Promise<{ pixels: Float32Array } | { reason: string }> {
  if (blob.size === 0) return { reason: 'zero bytes' };
  const format = sniffFormat(new Uint8Array(await blob.slice(0, 132).arrayBuffer()));
  if (format === 'unknown') return { reason: 'not an image (unrecognized format)' };
  if (format === 'dicom') return { reason: 'unsupported format: DICOM (export the slices as PNG)' };
  if (format === 'tiff') return { reason: 'unsupported format: TIFF (browsers do not decode it; export as PNG)' };
  let bitmap: ImageBitmap;
  try {
    bitmap = await createImageBitmap(blob, { colorSpaceConversion: 'none', premultiplyAlpha: 'none' });
  } catch {
    return { reason: `corrupt ${format.toUpperCase()}: the browser could not decode it` };
  }
  try {
    const scale = Math.min(1, DECODE_BOUND / Math.max(bitmap.width, bitmap.height));
    const width = Math.max(1, Math.round(bitmap.width * scale));
    const height = Math.max(1, Math.round(bitmap.height * scale));
    const canvas = new OffscreenCanvas(width, height);
    const ctx = canvas.getContext('2d', { willReadFrequently: true });
    if (!ctx) return { reason: 'no 2-D canvas in this browser' };
    ctx.drawImage(bitmap, 0, 0, width, height);
    const { data } = ctx.getImageData(0, 0, width, height);
    return { pixels: preprocess({ width, height, channels: 4, bitDepth: 8, data }, size) };
  } finally {
    bitmap.close();
  }
}

async function decodeFolder(folder: Folder, size: number, progress: ProgressFn, signal?: AbortSignal): Promise<{ images: LabeledImage[]; skipped: SkippedFile[] }> {
  const byPath = new Map(folder.files.map((f) => [f.path, f.file]));
  const layout = folderLayout(folder.files.map((f) => f.path));
  const skipped = [...layout.skipped];
  const images: LabeledImage[] = [];
  const results = new Array<{ pixels: Float32Array } | { reason: string }>(layout.files.length);
  let next = 0;
  let done = 0;
  const lane = async () => {
    while (next < layout.files.length) {
      throwIfAborted(signal);
      const k = next++;
      results[k] = await decodeBlob(byPath.get(layout.files[k].path)!, size);
      progress(++done, layout.files.length, layout.files[k].path);
    }
  };
  await Promise.all(Array.from({ length: Math.min(4, Math.max(1, layout.files.length)) }, lane));
  layout.files.forEach((f, k) => {
    const r = results[k];
    if ('reason' in r) skipped.push({ file: f.path, reason: r.reason });
    else images.push({ name: f.path, className: f.className, pixels: r.pixels, ...(f.group ? { group: f.group } : {}) });
  });
  return { images, skipped };
}

export function createBrowserLoader(getFolder: () => Folder | null, baseUrl: string) {
  return async (data: DataConfig, seed: number, progress: ProgressFn, signal?: AbortSignal): Promise<Dataset> => {
    const { dataset, imageSize: size, split } = data;
    if (dataset === 'mri-demo') {
      const url = new URL('data/ch2-slices.npy', baseUrl).href;
      const res = await fetch(url);
      if (!res.ok) throw new DatasetError(`mri-demo: could not read ${url} (HTTP ${res.status})`);
      const stack = parseSliceStack(await res.arrayBuffer());
      return synthesizeMriDemo(stack, { count: data.count, size, difficulty: data.difficulty, seed, split, onProgress: progress });
    }
    if (dataset === 'digits') {
      const { digitsDataset } = await import('../src/core/data/digits');
      return digitsDataset({ limit: data.limit, size, split, seed });
    }
    const folder = getFolder();
    if (!folder || folder.id !== dataset) {
      throw new DatasetError(`Data set "${dataset}" is not in this page: drop its folder again (images never leave your machine, so a link cannot carry them)`);
    }
    const { images, skipped } = await decodeFolder(folder, size, progress, signal);
    return assembleDataset(folder.name, images, skipped, { size, split, seed });
  };
}
