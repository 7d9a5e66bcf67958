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
import { decodeAll, keepDecoded, type DecodeResult } from '../src/core/data/decodeAll';
import { hexDigest } from '../src/core/data/duplicates';
import { sha256 as sha256Sync } from '@noble/hashes/sha2.js';
import { decodeBound, decodeSize, imageSizeProblem, planDecode, type HeaderSize } from '../src/core/data/limits';
import { imageSize } from 'image-size';

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

/** SHA-256 of a file's bytes, hex (the same digest node:crypto gives the CLI). crypto.subtle
 * exists only in a secure context (https, localhost); served over plain http the page computes it
 * in script. */
async function sha256(bytes: Uint8Array<ArrayBuffer>): Promise<string> {
  const subtle = globalThis.crypto?.subtle;
  return hexDigest(subtle ? await subtle.digest('SHA-256', bytes) : sha256Sync(bytes));
}

/** The header's size, or null when image-size cannot read it (the browser may still decode it). */
function headerSize(bytes: Uint8Array): HeaderSize | null {
  try {
    const s = imageSize(bytes);
    return { width: s.width, height: s.height, ...(s.orientation ? { orientation: s.orientation } : {}) };
  } catch {
    return null;
  }
}

/**
 * One file → size×size gray pixels and the SHA-256 of its bytes, or why not; the same reasons as
 * the CLI's decodeImageFile. The size is read from the header first (core/data/limits.ts): a file
 * beyond the limit is refused without decoding, and a large one is decoded straight to
 * decodeBound(size) on its longest side (createImageBitmap's resize), so the canvas and its pixel
 * copy stay small whatever the file's size.
 */
export async function decodeBlob(blob: Blob, size: number): Promise<DecodeResult> {
  if (blob.size === 0) return { reason: 'zero bytes' };
  let bytes: Uint8Array<ArrayBuffer>;
  try {
    bytes = new Uint8Array(await blob.arrayBuffer());
  } catch (e) {
    // e.g. NotReadableError: the file was moved or deleted after the drop.
    return { reason: `unreadable: ${(e as Error).name}: ${(e as Error).message}` };
  }
  const format = sniffFormat(bytes.subarray(0, 132));
  if (format === 'unknown') return { reason: 'not an image (unrecognized format)' };
  if (format === 'dicom') return { reason: 'unsupported format: DICOM (export the slices as PNG)' };
  if (format === 'tiff') return { reason: 'unsupported format: TIFF (browsers do not decode it; export as PNG)' };
  const header = headerSize(bytes);
  const plan = header ? planDecode(header, size) : null;
  if (plan && 'reason' in plan) return { reason: plan.reason };
  const hash = await sha256(bytes);
  let bitmap: ImageBitmap;
  try {
    bitmap = await createImageBitmap(blob, {
      colorSpaceConversion: 'none',
      premultiplyAlpha: 'none',
      ...(plan?.resize ? { resizeWidth: plan.width, resizeHeight: plan.height, resizeQuality: 'high' as const } : {}),
    });
  } catch {
    return { reason: `corrupt ${format.toUpperCase()}: the browser could not decode it` };
  }
  try {
    // Without a readable header the bitmap is at full size: check it, then shrink on the canvas.
    if (!plan) {
      const problem = imageSizeProblem(bitmap.width, bitmap.height);
      if (problem) return { reason: problem };
    }
    const { width, height } = decodeSize(bitmap.width, bitmap.height, decodeBound(size));
    const canvas = new OffscreenCanvas(width, height);
    const ctx = canvas.getContext('2d', { willReadFrequently: true });
    if (!ctx) return { reason: 'no 2-D canvas in this browser' };
    ctx.drawImage(bitmap, 0, 0, width, height);
    const { data } = ctx.getImageData(0, 0, width, height);
    return { pixels: preprocess({ width, height, channels: 4, bitDepth: 8, data }, size), hash };
  } finally {
    bitmap.close();
  }
}

/** Decodes in flight in the worker: each holds one file's bytes and one bounded canvas. */
const BROWSER_LANES = 4;

async function decodeFolder(folder: Folder, size: number, progress: ProgressFn, signal?: AbortSignal): Promise<{ images: LabeledImage[]; skipped: SkippedFile[] }> {
  const byPath = new Map(folder.files.map((f) => [f.path, f.file]));
  const layout = folderLayout(folder.files.map((f) => f.path));
  const results = await decodeAll(layout.files, (f) => decodeBlob(byPath.get(f.path)!, size), {
    lanes: BROWSER_LANES,
    signal,
    onProgress: (done, total, f) => progress(done, total, f.path),
  });
  const kept = keepDecoded(layout.files, results);
  return { images: kept.images, skipped: [...layout.skipped, ...kept.skipped] };
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
