/**
 * PGD-EOT against linear models with an exact robust set, and against a randomized model whose
 * single-draw gradients are noise: only averaging the draws (EOT) finds its weak points.
 */
import * as tf from '@tensorflow/tfjs';
import { describe, expect, it } from 'vitest';
import { attackModel, type AttackModel, type Box } from '../../../src/core/attacks/model';
import { pgdEot, type PgdEotOptions } from '../../../src/core/attacks/pgdEot';
import { createRandom } from '../../../src/core/random';
import {
  fraction, linearModel, logitsOf, oraclePoints, randomLinear, worstMargin, type LinearProblem,
  UNIT, leakChecked,
} from './linearOracle';

function attack(model: AttackModel, x: tf.Tensor2D, y: Int32Array, opts: PgdEotOptions) {
  return leakChecked(() => pgdEot(model, x, y, opts));
}

/** Points the oracle calls robust that the attack broke anyway (a wrong "break"). */
function brokeRobust(robust: Uint8Array, oracle: Uint8Array): number[] {
  return Array.from(oracle.keys()).filter((i) => oracle[i] && !robust[i]);
}

/** The binary problem of the EOT tests: d = 20, ε = 0.3 in [0, 1], about half the points robust. */
function binaryProblem(n: number) {
  const p = randomLinear(2, 20, 4);
  return { p, d: 20, eps: 0.3, pts: oraclePoints(p, n, 0.3, UNIT, 5) };
}

/** z_y − max_{j≠y} z_j of point i of the flat array a. */
function marginAt(p: LinearProblem, a: ArrayLike<number>, i: number, y: number): number {
  const z = logitsOf(p, a, i * p.d);
  return z[y] - Math.max(...Array.from(z).filter((_, c) => c !== y));
}

/**
 * The linear model plus (x − x̄)·N with x̄ a copy of x that carries no gradient and N ~ N(0, σ²) per
 * row, draw and class: zero in value, so it classifies as the linear model, but each draw's
 * gradient carries σ-sized noise that only an average over draws removes.
 */
function gradientHidingModel(p: LinearProblem, sigma: number): AttackModel {
  const linear = linearModel(p);
  const detached = tf.customGrad((...args: Array<tf.Tensor | tf.GradSaveFunc>) => ({
    value: tf.clone(args[0] as tf.Tensor),
    gradFunc: (dy: tf.Tensor | tf.Tensor[]) => tf.zerosLike(dy as tf.Tensor),
  }));
  return attackModel((x, seed) => tf.tidy(() => {
    const [n, d] = x.shape;
    const zero = tf.expandDims(tf.sub(x, detached(x) as tf.Tensor), 2);
    const noise = tf.randomNormal([n, d, p.classes], 0, sigma, 'float32', seed);
    return tf.add(linear.logits(x, seed), tf.sum(tf.mul(zero, noise), 1)) as tf.Tensor2D;
  }), p.classes, { randomized: true });
}

/**
 * Wraps a model to check every row it is fed (read back: test only) against the ε-ball ∩ box of
 * its point (row r is point r mod n, the EOT tiling) and to count the calls and their rows.
 */
function guarded(model: AttackModel, x0: Float32Array, d: number, eps: number, box: Box) {
  const n = x0.length / d;
  const calls: number[] = [];
  let worstExcess = 0;
  let outOfBox = 0;
  const spy: AttackModel = {
    ...model,
    logits: (x, seed) => {
      const v = x.dataSync();
      const rows = x.shape[0];
      calls.push(rows);
      for (let r = 0; r < rows; r++) {
        for (let k = 0; k < d; k++) {
          const a = v[r * d + k];
          worstExcess = Math.max(worstExcess, Math.abs(a - x0[(r % n) * d + k]) - eps);
          if (box && (a < box.lo || a > box.hi)) outOfBox++;
        }
      }
      return model.logits(x, seed);
    },
  };
  return { spy, calls, excess: () => worstExcess, outOfBox: () => outOfBox };
}

describe('PGD (no EOT) on linear models reaches the exact L∞ robust set', () => {
  const d = 20;
  const n = 150;
  for (const [classes, eps, box, gap, seed] of [
    [2, 0.3, UNIT, 0.05, 4], [5, 0.05, UNIT, 0.3, 1], [5, 0.1, null, 0.3, 1],
  ] as const) {
    it(`${classes} classes, box ${box ? '[0,1]' : 'none'}, ε = ${eps}: robust flags, final iterate and trace`, async () => {
      const p = randomLinear(classes, d, seed);
      const pts = oraclePoints(p, n, eps, box, 2, gap);
      const share = fraction(pts.robust);
      expect(share).toBeGreaterThan(0.3);
      expect(share).toBeLessThan(0.7);
      const x = tf.tensor2d(pts.x, [n, d]);
      const g = guarded(linearModel(p), pts.x, d, eps, box);
      const out = await attack(g.spy, x, pts.y, { eps, norm: 'Linf', box, seed: 0 });
      x.dispose();
      expect(Array.from(out.robust)).toEqual(Array.from(pts.robust));
      // All 200 steps run, one logits call each, between a clean pass and the final evaluation.
      expect(out.iterationsRun).toBe(200);
      expect(g.calls).toEqual(Array(202).fill(n));
      expect(g.excess()).toBeLessThanOrEqual(1e-6);
      expect(g.outOfBox()).toBe(0);
      expect(out.lossTrace.length).toBe(200 * n);
      for (let i = 0; i < n; i++) {
        const m = marginAt(p, out.adv, i, pts.y[i]);
        // The returned point is the final iterate: misclassified where broken.
        expect(m > 0).toBe(pts.robust[i] === 1);
        if (classes === 2) {
          // Binary: the sign of the gradient never changes, so PGD reaches the optimal vertex of
          // ball ∩ box and stays there; its CE is softplus(−worst margin).
          const worst = worstMargin(p, pts.x, i * d, pts.y[i], eps, box);
          expect(m).toBeCloseTo(worst, 4);
          expect(out.lossTrace[199 * n + i]).toBeCloseTo(Math.log1p(Math.exp(-worst)), 3);
        }
      }
    });
  }

  it('L2, binary: exact robust set and the worst margin m − ε‖w_y − w_j‖₂ of the robust points', async () => {
    const p = randomLinear(2, d, 4);
    const eps = 0.5;
    const rng = createRandom(6, 'l2');
    const xs: number[] = [];
    const ys: number[] = [];
    const slack: number[] = [];
    let vnorm = 0;
    for (let k = 0; k < d; k++) vnorm += (p.weights[k] - p.weights[d + k]) ** 2;
    vnorm = Math.sqrt(vnorm);
    while (ys.length < n) {
      const row = Array.from({ length: d }, () => rng.normal());
      const z = logitsOf(p, row, 0);
      const label = z[1] > z[0] ? 1 : 0;
      const worst = Math.abs(z[1] - z[0]) - eps * vnorm;
      // Past a margin of about 17, softmax rounds to 1 in float32 and the CE gradient is exactly 0:
      // no gradient attack moves such a point (checkZeroGradients flags it), so none is drawn.
      if (Math.abs(worst) < 0.05 || worst > 8) continue;
      xs.push(...row);
      ys.push(label);
      slack.push(worst);
    }
    const oracle = Uint8Array.from(slack, (s) => (s > 0 ? 1 : 0));
    expect(fraction(oracle)).toBeGreaterThan(0.3);
    expect(fraction(oracle)).toBeLessThan(0.7);
    const x = tf.tensor2d(xs, [n, d]);
    const out = await attack(linearModel(p), x, Int32Array.from(ys), { eps, norm: 'L2', box: null, seed: 0 });
    x.dispose();
    expect(Array.from(out.robust)).toEqual(Array.from(oracle));
    let worstGap = 0;
    let radius = 0;
    for (let i = 0; i < n; i++) {
      radius = Math.max(radius, Math.hypot(...Array.from({ length: d }, (_, k) => out.adv[i * d + k] - xs[i * d + k])));
      if (oracle[i]) worstGap = Math.max(worstGap, marginAt(p, out.adv, i, ys[i]) - slack[i]);
    }
    // A sign step (the L∞ direction) projected onto the L2 ball would stop about 0.5 short.
    expect(worstGap).toBeLessThan(0.01);
    expect(radius).toBeLessThanOrEqual(eps + 1e-5);
  });
});

describe('PGD-EOT on a randomized model that hides its gradient', () => {
  const n = 100;
  const { p, d, eps, pts } = binaryProblem(n);
  const oracle = fraction(pts.robust);

  it('EOT 20 gives a clearly lower robust accuracy than EOT 1, never breaking a robust point, one tiled call per step', async () => {
    const x = tf.tensor2d(pts.x, [n, d]);
    const g = guarded(gradientHidingModel(p, 3), pts.x, d, eps, UNIT);
    const single = await attack(g.spy, x, pts.y, { eps, norm: 'Linf', box: UNIT, seed: 0, eot: 1, steps: 100 });
    expect(g.calls).toEqual(Array(102).fill(n));
    g.calls.length = 0;
    const averaged = await attack(g.spy, x, pts.y, { eps, norm: 'Linf', box: UNIT, seed: 0, steps: 100 });
    x.dispose();
    // Default EOT 20: clean pass, 100 steps and the final evaluation, each one call on 20·n rows.
    expect(g.calls).toEqual(Array(102).fill(20 * n));
    expect(g.excess()).toBeLessThanOrEqual(1e-6);
    expect(g.outOfBox()).toBe(0);
    const withoutEot = fraction(single.robust);
    const withEot = fraction(averaged.robust);
    // Measured (100 steps): one draw 0.88, twenty 0.57, oracle 0.52.
    expect(withoutEot).toBeGreaterThan(oracle + 0.25);
    expect(withEot).toBeLessThan(withoutEot - 0.2);
    expect(withEot).toBeLessThan(oracle + 0.12);
    expect(brokeRobust(averaged.robust, pts.robust)).toEqual([]);
    expect(brokeRobust(single.robust, pts.robust)).toEqual([]);
  });

  it('is deterministic for a seed and depends on it', async () => {
    const x = tf.tensor2d(pts.x, [n, d]);
    const model = gradientHidingModel(p, 3);
    const opts: PgdEotOptions = { eps, norm: 'Linf', box: UNIT, seed: 7, eot: 4, steps: 30 };
    const a = await attack(model, x, pts.y, opts);
    const b = await attack(model, x, pts.y, opts);
    const c = await attack(model, x, pts.y, { ...opts, seed: 8 });
    x.dispose();
    expect(Array.from(b.adv)).toEqual(Array.from(a.adv));
    expect(Array.from(b.robust)).toEqual(Array.from(a.robust));
    expect(Array.from(b.lossTrace)).toEqual(Array.from(a.lossTrace));
    let differ = 0;
    for (let k = 0; k < a.adv.length; k++) if (a.adv[k] !== c.adv[k]) differ++;
    expect(differ).toBeGreaterThan(a.adv.length / 4);
  });
});

describe('PGD-EOT bookkeeping', () => {
  const n = 60;
  const { p, d, eps, pts } = binaryProblem(n);

  it('attacks only active, clean-correct points; the others keep robust 0, the clean input and NaN traces', async () => {
    const y = Int32Array.from(pts.y);
    for (const i of [1, 4]) y[i] = 1 - y[i];
    const active = Uint8Array.from({ length: n }, (_, i) => (i % 3 === 0 ? 0 : 1));
    const x = tf.tensor2d(pts.x, [n, d]);
    const g = guarded(linearModel(p), pts.x, d, eps, UNIT);
    const out = await attack(g.spy, x, y, { eps, norm: 'Linf', box: UNIT, seed: 0, steps: 20, active });
    x.dispose();
    const attacked = Array.from({ length: n }, (_, i) => active[i] === 1 && i !== 1 && i !== 4);
    const count = attacked.filter(Boolean).length;
    // The clean pass sees the active points; the steps and the final evaluation only the attacked ones.
    expect(g.calls).toEqual([active.reduce((s, v) => s + v, 0), ...Array(21).fill(count)]);
    for (let i = 0; i < n; i++) {
      expect(out.robust[i]).toBe(attacked[i] ? pts.robust[i] : 0);
      if (!attacked[i]) {
        expect(Array.from(out.adv.subarray(i * d, (i + 1) * d))).toEqual(Array.from(pts.x.subarray(i * d, (i + 1) * d)));
        for (let t = 0; t < 20; t++) expect(out.lossTrace[t * n + i]).toBeNaN();
      } else {
        for (let t = 0; t < 20; t++) expect(out.lossTrace[t * n + i]).toBeGreaterThan(0);
      }
    }
  });

  it('stops on the abort signal without leaking tensors', async () => {
    const x = tf.tensor2d(pts.x, [n, d]);
    const model = linearModel(p);
    const controller = new AbortController();
    const before = tf.memory().numTensors;
    let last = 0;
    const run = pgdEot(model, x, pts.y, {
      eps, norm: 'Linf', box: UNIT, seed: 0, signal: controller.signal,
      onProgress: (done) => { last = done; if (done === 10) controller.abort(); },
    });
    await expect(run).rejects.toMatchObject({ name: 'AbortError' });
    expect(last).toBe(10);
    expect(tf.memory().numTensors).toBe(before);
    x.dispose();
  });
});
