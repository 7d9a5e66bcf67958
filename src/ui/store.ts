/**
 * The page's state (zustand): the config, the engine's status, the data summary, the run's progress
 * and the last run's view. The store only holds what the worker computed; nothing here computes.
 */
import { createStore, type StoreApi } from 'zustand/vanilla';
import { stableStringify, type LabConfig } from '../core/config';
import type { ProgressEvent, StageName } from '../core/pipeline/progress';
import type { DatasetSummary, LabView } from '../core/pipeline/view';
import type { WorkerBackendInfo } from '../../workers/labApi';
import type { RunRecord } from '../persist/runs';

export type RunStatus = 'idle' | 'loading' | 'running' | 'cancelling';

export interface LabState {
  config: LabConfig;
  /** Settings from the link that could not be used, with the reason. */
  warnings: string[];
  engine: { status: 'starting' | 'ready' | 'failed'; info: WorkerBackendInfo | null; error: string | null };
  /** The dropped folder (its files stay in the page and the worker, never anywhere else). */
  folder: { name: string; files: number } | null;
  summary: DatasetSummary | null;
  status: RunStatus;
  /** Progress of the current (or last) load or run, per stage. */
  stages: Partial<Record<StageName, ProgressEvent>>;
  current: StageName | null;
  startedAt: number | null;
  error: string | null;
  notice: string | null;
  view: LabView | null;
  /** The config the view was computed with. */
  viewConfig: LabConfig | null;
  /** The view holds the clean scenarios only; the attacks are still running. */
  partial: boolean;
  /** The history record the view belongs to (null when the run was not recorded). */
  viewRunId: string | null;
  /** The run history, newest first. */
  runs: RunRecord[];
}

export type LabStore = StoreApi<LabState>;

export function createLabStore(config: LabConfig, warnings: string[]): LabStore {
  return createStore<LabState>()(() => ({
    config, warnings,
    engine: { status: 'starting', info: null, error: null },
    folder: null, summary: null,
    status: 'idle', stages: {}, current: null, startedAt: null,
    error: null, notice: null,
    view: null, viewConfig: null, partial: false, viewRunId: null, runs: [],
  }));
}

/** The view no longer matches the settings on screen (a slider moved since the run). */
export function isStale(s: Pick<LabState, 'view' | 'viewConfig' | 'config'>): boolean {
  return s.view !== null && s.viewConfig !== null && stableStringify(s.viewConfig) !== stableStringify(s.config);
}

/** Settings that only the purification (evaluation and the defended attack) reads. */
const PURIFICATION_ONLY = ['timestep', 'eot', 'reverseSteps'] as const;

/** a and b differ at most in the purification settings: a rerun is cheap (every earlier stage is cached). */
export function onlyPurificationDiffers(a: LabConfig, b: LabConfig): boolean {
  const strip = (c: LabConfig) => {
    const diffusion: Record<string, unknown> = { ...c.diffusion };
    for (const k of PURIFICATION_ONLY) delete diffusion[k];
    return stableStringify({ ...c, diffusion });
  };
  return strip(a) === strip(b);
}

/** Settings that change what the data panel shows (the load stage's inputs). */
export function dataKey(c: LabConfig): string {
  return stableStringify({ data: c.data, seed: c.seed });
}
