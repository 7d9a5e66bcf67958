import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeImageFile, readImageFolder } from '../../../src/cli/folder';
import { loadDataset } from '../../../src/cli/datasets';
import { DatasetError } from '../../../src/core/data/dataset';
import { defaultConfig, type DataConfig } from '../../../src/core/config';

const S = 8;
const luma = (r: number, g: number, b: number) => 0.299 * r + 0.587 * g + 0.114 * b;
let tmp = '';

function put(path: string, content: Uint8Array | string): void {
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, content);
}

/** A constant S×S image in any sharp-writable format; 16-bit when the color is a Uint16Array. */
async function image(path: string, color: number[] | Uint16Array, format: 'png' | 'jpeg' | 'webp' | 'tiff' | 'gif', opts: object = {}): Promise<void> {
  const channels = color.length as 1 | 2 | 3 | 4;
  const sixteen = color instanceof Uint16Array;
  const px = sixteen ? new Uint16Array(S * S * channels) : new Uint8Array(S * S * channels);
  for (let i = 0; i < S * S; i++) px.set(color, i * channels);
  let pipe = sharp(px, { raw: { width: S, height: S, channels } });
  if (sixteen) pipe = pipe.toColourspace(channels === 1 ? 'grey16' : 'rgb16');
  put(path, await pipe.toFormat(format, opts).toBuffer());
}

/** A 24-bit bottom-up BMP written byte by byte (rows of B,G,R, padded to 4 bytes). */
function bmp24(width: number, height: number, rgbTopDown: number[][]): Uint8Array {
  const rowBytes = Math.ceil((3 * width) / 4) * 4;
  const buf = Buffer.alloc(54 + rowBytes * height);
  buf.write('BM', 0, 'ascii');
  buf.writeUInt32LE(buf.length, 2);
  buf.writeUInt32LE(54, 10);
  buf.writeUInt32LE(40, 14);
  buf.writeInt32LE(width, 18);
  buf.writeInt32LE(height, 22);
  buf.writeUInt16LE(1, 26);
  buf.writeUInt16LE(24, 28);
  buf.writeUInt32LE(rowBytes * height, 34);
  for (let y = 0; y < height; y++) {
    const row = 54 + (height - 1 - y) * rowBytes;
    for (let x = 0; x < width; x++) {
      const [r, g, b] = rgbTopDown[y * width + x];
      buf.set([b, g, r], row + 3 * x);
    }
  }
  return buf;
}

const data = (dataset: string, split: [number, number, number] = [0.7, 0.2, 0.1]): DataConfig =>
  ({ ...defaultConfig().data, dataset, imageSize: S, split });

beforeAll(async () => {
  tmp = mkdtempSync(join(tmpdir(), 'lab-folder-'));
  const r = join(tmp, 'mixed');
  await image(join(r, 'normal/gray.png'), [100], 'png');
  await image(join(r, 'normal/rgb.jpg'), [200, 100, 50], 'jpeg', { quality: 100 });
  await image(join(r, 'normal/deep/rgba.webp'), [255, 0, 0, 128], 'webp', { lossless: true });
  await image(join(r, 'normal/gray16.png'), Uint16Array.of(40000), 'png');
  await image(join(r, 'tumor/rgb16.png'), Uint16Array.of(50000, 10000, 60000), 'png');
  await image(join(r, 'tumor/palette.png'), [77, 77, 77], 'png', { palette: true });
  await image(join(r, 'tumor/rgba.png'), [0, 255, 0, 255], 'png');
  await image(join(r, 'tumor/scan.tiff'), [60], 'tiff');
  await image(join(r, 'tumor/anim.gif'), [128, 128, 128], 'gif');
  put(join(r, 'tumor/image.bmp'), bmp24(S, S, new Array(S * S).fill([10, 200, 30])));
  put(join(r, 'normal/x.png'), 'this is a text file, not a PNG');
  put(join(r, 'normal/empty.png'), new Uint8Array(0));
  put(join(r, 'normal/.DS_Store'), 'Bud1 mac metadata');
  put(join(r, '.hidden/a/b.png'), 'ignored');
  const png = await sharp(new Uint8Array(64 * 64 * 3).fill(9), { raw: { width: 64, height: 64, channels: 3 } }).png().toBuffer();
  put(join(r, 'tumor/broken.png'), png.subarray(0, 60));
  put(join(r, 'tumor/scan.dcm'), Buffer.concat([Buffer.alloc(128), Buffer.from('DICM'), Buffer.alloc(64)]));
  put(join(r, 'readme.txt'), 'loose file');
  const wide = new Uint8Array(4000 * 1000);
  for (let y = 0; y < 1000; y++) wide.fill(255, y * 4000, y * 4000 + 2000);
  put(join(tmp, 'wide.png'), await sharp(wide, { raw: { width: 4000, height: 1000, channels: 1 } }).png().toBuffer());
  put(join(tmp, 'orient.bmp'), bmp24(2, 2, [[255, 0, 0], [0, 255, 0], [0, 0, 255], [200, 100, 50]]));

  const g = join(tmp, 'grouped');
  for (const [dir, n] of [['Training/a', 5], ['Training/b', 5], ['Testing/a', 1], ['Testing/b', 2]] as const) {
    for (let i = 0; i < n; i++) await image(join(g, dir, `${i}.png`), [10 * i + (dir.endsWith('a') ? 0 : 100)], 'png');
  }
  for (let i = 0; i < 3; i++) await image(join(tmp, 'one/only', `${i}.png`), [i], 'png');
  for (let i = 0; i < 5; i++) await image(join(tmp, 'few/a', `${i}.png`), [i], 'png');
  for (let i = 0; i < 2; i++) await image(join(tmp, 'few/b', `${i}.png`), [i], 'png');
  put(join(tmp, 'junk/a/x.png'), 'text');
  put(join(tmp, 'junk/a/y.jpg'), new Uint8Array(0));
});

afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe('readImageFolder', () => {
  it('decodes every format and depth to the expected gray', async () => {
    const { images } = await readImageFolder(join(tmp, 'mixed'), S);
    const value = new Map(images.map((im) => [im.name, im.pixels[27]]));
    expect([...value.keys()].sort()).toEqual([
      'normal/deep/rgba.webp', 'normal/gray.png', 'normal/gray16.png', 'normal/rgb.jpg',
      'tumor/anim.gif', 'tumor/image.bmp', 'tumor/palette.png', 'tumor/rgb16.png', 'tumor/rgba.png', 'tumor/scan.tiff',
    ]);
    expect(value.get('normal/gray.png')).toBeCloseTo(100 / 255, 6);
    expect(value.get('normal/gray16.png')).toBeCloseTo(40000 / 65535, 6);
    expect(value.get('tumor/rgb16.png')).toBeCloseTo(luma(50000, 10000, 60000) / 65535, 5);
    expect(value.get('normal/rgb.jpg')).toBeCloseTo(luma(200, 100, 50) / 255, 1);
    expect(value.get('normal/deep/rgba.webp')).toBeCloseTo((0.299 * 255 * 128) / 255 / 255, 2);
    expect(value.get('tumor/palette.png')).toBeCloseTo(77 / 255, 6);
    expect(value.get('tumor/rgba.png')).toBeCloseTo(0.587, 6);
    expect(value.get('tumor/scan.tiff')).toBeCloseTo(60 / 255, 6);
    expect(value.get('tumor/anim.gif')).toBeCloseTo(128 / 255, 1);
    expect(value.get('tumor/image.bmp')).toBeCloseTo(luma(10, 200, 30) / 255, 6);
    for (const im of images) {
      expect(im.className).toBe(im.name.split('/')[0]);
      expect(im.group).toBeUndefined();
      expect(im.pixels.length).toBe(S * S);
    }
  });

  it('reports unusable files with reasons and ignores hidden ones', async () => {
    const { skipped } = await readImageFolder(join(tmp, 'mixed'), S);
    const reasons = Object.fromEntries(skipped.map((s) => [s.file, s.reason]));
    expect(Object.keys(reasons).sort()).toEqual(['normal/empty.png', 'normal/x.png', 'readme.txt', 'tumor/broken.png', 'tumor/scan.dcm']);
    expect(reasons['normal/empty.png']).toBe('zero bytes');
    expect(reasons['normal/x.png']).toBe('not an image (unrecognized format)');
    expect(reasons['readme.txt']).toBe('not inside a class folder');
    expect(reasons['tumor/broken.png']).toMatch(/^corrupt PNG: /);
    expect(reasons['tumor/scan.dcm']).toMatch(/^unsupported format: DICOM/);
  });

  it('reads a BMP in the right channel and row order', async () => {
    const r = await decodeImageFile(join(tmp, 'orient.bmp'), 2);
    if (!('pixels' in r)) throw new Error(r.reason);
    expect(r.pixels[0]).toBeCloseTo(0.299, 5); // top-left red
    expect(r.pixels[1]).toBeCloseTo(0.587, 5); // top-right green
    expect(r.pixels[2]).toBeCloseTo(0.114, 5); // bottom-left blue
    expect(r.pixels[3]).toBeCloseTo(luma(200, 100, 50) / 255, 5);
  });

  it('shrinks a large image (through sharp first) and stretches it to the square', async () => {
    const r = await decodeImageFile(join(tmp, 'wide.png'), S);
    if (!('pixels' in r)) throw new Error(r.reason);
    for (let y = 0; y < S; y++) {
      for (let x = 0; x < S; x++) expect(r.pixels[y * S + x]).toBeCloseTo(x < S / 2 ? 1 : 0, 2);
    }
  });

  it('honours Training/ and Testing/ as groups', async () => {
    const { images } = await readImageFolder(join(tmp, 'grouped'), S);
    expect(images).toHaveLength(13);
    for (const im of images) expect(im.group).toBe(im.name.startsWith('Training/') ? 'train' : 'test');
    expect(images.find((im) => im.name === 'Testing/b/1.png')?.className).toBe('b');
  });
});

describe('loadDataset on folders', () => {
  it('assembles a stratified dataset with the skipped files', async () => {
    const d = await loadDataset(data(join(tmp, 'mixed')), 0);
    expect(d.classNames).toEqual(['normal', 'tumor']);
    expect(d.splitSource).toBe('stratified');
    expect(d.train.count + d.val.count + d.test.count).toBe(10);
    expect(d.skipped).toHaveLength(5);
  });

  it('keeps the folders split and carves val out of Training', async () => {
    const d = await loadDataset(data(join(tmp, 'grouped')), 0);
    expect(d.splitSource).toBe('folders');
    expect(d.test.count).toBe(3);
    expect(d.test.names!.every((n) => n.startsWith('Testing/'))).toBe(true);
    expect([d.train.count, d.val.count]).toEqual([8, 2]); // round(5 · 0.2) = 1 per class
    expect([...d.train.names!, ...d.val.names!].every((n) => n.startsWith('Training/'))).toBe(true);
    expect(Array.from(d.test.labels).sort()).toEqual([0, 1, 1]);
  });

  it('explains what is wrong with a folder', async () => {
    await expect(loadDataset(data(join(tmp, 'one')), 0)).rejects.toThrow(/one class only, 'only' \(3 images\)/);
    await expect(loadDataset(data(join(tmp, 'few')), 0)).rejects.toThrow(/Class 'b' has 2 image\(s\); the 0\.7\/0\.2\/0\.1 split needs at least 3 per class/);
    await expect(loadDataset(data(join(tmp, 'few'), [0.8, 0, 0.2]), 0)).resolves.toMatchObject({ classNames: ['a', 'b'] });
    await expect(loadDataset(data(join(tmp, 'junk')), 0)).rejects.toThrow(/No images found in .*junk.*2 file\(s\) skipped: 1 not an image \(unrecognized format\), 1 zero bytes/);
    await expect(loadDataset(data(join(tmp, 'absent')), 0)).rejects.toThrow(/does not exist/);
    await expect(loadDataset(data(join(tmp, 'orient.bmp')), 0)).rejects.toThrow(DatasetError);
  });
});
