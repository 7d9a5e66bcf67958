/** Node: the config's data slice → a Dataset (mri-demo, digits, or an image folder). */
import { readFile, stat } from 'node:fs/promises';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { DataConfig } from '../core/config';
import type { Dataset, ProgressFn } from '../core/types';
import { parseSliceStack, synthesizeMriDemo } from '../core/data/mriDemo';
import { digitsDataset } from '../core/data/digits';
import { assembleDataset, DatasetError } from '../core/data/dataset';
import { readImageFolder } from './folder';

/** The shipped ch2 slices, found from this file rather than the working directory. */
export const CH2_SLICES_PATH = fileURLToPath(new URL('../../public/data/ch2-slices.npy', import.meta.url));

export async function loadDataset(data: DataConfig, seed: number, onProgress?: ProgressFn): Promise<Dataset> {
  const { dataset, imageSize: size, split } = data;
  if (dataset === 'mri-demo') {
    let file: Buffer;
    try {
      file = await readFile(CH2_SLICES_PATH);
    } catch {
      throw new DatasetError(`mri-demo needs ${CH2_SLICES_PATH}; regenerate it with \`npm run data:mri\``);
    }
    const stack = parseSliceStack(file.buffer.slice(file.byteOffset, file.byteOffset + file.byteLength) as ArrayBuffer);
    return synthesizeMriDemo(stack, { count: data.count, size, difficulty: data.difficulty, seed, split, onProgress });
  }
  if (dataset === 'digits') return digitsDataset({ limit: data.limit, size, split, seed });
  const root = resolve(dataset);
  const info = await stat(root).catch(() => null);
  if (!info) throw new DatasetError(`Dataset folder ${root} does not exist (datasets: mri-demo, digits, or a folder path)`);
  if (!info.isDirectory()) throw new DatasetError(`${root} is not a folder: expected ${root}/<class>/<image files>`);
  const { images, skipped } = await readImageFolder(root, size, onProgress);
  return assembleDataset(root, images, skipped, { size, split, seed });
}
