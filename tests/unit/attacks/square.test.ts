import * as tf from '@tensorflow/tfjs';
import { describe, expect, it } from 'vitest';
import { attackModel, type AttackModel, type Box } from '../../../src/core/attacks/model';
import {
  changingCode, expectedMargin, gridCoordinates, roundHalfEven, square, squareLayout, squareP, squareStep,
  windowCode, windowShape, type SquareOptions,
} from '../../../src/core/attacks/square';
import { fraction, linearModel, oraclePoints, randomLinear, type LinearProblem } from './linearOracle';

const box: Box = { lo: 0, hi: 1 };

/** Runs Square and checks the tensor count grows by exactly the returned adversarial. */
async function run(model: AttackModel, x: tf.Tensor2D, y: Int32Array, opts: SquareOptions) {
  const before = tf.memory().numTensors;
  const out = await square(model, x, y, opts);
  expect(tf.memory().numTensors).toBe(before + 1);
  return out;
}

/** Square against the exact L∞ robust set of a linear model, n points. */
async function againstOracle(p: LinearProblem, eps: number, opts: Partial<SquareOptions> = {}, imageShape?: [number, number]) {
  const n = 200;
  const pts = oraclePoints(p, n, eps, box, 4);
  const model = { ...linearModel(p), imageShape };
  const x = tf.tensor2d(pts.x, [n, p.d]);
  const out = await run(model, x, pts.y, { eps, norm: 'Linf', box, seed: 1, ...opts });
  let brokeRobust = 0;
  for (let i = 0; i < n; i++) if (pts.robust[i] && !out.robust[i]) brokeRobust++;
  const result = { oracle: fraction(pts.robust), square: fraction(out.robust), brokeRobust, out, x, pts };
  return result;
}

function lastRow(trace: Float32Array, n: number): Float32Array {
  return trace.subarray(trace.length - n);
}

describe('square against the exact robust accuracy of linear models (L∞, box [0, 1])', () => {
  it('binary, 1-D features (d = 16, ε = 0.2), default 5000 queries: never breaks a robust point, within 0.02 of the oracle', async () => {
    const r = await againstOracle(randomLinear(2, 16, 3), 0.2);
    expect(r.oracle).toBeGreaterThan(0.3);
    expect(r.oracle).toBeLessThan(0.8);
    expect(r.brokeRobust).toBe(0);
    expect(r.square).toBeGreaterThanOrEqual(r.oracle);
    expect(r.square - r.oracle).toBeLessThanOrEqual(0.02);
    // Robust points remain, so the whole default budget runs.
    expect(r.out.iterationsRun).toBe(5000);
    expect(r.out.lossTrace.length).toBe(5000 * 200);
    tf.dispose([r.out.adversarial, r.x]);
  });

  it('5 classes, 1-D features (d = 20, ε = 0.15): within 0.02 of the oracle', async () => {
    const r = await againstOracle(randomLinear(5, 20, 5), 0.15, { queries: 2000 });
    expect(r.oracle).toBeGreaterThan(0.3);
    expect(r.oracle).toBeLessThan(0.8);
    expect(r.brokeRobust).toBe(0);
    expect(r.square - r.oracle).toBeLessThanOrEqual(0.02);
    tf.dispose([r.out.adversarial, r.x]);
  });

  it('3 classes on 6×6 images (2-D windows, ε = 0.05): within 0.02 of the oracle', async () => {
    const r = await againstOracle(randomLinear(3, 36, 7), 0.05, { queries: 2000 }, [6, 6]);
    expect(r.oracle).toBeGreaterThan(0.3);
    expect(r.oracle).toBeLessThan(0.8);
    expect(r.brokeRobust).toBe(0);
    expect(r.square - r.oracle).toBeLessThanOrEqual(0.02);
    tf.dispose([r.out.adversarial, r.x]);
  });

  it('reaches the last coordinate: a model that reads only x_15 of 16 is broken wherever the oracle says so', async () => {
    // Class 0 iff 2·x_15 − 1 > 0. Window offsets drawn from [0, d − s) as in square.py never cover
    // x_15, so about half the breakable points (those whose stripe start has the wrong sign) would survive.
    const d = 16;
    const weights = new Float64Array(2 * d);
    weights[d - 1] = 2;
    const p: LinearProblem = { weights, bias: Float64Array.from([-1, 0]), classes: 2, d };
    const r = await againstOracle(p, 0.2, { queries: 200 });
    expect(r.oracle).toBeLessThan(0.8);
    expect(r.square).toBe(r.oracle);
    tf.dispose([r.out.adversarial, r.x]);
  });

  it('spends no query on a window that would change nothing (the draw is re-drawn)', async () => {
    // Margin 10 + Σ x_i: every coordinate is best at its lower bound and no point ever breaks.
    // With 1-wide windows (p_init = 1/16) a coordinate reaches its lower bound at the first query
    // that hits it when unchanged draws are re-drawn: after 16 queries ½ + ½(1 − (15/16)^16) = 0.82
    // of the coordinates are low; spending the draw (square.py) gives ½ + ½(1 − (31/32)^16) = 0.70.
    const d = 16;
    const n = 200;
    const p: LinearProblem = { weights: new Float64Array(2 * d).fill(1, 0, d), bias: Float64Array.from([10, 0]), classes: 2, d };
    const x = tf.fill([n, d], 0.5) as tf.Tensor2D;
    const out = await run(linearModel(p), x, new Int32Array(n), { eps: 0.1, norm: 'Linf', box, seed: 2, queries: 16, pInit: 1 / 16 });
    const adv = await out.adversarial.data();
    let low = 0;
    for (const v of adv) low += v < 0.45 ? 1 : 0;
    low /= adv.length;
    expect(low).toBeGreaterThan(0.78);
    expect(low).toBeLessThan(0.86);
    tf.dispose([out.adversarial, x]);
  });

  it('stops early, at a checkpoint, once every point is broken', async () => {
    const r = await againstOracle(randomLinear(5, 20, 5), 0.5, { queries: 1000 });
    expect(r.oracle).toBe(0);
    expect(r.square).toBe(0);
    expect(r.out.iterationsRun).toBeLessThan(1000);
    expect(r.out.iterationsRun % 25).toBe(0);
    tf.dispose([r.out.adversarial, r.x]);
  });
});

describe('square: outputs', () => {
  const p = randomLinear(3, 36, 7);
  const eps = 0.05;
  const n = 120;
  const pts = oraclePoints(p, n, eps, box, 9);

  it('stays in the ε-ball and the box; the trace falls monotonically and ends at the adversarial margin', async () => {
    const model = { ...linearModel(p), imageShape: [6, 6] as [number, number] };
    const x = tf.tensor2d(pts.x, [n, p.d]);
    const out = await run(model, x, pts.y, { eps, norm: 'Linf', box, seed: 3, queries: 300 });
    const adv = await out.adversarial.data();
    for (let i = 0; i < adv.length; i++) {
      expect(Math.abs(adv[i] - pts.x[i])).toBeLessThanOrEqual(eps + 1e-6);
      expect(adv[i]).toBeGreaterThanOrEqual(0);
      expect(adv[i]).toBeLessThanOrEqual(1);
    }
    // Some coordinates sit on the ball's faces, others were clipped by the box.
    let onFace = 0;
    for (let i = 0; i < adv.length; i++) if (Math.abs(Math.abs(adv[i] - pts.x[i]) - eps) < 1e-6) onFace++;
    expect(onFace / adv.length).toBeGreaterThan(0.8);

    const rows = out.iterationsRun;
    expect(out.traceStride).toBe(1);
    expect(out.lossTrace.length).toBe(rows * n);
    for (let i = 0; i < n; i++) {
      for (let r = 1; r < rows; r++) expect(out.lossTrace[r * n + i]).toBeLessThanOrEqual(out.lossTrace[(r - 1) * n + i]);
    }
    const marginAdv = await tf.tidy(() => expectedMargin(model, out.adversarial, tf.tensor1d(pts.y, 'int32'), 1, 0)).data();
    const final = lastRow(out.lossTrace, n);
    for (let i = 0; i < n; i++) {
      expect(marginAdv[i]).toBeCloseTo(final[i], 4);
      expect(out.robust[i]).toBe(final[i] > 0 ? 1 : 0);
    }
    tf.dispose([out.adversarial, x]);
  });

  it('same seed → identical results; another seed → another search', async () => {
    const model = { ...linearModel(p), imageShape: [6, 6] as [number, number] };
    const x = tf.tensor2d(pts.x, [n, p.d]);
    const opts: SquareOptions = { eps, norm: 'Linf', box, seed: 11, queries: 150 };
    const a = await run(model, x, pts.y, opts);
    const b = await run(model, x, pts.y, opts);
    const c = await run(model, x, pts.y, { ...opts, seed: 12 });
    expect(Array.from(b.robust)).toEqual(Array.from(a.robust));
    expect(b.lossTrace).toEqual(a.lossTrace);
    expect(await b.adversarial.data()).toEqual(await a.adversarial.data());
    expect(c.lossTrace).not.toEqual(a.lossTrace);
    tf.dispose([a.adversarial, b.adversarial, c.adversarial, x]);
  });

  it('leaves points with active = 0 untouched and not robust; NaN in their trace', async () => {
    const model = linearModel(p);
    const x = tf.tensor2d(pts.x, [n, p.d]);
    const active = Uint8Array.from({ length: n }, (_, i) => (i % 3 === 0 ? 0 : 1));
    const out = await run(model, x, pts.y, { eps, norm: 'Linf', box, seed: 3, queries: 100, active });
    const adv = await out.adversarial.data();
    let moved = 0;
    for (let i = 0; i < n; i++) {
      const row = adv.subarray(i * p.d, (i + 1) * p.d);
      const clean = pts.x.subarray(i * p.d, (i + 1) * p.d);
      if (!active[i]) {
        expect(Array.from(row)).toEqual(Array.from(clean));
        expect(out.robust[i]).toBe(0);
        expect(Number.isNaN(out.lossTrace[i])).toBe(true);
      } else if (row.some((v, j) => v !== clean[j])) moved++;
    }
    expect(moved).toBe(active.reduce((s, a) => s + a, 0));
    tf.dispose([out.adversarial, x]);
  });

  it('a second restart only adds broken points and runs its own queries', async () => {
    const model = linearModel(p);
    const x = tf.tensor2d(pts.x, [n, p.d]);
    const opts: SquareOptions = { eps, norm: 'Linf', box, seed: 5, queries: 30 };
    const one = await run(model, x, pts.y, opts);
    const two = await run(model, x, pts.y, { ...opts, restarts: 2 });
    for (let i = 0; i < n; i++) expect(two.robust[i]).toBeLessThanOrEqual(one.robust[i]);
    expect(fraction(two.robust)).toBeLessThan(fraction(one.robust));
    expect(two.iterationsRun).toBe(60);
    expect(two.lossTrace.length).toBe(60 * n);
    tf.dispose([one.adversarial, two.adversarial, x]);
  });

  it('L2 is skipped with a reason and the clean-correct flags', async () => {
    const model = linearModel(p);
    const x = tf.tensor2d(pts.x, [n, p.d]);
    const wrongLabels = Int32Array.from(pts.y, (v, i) => (i < 10 ? (v + 1) % 3 : v));
    const out = await run(model, x, wrongLabels, { eps, norm: 'L2', box, seed: 1 });
    expect(out.skipped).toMatch(/L∞/);
    expect(Array.from(out.robust)).toEqual(Array.from({ length: n }, (_, i) => (i < 10 ? 0 : 1)));
    expect(await out.adversarial.data()).toEqual(pts.x);
    tf.dispose([out.adversarial, x]);
  });

  it('stops on an aborted signal without leaking tensors', async () => {
    const model = linearModel(p);
    const x = tf.tensor2d(pts.x, [n, p.d]);
    const ctrl = new AbortController();
    const before = tf.memory().numTensors;
    let calls = 0;
    const onProgress = (done: number) => {
      calls = done;
      if (done === 40) ctrl.abort();
    };
    await expect(square(model, x, pts.y, { eps, norm: 'Linf', box, seed: 1, queries: 500, signal: ctrl.signal, onProgress }))
      .rejects.toMatchObject({ name: 'AbortError' });
    expect(calls).toBe(40);
    expect(tf.memory().numTensors).toBe(before);
    x.dispose();
  });
});

describe('square with EOT on a randomized model', () => {
  // Logits of a linear model times a random positive scale e^{N(0, 1)} per draw: every draw
  // classifies like the linear model (the oracle stays exact), but single-draw margins of two
  // candidates are not comparable, while their mean over draws is.
  const p = randomLinear(2, 16, 3);
  /** Built inside a test: tensors made at collection time would predate the backend. */
  const scaledModel = (): AttackModel => {
    const linear = linearModel(p);
    return attackModel(
      (x, seed) => tf.tidy(() => tf.mul(linear.logits(x, 0), tf.exp(tf.randomNormal([x.shape[0], 1], 0, 1, 'float32', seed)))) as tf.Tensor2D,
      2, { randomized: true },
    );
  };
  const eps = 0.2;
  const n = 100;
  const pts = oraclePoints(p, n, eps, box, 4);

  it('the EOT margin is the mean of the margins of the drawn logits', async () => {
    const model = scaledModel();
    const x = tf.tensor2d(pts.x.subarray(0, 5 * 16), [5, 16]);
    const yT = tf.tensor1d(pts.y.subarray(0, 5), 'int32');
    const m = await tf.tidy(() => expectedMargin(model, x, yT, 4, 77)).data();
    const z = await tf.tidy(() => model.logits(tf.tile(x, [4, 1]), 77)).data();
    for (let i = 0; i < 5; i++) {
      let mean = 0;
      for (let e = 0; e < 4; e++) {
        const row = (e * 5 + i) * 2;
        const yi = pts.y[i];
        mean += (z[row + yi] - z[row + 1 - yi]) / 4;
      }
      expect(m[i]).toBeCloseTo(mean, 5);
    }
    // A deterministic model ignores eot: the same search as with one draw.
    const lin = linearModel(p);
    const xs = tf.tensor2d(pts.x, [n, 16]);
    const opts: SquareOptions = { eps, norm: 'Linf', box, seed: 1, queries: 50 };
    const one = await run(lin, xs, pts.y, opts);
    const eight = await run(lin, xs, pts.y, { ...opts, eot: 8 });
    expect(eight.lossTrace).toEqual(one.lossTrace);
    tf.dispose([one.adversarial, eight.adversarial, xs]);
    tf.dispose([x, yT]);
  });

  it('robust accuracy with eot = 8 is at least 0.06 below eot = 1, and within 0.05 of the oracle', async () => {
    const model = scaledModel();
    const x = tf.tensor2d(pts.x, [n, 16]);
    const base: SquareOptions = { eps, norm: 'Linf', box, seed: 1, queries: 1000 };
    const single = await run(model, x, pts.y, { ...base, eot: 1 });
    const averaged = await run(model, x, pts.y, { ...base, eot: 8 });
    const oracle = fraction(pts.robust);
    for (const out of [single, averaged]) {
      for (let i = 0; i < n; i++) if (pts.robust[i]) expect(out.robust[i]).toBe(1);
    }
    expect(fraction(single.robust) - fraction(averaged.robust)).toBeGreaterThanOrEqual(0.06);
    expect(fraction(averaged.robust) - oracle).toBeLessThanOrEqual(0.05);
    tf.dispose([single.adversarial, averaged.adversarial, x]);
  });
});

describe('square: schedule and windows', () => {
  it('p halves after queries 10, 50, 200, 500, 1000, 2000, 4000, 6000, 8000 (square.py p_selection, no rescaling)', () => {
    const cases: [number, number][] = [
      [0, 0.8], [10, 0.8], [11, 0.4], [50, 0.4], [51, 0.2], [200, 0.2], [201, 0.1], [500, 0.1], [501, 0.05],
      [1000, 0.05], [1001, 0.025], [2001, 0.0125], [4000, 0.0125], [4001, 0.00625], [6001, 0.003125],
      [8000, 0.003125], [8001, 0.0015625], [20000, 0.0015625],
    ];
    for (const [q, p] of cases) expect(squareP(q)).toBe(p);
    expect(squareP(300, 0.5)).toBe(0.0625);
    // resc_schedule maps onto 10,000 queries: with 5000, query 5 is "10" and query 6 is "12".
    expect(squareP(5, 0.8, 5000)).toBe(0.8);
    expect(squareP(6, 0.8, 5000)).toBe(0.4);
  });

  it('window sides: round half to even as Python, at least 1, fitting the grid', () => {
    expect([0.5, 1.5, 2.5, 3.5, 2.4999, 2.5001].map(roundHalfEven)).toEqual([0, 2, 2, 4, 2, 3]);
    const mnist = squareLayout(784, [28, 28]);
    expect(windowShape(0.8, mnist)).toEqual({ height: 25, width: 25 }); // √627.2 = 25.04
    expect(windowShape(0.05, mnist)).toEqual({ height: 6, width: 6 }); // √39.2 = 6.26
    expect(windowShape(0.0015625, mnist)).toEqual({ height: 1, width: 1 });
    expect(windowShape(0.8, squareLayout(8, [2, 4]))).toEqual({ height: 2, width: 2 }); // √6.4 → 3, capped at 2
    const vec = squareLayout(25);
    expect(windowShape(0.8, vec)).toEqual({ height: 1, width: 20 });
    expect(windowShape(0.1, vec)).toEqual({ height: 1, width: 2 }); // 2.5 → 2
    expect(windowShape(0.003125, vec)).toEqual({ height: 1, width: 1 });
    expect(() => squareLayout(30, [5, 5])).toThrow(/does not match/);
  });

  it('windowCode marks each point\'s own window with its sign; squareStep and changingCode', async () => {
    const grid = gridCoordinates(squareLayout(20, [4, 5]));
    const code = windowCode(grid, Float32Array.from([1, 2]), Float32Array.from([3, 0]), 2, 2, Float32Array.from([-1, 1]));
    const expected = [
      [0, 0, 0, 0, 0, 0, 0, 0, -1, -1, 0, 0, 0, -1, -1, 0, 0, 0, 0, 0],
      [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 0, 0, 0, 1, 1, 0, 0, 0],
    ];
    expect(code.arraySync().map((r) => r.map((v) => v + 0))).toEqual(expected);
    const line = gridCoordinates(squareLayout(6));
    const run3 = windowCode(line, new Float32Array(1), Float32Array.from([3]), 1, 3, Float32Array.from([1]));
    expect(run3.arraySync()).toEqual([[0, 0, 0, 1, 1, 1]]);

    // x = 0.5 (ε = 0.2, box [0, 1]) except x_5 = 0.1: lower = 0.3 … 0, upper = 0.7 … 0.3.
    const x = tf.tensor2d([[0.5, 0.5, 0.5, 0.5, 0.5, 0.1]]);
    const lower = tf.tensor2d([[0.3, 0.3, 0.3, 0.3, 0.3, 0]]);
    const upper = tf.tensor2d([[0.7, 0.7, 0.7, 0.7, 0.7, 0.3]]);
    const xBest = tf.tensor2d([[0.3, 0.7, 0.3, 0.7, 0.7, 0.3]]);
    const rounded = (t: tf.Tensor2D) => t.arraySync()[0].map((v) => +v.toFixed(6));
    // The window x_3..x_5 already sits at its upper bounds: the + step changes nothing.
    expect(rounded(squareStep(run3, xBest, lower, upper))).toEqual([0.3, 0.7, 0.3, 0.7, 0.7, 0.3]);
    // So the draw is flipped to −, which moves the window to its lower bounds.
    const flipped = changingCode(run3, xBest, lower, upper);
    expect(flipped.arraySync()[0].map((v) => v + 0)).toEqual([0, 0, 0, -1, -1, -1]);
    expect(rounded(squareStep(flipped, xBest, lower, upper))).toEqual([0.3, 0.7, 0.3, 0.3, 0.3, 0]);
    // A window that changes something keeps its sign.
    const partly = windowCode(line, new Float32Array(1), Float32Array.from([1]), 1, 3, Float32Array.from([1]));
    expect(changingCode(partly, xBest, lower, upper).arraySync()).toEqual(partly.arraySync());
    tf.dispose([code, run3, x, lower, upper, xBest, flipped, partly, grid.colOf, line.colOf]);
    grid.rowOf?.dispose();
  });
});
