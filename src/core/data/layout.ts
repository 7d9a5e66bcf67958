/**
 * Which class (and which given split) each file of an image folder belongs to, from its path alone,
 * so the Node reader and the browser's dropped folders share one rule:
 * root/<class>/**\/file, or root/Training/<class>/… + root/Testing/<class>/… (case-insensitive).
 * Hidden entries (dot files such as .DS_Store, __MACOSX folders) are not data and are dropped
 * silently; every other file that cannot be placed is reported with the reason.
 *
 * Class names are Unicode-normalized to NFC: macOS hands out decomposed (NFD) names, so a folder
 * `tumör` copied from a Mac and one typed on Linux or Windows (NFC) are one class, not two that
 * look alike. Paths stay as the host gave them, since only those bytes reopen the file.
 */
import type { SkippedFile } from '../types';

export interface PlacedFile {
  /** Root-relative, '/'-separated. */
  path: string;
  className: string;
  group?: 'train' | 'test';
}

export interface FolderLayout {
  files: PlacedFile[];
  skipped: SkippedFile[];
  /** Whether Training/ and Testing/ folders give the split. */
  givenSplit: boolean;
}

export const isHiddenName = (name: string) => name.startsWith('.') || name === '__MACOSX';

const SPLIT_FOLDERS: Record<string, 'train' | 'test'> = { training: 'train', testing: 'test' };

/** `paths`: root-relative, '/'-separated paths of every file under the root, in any order. */
export function folderLayout(paths: string[]): FolderLayout {
  const visible = paths
    .map((p) => p.split('/').filter((s) => s.length > 0))
    .filter((parts) => parts.length > 0 && !parts.some(isHiddenName))
    .sort((a, b) => {
      const x = a.join('/');
      const y = b.join('/');
      return x < y ? -1 : x > y ? 1 : 0;
    });
  // Training/ or Testing/ only count as the split when they are folders (a file named Training is data).
  const givenSplit = visible.some((parts) => parts.length > 1 && parts[0].toLowerCase() in SPLIT_FOLDERS);
  const files: PlacedFile[] = [];
  const skipped: SkippedFile[] = [];
  for (const parts of visible) {
    const path = parts.join('/');
    let rest = parts;
    let group: PlacedFile['group'];
    if (givenSplit) {
      group = parts.length > 1 ? SPLIT_FOLDERS[parts[0].toLowerCase()] : undefined;
      if (!group) {
        skipped.push({ file: path, reason: 'outside Training/ and Testing/' });
        continue;
      }
      rest = parts.slice(1);
    }
    if (rest.length < 2) {
      skipped.push({ file: path, reason: 'not inside a class folder' });
      continue;
    }
    files.push({ path, className: rest[0].normalize('NFC'), ...(group ? { group } : {}) });
  }
  return { files, skipped, givenSplit };
}
