/**
 * Node: an image folder → preprocessed, labeled images. Layouts: root/<class>/**\/* (nested folders
 * under a class count for that class) or root/Training/<class>/… + root/Testing/<class>/… (a given
 * split). Hidden entries (dot files such as .DS_Store, and __MACOSX folders) are not images and are
 * ignored; every other file that does not decode is reported in `skipped` with the reason.
 */
import { readdir, readFile, stat } from 'node:fs/promises';
import { join, relative, sep } from 'node:path';
import { availableParallelism } from 'node:os';
import sharp from 'sharp';
import { decode as decodeBmp } from 'bmp-ts';
import type { ProgressFn, SkippedFile } from '../core/types';
import type { LabeledImage } from '../core/data/dataset';
import { preprocess, type RawImage } from '../core/data/preprocess';
import { folderLayout, isHiddenName } from '../core/data/layout';
import { sniffFormat } from '../core/data/sniff';

export { sniffFormat };

async function isDirectory(path: string, entry: { isDirectory(): boolean; isSymbolicLink(): boolean }): Promise<boolean> {
  if (entry.isDirectory()) return true;
  return entry.isSymbolicLink() ? (await stat(path)).isDirectory() : false;
}

async function walkFiles(dir: string, out: string[]): Promise<void> {
  const entries = (await readdir(dir, { withFileTypes: true })).sort((a, b) => (a.name < b.name ? -1 : 1));
  for (const e of entries) {
    if (isHiddenName(e.name)) continue;
    const path = join(dir, e.name);
    if (await isDirectory(path, e)) await walkFiles(path, out);
    else out.push(path);
  }
}

/** 8-bit RGB(A) from a BMP. bmp-ts hands back 4 bytes per pixel (ABGR unless toRGBA); its alpha
 *  is 0 for formats without one, so alpha is only kept for a 32-bit BMP that really has some. */
function decodeBmpFile(buffer: Buffer): RawImage {
  const bmp = decodeBmp(buffer, { toRGBA: true });
  const n = bmp.width * bmp.height;
  const rgba = bmp.data;
  let hasAlpha = false;
  if (bmp.bitPP === 32) for (let i = 3; i < rgba.length && !hasAlpha; i += 4) hasAlpha = rgba[i] !== 0;
  if (hasAlpha) return { width: bmp.width, height: bmp.height, channels: 4, bitDepth: 8, data: new Uint8Array(rgba.subarray(0, 4 * n)) };
  const rgb = new Uint8Array(3 * n);
  for (let i = 0; i < n; i++) {
    rgb[3 * i] = rgba[4 * i];
    rgb[3 * i + 1] = rgba[4 * i + 1];
    rgb[3 * i + 2] = rgba[4 * i + 2];
  }
  return { width: bmp.width, height: bmp.height, channels: 3, bitDepth: 8, data: rgb };
}

/**
 * sharp → RawImage (first page/frame, EXIF orientation applied, CMYK converted to sRGB). Images
 * larger than `bound` on a side are shrunk by sharp first (keeping aspect), so memory stays bounded
 * whatever the file's size; 16-bit inputs stay 16-bit.
 */
async function decodeWithSharp(buffer: Buffer, bound: number): Promise<RawImage> {
  let pipeline = sharp(buffer, { failOn: 'error', autoOrient: true });
  const meta = await pipeline.metadata();
  if (!meta.width || !meta.height) throw new Error('no image dimensions');
  if (meta.width > bound || meta.height > bound) pipeline = pipeline.resize({ width: bound, height: bound, fit: 'inside' });
  const sixteen = meta.depth === 'ushort';
  const gray = (meta.channels ?? 3) <= 2 && meta.space !== 'cmyk';
  // Without an explicit output space sharp hands back 8-bit sRGB (16-bit gray arrives as 0–255 in
  // ushort), and CMYK stays CMYK: name the space so depth and channels survive.
  pipeline = pipeline.toColourspace(sixteen ? (gray ? 'grey16' : 'rgb16') : gray ? 'b-w' : 'srgb');
  const { data, info } = await pipeline.raw(sixteen ? { depth: 'ushort' } : {}).toBuffer({ resolveWithObject: true });
  if (info.channels < 1 || info.channels > 4) throw new Error(`${info.channels} channels`);
  const channels = info.channels as RawImage['channels'];
  if (sixteen) {
    // Copy: a pooled Buffer's byteOffset need not be 2-aligned. sharp writes native-endian samples.
    const copy = data.buffer.slice(data.byteOffset, data.byteOffset + data.byteLength);
    return { width: info.width, height: info.height, channels, bitDepth: 16, data: new Uint16Array(copy) };
  }
  return { width: info.width, height: info.height, channels, bitDepth: 8, data: new Uint8Array(data.buffer, data.byteOffset, data.byteLength) };
}

/** One file → size×size pixels, or the reason it is not usable. */
export async function decodeImageFile(path: string, size: number): Promise<{ pixels: Float32Array } | { reason: string }> {
  let buffer: Buffer;
  try {
    buffer = await readFile(path);
  } catch (e) {
    return { reason: `unreadable: ${(e as Error).message}` };
  }
  if (buffer.length === 0) return { reason: 'zero bytes' };
  const format = sniffFormat(buffer);
  if (format === 'dicom') return { reason: 'unsupported format: DICOM (export the slices as PNG)' };
  try {
    const raw = format === 'bmp' ? decodeBmpFile(buffer) : await decodeWithSharp(buffer, Math.max(512, 4 * size));
    return { pixels: preprocess(raw, size) };
  } catch (e) {
    const message = (e as Error).message.split('\n')[0];
    if (format === 'unknown') {
      return { reason: /unsupported image format/i.test(message) ? 'not an image (unrecognized format)' : `unsupported format: ${message}` };
    }
    if (/pixel limit/i.test(message)) return { reason: `too large: ${message}` };
    return { reason: `corrupt ${format.toUpperCase()}: ${message}` };
  }
}

/** Reads root/<class>/… or root/Training|Testing/<class>/… (see core/data/layout.ts); names are
 * relative to root, '/'-separated. */
export async function readImageFolder(
  root: string,
  size: number,
  onProgress?: ProgressFn,
): Promise<{ images: LabeledImage[]; skipped: SkippedFile[] }> {
  const all: string[] = [];
  await walkFiles(root, all);
  const rel = (p: string) => relative(root, p).split(sep).join('/');
  const layout = folderLayout(all.map(rel));
  const candidates = layout.files;
  const skipped: SkippedFile[] = [...layout.skipped];

  const results: ({ pixels: Float32Array } | { reason: string })[] = new Array(candidates.length);
  let next = 0;
  let done = 0;
  const worker = async () => {
    while (next < candidates.length) {
      const k = next++;
      results[k] = await decodeImageFile(join(root, ...candidates[k].path.split('/')), size);
      done++;
      onProgress?.(done, candidates.length, candidates[k].path);
    }
  };
  const lanes = Math.max(1, Math.min(8, availableParallelism(), candidates.length));
  await Promise.all(Array.from({ length: lanes }, worker));

  const images: LabeledImage[] = [];
  candidates.forEach((c, k) => {
    const r = results[k];
    if ('reason' in r) skipped.push({ file: c.path, reason: r.reason });
    else images.push({ name: c.path, className: c.className, pixels: r.pixels, ...(c.group ? { group: c.group } : {}) });
  });
  return { images, skipped };
}
