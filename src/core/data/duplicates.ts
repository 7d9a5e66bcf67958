/**
 * Byte-identical files in a folder: a copy that lands in train while its twin lands in test is
 * leakage (the test image was seen in training), so only one copy of each content is kept.
 * Hosts hash each file's bytes (SHA-256: node:crypto in Node, crypto.subtle in the browser) and
 * hand (path, hash, class) here; the decision is the same on both.
 */
import type { SkippedFile } from '../types';

export interface HashedFile {
  /** Root-relative, '/'-separated. */
  path: string;
  /** Any content digest (hex SHA-256 from both hosts); equal digests mean equal bytes. */
  hash: string;
  className?: string;
}

const byPath = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

/**
 * Which files to keep: of each group of files with the same hash, the first in sorted path order
 * (the same order the folder layout lists files in, so the choice does not depend on the order a
 * host found them); every other copy is skipped with reason `duplicate of <kept path>`.
 *
 * Copies in different classes (the same scan filed under normal/ and tumor/) carry a label
 * conflict. They are treated like any other copy — the first is kept, the rest skipped — with
 * ` (in another class)` added to the reason so the conflict shows in the skipped list: dropping
 * every copy would also remove an image whose label may well be right and change the first class's
 * count without the user seeing why, while keeping one makes the folder's own order decide, visibly.
 * With Training/ and Testing/ folders the same rule applies: `Testing/…` sorts first, so the test
 * copy stays and the training copy goes, and test accuracy is never measured on a training image.
 *
 * Returns `keep` (one flag per input, in input order) and the skipped copies in sorted path order.
 */
export function findDuplicates(files: readonly HashedFile[]): { keep: boolean[]; skipped: SkippedFile[] } {
  const keep = new Array<boolean>(files.length).fill(true);
  const order = files.map((_, i) => i).sort((i, j) => byPath(files[i].path, files[j].path));
  const first = new Map<string, number>();
  const skipped: SkippedFile[] = [];
  for (const i of order) {
    const f = files[i];
    const k = first.get(f.hash);
    if (k === undefined) {
      first.set(f.hash, i);
      continue;
    }
    keep[i] = false;
    const other = files[k];
    const elsewhere = f.className !== undefined && other.className !== undefined && f.className !== other.className;
    skipped.push({ file: f.path, reason: `duplicate of ${other.path}${elsewhere ? ' (in another class)' : ''}` });
  }
  return { keep, skipped };
}

/** Lowercase hex of a digest (crypto.subtle hands back an ArrayBuffer). */
export function hexDigest(digest: ArrayBuffer | Uint8Array): string {
  const bytes = digest instanceof Uint8Array ? digest : new Uint8Array(digest);
  let out = '';
  for (const b of bytes) out += b.toString(16).padStart(2, '0');
  return out;
}
