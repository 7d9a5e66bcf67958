/**
 * The ensemble against linear models with an exact robust set: the plan's versions, the exact
 * robust accuracy of the standard version, which points each attack is fed, skipped attacks, and
 * the judge deciding the flags.
 */
import * as tf from '@tensorflow/tfjs';
import { describe, expect, it } from 'vitest';
import {
  ATTACK_NAMES, attackPlan, runEnsemble, type AttackName, type EnsembleOptions,
} from '../../../src/core/attacks/ensemble';
import { attackModel, type AttackModel } from '../../../src/core/attacks/model';
import {
  fraction, linearModel, logitsOf, oraclePoints, randomLinear, type LinearProblem,
  UNIT, leakChecked,
} from './linearOracle';

function ensemble(model: AttackModel, x: tf.Tensor2D, y: Int32Array, opts: EnsembleOptions) {
  return leakChecked(() => runEnsemble(model, x, y, opts));
}

function predicted(p: LinearProblem, a: ArrayLike<number>, i: number): number {
  const z = logitsOf(p, a, i * p.d);
  return z.indexOf(Math.max(...z));
}

/**
 * A linear problem over d features plus one last coordinate with zero weight, which carries the
 * point's index (|perturbation| ≤ ε < 0.5, no box): a model can tell which points it is fed.
 */
function tagged(classes: number, d: number, seed: number, n: number, eps: number) {
  const base = randomLinear(classes, d, seed);
  const weights = new Float64Array(classes * (d + 1));
  for (let c = 0; c < classes; c++) weights.set(base.weights.subarray(c * d, (c + 1) * d), c * (d + 1));
  const p: LinearProblem = { weights, bias: base.bias, classes, d: d + 1 };
  const pts = oraclePoints(p, n, eps, null, 3, 0.3);
  for (let i = 0; i < n; i++) pts.x[i * (d + 1) + d] = i;
  return { p, pts };
}

/** The point indices in the tag column of x (read back: test only). */
function tagsOf(x: tf.Tensor2D): number[] {
  const d = x.shape[1];
  const v = x.dataSync();
  return Array.from({ length: x.shape[0] }, (_, r) => Math.round(v[r * d + d - 1]));
}

describe('attackPlan', () => {
  it('expands the versions as the reference sets them', () => {
    const standard = attackPlan('standard');
    expect(standard.specs).toEqual([
      { name: 'apgd-ce', iterations: 100, restarts: 1, eot: 1 },
      { name: 'apgd-t', iterations: 100, restarts: 1, targets: 9, eot: 1 },
      { name: 'square', queries: 5000, restarts: 1, eot: 1 },
    ]);
    expect(standard.notes.some((note) => note.includes('fab-t') && note.includes('not implemented'))).toBe(true);

    expect(attackPlan('rand').specs).toEqual([
      { name: 'apgd-ce', iterations: 100, restarts: 1, eot: 20 },
      { name: 'apgd-dlr', iterations: 100, restarts: 1, eot: 20 },
    ]);

    const custom = attackPlan('custom', ['apgd-ce', ' Square', 'apgd-t', 'apgd-dlr', 'pgd-eot']);
    expect(custom.specs).toEqual([
      { name: 'apgd-ce', iterations: 100, restarts: 5, eot: 1 },
      { name: 'square', queries: 5000, restarts: 1, eot: 1 },
      { name: 'apgd-t', iterations: 100, restarts: 1, targets: 9, eot: 1 },
      { name: 'apgd-dlr', iterations: 100, restarts: 5, eot: 1 },
      { name: 'pgd-eot', iterations: 200, restarts: 1, eot: 20 },
    ]);
    expect(custom.notes.some((note) => note.includes('5 restarts'))).toBe(true);
    expect(attackPlan('standard', ['square']).notes.some((note) => note.includes('ignored'))).toBe(true);
  });

  it('rejects unknown names, naming the valid list', () => {
    for (const bad of ['fab-t', 'apgd']) {
      expect(() => attackPlan('custom', ['apgd-ce', bad])).toThrow(`unknown attack "${bad}"; valid attacks: ${ATTACK_NAMES.join(', ')}`);
    }
    expect(() => attackPlan('custom', [])).toThrow(ATTACK_NAMES.join(', '));
    expect(() => attackPlan('plus' as never)).toThrow('valid versions');
  });
});

describe('runEnsemble on a 5-class linear model (L∞, box [0, 1])', () => {
  const d = 20;
  const n = 150;
  const eps = 0.05;
  const p = randomLinear(5, d, 1);
  const pts = oraclePoints(p, n, eps, UNIT, 2, 0.3);

  it('the standard version reaches the exact robust accuracy, logging it after each attack', async () => {
    const oracle = fraction(pts.robust);
    expect(oracle).toBeGreaterThan(0.3);
    expect(oracle).toBeLessThan(0.7);
    // A fifth of the labels wrong: clean accuracy 0.8, and those points count as not robust.
    const y = Int32Array.from(pts.y, (c, i) => (i % 5 === 0 ? (c + 1) % 5 : c));
    const truth = Uint8Array.from(pts.robust, (r, i) => (i % 5 === 0 ? 0 : r));
    const x = tf.tensor2d(pts.x, [n, d]);
    const model = linearModel(p);
    const out = await ensemble(model, x, y, { eps, norm: 'Linf', box: UNIT, seed: 0, specs: attackPlan('standard').specs });
    x.dispose();

    expect(out.cleanAccuracy).toBeCloseTo(0.8, 10);
    expect(Array.from(out.cleanCorrect)).toEqual(Array.from({ length: n }, (_, i) => (i % 5 === 0 ? 0 : 1)));
    expect(Array.from(out.robust)).toEqual(Array.from(truth));
    expect(out.robustAccuracy).toBeCloseTo(fraction(truth), 10);
    expect(out.attacks.map((a) => a.name)).toEqual(['apgd-ce', 'apgd-t', 'square']);
    expect(out.attacks.map((a) => [a.iterations, a.restarts, a.eot, a.targets, a.queries])).toEqual([
      [100, 1, 1, undefined, undefined], [100, 1, 1, 4, undefined], [5000, 1, 1, undefined, 5000],
    ]);
    let previous = out.cleanAccuracy;
    let attacked = out.cleanCorrect.reduce((s, v) => s + v, 0);
    for (const a of out.attacks) {
      expect(a.skipped).toBeUndefined();
      expect(a.attacked).toBe(attacked);
      expect(a.robustAccuracy).toBeCloseTo(previous - a.broken / n, 10);
      previous = a.robustAccuracy;
      attacked -= a.broken;
    }
    expect(out.attacks[0].broken).toBeGreaterThan(0);
    expect(previous).toBeCloseTo(out.robustAccuracy, 10);

    let maxPerturbation = 0;
    for (let i = 0; i < n; i++) {
      if (i % 5 === 0) expect(out.brokenBy[i]).toBe(-2);
      else if (truth[i]) expect(out.brokenBy[i]).toBe(-1);
      else {
        expect(out.brokenBy[i]).toBeGreaterThanOrEqual(0);
        // The stored adversarial is the one that broke the point.
        expect(predicted(p, out.adv, i)).not.toBe(y[i]);
      }
      if (truth[i]) expect(predicted(p, out.adv, i)).toBe(y[i]);
      for (let k = 0; k < d; k++) {
        const a = out.adv[i * d + k];
        expect(a).toBeGreaterThanOrEqual(0);
        expect(a).toBeLessThanOrEqual(1);
        maxPerturbation = Math.max(maxPerturbation, Math.abs(a - pts.x[i * d + k]));
      }
    }
    expect(out.maxPerturbation).toBeCloseTo(maxPerturbation, 6);
    expect(out.maxPerturbation).toBeLessThanOrEqual(eps + 1e-6);
    expect(out.maxPerturbation).toBeGreaterThan(eps - 1e-6);
    // Traces widened to all n points: NaN exactly where the attack did not run.
    expect(out.traces.map((t) => [t.name, t.iterations, t.lossTrace.length])).toEqual([
      ['apgd-ce', 100, 100 * n], ['apgd-t', 100, 100 * n], ['square', 5000, 5000 * n],
    ]);
    for (let i = 0; i < n; i++) expect(Number.isNaN(out.traces[1].lossTrace[i])).toBe(out.brokenBy[i] < 1 && out.brokenBy[i] !== -1);
    expect(out.flags).toEqual([]);
  });
});

describe('which points each attack is fed', () => {
  const d = 12;
  const n = 120;
  const eps = 0.1;
  const { p, pts } = tagged(5, d, 2, n, eps);
  const y = Int32Array.from(pts.y, (c, i) => (i % 10 === 3 ? (c + 2) % 5 : c));
  const specs = [
    { name: 'apgd-ce', iterations: 15, restarts: 1 },
    { name: 'square', queries: 100 },
    { name: 'apgd-t', iterations: 15, targets: 3 },
    { name: 'apgd-dlr', iterations: 15, restarts: 2 },
    { name: 'pgd-eot', iterations: 15 },
  ] as const;

  it('only points still robust reach each attack (never one broken earlier or misclassified clean), and all of them do', async () => {
    const linear = linearModel(p);
    let current: AttackName | null = null;
    const fed = new Map<AttackName, Set<number>[]>();
    const progress: [AttackName, number, number][] = [];
    const spy: AttackModel = {
      ...linear,
      logits: (x, seed) => {
        if (current) fed.get(current)!.push(new Set(tagsOf(x)));
        return linear.logits(x, seed);
      },
    };
    const x = tf.tensor2d(pts.x, [n, d + 1]);
    const out = await ensemble(spy, x, y, {
      eps, norm: 'Linf', box: null, seed: 5, specs: specs.map((s) => ({ ...s })),
      onProgress: (attack, done, total) => {
        if (attack !== current) {
          // Each attack announces itself (done = 0) before its first logits call.
          expect(done).toBe(0);
          current = attack;
          fed.set(attack, []);
        }
        progress.push([attack, done, total]);
      },
    });
    x.dispose();

    expect(out.attacks.map((a) => a.name)).toEqual(specs.map((s) => s.name));
    const robustBefore = new Set<number>();
    for (let i = 0; i < n; i++) if (out.cleanCorrect[i]) robustBefore.add(i);
    for (let k = 0; k < specs.length; k++) {
      const calls = fed.get(specs[k].name)!;
      expect(calls.length).toBeGreaterThan(0);
      for (const call of calls) for (const i of call) expect(robustBefore.has(i)).toBe(true);
      // The attack's first call (its clean pass) is exactly the points still robust.
      expect([...calls[0]].sort((a, b) => a - b)).toEqual([...robustBefore].sort((a, b) => a - b));
      expect(out.attacks[k].attacked).toBe(robustBefore.size);
      for (let i = 0; i < n; i++) if (out.brokenBy[i] === k) robustBefore.delete(i);
      expect(out.attacks[k].robustAccuracy).toBeCloseTo(robustBefore.size / n, 10);
    }
    expect(out.attacks[0].broken).toBeGreaterThan(10);
    expect(robustBefore.size).toBeGreaterThan(10);
    for (let i = 0; i < n; i++) expect(out.brokenBy[i] === -2).toBe(i % 10 === 3);
    // Progress: per attack, 0 first and the attack's full work last.
    for (const [name, total] of [['apgd-ce', 15], ['square', 100], ['apgd-t', 45], ['apgd-dlr', 30], ['pgd-eot', 15]] as const) {
      const mine = progress.filter(([a]) => a === name);
      expect(mine[0]).toEqual([name, 0, total]);
      expect(mine[mine.length - 1]).toEqual([name, total, total]);
    }
  });

  it('stops on the abort signal inside a later attack without leaking tensors', async () => {
    const x = tf.tensor2d(pts.x, [n, d + 1]);
    const model = linearModel(p);
    const controller = new AbortController();
    const before = tf.memory().numTensors;
    const seen: AttackName[] = [];
    const run = runEnsemble(model, x, y, {
      eps, norm: 'Linf', box: null, seed: 0, signal: controller.signal, specs: [{ name: 'apgd-ce', iterations: 10, restarts: 1 }, { name: 'pgd-eot', iterations: 50 }],
      onProgress: (attack, done) => {
        if (!seen.includes(attack)) seen.push(attack);
        if (attack === 'pgd-eot' && done === 5) controller.abort();
      },
    });
    await expect(run).rejects.toMatchObject({ name: 'AbortError' });
    expect(seen).toEqual(['apgd-ce', 'pgd-eot']);
    expect(tf.memory().numTensors).toBe(before);
    x.dispose();
  });

  it('is reproducible for a seed, and the seed matters', async () => {
    const x = tf.tensor2d(pts.x, [n, d + 1]);
    const model = linearModel(p);
    const opts: EnsembleOptions = { eps, norm: 'Linf', box: null, seed: 9, specs: [{ name: 'apgd-ce', iterations: 5, restarts: 1 }] };
    const a = await ensemble(model, x, y, opts);
    const b = await ensemble(model, x, y, opts);
    const c = await ensemble(model, x, y, { ...opts, seed: 10 });
    x.dispose();
    expect(Array.from(b.adv)).toEqual(Array.from(a.adv));
    expect(Array.from(b.brokenBy)).toEqual(Array.from(a.brokenBy));
    expect(Array.from(c.adv)).not.toEqual(Array.from(a.adv));
  });
});

describe('skipped attacks and the judge', () => {
  it('DLR on a binary model is recorded as skipped and changes nothing', async () => {
    const d = 20;
    const n = 100;
    const p = randomLinear(2, d, 4);
    const pts = oraclePoints(p, n, 0.3, UNIT, 5);
    const x = tf.tensor2d(pts.x, [n, d]);
    const out = await ensemble(linearModel(p), x, pts.y, {
      eps: 0.3, norm: 'Linf', box: UNIT, seed: 0,
      specs: [{ name: 'apgd-ce', iterations: 100, restarts: 1 }, { name: 'apgd-dlr', iterations: 100, restarts: 1 }, { name: 'apgd-t' }],
    });
    x.dispose();
    expect(out.attacks.map((a) => [a.name, a.skipped ?? null, a.broken])).toEqual([
      ['apgd-ce', null, out.attacks[0].broken],
      ['apgd-dlr', 'DLR needs ≥ 3 classes; this model has 2', 0],
      ['apgd-t', 'targeted DLR needs ≥ 4 classes; this model has 2', 0],
    ]);
    expect(Array.from(out.robust)).toEqual(Array.from(pts.robust));
    expect(out.attacks.map((a) => a.robustAccuracy)).toEqual(Array(3).fill(fraction(pts.robust)));
    expect(out.traces.map((t) => t.name)).toEqual(['apgd-ce']);
  });

  it('the judge, not the attacked model, decides the clean and the robust flags', async () => {
    const d = 12;
    const n = 100;
    const eps = 0.1;
    const { p, pts } = tagged(5, d, 4, n, eps);
    const x = tf.tensor2d(pts.x, [n, d + 1]);
    const model = linearModel(p);
    // The judge reads the tag and answers the clean prediction, except for a few points it gets
    // wrong: no perturbation ever changes its answer.
    const wrongByJudge = new Set([0, 7, 21, 50]);
    const answers = tf.oneHot(tf.tensor1d(Int32Array.from(pts.y, (c, i) => (wrongByJudge.has(i) ? (c + 1) % 5 : c)), 'int32'), 5);
    const judge = attackModel((v) => tf.tidy(() => {
      const tag = tf.cast(tf.round(tf.squeeze(tf.slice(v, [0, d], [-1, 1]), [1])), 'int32');
      return tf.cast(tf.gather(answers, tag), 'float32') as tf.Tensor2D;
    }), 5);
    const specs = [{ name: 'apgd-ce' as const, iterations: 20, restarts: 1 }, { name: 'square' as const, queries: 100 }];
    const judged = await ensemble(model, x, pts.y, { eps, norm: 'Linf', box: null, seed: 0, specs, judge });
    const plain = await ensemble(model, x, pts.y, { eps, norm: 'Linf', box: null, seed: 0, specs });
    x.dispose();
    answers.dispose();

    const expected = Array.from({ length: n }, (_, i) => (wrongByJudge.has(i) ? 0 : 1));
    expect(Array.from(judged.cleanCorrect)).toEqual(expected);
    expect(Array.from(judged.robust)).toEqual(expected);
    expect(Array.from(judged.brokenBy)).toEqual(expected.map((c) => (c ? -1 : -2)));
    expect(judged.attacks.map((a) => [a.attacked, a.broken, a.robustAccuracy])).toEqual([[n - 4, 0, 0.96], [n - 4, 0, 0.96]]);
    // Without the judge the same attacks break the oracle's vulnerable points.
    // Without the judge the same attacks break exactly the oracle's vulnerable points (0.68 robust).
    expect(plain.cleanAccuracy).toBe(1);
    expect(Array.from(plain.robust)).toEqual(Array.from(pts.robust));
    expect(plain.robustAccuracy).toBeLessThan(0.8);
  });

  it('Square and the gradient attacks take the spec\'s EOT for a randomized model, in one tiled call', async () => {
    const d = 20;
    const n = 40;
    const p = randomLinear(5, d, 1);
    const pts = oraclePoints(p, n, 0.05, UNIT, 2, 0.3);
    const linear = linearModel(p);
    const rows: number[] = [];
    // Deterministic logits behind a randomized flag: the attacks must tile anyway.
    const model = attackModel((v, seed) => { rows.push(v.shape[0]); return linear.logits(v, seed); }, 5, { randomized: true });
    const x = tf.tensor2d(pts.x, [n, d]);
    const out = await ensemble(model, x, pts.y, {
      eps: 0.05, norm: 'Linf', box: UNIT, seed: 0, specs: [{ name: 'square', queries: 30, eot: 3 }],
    });
    x.dispose();
    expect(out.attacks[0].eot).toBe(3);
    // Before Square: the checks (randomness 5 calls, probabilities, dynamic, gradient) and the
    // judge's clean pass, on n rows each; after it, the judge's one call on the attacked points.
    expect(rows.slice(0, 9)).toEqual(Array(9).fill(n));
    const squareRows = rows.slice(9, -1);
    expect(squareRows.length).toBeGreaterThan(30);
    expect(squareRows.every((r) => r % 3 === 0)).toBe(true);
    expect(squareRows[0]).toBe(3 * n);
  });
});
