import * as tf from '@tensorflow/tfjs';
import { spawnSync } from 'node:child_process';
import { mkdtemp, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readNpy } from '../../../src/cli/npy';
import { loadLayersModel } from '../../../src/cli/modelFiles';

const ROOT = resolve(__dirname, '../../..');

function lab(args: string[]) {
  return spawnSync(process.execPath, [join(ROOT, 'node_modules/tsx/dist/cli.mjs'), join(ROOT, 'src/cli/main.ts'), ...args], {
    cwd: ROOT, encoding: 'utf8', timeout: 300_000,
  });
}

/** Two classes of 32×32 PNGs: a bright disc at the top or at the bottom, with noise. */
async function makeFolder(root: string): Promise<void> {
  let seed = 1;
  const rand = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
  for (const [cls, cy] of [['bottom', 22], ['top', 10]] as const) {
    await mkdir(join(root, cls), { recursive: true });
    for (let i = 0; i < 30; i++) {
      const px = Buffer.alloc(32 * 32);
      for (let y = 0; y < 32; y++) for (let x = 0; x < 32; x++) {
        const inDisc = (x - 16) ** 2 + (y - cy) ** 2 < 36;
        px[y * 32 + x] = Math.min(255, Math.round((inDisc ? 200 : 60) + 40 * rand()));
      }
      await sharp(px, { raw: { width: 32, height: 32, channels: 1 } }).png().toFile(join(root, cls, `img${i}.png`));
    }
  }
  await writeFile(join(root, 'top', 'notes.png'), 'this is not an image');
}

describe('npm run lab -- run', () => {
  let dir = '';
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'lab-cli-'));
    await makeFolder(join(dir, 'data'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('runs on a folder, writes report.json, the .npy arrays and reloadable models', async () => {
    const out = join(dir, 'out');
    const r = lab(['run', '--dataset', join(dir, 'data'), '--image-size', '32', '--rank', '6', '--nmf-iter', '40',
      '--no-image-cnn', '--seed', '2', '--out', out, '--dump', '--quiet',
      '--attack-limit', '12', '--attack-iter', '10', '--queries', '50', '--attack-eot', '2', '--pgd-steps', '10', '--pgd-eot', '2']);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/cleanBaseline\s+\d\.\d{4}/);
    expect(r.stdout).toMatch(/cleanDefended\s+\d\.\d{4}/);
    expect(r.stdout).toMatch(/robustBaseline\s+\d\.\d{4}/);
    expect(r.stdout).toMatch(/robustDefended\s+\d\.\d{4}/);
    // Every robust figure names its threat model, norm, ε, attacks and EOT.
    expect(r.stdout).toMatch(/robustDefended: feature threat, Linf ε=0\.1, custom \[apgd-ce r5 10it \+ square r1 50q\], EOT 2/);

    const report = JSON.parse(await readFile(join(out, 'report.json'), 'utf8'));
    expect(Object.keys(report)).toEqual(expect.arrayContaining(['config', 'backend', 'dataset', 'nmf', 'selection', 'scenarios', 'timings']));
    expect(report.config.seed).toBe(2);
    expect(report.backend.name).toBe('wasm');
    expect(report.dataset.classNames).toEqual(['bottom', 'top']);
    expect(report.dataset.skipped).toEqual([{ file: 'top/notes.png', reason: expect.stringMatching(/not an image/) }]);
    const { train, val, test } = report.dataset.counts;
    expect(train.bottom + val.bottom + test.bottom).toBe(30);
    expect(report.selection.components[0]).toEqual(expect.objectContaining({
      index: expect.any(Number), auc: expect.any(Number), cohensD: expect.any(Number), pValue: expect.any(Number), rank: expect.any(Number), selected: expect.any(Boolean),
    }));
    for (const s of ['cleanBaseline', 'cleanDefended']) {
      expect(Object.keys(report.scenarios[s].metrics).sort()).toEqual(
        ['accuracy', 'balancedAccuracy', 'brier', 'f1', 'logLoss', 'mcc', 'precision', 'recall', 'rocAuc'].sort());
    }
    // The disc's position is a strong cue: the clean baseline must find it.
    expect(report.scenarios.cleanBaseline.metrics.accuracy).toBeGreaterThanOrEqual(0.8);

    const arrays = join(out, 'arrays');
    const V = await readNpy(join(arrays, 'V_train.npy'));
    const W = await readNpy(join(arrays, 'W.npy'));
    const H = await readNpy(join(arrays, 'H_train.npy'));
    const nTrain = train.bottom + train.top;
    expect(V.shape).toEqual([1024, nTrain]);
    expect(V.dtype).toBe('f4');
    expect(W.shape).toEqual([1024, 6]);
    expect(H.shape).toEqual([6, nTrain]);
    const act = await readNpy(join(arrays, 'activations_test.npy'));
    const labels = await readNpy(join(arrays, 'labels_test.npy'));
    const probs = await readNpy(join(arrays, 'probs_cleanBaseline.npy'));
    const nTest = test.bottom + test.top;
    expect(act.shape).toEqual([nTest, 6]);
    expect(labels.dtype).toBe('i4');
    expect(probs.shape).toEqual([nTest, 2]);
    // Activations are L2-normalized rows.
    const a = act.data as Float32Array;
    for (let i = 0; i < nTest; i++) {
      let s = 0;
      for (let j = 0; j < 6; j++) s += a[i * 6 + j] ** 2;
      expect(Math.sqrt(s)).toBeCloseTo(1, 4);
    }
    // The saved classifier reproduces the clean baseline probabilities from the dumped features.
    const selected = Array.from((await readNpy(join(arrays, 'selected.npy'))).data as Int32Array);
    const model = await loadLayersModel(join(out, 'models/classifier/model.json'));
    // Classifier input = the selected columns, L2-normalized again.
    const reproduced = tf.tidy(() => {
      const x = tf.gather(tf.tensor2d(a, [nTest, 6]), selected, 1);
      return tf.softmax(model.predict(tf.div(x, tf.norm(x, 'euclidean', 1, true))) as tf.Tensor2D).dataSync();
    });
    const p = probs.data as Float32Array;
    reproduced.forEach((v, i) => expect(v).toBeCloseTo(p[i], 5));
    model.dispose();
    expect(existsSync(join(out, 'models/denoiser/model.json'))).toBe(true);
    const robustProbs = await readNpy(join(arrays, 'probs_robustDefended.npy'));
    // --attack-limit 12 is more than the 6 test images: all of them are attacked.
    expect(robustProbs.shape).toEqual([nTest, 2]);
    const adv = await readNpy(join(arrays, 'adversarial_robustBaseline.npy'));
    expect(adv.shape).toEqual([nTest, selected.length]);
    const traces = JSON.parse(await readFile(join(out, 'traces.json'), 'utf8'));
    expect(traces.robustBaseline.traces).toHaveLength(nTest);
    expect(traces.robustDefended.attack.threat).toBe('feature');
  });

  it('refuses a bad config with the valid range, and a missing folder by name', () => {
    const bad = lab(['run', '--rank', '0', '--quiet']);
    expect(bad.status).toBe(1);
    expect(bad.stderr).toContain('nmf.rank = 0: must be an integer in [1, 1000]');
    const missing = lab(['run', '--dataset', join(dir, 'nope'), '--quiet']);
    expect(missing.status).toBe(1);
    expect(missing.stderr).toContain(join(dir, 'nope'));
  });
});
