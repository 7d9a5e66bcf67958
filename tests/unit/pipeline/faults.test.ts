/**
 * Faults (issue 6): a cancel at any moment leaves the pipeline consistent, memory stays flat across
 * many runs, and a second run while one is going is refused or queued, never interleaved.
 */
import { readFile } from 'node:fs/promises';
import * as tf from '@tensorflow/tfjs';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { smallMri } from './small';
import { mergeConfig, type DeepPartial, type LabConfig } from '../../../src/core/config';
import { Pipeline, type RunOptions } from '../../../src/core/pipeline/run';
import { buildReport, type LabReport } from '../../../src/core/pipeline/report';
import type { ProgressEvent, StageName } from '../../../src/core/pipeline/progress';
import { CH2_SLICES_PATH, loadDataset } from '../../../src/cli/datasets';
import { nodeWasmPaths } from '../../../src/cli/wasmPaths';
import { BusyError, createLabApi } from '../../../workers/labApi';

const backend = { name: 'wasm' as const, reason: 'test' };

/** Every stage, cut to about a second of CPU (imageCnn off: the binary task reads NNMF features). */
function tiny(patch: DeepPartial<LabConfig> = {}): LabConfig {
  return mergeConfig(smallMri({
    data: { count: 120, imageSize: 32 },
    nmf: { rank: 6, maxIter: 20, projectIter: 20 },
    // patience ≥ epochs: every epoch runs, so the progress events of a stage are countable.
    classifier: { epochs: 12, patience: 100 },
    diffusion: { epochs: 12, hidden: 32, eot: 2, reverseSteps: 2, timestep: 30 },
    attack: { limit: 8, iterations: 6, queries: 40, eot: 2, adaptive: { steps: 6, eot: 2 } },
  }), patch);
}

/** The stages a tiny run computes, in order (select reports no progress). */
const ORDER: StageName[] = ['load', 'nmf', 'project', 'select', 'features', 'denoiser', 'classify', 'evaluate', 'attackBaseline', 'attackDefended'];

/** The report without wall-clock figures, cache bookkeeping and the backend's description (the
 * worker API words it its own way): every number a run computes. */
function numbers(r: LabReport): unknown {
  const { timings: _t, reused: _r, backend: _b, ...rest } = r;
  delete (rest as Record<string, unknown>).restored;
  return JSON.parse(JSON.stringify(rest, (k, v) => (k === 'seconds' ? undefined : v)));
}

/** The figures a reader looks at first, for a readable diff when the full comparison fails. */
function headline(r: LabReport) {
  const s = r.scenarios;
  return {
    clean: [s.cleanBaseline.metrics.accuracy, s.cleanDefended.metrics.accuracy],
    robust: [s.robustBaseline?.robustAccuracy, s.robustDefended?.robustAccuracy, s.robustDefended?.adaptive?.robustAccuracy],
    selected: r.selection.selected,
    nmfLoss: r.nmf.loss.at(-1),
  };
}

function memory() {
  const m = tf.memory();
  return { numTensors: m.numTensors, numBytes: m.numBytes };
}

async function settle<T>(p: Promise<T>): Promise<{ ok: true; value: T } | { ok: false; error: Error }> {
  try {
    return { ok: true, value: await p };
  } catch (error) {
    return { ok: false, error: error as Error };
  }
}

/** Runs `config`, aborting right after the k-th progress event of `stage`. */
async function cancelledRun(pipeline: Pipeline, config: LabConfig, stage: StageName, k: number, extra: RunOptions = {}) {
  const controller = new AbortController();
  let seen = 0;
  const outcome = await settle(pipeline.run(config, {
    ...extra,
    signal: controller.signal,
    onProgress: (e) => {
      if (e.stage === stage && ++seen === k) controller.abort();
    },
  }));
  return { outcome, aborted: controller.signal.aborted };
}

describe('cancel at any moment leaves a consistent state', () => {
  let reference: LabReport;
  let referenceDelta: { numTensors: number; numBytes: number };
  let referenceT20: LabReport;
  const events: Partial<Record<StageName, number>> = {};

  beforeAll(async () => {
    const before = memory();
    const p = new Pipeline(loadDataset, backend);
    reference = buildReport(await p.run(tiny(), { onProgress: (e) => { events[e.stage] = (events[e.stage] ?? 0) + 1; } }));
    const after = memory();
    referenceDelta = { numTensors: after.numTensors - before.numTensors, numBytes: after.numBytes - before.numBytes };
    referenceT20 = buildReport(await p.run(tiny({ diffusion: { timestep: 20 } })));
    p.dispose();
    expect(memory()).toEqual(before);
    // The run is real: cached W, H, activations, features and three models.
    expect(referenceDelta.numTensors).toBeGreaterThan(10);
    for (const s of ORDER) if (s !== 'select') expect(events[s], s).toBeGreaterThan(0);
  });

  const cases: [StageName, 'first' | 'middle' | 'last'][] = [];
  for (const s of ['load', 'nmf', 'project', 'features', 'denoiser', 'classify', 'evaluate'] as StageName[]) {
    cases.push([s, 'first'], [s, 'last']);
  }
  for (const s of ['attackBaseline', 'attackDefended'] as StageName[]) cases.push([s, 'first'], [s, 'middle'], [s, 'last']);

  it.each(cases)('a cancel after the %s stage\'s %s progress event, then a plain run, equals an uncancelled run', async (stage, at) => {
    const n = events[stage]!;
    const k = at === 'first' ? 1 : at === 'last' ? n : Math.ceil(n / 2);
    const before = memory();
    const pipeline = new Pipeline(loadDataset, backend);
    try {
      const { outcome, aborted } = await cancelledRun(pipeline, tiny(), stage, k);
      expect(aborted).toBe(true);
      const done = ORDER.slice(0, ORDER.indexOf(stage));
      const cached = pipeline.cache.stages as StageName[];
      if (stage === 'attackDefended' && at === 'last' && outcome.ok) {
        // The cancel came after the last check of the last stage: the finished run may stand, and
        // then it must be the uncancelled run.
        expect(numbers(buildReport(outcome.value))).toEqual(numbers(reference));
      } else {
        expect(outcome.ok, `run cancelled in ${stage} resolved`).toBe(false);
        if (!outcome.ok) expect(outcome.error.name, outcome.error.message).toBe('AbortError');
        // Every stage that finished before the cancel is kept; none after the cancelled one ran.
        expect(cached).toEqual(expect.arrayContaining(done));
        for (const s of cached) expect(ORDER.indexOf(s), `${s} cached after a cancel in ${stage}`).toBeLessThanOrEqual(ORDER.indexOf(stage));
      }

      const follow = await pipeline.run(tiny());
      const report = buildReport(follow);
      expect(headline(report)).toEqual(headline(reference));
      expect(numbers(report)).toEqual(numbers(reference));
      // The follow-up reused exactly what the cancelled run left in the cache, in stage order.
      expect(follow.reused).toEqual(ORDER.filter((s) => cached.includes(s)));
      expect(follow.reused).toEqual(expect.arrayContaining(done));
      // Nothing the aborted stage allocated outlives it.
      const after = memory();
      expect({ numTensors: after.numTensors - before.numTensors, numBytes: after.numBytes - before.numBytes }).toEqual(referenceDelta);
    } finally {
      pipeline.dispose();
    }
    expect(memory()).toEqual(before);
  });

  it('a signal aborted before the run starts computes nothing and caches nothing', async () => {
    const before = memory();
    const pipeline = new Pipeline(loadDataset, backend);
    const controller = new AbortController();
    controller.abort();
    const seen: ProgressEvent[] = [];
    const outcome = await settle(pipeline.run(tiny(), { signal: controller.signal, onProgress: (e) => seen.push(e) }));
    expect(outcome.ok).toBe(false);
    if (!outcome.ok) expect(outcome.error.name).toBe('AbortError');
    expect(seen).toEqual([]);
    expect(pipeline.cache.stages).toEqual([]);
    pipeline.dispose();
    expect(memory()).toEqual(before);
  });

  it('a cancel from onClean (clean numbers shown, attacks not started) keeps every clean stage', async () => {
    const before = memory();
    const pipeline = new Pipeline(loadDataset, backend);
    const controller = new AbortController();
    const outcome = await settle(pipeline.run(tiny(), { signal: controller.signal, onClean: () => controller.abort() }));
    expect(outcome.ok).toBe(false);
    if (!outcome.ok) expect(outcome.error.name).toBe('AbortError');
    const follow = await pipeline.run(tiny());
    expect(follow.reused).toEqual(ORDER.slice(0, ORDER.indexOf('attackBaseline')));
    expect(numbers(buildReport(follow))).toEqual(numbers(reference));
    const after = memory();
    expect(after.numTensors - before.numTensors).toBe(referenceDelta.numTensors);
    pipeline.dispose();
    expect(memory()).toEqual(before);
  });

  it.each(['features', 'denoiser', 'classify', 'attackBaseline'] as StageName[])(
    'a cancelled run of another config (cancel in %s) leaves the warm cache consistent for the next ones',
    async (stage) => {
      const before = memory();
      const pipeline = new Pipeline(loadDataset, backend);
      try {
        await pipeline.run(tiny());
        // Another selection: features and everything after get new keys; the cancel leaves some
        // stages holding the new config's outputs and later ones the old config's.
        const other = tiny({ select: { top: 3 } });
        const { outcome } = await cancelledRun(pipeline, other, stage, 1);
        expect(outcome.ok).toBe(false);
        if (!outcome.ok) expect(outcome.error.name, outcome.error.message).toBe('AbortError');

        // Back to the first config, then a timestep change (re-scores with the cached classifier
        // and features): both must be the uncancelled numbers.
        const back = await pipeline.run(tiny());
        expect(numbers(buildReport(back))).toEqual(numbers(reference));
        const t20 = await settle(pipeline.run(tiny({ diffusion: { timestep: 20 } })));
        if (!t20.ok) throw new Error(`timestep rerun after a cancel in ${stage} failed: ${t20.error.message}`);
        expect(numbers(buildReport(t20.value))).toEqual(numbers(referenceT20));
        const after = memory();
        expect(after.numTensors - before.numTensors).toBe(referenceDelta.numTensors);
      } finally {
        pipeline.dispose();
      }
      expect(memory()).toEqual(before);
    },
  );
});

describe('memory stays flat across 20 consecutive runs', () => {
  /** Run k: timestep alternates every run (evaluate and the defended attack recompute), the
   * classifier's learning rate every 4 runs (classify on), the NMF rank after 10 runs (nmf on). */
  const configFor = (k: number) => tiny({
    nmf: { rank: Math.floor(k / 10) % 2 ? 5 : 6 },
    classifier: { learningRate: Math.floor(k / 4) % 2 ? 4e-3 : 3e-3 },
    diffusion: { timestep: k % 2 ? 20 : 30 },
  });
  const keyOf = (c: LabConfig) => JSON.stringify([c.nmf.rank, c.classifier.learningRate, c.diffusion.timestep]);

  it('tensors and bytes after each run equal a fresh pipeline\'s after that config, and the same config gives the same report', async () => {
    const base = memory();
    // What one run of each config leaves, on a pipeline of its own.
    const fresh = new Map<string, { mem: { numTensors: number; numBytes: number }; report: unknown }>();
    for (let k = 0; k < 20; k++) {
      const config = configFor(k);
      if (fresh.has(keyOf(config))) continue;
      const p = new Pipeline(loadDataset, backend);
      const report = numbers(buildReport(await p.run(config)));
      const m = memory();
      fresh.set(keyOf(config), { mem: { numTensors: m.numTensors - base.numTensors, numBytes: m.numBytes - base.numBytes }, report });
      p.dispose();
      expect(memory()).toEqual(base);
    }
    expect(fresh.size).toBe(8);

    const pipeline = new Pipeline(loadDataset, backend);
    const seen = new Map<string, { numTensors: number; numBytes: number }>();
    const counts: number[] = [];
    for (let k = 0; k < 20; k++) {
      const config = configFor(k);
      const r = await pipeline.run(config);
      if (k > 0) {
        expect(r.reused, `run ${k}`).not.toContain('evaluate');
        expect(r.reused, `run ${k}`).not.toContain('attackDefended');
      }
      if (k === 4 || k === 12) expect(r.reused, `run ${k}`).not.toContain('classify');
      if (k === 10) expect(r.reused, `run ${k}`).not.toContain('nmf');
      const m = memory();
      const delta = { numTensors: m.numTensors - base.numTensors, numBytes: m.numBytes - base.numBytes };
      counts.push(delta.numTensors);
      const expected = fresh.get(keyOf(config))!;
      expect(delta, `memory after run ${k}`).toEqual(expected.mem);
      const earlier = seen.get(keyOf(config));
      if (earlier) expect(delta, `memory after run ${k} vs the same config earlier`).toEqual(earlier);
      seen.set(keyOf(config), delta);
      expect(numbers(buildReport(r)), `report of run ${k}`).toEqual(expected.report);
    }
    // The cache holds one output per stage whatever the config: the tensor count never moves.
    expect(new Set(counts).size).toBe(1);
    pipeline.dispose();
    expect(memory()).toEqual(base);
  });
});

describe('a second run while one is going', () => {
  it('Pipeline: two concurrent runs are refused or queued, never interleaved', async () => {
    const a = tiny();
    const b = tiny({ nmf: { rank: 5 } });
    const base = memory();
    const ref = new Pipeline(loadDataset, backend);
    const refA = numbers(buildReport(await ref.run(a)));
    ref.dispose();
    const refB = new Pipeline(loadDataset, backend);
    const reportB = numbers(buildReport(await refB.run(b)));
    const mB = memory();
    refB.dispose();

    const pipeline = new Pipeline(loadDataset, backend);
    const log: string[] = [];
    const track = (name: string) => (e: ProgressEvent) => {
      if (log.at(-1) !== `${name}:${e.stage}`) log.push(`${name}:${e.stage}`);
    };
    const [ra, rb] = await Promise.all([
      settle(pipeline.run(a, { onProgress: track('A') })),
      settle(pipeline.run(b, { onProgress: track('B') })),
    ]);
    // The first run always completes with its own numbers.
    if (!ra.ok) throw new Error(`the first run failed: ${ra.error.message}`);
    expect(numbers(buildReport(ra.value))).toEqual(refA);
    const firstB = log.findIndex((s) => s.startsWith('B:'));
    const lastA = log.map((s) => s.startsWith('A:')).lastIndexOf(true);
    if (rb.ok) {
      // Queued: B started after A's last stage and has B's own numbers.
      expect(firstB, `progress interleaved: ${log.join(' ')}`).toBeGreaterThan(lastA);
      expect(numbers(buildReport(rb.value))).toEqual(reportB);
      const m = memory();
      expect(m.numTensors - base.numTensors).toBe(mB.numTensors - base.numTensors);
    } else {
      // Refused: a clear error, before B computed anything.
      expect(rb.error.name).not.toBe('AbortError');
      expect(rb.error.message).not.toMatch(/disposed/i);
      expect(firstB, `the refused run computed: ${log.join(' ')}`).toBe(-1);
    }
    pipeline.dispose();
    expect(memory()).toEqual(base);
  });
});

describe('worker API (createLabApi) in Node', () => {
  const BASE = 'http://lab.test/';
  beforeAll(() => {
    // The worker fetches the shipped slices from its own origin: serve them from the repository.
    vi.stubGlobal('fetch', async (url: string | URL) => {
      if (String(url) !== `${BASE}data/ch2-slices.npy`) return new Response(null, { status: 404 });
      return new Response(await readFile(CH2_SLICES_PATH));
    });
  });
  afterAll(() => vi.unstubAllGlobals());
  afterEach(() => vi.useRealTimers());

  it('refuses a second run, a load, a folder change and a bench with BusyError while a run is going', async () => {
    const api = createLabApi({ wasmPaths: nodeWasmPaths() }, BASE);
    const info = await api.init('wasm');
    expect(info.name).toBe('wasm');
    const config = tiny({ attack: { enabled: false } });
    const first = api.run(config);
    await expect(api.run(config)).rejects.toBeInstanceOf(BusyError);
    await expect(api.run(tiny({ nmf: { rank: 5 } }))).rejects.toThrow(/already in progress/);
    await expect(api.load(config)).rejects.toBeInstanceOf(BusyError);
    await expect(api.setFolder('x', [])).rejects.toBeInstanceOf(BusyError);
    await expect(api.bench('quick' as never)).rejects.toBeInstanceOf(BusyError);
    const view = await first;
    expect(view.report.scenarios.cleanBaseline.metrics.accuracy).toBeGreaterThan(0.5);
    // Free again once it is done: the same config is served from the cache.
    const again = await api.run(config);
    expect(again.report.reused).toEqual(['load', 'nmf', 'project', 'select', 'features', 'denoiser', 'classify', 'evaluate']);
    expect(numbers(again.report)).toEqual(numbers(view.report));
  });

  it('a cancel rejects with AbortError, frees the engine, and the next run matches an uncancelled one', async () => {
    const api = createLabApi({ wasmPaths: nodeWasmPaths() }, BASE);
    await api.init('wasm');
    const config = tiny();
    const reference = new Pipeline(loadDataset, backend);
    const expected = numbers(buildReport(await reference.run(config)));
    reference.dispose();
    const before = api.memory();
    let n = 0;
    const run = api.run(config, (e) => {
      if (e.stage === 'classify' && ++n === 3) api.cancel();
    });
    await expect(run).rejects.toMatchObject({ name: 'AbortError' });
    // A new run gets a fresh signal: the old cancel does not leak into it.
    const view = await api.run(config);
    expect(view.report.reused).toEqual(['load', 'nmf', 'project', 'select', 'features', 'denoiser']);
    expect(numbers(view.report)).toEqual(expected);
    expect(api.memory().numTensors).toBeGreaterThan(before.numTensors);
  });
});
