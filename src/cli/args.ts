/** `lab run` flags (DESIGN.md's contract) → a LabConfig patch. */
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import {
  ConfigError, defaultConfig, digitsDefaults, mergeConfig, validateConfig, type BackendName, type DeepPartial, type LabConfig,
} from '../core/config';

export interface RunArgs {
  config: LabConfig;
  out: string;
  dump: boolean;
  quiet: boolean;
  /** Run every stage on the main thread (no image CNN beside NMF, no denoiser beside the classifier). */
  singleThread: boolean;
}

export const RUN_USAGE = `usage: npm run lab -- run [options]
  --dataset mri-demo|digits|PATH   data set (default mri-demo); PATH = root/<class>/* images
  --rank N          NMF rank (15)             --top M|auto   components kept (auto: p < 0.05, ≥ 4)
  --timestep T      purification step (41)    --eot K        purification draws (8)
  --eps E           L∞ budget (0.1)           --attacks a,b  attack list (apgd-ce,square)
  --threat feature|image                      --seed S       seed for everything random (0)
  --version custom|standard|rand  AutoAttack version (custom: the --attacks list)
  --attack-eot E    EOT draws per gradient on the defended model (8)
  --attack-limit N  attack only the first N test images (all)
  --attack-iter N   gradient-attack iterations (reference: 100)  --queries N  Square queries (5000)
  --no-attack       clean scenarios only      --no-adaptive  skip PGD-EOT on the defended model
  --pgd-steps N     PGD-EOT steps (200)       --pgd-eot E    PGD-EOT draws (20)
  --backend wasm|cpu|webgpu                   --out DIR      output folder (runs/<dataset>-seed<S>)
  --dump            also write .npy arrays into DIR/arrays/
  --difficulty D    mri-demo lesion difficulty in [0,1] (0.15)
  --count N         mri-demo images (2200)    --image-size S  side of the square images (128)
  --nmf-iter N      NMF iterations (200)      --no-image-cnn  skip the image CNN reference row
  --reverse-steps N denoiser steps from t back to 0 (10; 1 = the papers' one-shot)
  --config FILE     settings from a JSON LabConfig or a report.json (flags override it)
  --quiet           no progress bars
  --single-thread   every stage on one thread (default: a second thread takes half of every NMF
                    iteration, trains the image CNN and the denoiser, and attacks the undefended
                    classifier; same numbers either way)`;

function num(name: string, v: string | undefined): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (v.trim() === '' || !Number.isFinite(n)) throw new Error(`--${name} ${v}: not a number`);
  return n;
}

/**
 * --config FILE: a (partial) LabConfig as JSON, or a report.json (its `config`), e.g. one exported
 * from the browser lab, so the command line can rerun exactly what the page ran.
 */
function readConfigFile(path: string): DeepPartial<LabConfig> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(path, 'utf8'));
  } catch (err) {
    throw new ConfigError([`--config ${path}: not a readable JSON file (${(err as Error).message})`]);
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
    throw new ConfigError([`--config ${path}: expected a JSON object (a LabConfig or a report.json)`]);
  }
  const o = parsed as Record<string, unknown>;
  const config = 'scenarios' in o && 'config' in o ? o.config : o;
  if (config === null || typeof config !== 'object' || Array.isArray(config)) {
    throw new ConfigError([`--config ${path}: the report's "config" is not an object`]);
  }
  return config as DeepPartial<LabConfig>;
}

export function parseRunArgs(argv: string[]): RunArgs {
  const { values } = parseArgs({
    args: argv,
    strict: true,
    options: {
      dataset: { type: 'string' }, rank: { type: 'string' }, top: { type: 'string' }, timestep: { type: 'string' },
      eot: { type: 'string' }, eps: { type: 'string' }, attacks: { type: 'string' }, threat: { type: 'string' },
      seed: { type: 'string' }, backend: { type: 'string' }, out: { type: 'string' }, dump: { type: 'boolean' },
      difficulty: { type: 'string' }, count: { type: 'string' }, 'image-size': { type: 'string' },
      'nmf-iter': { type: 'string' }, 'no-image-cnn': { type: 'boolean' }, quiet: { type: 'boolean' }, 'single-thread': { type: 'boolean' },
      'reverse-steps': { type: 'string' }, version: { type: 'string' }, 'attack-eot': { type: 'string' },
      'attack-limit': { type: 'string' }, 'attack-iter': { type: 'string' }, queries: { type: 'string' },
      'no-attack': { type: 'boolean' }, 'no-adaptive': { type: 'boolean' }, 'pgd-steps': { type: 'string' }, 'pgd-eot': { type: 'string' },
      config: { type: 'string' },
    },
  });
  const file = values.config === undefined ? {} : readConfigFile(values.config);
  const fromFile = file.data?.dataset;
  if (values.dataset === undefined && fromFile?.startsWith('folder:')) {
    throw new ConfigError([`--config ${values.config}: the run used the folder '${fromFile.slice(7)}' dropped into the browser; pass its path with --dataset PATH`]);
  }
  const dataset = values.dataset ?? fromFile ?? 'mri-demo';
  const defaults = dataset === 'digits' ? mergeConfig(defaultConfig(), digitsDefaults()) : defaultConfig();
  // Flags on the command line override the file, which overrides the data set's defaults.
  const base = mergeConfig(defaults, file);
  const top = values.top === undefined ? undefined : values.top === 'auto' ? 'auto' : num('top', values.top);
  const patch: DeepPartial<LabConfig> = {
    seed: num('seed', values.seed),
    backend: values.backend as BackendName | undefined,
    data: { dataset, difficulty: num('difficulty', values.difficulty), count: num('count', values.count), imageSize: num('image-size', values['image-size']) },
    nmf: { rank: num('rank', values.rank), maxIter: num('nmf-iter', values['nmf-iter']) },
    select: { top },
    imageCnn: values['no-image-cnn'] ? { enabled: false } : {},
    diffusion: { timestep: num('timestep', values.timestep), eot: num('eot', values.eot), reverseSteps: num('reverse-steps', values['reverse-steps']) },
    attack: {
      eps: num('eps', values.eps),
      attacks: values.attacks?.split(',').map((s) => s.trim()).filter(Boolean),
      threat: values.threat as 'feature' | 'image' | undefined,
      version: values.version as 'custom' | 'standard' | 'rand' | undefined,
      eot: num('attack-eot', values['attack-eot']),
      limit: num('attack-limit', values['attack-limit']),
      iterations: num('attack-iter', values['attack-iter']),
      queries: num('queries', values.queries),
      enabled: values['no-attack'] ? false : undefined,
      adaptive: {
        enabled: values['no-adaptive'] ? false : undefined, steps: num('pgd-steps', values['pgd-steps']), eot: num('pgd-eot', values['pgd-eot']),
      },
    },
  };
  const config = validateConfig(mergeConfig(base, patch));
  const name = dataset === 'mri-demo' || dataset === 'digits' ? dataset : 'folder';
  return { config, out: values.out ?? `runs/${name}-seed${config.seed}`, dump: values.dump ?? false, quiet: values.quiet ?? false,
    singleThread: values['single-thread'] ?? false };
}
