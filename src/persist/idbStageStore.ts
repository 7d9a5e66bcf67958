/** The stage store in IndexedDB, bounded: each stage keeps its few most recently used outputs. */
import type { StageStore } from '../core/pipeline/stageStore';
import type { StageName } from '../core/pipeline/progress';
import type { LabDb } from './db';

/** Enough to step a slider back and forth, or to switch between a few configs, without recomputing. */
export const KEEP_PER_STAGE = 4;

export class IdbStageStore implements StageStore {
  constructor(private readonly db: LabDb, private readonly keepPerStage = KEEP_PER_STAGE) {}

  async get(stage: StageName, key: string): Promise<unknown | undefined> {
    const tx = this.db.transaction('stages', 'readwrite');
    const entry = await tx.store.get(`${stage}/${key}`);
    if (entry) await tx.store.put({ ...entry, usedAt: Date.now() });
    await tx.done;
    return entry?.value;
  }

  async put(stage: StageName, key: string, value: unknown): Promise<void> {
    const tx = this.db.transaction('stages', 'readwrite');
    await tx.store.put({ id: `${stage}/${key}`, stage, value, usedAt: Date.now() });
    const ids = await tx.store.index('stage').getAllKeys(stage);
    if (ids.length > this.keepPerStage) {
      const entries = await Promise.all(ids.map(async (id) => ({ id, usedAt: (await tx.store.get(id))?.usedAt ?? 0 })));
      entries.sort((a, b) => b.usedAt - a.usedAt);
      for (const e of entries.slice(this.keepPerStage)) await tx.store.delete(e.id);
    }
    await tx.done;
  }

  async delete(stage: StageName, key: string): Promise<void> {
    await this.db.delete('stages', `${stage}/${key}`);
  }

  async clear(): Promise<void> {
    await this.db.clear('stages');
  }
}
