import * as tf from '@tensorflow/tfjs';
import { afterAll, describe, expect, it } from 'vitest';
import { smallMri } from './small';
import { Pipeline } from '../../../src/core/pipeline/run';
import { MemoryStageStore } from '../../../src/core/pipeline/stageStore';
import { buildReport, type LabReport } from '../../../src/core/pipeline/report';
import { loadDataset } from '../../../src/cli/datasets';
import type { StageName } from '../../../src/core/pipeline/progress';

const backend = { name: 'wasm' as const, reason: 'test' };
const config = smallMri({
  data: { count: 120, imageSize: 32 }, nmf: { rank: 6, maxIter: 30, projectIter: 30 }, select: { minSelected: 3 },
  classifier: { epochs: 15 }, diffusion: { epochs: 15 },
  attack: { limit: 8, iterations: 5, queries: 30, adaptive: { steps: 4, eot: 2 } },
});
const PERSISTED: StageName[] = ['nmf', 'project', 'select', 'features', 'denoiser', 'classify', 'evaluate', 'attackBaseline', 'attackDefended'];

function numbers(r: LabReport): unknown {
  const { timings: _t, reused: _r, ...rest } = r;
  return JSON.parse(JSON.stringify(rest, (k, v) => (k === 'seconds' ? undefined : v)));
}

describe('stage store', () => {
  const store = new MemoryStageStore();
  const pipelines: Pipeline[] = [];
  const make = (fingerprint?: string, errors?: string[]) => {
    const p = new Pipeline(loadDataset, backend, {
      store, fingerprint: fingerprint === undefined ? undefined : () => fingerprint,
      onStoreError: (stage, err) => errors?.push(`${stage}: ${(err as Error).message}`),
    });
    pipelines.push(p);
    return p;
  };
  afterAll(() => pipelines.forEach((p) => p.dispose()));
  let reference: LabReport;
  let tensorsAfterReference = 0;

  it('a fresh pipeline on the same store restores every stage it can and reports the same numbers', async () => {
    const before = tf.memory().numTensors;
    const a = make();
    const done: string[] = [];
    reference = buildReport(await a.run(config, { onStageDone: (s, source) => done.push(`${s}:${source}`) }));
    expect(done).toEqual(['load', ...PERSISTED].map((s) => `${s}:computed`));
    expect(store.entries.size).toBe(PERSISTED.length);
    tensorsAfterReference = tf.memory().numTensors - before;
    a.dispose();

    const b = make();
    const t0 = tf.memory().numTensors;
    const result = await b.run(config);
    expect(result.restored).toEqual(PERSISTED);
    expect(result.reused).toEqual(PERSISTED);
    expect(numbers(buildReport(result))).toEqual(numbers(reference));
    // A restored stage owns the same tensors a computed one does, and the cache frees them.
    expect(tf.memory().numTensors - t0).toBe(tensorsAfterReference);
    b.dispose();
    expect(tf.memory().numTensors).toBe(t0);
  });

  it('resumes after the last stored stage when only some are there', async () => {
    for (const s of ['classify', 'evaluate', 'attackBaseline', 'attackDefended'] as const) {
      for (const k of [...store.entries.keys()]) if (k.startsWith(`${s}/`)) store.entries.delete(k);
    }
    const result = await make().run(config);
    expect(result.restored).toEqual(['nmf', 'project', 'select', 'features', 'denoiser']);
    expect(numbers(buildReport(result))).toEqual(numbers(reference));
  });

  it('recomputes a corrupt stored stage and says so, and never mixes up data sets', async () => {
    const key = [...store.entries.keys()].find((k) => k.startsWith('nmf/wasm:'))!;
    const entry = store.entries.get(key) as { W: { values: Float32Array } };
    entry.W.values = entry.W.values.subarray(0, 10);
    const errors: string[] = [];
    const result = await make(undefined, errors).run(config);
    expect(errors).toEqual(['nmf: stored nmf output is unusable: a tensor does not match its shape']);
    expect(result.restored).not.toContain('nmf');
    expect(numbers(buildReport(result))).toEqual(numbers(reference));

    const other = await make('another folder, same name').run(config);
    expect(other.restored).toEqual([]);
  });

  it('refuses a second run on a pipeline while one is going', async () => {
    const p = make();
    const first = p.run(config);
    await expect(p.run(config)).rejects.toThrow(/a run is already in progress/);
    await first;
  });
});
