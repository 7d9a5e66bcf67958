/** Seeded stratified train/val/test split: every class keeps the configured proportions. */
import { createRandom, permutation } from '../random';

export interface SplitIndices {
  train: Int32Array;
  val: Int32Array;
  test: Int32Array;
}

/**
 * Per-class counts [train, val, test] for n images. Test and val are round(n·f); train takes the
 * rest. The non-empty splits are train and every split with a fraction > 0. A class with at least
 * as many images as there are non-empty splits gets ≥1 in each of them (taken from the largest
 * part); a tinier class fills train first, then test, then val (1 image → train only, 2 → train +
 * test).
 */
export function splitCounts(n: number, fractions: [number, number, number]): [number, number, number] {
  const [, fVal, fTest] = fractions;
  const test = Math.round(n * fTest);
  const val = Math.min(Math.round(n * fVal), n - test);
  const counts: [number, number, number] = [n - test - val, val, test];
  const wanted = nonEmptyParts(fractions);
  if (n >= wanted.length) {
    for (const part of wanted) {
      if (counts[part] > 0) continue;
      const donor = ([0, 1, 2] as const).reduce((a, b) => (counts[b] > counts[a] ? b : a));
      counts[donor]--;
      counts[part]++;
    }
  } else {
    counts.fill(0);
    for (let i = 0; i < n; i++) counts[wanted[i]] = 1;
  }
  return counts;
}

/** Splits that must not be empty, in the order a tiny class fills them: train, test, val. */
function nonEmptyParts(fractions: [number, number, number]): Array<0 | 1 | 2> {
  const parts: Array<0 | 1 | 2> = [0];
  if (fractions[2] > 0) parts.push(2);
  if (fractions[1] > 0) parts.push(1);
  return parts;
}

/** Minimum images a class needs so that every non-empty split gets at least one. */
export function minimumPerClass(fractions: [number, number, number]): number {
  return nonEmptyParts(fractions).length;
}

/**
 * Index arrays into `labels`. Per class, a seeded shuffle is cut by splitCounts; each split is then
 * shuffled (seeded) so the classes are interleaved rather than in blocks. Same seed → same split.
 */
export function stratifiedSplit(labels: Int32Array, fractions: [number, number, number], seed: number): SplitIndices {
  const rng = createRandom(seed, 'data/split');
  const byClass = new Map<number, number[]>();
  for (let i = 0; i < labels.length; i++) {
    const list = byClass.get(labels[i]);
    if (list) list.push(i);
    else byClass.set(labels[i], [i]);
  }
  const parts: number[][] = [[], [], []];
  for (const label of [...byClass.keys()].sort((a, b) => a - b)) {
    const members = byClass.get(label)!;
    const order = permutation(members.length, rng);
    const [nTrain, nVal] = splitCounts(members.length, fractions);
    for (let k = 0; k < members.length; k++) {
      const part = k < nTrain ? 0 : k < nTrain + nVal ? 1 : 2;
      parts[part].push(members[order[k]]);
    }
  }
  const [train, val, test] = parts.map((p) => {
    const order = permutation(p.length, rng);
    const out = new Int32Array(p.length);
    for (let k = 0; k < p.length; k++) out[k] = p[order[k]];
    return out;
  });
  return { train, val, test };
}
