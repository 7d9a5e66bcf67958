/**
 * The stage cache: one entry per stage, keyed by a hash of everything the stage depends on. A new
 * key for a stage evicts (and disposes) its previous output, so memory stays bounded while a slider
 * that only touches late stages reuses every earlier one.
 */
import { stableStringify } from '../config';

/** 53-bit hash (two FNV-1a lanes) of a JSON-able value; collisions are astronomically unlikely. */
export function hashKey(value: unknown): string {
  const s = stableStringify(value);
  let h1 = 0x811c9dc5;
  let h2 = 0x01000193 ^ s.length;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    h1 = Math.imul(h1 ^ c, 0x01000193) >>> 0;
    h2 = Math.imul(h2 ^ c, 0x5bd1e995) >>> 0;
    h2 ^= h2 >>> 15;
  }
  return ((h2 & 0x1fffff) * 0x100000000 + h1).toString(36);
}

interface Entry {
  key: string;
  value: unknown;
  dispose?: () => void;
}

export class StageCache {
  private readonly entries = new Map<string, Entry>();

  get<T>(stage: string, key: string): T | undefined {
    const e = this.entries.get(stage);
    return e && e.key === key ? (e.value as T) : undefined;
  }

  set<T>(stage: string, key: string, value: T, dispose?: (value: T) => void): T {
    this.evict(stage);
    this.entries.set(stage, { key, value, dispose: dispose ? () => dispose(value) : undefined });
    return value;
  }

  evict(stage: string): void {
    const e = this.entries.get(stage);
    if (e) {
      this.entries.delete(stage);
      e.dispose?.();
    }
  }

  clear(): void {
    for (const stage of [...this.entries.keys()]) this.evict(stage);
  }

  get stages(): string[] {
    return [...this.entries.keys()];
  }
}
