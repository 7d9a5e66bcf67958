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

interface Candidate {
  path: string;
  className: string;
  group?: 'train' | 'test';
}

type Format = 'png' | 'jpeg' | 'gif' | 'webp' | 'tiff' | 'bmp' | 'dicom' | 'unknown';

/** What the first bytes say the file is. */
export function sniffFormat(b: Uint8Array): Format {
  const ascii = (from: number, to: number) => String.fromCharCode(...b.subarray(from, to));
  if (b.length >= 8 && b[0] === 0x89 && ascii(1, 4) === 'PNG') return 'png';
  if (b.length >= 3 && b[0] === 0xff && b[1] === 0xd8 && b[2] === 0xff) return 'jpeg';
  if (b.length >= 6 && ascii(0, 4) === 'GIF8') return 'gif';
  if (b.length >= 12 && ascii(0, 4) === 'RIFF' && ascii(8, 12) === 'WEBP') return 'webp';
  if (b.length >= 4 && (ascii(0, 4) === 'II*\0' || ascii(0, 4) === 'MM\0*')) return 'tiff';
  if (b.length >= 2 && ascii(0, 2) === 'BM') return 'bmp';
  if (b.length >= 132 && ascii(128, 132) === 'DICM') return 'dicom';
  return 'unknown';
}

const isHidden = (name: string) => name.startsWith('.') || name === '__MACOSX';

async function isDirectory(path: string, entry: { isDirectory(): boolean; isSymbolicLink(): boolean }): Promise<boolean> {
  if (entry.isDirectory()) return true;
  return entry.isSymbolicLink() ? (await stat(path)).isDirectory() : false;
}

async function walkFiles(dir: string, out: string[]): Promise<void> {
  const entries = (await readdir(dir, { withFileTypes: true })).sort((a, b) => (a.name < b.name ? -1 : 1));
  for (const e of entries) {
    if (isHidden(e.name)) continue;
    const path = join(dir, e.name);
    if (await isDirectory(path, e)) await walkFiles(path, out);
    else out.push(path);
  }
}

/** Class folders under `dir` (each a class, files nested at any depth); loose files are reported. */
async function collectClasses(dir: string, group: Candidate['group'], found: Candidate[], loose: string[]): Promise<void> {
  const entries = (await readdir(dir, { withFileTypes: true })).sort((a, b) => (a.name < b.name ? -1 : 1));
  for (const e of entries) {
    if (isHidden(e.name)) continue;
    const path = join(dir, e.name);
    if (!(await isDirectory(path, e))) {
      loose.push(path);
      continue;
    }
    const files: string[] = [];
    await walkFiles(path, files);
    for (const file of files) found.push({ path: file, className: e.name, group });
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

/** Reads root/<class>/… or root/Training|Testing/<class>/…; names are relative to root, '/'-separated. */
export async function readImageFolder(
  root: string,
  size: number,
  onProgress?: ProgressFn,
): Promise<{ images: LabeledImage[]; skipped: SkippedFile[] }> {
  const top = (await readdir(root, { withFileTypes: true })).filter((e) => !isHidden(e.name));
  const splitDirs = new Map<string, 'train' | 'test'>();
  for (const e of top) {
    const lower = e.name.toLowerCase();
    if ((lower === 'training' || lower === 'testing') && (await isDirectory(join(root, e.name), e))) {
      splitDirs.set(e.name, lower === 'training' ? 'train' : 'test');
    }
  }
  const candidates: Candidate[] = [];
  const loose: string[] = [];
  const skipped: SkippedFile[] = [];
  const rel = (p: string) => relative(root, p).split(sep).join('/');
  if (splitDirs.size > 0) {
    for (const e of top) {
      const group = splitDirs.get(e.name);
      if (group) await collectClasses(join(root, e.name), group, candidates, loose);
      else skipped.push({ file: rel(join(root, e.name)), reason: 'outside Training/ and Testing/' });
    }
  } else {
    await collectClasses(root, undefined, candidates, loose);
  }
  for (const file of loose) skipped.push({ file: rel(file), reason: 'not inside a class folder' });

  const results: ({ pixels: Float32Array } | { reason: string })[] = new Array(candidates.length);
  let next = 0;
  let done = 0;
  const worker = async () => {
    while (next < candidates.length) {
      const k = next++;
      results[k] = await decodeImageFile(candidates[k].path, size);
      done++;
      onProgress?.(done, candidates.length, rel(candidates[k].path));
    }
  };
  const lanes = Math.max(1, Math.min(8, availableParallelism(), candidates.length));
  await Promise.all(Array.from({ length: lanes }, worker));

  const images: LabeledImage[] = [];
  candidates.forEach((c, k) => {
    const r = results[k];
    if ('reason' in r) skipped.push({ file: rel(c.path), reason: r.reason });
    else images.push({ name: rel(c.path), className: c.className, pixels: r.pixels, ...(c.group ? { group: c.group } : {}) });
  });
  return { images, skipped };
}
