import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { findDuplicates, hexDigest } from '../../../src/core/data/duplicates';
import { summarizeSkipped } from '../../../src/core/data/dataset';

describe('findDuplicates', () => {
  it('keeps the first copy in sorted path order, whatever order the host found them in', () => {
    const files = [
      { path: 'normal/z.png', hash: 'h1', className: 'normal' },
      { path: 'normal/b.png', hash: 'h2', className: 'normal' },
      { path: 'normal/a.png', hash: 'h1', className: 'normal' },
      { path: 'normal/sub/a.png', hash: 'h1', className: 'normal' },
    ];
    const { keep, skipped } = findDuplicates(files);
    expect(keep).toEqual([false, true, true, false]);
    expect(skipped).toEqual([
      { file: 'normal/sub/a.png', reason: 'duplicate of normal/a.png' },
      { file: 'normal/z.png', reason: 'duplicate of normal/a.png' },
    ]);
  });

  it('says so when the copy is in another class, and keeps the first copy only', () => {
    const { keep, skipped } = findDuplicates([
      { path: 'tumor/scan.png', hash: 'same', className: 'tumor' },
      { path: 'normal/scan.png', hash: 'same', className: 'normal' },
      { path: 'tumor/other.png', hash: 'x', className: 'tumor' },
    ]);
    expect(keep).toEqual([false, true, true]);
    expect(skipped).toEqual([{ file: 'tumor/scan.png', reason: 'duplicate of normal/scan.png (in another class)' }]);
  });

  it('keeps the Testing/ copy of a file that is also under Training/ (no leakage either way)', () => {
    const { keep, skipped } = findDuplicates([
      { path: 'Training/yes/1.png', hash: 'h', className: 'yes' },
      { path: 'Testing/yes/9.png', hash: 'h', className: 'yes' },
    ]);
    expect(keep).toEqual([false, true]);
    expect(skipped[0]).toEqual({ file: 'Training/yes/1.png', reason: 'duplicate of Testing/yes/9.png' });
  });

  it('keeps everything when all hashes differ', () => {
    expect(findDuplicates([{ path: 'a/1', hash: '1' }, { path: 'a/2', hash: '2' }])).toEqual({ keep: [true, true], skipped: [] });
    expect(findDuplicates([])).toEqual({ keep: [], skipped: [] });
  });

  it('hexDigest matches node:crypto for the browser digest', () => {
    const bytes = new TextEncoder().encode('scan');
    const node = createHash('sha256').update(bytes).digest();
    expect(hexDigest(node.buffer.slice(node.byteOffset, node.byteOffset + node.byteLength))).toBe(createHash('sha256').update(bytes).digest('hex'));
    expect(hexDigest(Uint8Array.of(0, 15, 255))).toBe('000fff');
  });

  it('counts duplicates as one reason in a summary', () => {
    expect(summarizeSkipped([
      { file: 'a/2.png', reason: 'duplicate of a/1.png' },
      { file: 'b/2.png', reason: 'duplicate of b/1.png (in another class)' },
      { file: 'b/3.png', reason: 'zero bytes' },
    ])).toBe('2 duplicate, 1 zero bytes');
  });
});
