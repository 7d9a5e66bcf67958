import 'fake-indexeddb/auto';
import * as tf from '@tensorflow/tfjs';
import { strFromU8, strToU8, unzipSync, zipSync } from 'fflate';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { smallMri } from '../pipeline/small';
import { Pipeline } from '../../../src/core/pipeline/run';
import { buildView, type LabView } from '../../../src/core/pipeline/view';
import { layersModelFiles, modelFromFiles } from '../../../src/core/models/serialize';
import { loadDataset } from '../../../src/cli/datasets';
import { openLabDb, type LabDb } from '../../../src/persist/db';
import { IdbStageStore } from '../../../src/persist/idbStageStore';
import { RunHistory, accuracyOf, newRunId, type RunData, type RunRecord, type StoredModel } from '../../../src/persist/runs';
import { exportRun, importRun } from '../../../src/persist/bundle';

const backend = { name: 'wasm' as const, reason: 'test' };
const config = smallMri({
  data: { count: 120, imageSize: 32 }, nmf: { rank: 6, maxIter: 30, projectIter: 30 }, select: { minSelected: 3 },
  classifier: { epochs: 15 }, diffusion: { epochs: 15 },
  attack: { limit: 8, iterations: 5, queries: 30, adaptive: { steps: 4, eot: 2 } },
});

let db: LabDb;
let view: LabView;
let models: StoredModel[];
let record: RunRecord;

async function checkModel(m: StoredModel): Promise<void> {
  (await modelFromFiles(m)).dispose();
}

beforeAll(async () => {
  db = await openLabDb(`test-${Math.random()}`);
  const pipeline = new Pipeline(loadDataset, backend, { store: new IdbStageStore(db) });
  const result = await pipeline.run(config);
  view = await buildView(result);
  models = [
    { name: 'classifier', ...(await layersModelFiles(result.classifier.model)) },
    { name: 'denoiser', ...(await layersModelFiles(result.denoiser.model)) },
  ];
  pipeline.dispose();
  record = {
    id: newRunId(), createdAt: 1, updatedAt: 2, status: 'complete', config, datasetName: 'mri-demo',
    stagesDone: ['load', 'nmf', 'project'], error: null, accuracy: accuracyOf(view),
  };
});
afterAll(() => db.close());

describe('IndexedDB stage store', () => {
  it('gives a fresh pipeline every stored stage back, typed arrays intact', async () => {
    const p = new Pipeline(loadDataset, backend, { store: new IdbStageStore(db) });
    const r = await p.run(config);
    expect(r.restored).toEqual(['nmf', 'project', 'select', 'features', 'denoiser', 'classify', 'evaluate', 'attackBaseline', 'attackDefended']);
    const again = await buildView(r);
    expect(again.report.scenarios).toEqual(view.report.scenarios);
    expect(again.basis.pixels).toEqual(view.basis.pixels);
    p.dispose();
  });

  it('keeps only the most recently used outputs of each stage', async () => {
    const store = new IdbStageStore(db, 2);
    await store.put('select', 'a', { selected: [1] });
    await store.put('select', 'b', { selected: [2] });
    await new Promise((r) => setTimeout(r, 5));
    expect(await store.get('select', 'a')).toEqual({ selected: [1] });
    await new Promise((r) => setTimeout(r, 5));
    await store.put('select', 'c', { selected: [3] });
    expect(await store.get('select', 'a')).toEqual({ selected: [1] });
    expect(await store.get('select', 'c')).toEqual({ selected: [3] });
    expect(await store.get('select', 'b')).toBeUndefined();
  });
});

describe('run history', () => {
  it('records a run, lists it newest first, reports a dead running run as interrupted, and deletes it', async () => {
    const history = new RunHistory(db);
    const a = await history.create({ ...record, id: 'a', status: 'running', stagesDone: [] });
    await new Promise((r) => setTimeout(r, 5));
    await history.create({ ...record, id: 'b' });
    await history.update(a.id, { stagesDone: ['load', 'nmf'] });
    const listed = await history.list();
    expect(listed.map((r) => [r.id, r.status])).toEqual([['b', 'complete'], ['a', 'interrupted']]);
    expect(listed[1].stagesDone).toEqual(['load', 'nmf']);
    expect((await history.get('a'))!.record.status).toBe('interrupted');
    await history.update('b', { status: 'complete' }, { view, models });
    const got = await history.get('b');
    expect(got!.data!.view.report.scenarios).toEqual(view.report.scenarios);
    expect(got!.data!.models.map((m) => m.name)).toEqual(['classifier', 'denoiser']);
    await history.delete('b');
    expect(await history.get('b')).toBeNull();
    expect((await history.list()).map((r) => r.id)).toEqual(['a']);
  });
});

describe('run files', () => {
  const data = (): RunData => ({ view, models });

  it('round-trips a run exactly, with a report.json outside tools can read', async () => {
    const bytes = exportRun(record, data());
    const back = await importRun(bytes, 'run.zip', checkModel);
    expect(back.data.view).toEqual(view);
    expect(back.data.view.basis.pixels).toBeInstanceOf(Uint8Array);
    expect(back.record).toEqual({ ...record, importedFrom: 'run.zip' });
    expect(back.data.models.map((m) => [m.name, m.weights.byteLength])).toEqual(models.map((m) => [m.name, m.weights.byteLength]));
    const report = JSON.parse(strFromU8(unzipSync(bytes)['report.json']));
    expect(report.scenarios.cleanBaseline.metrics.accuracy).toBe(view.report.scenarios.cleanBaseline.metrics.accuracy);
  });

  /** The exported archive with one entry changed. */
  function tampered(change: (files: Record<string, Uint8Array>, run: Record<string, any>) => void): Uint8Array {
    const files = unzipSync(exportRun(record, data()));
    const run = JSON.parse(strFromU8(files['run.json']));
    change(files, run);
    files['run.json'] = strToU8(JSON.stringify(run));
    return zipSync(files);
  }

  it('refuses crafted or broken files with what is wrong, never a crash', async () => {
    const refuse = (bytes: Uint8Array, why: RegExp) => expect(importRun(bytes, 'x.zip', checkModel)).rejects.toThrow(why);
    await refuse(strToU8('{"not": "a zip"}'), /^x\.zip: not a lab run file/);
    await refuse(new Uint8Array([0x50, 0x4b, 3, 4, 9, 9, 9]), /x\.zip: not a readable zip archive/);
    await refuse(zipSync({ 'a.txt': strToU8('hi') }), /run\.json is missing/);
    await refuse(zipSync({ ...unzipSync(exportRun(record, data())), 'run.json': strToU8('{') }), /run\.json is not valid JSON/);
    await refuse(tampered((_, r) => (r.format = 'something-else')), /run\.json does not describe a run \(format/);
    await refuse(tampered((_, r) => (r.record.config.nmf.rank = 0)), /its config is not valid: [\s\S]*nmf\.rank = 0: must be an integer in \[1, 1000\]/);
    await refuse(tampered((_, r) => (r.view.basis.pixels.length += 1)), /arrays\/\d+\.bin holds \d+ bytes, \d+ Uint8Array values need/);
    await refuse(tampered((_, r) => (r.view.basis.count += 1)), /basis: \d+ pixels for \d+ images of 32×32/);
    await refuse(tampered((_, r) => (r.view.basis.pixels = 'no')), /its results are malformed \(basis\.pixels/);
    await refuse(tampered((_, r) => (r.view.basis.pixels.dtype = 'Float64Array')), /malformed array reference/);
    await refuse(tampered((_, r) => (r.view.test.labels = r.view.samples.labels)), /test: one label per image expected|results are malformed/);
    await refuse(tampered((f) => (f['models/classifier/weights.bin'] = f['models/classifier/weights.bin'].subarray(8))), /models\/classifier: weights hold \d+ bytes, the manifest describes \d+/);
    await refuse(tampered((f) => delete f['models/denoiser/model.json']), /models\/denoiser is incomplete/);
    // Nothing was left allocated by the refused models.
    const before = tf.memory().numTensors;
    await refuse(tampered((f) => (f['models/classifier/model.json'] = strToU8('{"modelTopology": 1}'))), /models\/classifier: model\.json lacks/);
    expect(tf.memory().numTensors).toBe(before);
  });
});
