/**
 * Linear classifiers z = xWᵀ + b have an exact L∞ robust set: for the pair (y, j) the smallest
 * margin (w_y − w_j)·x' + (b_y − b_j) over the ε-ball ∩ box is reached by moving every coordinate
 * against the sign of (w_y − w_j), clipped to the box; a point is robust iff that minimum stays
 * positive for every j ≠ y. Tests compare attacks against this oracle.
 */
import * as tf from '@tensorflow/tfjs';
import { attackModel, type AttackModel, type Box } from '../../../src/core/attacks/model';
import { createRandom } from '../../../src/core/random';

export interface LinearProblem {
  /** classes × d */
  weights: Float64Array;
  bias: Float64Array;
  classes: number;
  d: number;
}

export function randomLinear(classes: number, d: number, seed: number): LinearProblem {
  const rng = createRandom(seed, 'linear');
  const weights = new Float64Array(classes * d).map(() => rng.normal());
  const bias = new Float64Array(classes).map(() => 0.3 * rng.normal());
  return { weights, bias, classes, d };
}

export function linearModel(p: LinearProblem): AttackModel {
  const w = tf.tensor2d(Float32Array.from(p.weights), [p.classes, p.d]);
  const b = tf.tensor1d(Float32Array.from(p.bias));
  return attackModel((x) => tf.add(tf.matMul(x, w, false, true), b) as tf.Tensor2D, p.classes);
}

export function logitsOf(p: LinearProblem, x: ArrayLike<number>, offset: number): Float64Array {
  const z = new Float64Array(p.classes);
  for (let c = 0; c < p.classes; c++) {
    let s = p.bias[c];
    for (let i = 0; i < p.d; i++) s += p.weights[c * p.d + i] * x[offset + i];
    z[c] = s;
  }
  return z;
}

/** Smallest margin z_y − z_j over the ε-ball ∩ box, minimized over j ≠ y as well. */
export function worstMargin(p: LinearProblem, x: ArrayLike<number>, offset: number, y: number, eps: number, box: Box): number {
  let worst = Infinity;
  for (let j = 0; j < p.classes; j++) {
    if (j === y) continue;
    let m = p.bias[y] - p.bias[j];
    for (let i = 0; i < p.d; i++) {
      const v = p.weights[y * p.d + i] - p.weights[j * p.d + i];
      let xi = x[offset + i] - eps * Math.sign(v);
      if (box) xi = Math.min(box.hi, Math.max(box.lo, xi));
      m += v * xi;
    }
    worst = Math.min(worst, m);
  }
  return worst;
}

/**
 * n points in the box with labels set to the clean prediction (so clean accuracy is 1), drawn so
 * that no point's worst margin lies within `gap` of zero: the exact robust set is then stable to
 * float32 rounding and an attack either finds a point or misses it by a clear amount.
 */
export function oraclePoints(p: LinearProblem, n: number, eps: number, box: Box, seed: number, gap = 0.05) {
  const rng = createRandom(seed, 'points');
  const x = new Float32Array(n * p.d);
  const y = new Int32Array(n);
  const robust = new Uint8Array(n);
  const row = new Float32Array(p.d);
  let k = 0;
  for (let tries = 0; k < n && tries < 1000 * n; tries++) {
    for (let i = 0; i < p.d; i++) row[i] = box ? box.lo + (box.hi - box.lo) * rng.next() : rng.normal();
    const z = logitsOf(p, row, 0);
    let label = 0;
    for (let c = 1; c < p.classes; c++) if (z[c] > z[label]) label = c;
    const m = worstMargin(p, row, 0, label, eps, box);
    let clean = Infinity;
    for (let c = 0; c < p.classes; c++) if (c !== label) clean = Math.min(clean, z[label] - z[c]);
    if (Math.abs(m) < gap || clean < gap) continue;
    x.set(row, k * p.d);
    y[k] = label;
    robust[k] = m > 0 ? 1 : 0;
    k++;
  }
  if (k < n) throw new Error(`oraclePoints: only ${k} of ${n} points away from the boundary`);
  return { x, y, robust };
}

export function fraction(flags: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < flags.length; i++) s += flags[i] ? 1 : 0;
  return s / flags.length;
}

/** The unit box most tests attack in. */
export const UNIT: Box = { lo: 0, hi: 1 };

/**
 * Runs an attack and checks that the only tensor it leaves behind is the returned adversarial
 * batch, which is read back and disposed.
 */
export async function leakChecked<R extends { adversarial: tf.Tensor2D }>(run: () => Promise<R>): Promise<R & { adv: Float32Array }> {
  const { expect } = await import('vitest');
  const before = tf.memory().numTensors;
  const out = await run();
  expect(tf.memory().numTensors).toBe(before + 1);
  const adv = (await out.adversarial.data()) as Float32Array;
  out.adversarial.dispose();
  expect(tf.memory().numTensors).toBe(before);
  return { ...out, adv };
}
