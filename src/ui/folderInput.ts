/**
 * Files of a folder the user dropped or picked, with their paths relative to that folder. A drop of
 * one folder names the data set after it; a drop of several class folders at once is taken as the
 * root itself ("dropped").
 */
import type { FolderFile } from '../../workers/browserData';

export interface PickedFolder {
  name: string;
  files: FolderFile[];
}

/** From <input type="file" webkitdirectory>: each File has webkitRelativePath "root/…/file". */
export function fromFileList(list: FileList | File[]): PickedFolder {
  const files = Array.from(list);
  const first = files[0]?.webkitRelativePath.split('/')[0] ?? '';
  const oneRoot = first !== '' && files.every((f) => f.webkitRelativePath.split('/')[0] === first);
  return {
    name: oneRoot ? first : 'dropped',
    files: files.map((f) => {
      const path = f.webkitRelativePath || f.name;
      return { path: oneRoot ? path.slice(first.length + 1) : path, file: f };
    }),
  };
}

function readAll(reader: FileSystemDirectoryReader): Promise<FileSystemEntry[]> {
  return new Promise((resolve, reject) => {
    const out: FileSystemEntry[] = [];
    // readEntries returns at most ~100 entries per call; read until it returns none.
    const next = () => reader.readEntries((batch) => {
      if (batch.length === 0) resolve(out);
      else {
        out.push(...batch);
        next();
      }
    }, reject);
    next();
  });
}

async function walk(entry: FileSystemEntry, prefix: string, out: FolderFile[]): Promise<void> {
  const path = prefix ? `${prefix}/${entry.name}` : entry.name;
  if (entry.isFile) {
    const file = await new Promise<File>((resolve, reject) => (entry as FileSystemFileEntry).file(resolve, reject));
    out.push({ path, file });
  } else if (entry.isDirectory) {
    for (const child of await readAll((entry as FileSystemDirectoryEntry).createReader())) await walk(child, path, out);
  }
}

/** From a drop: directories are walked; a single dropped directory becomes the root. */
export async function fromDataTransfer(dt: DataTransfer): Promise<PickedFolder> {
  const entries = Array.from(dt.items)
    .map((i) => i.webkitGetAsEntry?.())
    .filter((e): e is FileSystemEntry => e != null);
  if (entries.length === 1 && entries[0].isDirectory) {
    const files: FolderFile[] = [];
    for (const child of await readAll((entries[0] as FileSystemDirectoryEntry).createReader())) await walk(child, '', files);
    return { name: entries[0].name, files };
  }
  const files: FolderFile[] = [];
  for (const e of entries) await walk(e, '', files);
  return { name: 'dropped', files };
}
