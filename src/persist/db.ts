/**
 * The lab's IndexedDB database: finished stage outputs (the stage store behind the worker's stage
 * cache) and the run history. Everything stays on this machine, in this origin's storage.
 */
import { openDB, type DBSchema, type IDBPDatabase } from 'idb';
import type { StageName } from '../core/pipeline/progress';
import type { RunData, RunRecord } from './runs';

export interface StageEntry {
  /** `${stage}/${key}` */
  id: string;
  stage: StageName;
  value: unknown;
  usedAt: number;
}

export interface LabDbSchema extends DBSchema {
  stages: { key: string; value: StageEntry; indexes: { stage: string } };
  runs: { key: string; value: RunRecord; indexes: { createdAt: number } };
  /** A run's view and models, apart from its record so that listing the history stays cheap. */
  runData: { key: string; value: RunData };
}

export type LabDb = IDBPDatabase<LabDbSchema>;

export const DB_NAME = 'nnmf-lab';

export function openLabDb(name = DB_NAME): Promise<LabDb> {
  return openDB<LabDbSchema>(name, 1, {
    upgrade(db) {
      db.createObjectStore('stages', { keyPath: 'id' }).createIndex('stage', 'stage');
      db.createObjectStore('runs', { keyPath: 'id' }).createIndex('createdAt', 'createdAt');
      db.createObjectStore('runData');
    },
  });
}
