/**
 * Each sanity check fires on a model built to trigger it, with the numbers in its message, and stays
 * silent on a plain linear model; none leaves a tensor behind.
 */
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  checkDynamic, checkProbabilities, checkRandomness, checkSquareBeatsGradient, checkZeroGradients, ensembleFlags,
  type CheckFlag,
} from '../../../src/core/attacks/checks';
import { runEnsemble, type EnsembleAttackRecord } from '../../../src/core/attacks/ensemble';
import { attackModel, type AttackModel, type Box } from '../../../src/core/attacks/model';
import { linearModel, oraclePoints, randomLinear } from './linearOracle';

const UNIT: Box = { lo: 0, hi: 1 };
const d = 16;
const n = 80;
const p = randomLinear(4, d, 3);
const pts = oraclePoints(p, n, 0.05, UNIT, 1);
// Built once the setup file's beforeAll has initialized the backend.
let linear: AttackModel;
beforeAll(() => {
  linear = linearModel(p);
});

/** Runs a check with x as a tensor, asserting that the tensor count is unchanged by it. */
async function checked<T>(run: (x: tf.Tensor2D) => T | Promise<T>): Promise<T> {
  const x = tf.tensor2d(pts.x, [n, d]);
  const before = tf.memory().numTensors;
  const out = await run(x);
  expect(tf.memory().numTensors).toBe(before);
  x.dispose();
  return out;
}

/** The linear logits plus N(0, σ²) noise drawn from the call's seed. */
function noisy(sigma: number, randomized: boolean): AttackModel {
  return attackModel((x, seed) => tf.tidy(() => tf.add(linear.logits(x, seed), tf.randomNormal([x.shape[0], 4], 0, sigma, 'float32', seed)) as tf.Tensor2D), 4, { randomized });
}

function record(name: EnsembleAttackRecord['name'], robustAccuracy: number, broken: number, skipped?: string): EnsembleAttackRecord {
  return { name, robustAccuracy, broken, seconds: 1, iterations: 100, restarts: 1, eot: 1, attacked: 100, ...(skipped ? { skipped } : {}) };
}

describe('checkRandomness', () => {
  it('flags logits that differ across seeds by more than 1e-4, saying whether the attacks know', async () => {
    const marked = await checked((x) => checkRandomness(noisy(1e-3, true), x, 0));
    expect(marked?.code).toBe('randomized');
    expect(marked?.message).toMatch(/needs EOT/);
    const unmarked = await checked((x) => checkRandomness(noisy(1e-3, false), x, 0));
    expect(unmarked?.message).toMatch(/not marked so: attacks ignore EOT/);
    // The spread of 5 draws of 80×4 N(0, 1e-6) values is about 1e-5: under the threshold.
    expect(await checked((x) => checkRandomness(noisy(1e-6, true), x, 0))).toBeNull();
    expect(await checked((x) => checkRandomness(linear, x, 0))).toBeNull();
  });
});

describe('checkProbabilities', () => {
  it('flags softmax outputs, not logits nor rows that sum to 1 with a negative entry', async () => {
    const softmax = attackModel((x) => tf.softmax(linear.logits(x, 0)), 4);
    const flag = await checked((x) => checkProbabilities(softmax, x));
    expect(flag?.code).toBe('probabilities');
    expect(flag?.message).toMatch(/probabilities .* not logits/);
    // Sums to 1 but 2p − 1/C can be negative: not a distribution.
    const signed = attackModel((x) => tf.tidy(() => tf.sub(tf.mul(tf.softmax(linear.logits(x, 0)), 2), 0.25)) as tf.Tensor2D, 4);
    expect(await checked((x) => checkProbabilities(signed, x))).toBeNull();
    expect(await checked((x) => checkProbabilities(linear, x))).toBeNull();
  });
});

describe('checkZeroGradients', () => {
  it('counts the points whose cross-entropy gradient is exactly zero', async () => {
    // Rows with x_0 ≤ 0.5 get logits 0·(linear logits): their gradient vanishes; the gate itself has none.
    const gated = attackModel((x) => tf.tidy(() => {
      const open = tf.step(tf.sub(tf.slice(x, [0, 0], [-1, 1]), 0.5));
      return tf.mul(linear.logits(x, 0), open) as tf.Tensor2D;
    }), 4);
    let closed = 0;
    for (let i = 0; i < n; i++) if (pts.x[i * d] <= 0.5) closed++;
    expect(closed).toBeGreaterThan(10);
    expect(closed).toBeLessThan(n - 10);
    const flag = await checked((x) => checkZeroGradients(gated, x, pts.y, 0));
    expect(flag?.code).toBe('zero-gradients');
    expect(flag?.message.startsWith(`${closed} of ${n} points (${((100 * closed) / n).toFixed(1)}%)`)).toBe(true);

    const floored = attackModel((x) => linear.logits(tf.floor(tf.mul(x, 8)), 0), 4);
    expect((await checked((x) => checkZeroGradients(floored, x, pts.y, 0)))?.message).toMatch(new RegExp(`^${n} of ${n} points \\(100.0%\\)`));
    expect(await checked((x) => checkZeroGradients(linear, x, pts.y, 0))).toBeNull();
  });
});

describe('checkDynamic', () => {
  it('flags a forward pass that takes gradients itself, and leaves the engine as it was', async () => {
    const engine = tf.engine() as unknown as Record<string, unknown>;
    const original = engine.gradients;
    // One step of test-time optimization on the input before classifying.
    const adaptive = attackModel((x) => tf.tidy(() => {
      const g = tf.grad((v: tf.Tensor) => tf.sum(tf.square(v)))(x);
      return linear.logits(tf.sub(x, tf.mul(g, 0.1)) as tf.Tensor2D, 0);
    }), 4);
    const flag = await checked((x) => checkDynamic(adaptive, x));
    expect(flag?.code).toBe('dynamic');
    expect(flag?.message).toMatch(/1 gradient call in one pass/);
    expect(await checked((x) => checkDynamic(linear, x))).toBeNull();
    expect(engine.gradients).toBe(original);
    expect(Object.prototype.hasOwnProperty.call(engine, 'gradients')).toBe(false);
  });
});

describe('checkSquareBeatsGradient', () => {
  it('flags Square lowering robust accuracy by more than 0.2% after a gradient attack ran', () => {
    const flag = checkSquareBeatsGradient({ attacks: [record('apgd-ce', 0.5, 10), record('apgd-t', 0.48, 2), record('square', 0.45, 3)] });
    expect(flag?.code).toBe('square-beats-gradient');
    expect(flag?.message).toMatch(/by 3\.00% after the gradient attacks/);
    // Square first, nothing broken, a gradient attack that only was skipped, a drop of 0.1%: silent.
    expect(checkSquareBeatsGradient({ attacks: [record('square', 0.45, 3), record('apgd-ce', 0.4, 5)] })).toBeNull();
    expect(checkSquareBeatsGradient({ attacks: [record('apgd-ce', 0.5, 10), record('square', 0.5, 0)] })).toBeNull();
    expect(checkSquareBeatsGradient({ attacks: [record('apgd-dlr', 0.5, 0, 'DLR needs ≥ 3 classes'), record('square', 0.45, 5)] })).toBeNull();
    expect(checkSquareBeatsGradient({ attacks: [record('apgd-ce', 0.5, 10), record('square', 0.499, 1)] })).toBeNull();
  });

  it('ensembleFlags prefixes each message with its code', () => {
    const before: CheckFlag[] = [{ code: 'probabilities', message: 'm1' }];
    const flags = ensembleFlags(before, { attacks: [record('apgd-ce', 0.5, 10), record('square', 0.4, 10)] });
    expect(flags.length).toBe(2);
    expect(flags[0]).toBe('probabilities: m1');
    expect(flags[1].startsWith('square-beats-gradient: Square lowered the robust accuracy by 10.00%')).toBe(true);
    expect(ensembleFlags([], { attacks: [record('apgd-ce', 0.5, 10)] })).toEqual([]);
  });
});

describe('the checks inside runEnsemble', () => {
  it('flags a softmax model and an unmarked random one, and skips the randomness flag when EOT is in use', async () => {
    const specs = [{ name: 'apgd-ce' as const, iterations: 5, restarts: 1 }];
    const run = (model: AttackModel, eot = 1) => checked(async (x) => {
      const out = await runEnsemble(model, x, pts.y, { eps: 0.05, norm: 'Linf', box: UNIT, seed: 0, specs: specs.map((s) => ({ ...s, eot })) });
      out.adversarial.dispose();
      return out.flags.map((f) => f.split(':')[0]);
    });
    expect(await run(linear)).toEqual([]);
    expect(await run(attackModel((x) => tf.softmax(linear.logits(x, 0)), 4))).toEqual(['probabilities']);
    expect(await run(noisy(1e-2, false))).toEqual(['randomized']);
    expect(await run(noisy(1e-2, true))).toEqual(['randomized']);
    expect(await run(noisy(1e-2, true), 4)).toEqual([]);
  });
});
