import { describe, expect, it } from 'vitest';
import { folderLayout } from '../../../src/core/data/layout';

describe('folderLayout', () => {
  it('takes the class from the first folder, at any depth below it, and reports loose files', () => {
    const l = folderLayout(['tumor/a.png', 'normal/sub/deep/b.png', 'readme.txt', 'tumor/.DS_Store', '__MACOSX/tumor/a.png', 'normal/.hidden/c.png']);
    expect(l.givenSplit).toBe(false);
    expect(l.files).toEqual([
      { path: 'normal/sub/deep/b.png', className: 'normal' },
      { path: 'tumor/a.png', className: 'tumor' },
    ]);
    expect(l.skipped).toEqual([{ file: 'readme.txt', reason: 'not inside a class folder' }]);
  });

  it('honours Training/ and Testing/ folders (any case) as the split', () => {
    const l = folderLayout(['Training/yes/1.png', 'testing/no/2.png', 'Testing/yes/3.jpg', 'extra/yes/4.png', 'Training/loose.png']);
    expect(l.givenSplit).toBe(true);
    expect(l.files).toEqual([
      { path: 'Testing/yes/3.jpg', className: 'yes', group: 'test' },
      { path: 'Training/yes/1.png', className: 'yes', group: 'train' },
      { path: 'testing/no/2.png', className: 'no', group: 'test' },
    ]);
    expect(l.skipped).toEqual([
      { file: 'Training/loose.png', reason: 'not inside a class folder' },
      { file: 'extra/yes/4.png', reason: 'outside Training/ and Testing/' },
    ]);
  });

  it('treats a file named Training as data, not as the split', () => {
    const l = folderLayout(['Training', 'a/1.png', 'b/2.png']);
    expect(l.givenSplit).toBe(false);
    expect(l.files.map((f) => f.className)).toEqual(['a', 'b']);
    expect(l.skipped).toEqual([{ file: 'Training', reason: 'not inside a class folder' }]);
  });
});

describe('folderLayout with non-ASCII names', () => {
  it('keeps Unicode class names intact and merges NFD (macOS) and NFC spellings into one class', () => {
    const nfd = 'tumo\u0308r';
    const nfc = 'tum\u00f6r';
    expect(nfd).not.toBe(nfc);
    const l = folderLayout([`${nfd}/脑部扫描 1.png`, `${nfc}/b.png`, 'ödem/x.png', 'Training.png']);
    expect(l.files.map((f) => f.className)).toEqual([nfc, nfc, 'ödem']);
    expect(new Set(l.files.map((f) => f.className)).size).toBe(2);
    // The path stays as the host gave it: only it reopens the file.
    expect(l.files.map((f) => f.path)).toContain(`${nfd}/脑部扫描 1.png`);
  });
});
