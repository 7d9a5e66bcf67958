/** .npy files through npyjs (its `dump` writes NumPy's format v1.0, little-endian, C order). */
import { dump, load } from 'npyjs';
import { readFile, writeFile } from 'node:fs/promises';

export type NpyData = Float32Array | Int32Array | Uint8Array;

export async function writeNpy(path: string, data: NpyData, shape: number[]): Promise<void> {
  const expected = shape.reduce((a, b) => a * b, 1);
  if (expected !== data.length) throw new Error(`${path}: shape ${shape.join('×')} does not match ${data.length} values`);
  await writeFile(path, new Uint8Array(dump(data, shape)));
}

export async function readNpy(path: string): Promise<{ data: ArrayBufferView; shape: number[]; dtype: string }> {
  const bytes = await readFile(path);
  const buf = bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer;
  try {
    const a = await load(buf);
    return { data: a.data, shape: a.shape, dtype: a.dtype };
  } catch (err) {
    throw new Error(`${path}: not a readable .npy file (${(err as Error).message})`);
  }
}
