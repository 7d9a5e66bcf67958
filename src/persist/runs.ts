/**
 * The run history: a record per run, written as the run starts and updated as each stage finishes,
 * so a page reload or a crashed worker leaves a record that says how far the run got. A run in
 * progress holds a Web Lock named after it; a 'running' record whose lock nobody holds belongs to a
 * page or worker that is gone, and is reported as interrupted.
 */
import type { LabConfig } from '../core/config';
import type { StageName } from '../core/pipeline/progress';
import type { LabView } from '../core/pipeline/view';
import type { LayersModelFiles } from '../core/models/serialize';
import type { LabDb } from './db';

export type RunStatus = 'running' | 'complete' | 'cancelled' | 'failed' | 'interrupted';

export interface RunRecord {
  id: string;
  createdAt: number;
  updatedAt: number;
  status: RunStatus;
  config: LabConfig;
  /** The data set's display name (a folder's name, mri-demo, digits). */
  datasetName: string;
  stagesDone: StageName[];
  error: string | null;
  /** Headline figures for the history list (null until known). */
  accuracy: { cleanBaseline: number | null; cleanDefended: number | null; robustBaseline: number | null; robustDefended: number | null };
  /** Set on records that came from an exported file. */
  importedFrom?: string;
}

export interface StoredModel extends LayersModelFiles {
  name: 'classifier' | 'denoiser' | 'imageCnn';
}

export interface RunData {
  view: LabView;
  models: StoredModel[];
}

export const lockName = (id: string) => `nnmf-lab-run-${id}`;

export function newRunId(now = Date.now()): string {
  const random = Math.floor(Math.random() * 36 ** 6).toString(36).padStart(6, '0');
  return `${now.toString(36)}-${random}`;
}

export function accuracyOf(view: LabView | null): RunRecord['accuracy'] {
  const s = view?.report.scenarios ?? {};
  const acc = (k: string) => s[k]?.metrics?.accuracy ?? null;
  return { cleanBaseline: acc('cleanBaseline'), cleanDefended: acc('cleanDefended'), robustBaseline: acc('robustBaseline'), robustDefended: acc('robustDefended') };
}

async function heldLocks(): Promise<Set<string> | null> {
  const locks = (globalThis as { navigator?: { locks?: LockManager } }).navigator?.locks;
  if (!locks) return null;
  const snapshot = await locks.query();
  return new Set([...(snapshot.held ?? []), ...(snapshot.pending ?? [])].map((l) => l.name ?? ''));
}

function withLiveStatus(r: RunRecord, held: Set<string> | null): RunRecord {
  return r.status === 'running' && !held?.has(lockName(r.id)) ? { ...r, status: 'interrupted' } : r;
}

export class RunHistory {
  constructor(private readonly db: LabDb) {}

  async create(record: Omit<RunRecord, 'createdAt' | 'updatedAt'>): Promise<RunRecord> {
    const now = Date.now();
    const full: RunRecord = { ...record, createdAt: now, updatedAt: now };
    await this.db.put('runs', full);
    return full;
  }

  async update(id: string, patch: Partial<Omit<RunRecord, 'id' | 'createdAt'>>, data?: RunData): Promise<RunRecord | null> {
    const tx = this.db.transaction(['runs', 'runData'], 'readwrite');
    const runs = tx.objectStore('runs');
    const current = await runs.get(id);
    if (!current) {
      await tx.done;
      return null;
    }
    const next = { ...current, ...patch, updatedAt: Date.now() };
    await runs.put(next);
    if (data) await tx.objectStore('runData').put(data, id);
    await tx.done;
    return next;
  }

  /** Newest first. 'running' records of a page or worker that is gone are reported as interrupted. */
  async list(): Promise<RunRecord[]> {
    const all = await this.db.getAllFromIndex('runs', 'createdAt');
    const held = await heldLocks();
    return all.reverse().map((r) => withLiveStatus(r, held));
  }

  async get(id: string): Promise<{ record: RunRecord; data: RunData | null } | null> {
    const record = await this.db.get('runs', id);
    if (!record) return null;
    return { record: withLiveStatus(record, await heldLocks()), data: (await this.db.get('runData', id)) ?? null };
  }

  async delete(id: string): Promise<void> {
    const tx = this.db.transaction(['runs', 'runData'], 'readwrite');
    await tx.objectStore('runs').delete(id);
    await tx.objectStore('runData').delete(id);
    await tx.done;
  }

  async put(record: RunRecord, data: RunData): Promise<void> {
    const tx = this.db.transaction(['runs', 'runData'], 'readwrite');
    await tx.objectStore('runs').put(record);
    await tx.objectStore('runData').put(data, record.id);
    await tx.done;
  }
}

/** Runs `work` while holding the run's lock (where Web Locks exist), so other pages see it is alive. */
export function withRunLock<T>(id: string, work: () => Promise<T>): Promise<T> {
  const locks = (globalThis as { navigator?: { locks?: LockManager } }).navigator?.locks;
  return locks ? locks.request(lockName(id), work) : work();
}
