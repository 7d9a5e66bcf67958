import * as tf from '@tensorflow/tfjs';
import { spawnSync } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeNpy } from '../../../src/cli/npy';
import { saveLayersModel } from '../../../src/cli/modelFiles';
import { fraction, oraclePoints, randomLinear } from '../attacks/linearOracle';

const ROOT = resolve(__dirname, '../../..');

function lab(args: string[]) {
  return spawnSync(process.execPath, [join(ROOT, 'node_modules/tsx/dist/cli.mjs'), join(ROOT, 'src/cli/main.ts'), ...args], {
    cwd: ROOT, encoding: 'utf8', timeout: 300_000,
  });
}

describe('npm run lab -- attack', () => {
  let dir = '';
  const problem = randomLinear(4, 12, 5);
  const eps = 0.08;
  const points = oraclePoints(problem, 60, eps, { lo: 0, hi: 1 }, 9);
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'lab-attack-'));
    // The oracle's linear classifier as a saved Layers model that outputs logits.
    const model = tf.sequential({ layers: [tf.layers.dense({ units: 4, inputShape: [12] })] });
    model.layers[0].setWeights([
      tf.tensor2d(Float32Array.from(problem.weights), [4, 12]).transpose(),
      tf.tensor1d(Float32Array.from(problem.bias)),
    ]);
    await saveLayersModel(model, join(dir, 'model'));
    model.dispose();
    await writeNpy(join(dir, 'x.npy'), points.x, [60, 12]);
    await writeNpy(join(dir, 'y.npy'), points.y, [60]);
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('prints the contract JSON and finds exactly the vulnerable points of a linear model', () => {
    const r = lab(['attack', '--model', join(dir, 'model/model.json'), '--inputs', join(dir, 'x.npy'), '--labels', join(dir, 'y.npy'),
      '--eps', String(eps), '--version', 'standard', '--quiet']);
    expect(r.status, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout.trim().split('\n').pop()!);
    expect(out.cleanAccuracy).toBe(1);
    expect(out.robustAccuracy).toBeCloseTo(fraction(points.robust), 10);
    expect(out.attacks.map((a: { name: string }) => a.name)).toEqual(['apgd-ce', 'apgd-t', 'square']);
    for (const a of out.attacks) expect(a).toEqual(expect.objectContaining({ robustAccuracy: expect.any(Number), seconds: expect.any(Number) }));
    expect(Array.isArray(out.flags)).toBe(true);
    expect(out.notes.join(' ')).toMatch(/fab-t/);
  });

  it('names the file and the problem for bad input', async () => {
    await writeFile(join(dir, 'bad.npy'), 'not a numpy file');
    const bad = lab(['attack', '--model', join(dir, 'model/model.json'), '--inputs', join(dir, 'bad.npy'), '--labels', join(dir, 'y.npy'), '--eps', '0.1']);
    expect(bad.status).toBe(1);
    expect(bad.stderr).toMatch(/bad\.npy: cannot read as \.npy/);
    const short = lab(['attack', '--model', join(dir, 'model/model.json'), '--inputs', join(dir, 'x.npy'), '--labels', join(dir, 'x.npy'), '--eps', '0.1']);
    expect(short.stderr).toMatch(/x\.npy: expected 60 labels/);
    const unknown = lab(['attack', '--model', join(dir, 'model/model.json'), '--inputs', join(dir, 'x.npy'), '--labels', join(dir, 'y.npy'), '--eps', '0.1', '--attacks', 'fgsm']);
    expect(unknown.status).toBe(1);
    expect(unknown.stderr).toMatch(/fgsm/);
  });
});
