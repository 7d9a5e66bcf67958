/**
 * Node: an image folder → preprocessed, labeled images. Layouts: root/<class>/**\/* (nested folders
 * under a class count for that class) or root/Training/<class>/… + root/Testing/<class>/… (a given
 * split). Hidden entries (dot files such as .DS_Store, and __MACOSX folders) are not images and are
 * ignored; every other file that does not decode, or repeats another file byte for byte, is
 * reported in `skipped` with the reason.
 */
import { createHash } from 'node:crypto';
import { readdir, readFile, stat } from 'node:fs/promises';
import { availableParallelism } from 'node:os';
import sharp from 'sharp';
import { decode as decodeBmp } from 'bmp-ts';
import { imageSize } from 'image-size';
import type { ProgressFn, SkippedFile } from '../core/types';
import type { LabeledImage } from '../core/data/dataset';
import { preprocess, type RawImage } from '../core/data/preprocess';
import { folderLayout, isHiddenName } from '../core/data/layout';
import { sniffFormat } from '../core/data/sniff';
import { decodeAll, keepDecoded, type DecodeResult } from '../core/data/decodeAll';
import { decodeBound, imageSizeProblem, MAX_IMAGE_PIXELS } from '../core/data/limits';

export { sniffFormat };

/** A file found under the root: its root-relative '/'-separated name, and the bytes of its path
 * (names need not be valid UTF-8, e.g. Latin-1 names from a Windows zip, and only the raw bytes
 * reopen such a file). */
interface FoundFile {
  rel: string;
  fsPath: Buffer;
}

const SEP = Buffer.from('/');

/**
 * Every non-hidden file under `dir`. Symbolic links are followed; a link back to a folder being
 * walked (a loop) is not entered, a dangling link is listed as a file (and reported unreadable),
 * and a folder that cannot be listed is reported in `skipped` rather than failing the whole read.
 * (A link to a sibling folder is walked: its files are byte-identical to the originals and are
 * dropped as duplicates.)
 */
async function walkFiles(dir: Buffer, rel: string, out: FoundFile[], skipped: SkippedFile[], ancestors: Set<string>): Promise<void> {
  const info = await stat(dir).catch(() => null);
  const id = info ? `${info.dev}:${info.ino}` : '';
  if (id && ancestors.has(id)) return;
  let entries;
  try {
    entries = await readdir(dir, { withFileTypes: true, encoding: 'buffer' });
  } catch (e) {
    skipped.push({ file: `${rel || '.'}/`, reason: `unreadable folder: ${(e as Error).message.split(',')[0]}` });
    return;
  }
  if (id) ancestors.add(id);
  entries.sort((a, b) => Buffer.compare(a.name, b.name));
  for (const e of entries) {
    const name = e.name.toString('utf8');
    if (isHiddenName(name)) continue;
    const path = Buffer.concat([dir, SEP, e.name]);
    const sub = rel ? `${rel}/${name}` : name;
    const isDir = e.isDirectory() || (e.isSymbolicLink() && (await stat(path).catch(() => null))?.isDirectory() === true);
    if (isDir) await walkFiles(path, sub, out, skipped, ancestors);
    else out.push({ rel: sub, fsPath: path });
  }
  if (id) ancestors.delete(id);
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

/** Refused before decoding: a header whose size is beyond core/data/limits.ts (bmp-ts would
 * allocate whatever a crafted header claims). */
class TooLarge extends Error {}

/**
 * sharp → RawImage (first page/frame, EXIF orientation applied, CMYK converted to sRGB). The size
 * in the header is checked first (core/data/limits.ts); images larger than `bound` on a side are
 * shrunk by sharp while it decodes (keeping aspect; sharp reads sequentially, so a 10,000 × 10,000
 * PNG costs a few MB, not 100), so memory stays bounded whatever the file's size; 16-bit inputs
 * stay 16-bit.
 */
async function decodeWithSharp(buffer: Buffer, bound: number): Promise<RawImage> {
  // The header alone first, with sharp's own pixel limit off so the refusal can name the size;
  // the decode then runs under our limit.
  const meta = await sharp(buffer, { autoOrient: true, limitInputPixels: false }).metadata();
  if (!meta.width || !meta.height) throw new Error('no image dimensions');
  const problem = imageSizeProblem(meta.width, meta.height);
  if (problem) throw new TooLarge(problem);
  let pipeline = sharp(buffer, { failOn: 'error', autoOrient: true, limitInputPixels: MAX_IMAGE_PIXELS });
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

/** A BMP's size from its header, checked before bmp-ts allocates it. */
function checkBmpHeader(buffer: Buffer): void {
  let dims: { width: number; height: number };
  try {
    dims = imageSize(buffer);
  } catch {
    return; // bmp-ts reports what is wrong with the header
  }
  const problem = imageSizeProblem(dims.width, Math.abs(dims.height));
  if (problem) throw new TooLarge(problem);
}

/** One file → size×size pixels and the SHA-256 of its bytes, or the reason it is not usable. */
export async function decodeImageFile(path: string | Buffer, size: number): Promise<DecodeResult> {
  let buffer: Buffer;
  try {
    buffer = await readFile(path);
  } catch (e) {
    // "ENOENT: no such file or directory, open '/abs/path'" → the code and its words, not the path.
    return { reason: `unreadable: ${(e as Error).message.split(',')[0]}` };
  }
  if (buffer.length === 0) return { reason: 'zero bytes' };
  const format = sniffFormat(buffer);
  if (format === 'dicom') return { reason: 'unsupported format: DICOM (export the slices as PNG)' };
  try {
    let raw: RawImage;
    if (format === 'bmp') {
      checkBmpHeader(buffer);
      raw = decodeBmpFile(buffer);
    } else {
      raw = await decodeWithSharp(buffer, decodeBound(size));
    }
    return { pixels: preprocess(raw, size), hash: createHash('sha256').update(buffer).digest('hex') };
  } catch (e) {
    if (e instanceof TooLarge) return { reason: e.message };
    const message = (e as Error).message.split('\n')[0];
    if (format === 'unknown') {
      return { reason: /unsupported image format/i.test(message) ? 'not an image (unrecognized format)' : `unsupported format: ${message}` };
    }
    if (/pixel limit/i.test(message)) return { reason: `too large: ${message}` };
    return { reason: `corrupt ${format.toUpperCase()}: ${message}` };
  }
}

export interface ReadFolderOptions {
  /** Decodes in flight (default: the cores, at most 8). */
  lanes?: number;
  signal?: AbortSignal;
}

/** Reads root/<class>/… or root/Training|Testing/<class>/… (see core/data/layout.ts); names are
 * relative to root, '/'-separated. */
export async function readImageFolder(
  root: string,
  size: number,
  onProgress?: ProgressFn,
  opts: ReadFolderOptions = {},
): Promise<{ images: LabeledImage[]; skipped: SkippedFile[] }> {
  const found: FoundFile[] = [];
  const walkSkipped: SkippedFile[] = [];
  await walkFiles(Buffer.from(root), '', found, walkSkipped, new Set());
  const fsPathOf = new Map(found.map((f) => [f.rel, f.fsPath]));
  const layout = folderLayout(found.map((f) => f.rel));
  const candidates = layout.files;
  const skipped: SkippedFile[] = [...walkSkipped, ...layout.skipped];

  const lanes = opts.lanes ?? Math.min(8, availableParallelism());
  const results = await decodeAll(candidates, (c) => decodeImageFile(fsPathOf.get(c.path)!, size), {
    lanes,
    signal: opts.signal,
    onProgress: onProgress && ((done, total, c) => onProgress(done, total, c.path)),
  });

  const kept = keepDecoded(candidates, results);
  return { images: kept.images, skipped: [...skipped, ...kept.skipped] };
}
