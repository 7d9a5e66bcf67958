/**
 * The decode loop of both hosts: a fixed number of lanes, each taking the next item when its
 * previous decode is done, so at most `lanes` files are being read and decoded at any moment
 * (memory stays bounded by the lanes, not by the folder's size), progress is reported once per
 * finished item, and a cancelled run stops starting new decodes.
 */
import { throwIfAborted } from '../pipeline/progress';
import type { SkippedFile } from '../types';
import type { LabeledImage } from './dataset';
import { findDuplicates } from './duplicates';
import type { PlacedFile } from './layout';

export interface DecodeAllOptions<T> {
  /** Decodes in flight at most (≥ 1). */
  lanes: number;
  /** Called after each finished decode: done rises by one from 1 to items.length. */
  onProgress?: (done: number, total: number, item: T) => void;
  /** When aborted, no further decode starts and decodeAll rejects with an AbortError. */
  signal?: AbortSignal;
}

/**
 * Results in input order. A decode that throws stops the other lanes from starting new items and
 * rejects with that error (decoders report bad files as values, so a throw is a real failure).
 */
export async function decodeAll<T, R>(
  items: readonly T[],
  decode: (item: T, index: number) => Promise<R>,
  opts: DecodeAllOptions<T>,
): Promise<R[]> {
  const { onProgress, signal } = opts;
  const lanes = Math.max(1, Math.min(Math.floor(opts.lanes) || 1, items.length));
  const results = new Array<R>(items.length);
  let next = 0;
  let done = 0;
  let failed = false;
  const lane = async () => {
    while (!failed && next < items.length) {
      throwIfAborted(signal);
      const k = next++;
      try {
        results[k] = await decode(items[k], k);
      } catch (e) {
        failed = true;
        throw e;
      }
      onProgress?.(++done, items.length, items[k]);
    }
  };
  throwIfAborted(signal);
  await Promise.all(Array.from({ length: lanes }, lane));
  // The last lanes may finish their items after an abort; the caller still sees the abort.
  throwIfAborted(signal);
  return results;
}

/** What a host's decoder answers for one file: its S×S pixels and the SHA-256 of its bytes, or why not. */
export type DecodeResult = { pixels: Float32Array; hash: string } | { reason: string };

/**
 * Placed files and their decode results (same order) → the labeled images, and the skipped files:
 * the decode failures, then the byte-identical copies (core/data/duplicates.ts), each with its reason.
 */
export function keepDecoded(files: readonly PlacedFile[], results: readonly DecodeResult[]): { images: LabeledImage[]; skipped: SkippedFile[] } {
  const skipped: SkippedFile[] = [];
  const decoded: { k: number; path: string; hash: string; className: string }[] = [];
  files.forEach((f, k) => {
    const r = results[k];
    if ('reason' in r) skipped.push({ file: f.path, reason: r.reason });
    else decoded.push({ k, path: f.path, hash: r.hash, className: f.className });
  });
  const dup = findDuplicates(decoded);
  skipped.push(...dup.skipped);
  const images: LabeledImage[] = [];
  decoded.forEach(({ k }, i) => {
    if (!dup.keep[i]) return;
    const f = files[k];
    const r = results[k] as { pixels: Float32Array };
    images.push({ name: f.path, className: f.className, pixels: r.pixels, ...(f.group ? { group: f.group } : {}) });
  });
  return { images, skipped };
}
