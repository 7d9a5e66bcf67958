/**
 * A run as one file, and back: a zip holding run.json (the record and the view, its typed arrays
 * replaced by references), report.json (the same report the CLI writes, for outside tools),
 * arrays/<n>.bin (the view's typed arrays, little-endian) and models/<name>/{model.json,weights.bin}.
 *
 * An imported file is untrusted: sizes are bounded before anything is inflated, run.json is checked
 * against a schema, every array against its declared type and length, the view's arrays against the
 * shapes they claim, the config against the lab's ranges and every model's weights against its
 * manifest, so a crafted file is refused with a message saying what is wrong with it.
 */
import { strFromU8, strToU8, unzipSync, zipSync, type Unzipped } from 'fflate';
import { z } from 'zod';
import { validateConfig, type LabConfig } from '../core/config';
import { reportToJson } from '../core/pipeline/report';
import type { LabView } from '../core/pipeline/view';
import type { RunData, RunRecord, StoredModel } from './runs';

export const BUNDLE_FORMAT = 'nnmf-lab-run';
export const BUNDLE_VERSION = 1;
/** A paper-scale run with its traces is tens of MB; anything far beyond is not a run file. */
export const MAX_BUNDLE_BYTES = 512 * 1024 * 1024;
const MAX_ENTRIES = 4096;

export class BundleError extends Error {
  constructor(file: string, why: string) {
    super(`${file}: ${why}`);
    this.name = 'BundleError';
  }
}

const ARRAY_TYPES = { Float32Array, Int32Array, Uint8Array } as const;
type ArrayTypeName = keyof typeof ARRAY_TYPES;

interface ArrayRef {
  $array: number;
  dtype: ArrayTypeName;
  length: number;
}

function pack(value: unknown, arrays: Uint8Array[]): unknown {
  if (ArrayBuffer.isView(value) && !(value instanceof DataView)) {
    const dtype = value.constructor.name as ArrayTypeName;
    if (!(dtype in ARRAY_TYPES)) throw new Error(`cannot export a ${dtype}`);
    arrays.push(new Uint8Array(value.buffer.slice(value.byteOffset, value.byteOffset + value.byteLength)));
    return { $array: arrays.length - 1, dtype, length: (value as unknown as { length: number }).length } satisfies ArrayRef;
  }
  if (Array.isArray(value)) return value.map((v) => pack(v, arrays));
  if (value && typeof value === 'object') return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, pack(v, arrays)]));
  return value;
}

function isRef(v: unknown): v is ArrayRef {
  return !!v && typeof v === 'object' && '$array' in v;
}

function unpack(value: unknown, entries: Unzipped, file: string): unknown {
  if (isRef(value)) {
    const { $array, dtype, length } = value;
    if (!Number.isInteger($array) || !(dtype in ARRAY_TYPES) || !Number.isInteger(length) || length < 0) {
      throw new BundleError(file, `malformed array reference ${JSON.stringify(value).slice(0, 80)}`);
    }
    const bytes = entries[`arrays/${$array}.bin`];
    const Ctor = ARRAY_TYPES[dtype];
    if (!bytes) throw new BundleError(file, `arrays/${$array}.bin is missing`);
    if (bytes.byteLength !== length * Ctor.BYTES_PER_ELEMENT) {
      throw new BundleError(file, `arrays/${$array}.bin holds ${bytes.byteLength} bytes, ${length} ${dtype} values need ${length * Ctor.BYTES_PER_ELEMENT}`);
    }
    return new Ctor(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength));
  }
  if (Array.isArray(value)) return value.map((v) => unpack(v, entries, file));
  if (value && typeof value === 'object') return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, unpack(v, entries, file)]));
  return value;
}

export function exportRun(record: RunRecord, data: RunData): Uint8Array {
  const arrays: Uint8Array[] = [];
  const run = { format: BUNDLE_FORMAT, version: BUNDLE_VERSION, record, view: pack(data.view, arrays), models: data.models.map((m) => m.name) };
  const files: Record<string, Uint8Array> = {
    'run.json': strToU8(JSON.stringify(run)),
    'report.json': strToU8(reportToJson(data.view.report)),
  };
  arrays.forEach((a, i) => (files[`arrays/${i}.bin`] = a));
  for (const m of data.models) {
    files[`models/${m.name}/model.json`] = strToU8(m.modelJson);
    files[`models/${m.name}/weights.bin`] = new Uint8Array(m.weights);
  }
  return zipSync(files, { level: 6 });
}

const count = z.number().int().nonnegative();
const num = z.number().nullable();
const f32 = z.instanceof(Float32Array);
const gray = z.object({ size: count, count, pixels: z.instanceof(Uint8Array) });
const probs = z.object({ clean: z.array(num), adversarial: z.array(num), noised: z.array(num).optional(), purified: z.array(num).optional() });
const trace = z.looseObject({
  index: count, label: count, status: z.enum(['held', 'fell', 'misclassified']), loss: z.array(num), perturbation: num, probs,
  features: z.object({ clean: f32, adversarial: f32, noised: f32, purified: f32 }),
});
const robustView = z.object({ scenario: z.enum(['robustBaseline', 'robustDefended']), traces: z.array(trace), adversarialImages: gray.nullable() });
const scenarioReport = z.looseObject({ metrics: z.looseObject({ accuracy: z.number() }) });
const viewSchema = z.object({
  report: z.looseObject({ version: z.number(), config: z.unknown(), dataset: z.looseObject({ name: z.string(), classNames: z.array(z.string()) }), scenarios: z.record(z.string(), scenarioReport) }),
  classNames: z.array(z.string()).min(2),
  basis: gray,
  classMeans: z.array(z.array(z.number())),
  confusion: z.record(z.string(), z.array(z.array(count))),
  denoiserErrors: z.object({ noised: f32, denoised: f32 }),
  samples: gray.extend({ labels: z.instanceof(Int32Array) }),
  test: gray.extend({ labels: z.instanceof(Int32Array), names: z.array(z.string()).nullable() }),
  reconstructions: gray,
  featureDim: count,
  robust: z.object({ baseline: robustView, defended: robustView }).nullable(),
});
const recordSchema = z.object({
  id: z.string().min(1).max(200), createdAt: z.number(), updatedAt: z.number(),
  status: z.enum(['running', 'complete', 'cancelled', 'failed', 'interrupted']),
  config: z.unknown(), datasetName: z.string().max(1000), stagesDone: z.array(z.string()), error: z.string().nullable(),
  accuracy: z.object({ cleanBaseline: num, cleanDefended: num, robustBaseline: num, robustDefended: num }),
  importedFrom: z.string().optional(),
});
const runSchema = z.object({
  format: z.literal(BUNDLE_FORMAT), version: z.literal(BUNDLE_VERSION), record: recordSchema, view: z.unknown(),
  models: z.array(z.enum(['classifier', 'denoiser', 'imageCnn'])).max(3),
});

function issues(err: z.ZodError): string {
  return err.issues.slice(0, 3).map((i) => `${i.path.join('.') || '(top)'}: ${i.message}`).join('; ');
}

/** Shapes the schema cannot express: every image array and per-image array agrees with its counts. */
function checkShapes(view: LabView, file: string): void {
  const images = (name: string, g: { size: number; count: number; pixels: Uint8Array }) => {
    if (g.pixels.length !== g.size * g.size * g.count) throw new BundleError(file, `${name}: ${g.pixels.length} pixels for ${g.count} images of ${g.size}×${g.size}`);
  };
  images('basis', view.basis);
  images('samples', view.samples);
  images('test', view.test);
  images('reconstructions', view.reconstructions);
  if (view.samples.labels.length !== view.samples.count) throw new BundleError(file, 'samples: one label per image expected');
  if (view.test.labels.length !== view.test.count) throw new BundleError(file, 'test: one label per image expected');
  if (view.test.names && view.test.names.length !== view.test.count) throw new BundleError(file, 'test: one name per image expected');
  const classes = view.classNames.length;
  for (const l of [...view.samples.labels, ...view.test.labels]) if (l < 0 || l >= classes) throw new BundleError(file, `a label ${l} outside the ${classes} classes`);
  for (const [name, m] of Object.entries(view.confusion)) {
    if (m.length !== classes || m.some((row) => row.length !== classes)) throw new BundleError(file, `confusion ${name} is not ${classes}×${classes}`);
  }
  for (const r of view.robust ? [view.robust.baseline, view.robust.defended] : []) {
    for (const t of r.traces) {
      for (const [k, v] of Object.entries(t.features)) {
        if (v.length !== view.featureDim) throw new BundleError(file, `${r.scenario} trace ${t.index}: ${k} features have ${v.length} values, not ${view.featureDim}`);
      }
    }
  }
}

/** The weights file a model.json names (so a downloaded pair loads together), if it is a plain name. */
function manifestFile(modelJson: string): string | null {
  try {
    const path = (JSON.parse(modelJson) as { weightsManifest?: { paths?: string[] }[] }).weightsManifest?.[0]?.paths?.[0];
    const name = path?.replace(/^\.\//, '');
    return name && /^[\w.-]+$/.test(name) ? name : null;
  } catch {
    return null;
  }
}

export interface ImportedRun {
  record: RunRecord;
  data: RunData;
}

/**
 * Validates and reads a run file. `checkModel` is handed each model's files (e.g. to build it and
 * dispose of it); it throws when a model is unusable.
 */
export async function importRun(bytes: Uint8Array, file: string, checkModel?: (m: StoredModel) => Promise<void>): Promise<ImportedRun> {
  if (bytes.byteLength > MAX_BUNDLE_BYTES) throw new BundleError(file, `${bytes.byteLength} bytes, more than a run file's ${MAX_BUNDLE_BYTES}`);
  if (bytes.byteLength < 4 || bytes[0] !== 0x50 || bytes[1] !== 0x4b) throw new BundleError(file, 'not a lab run file (expected a .zip exported by the lab)');
  let entries: Unzipped;
  let declared = 0;
  let seen = 0;
  try {
    entries = unzipSync(bytes, {
      filter: (f) => {
        seen += 1;
        declared += f.originalSize;
        if (seen > MAX_ENTRIES || declared > MAX_BUNDLE_BYTES * 2) throw new BundleError(file, 'the archive unpacks to more than a run file can hold');
        return true;
      },
    });
  } catch (err) {
    if (err instanceof BundleError) throw err;
    throw new BundleError(file, `not a readable zip archive (${(err as Error).message})`);
  }
  const runJson = entries['run.json'];
  if (!runJson) throw new BundleError(file, 'run.json is missing: not a lab run file');
  let parsed: unknown;
  try {
    parsed = JSON.parse(strFromU8(runJson));
  } catch {
    throw new BundleError(file, 'run.json is not valid JSON');
  }
  const run = runSchema.safeParse(parsed);
  if (!run.success) throw new BundleError(file, `run.json does not describe a run (${issues(run.error)})`);
  let config: LabConfig;
  try {
    config = validateConfig(run.data.record.config as LabConfig);
  } catch (err) {
    throw new BundleError(file, `its config is not valid: ${(err as Error).message}`);
  }
  const view = viewSchema.safeParse(unpack(run.data.view, entries, file));
  if (!view.success) throw new BundleError(file, `its results are malformed (${issues(view.error)})`);
  const labView = view.data as unknown as LabView;
  checkShapes(labView, file);

  const models: StoredModel[] = [];
  for (const name of run.data.models) {
    const json = entries[`models/${name}/model.json`];
    const weights = entries[`models/${name}/weights.bin`];
    if (!json || !weights) throw new BundleError(file, `models/${name} is incomplete`);
    const modelJson = strFromU8(json);
    const model: StoredModel = {
      name, modelJson, weightsFile: manifestFile(modelJson) ?? `${name}.weights.bin`,
      weights: weights.buffer.slice(weights.byteOffset, weights.byteOffset + weights.byteLength) as ArrayBuffer,
    };
    try {
      await checkModel?.(model);
    } catch (err) {
      throw new BundleError(file, `models/${name}: ${(err as Error).message}`);
    }
    models.push(model);
  }
  const record: RunRecord = { ...run.data.record, config, stagesDone: run.data.record.stagesDone as RunRecord['stagesDone'], importedFrom: file };
  return { record, data: { view: labView, models } };
}
