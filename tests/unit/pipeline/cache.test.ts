import { describe, expect, it } from 'vitest';
import { StageCache, hashKey } from '../../../src/core/pipeline/cache';
import { stageProgress, throwIfAborted, type ProgressEvent } from '../../../src/core/pipeline/progress';

describe('stage cache', () => {
  it('hashes by content, not key order, and separates different values', () => {
    expect(hashKey({ a: 1, b: [1, 2] })).toBe(hashKey({ b: [1, 2], a: 1 }));
    expect(hashKey({ a: 1, b: [1, 2] })).not.toBe(hashKey({ a: 1, b: [2, 1] }));
    expect(hashKey({ t: 41 })).not.toBe(hashKey({ t: 40 }));
  });
  it('returns an entry only for its key and disposes what a new key evicts', () => {
    const cache = new StageCache();
    const disposed: string[] = [];
    cache.set('nmf', 'k1', 'a', (v) => disposed.push(v));
    expect(cache.get('nmf', 'k1')).toBe('a');
    expect(cache.get('nmf', 'k2')).toBeUndefined();
    cache.set('nmf', 'k2', 'b', (v) => disposed.push(v));
    expect(disposed).toEqual(['a']);
    expect(cache.get('nmf', 'k1')).toBeUndefined();
    cache.set('select', 'k', 'c', (v) => disposed.push(v));
    cache.clear();
    expect(disposed).toEqual(['a', 'b', 'c']);
    expect(cache.stages).toEqual([]);
  });
});

describe('progress', () => {
  it('reports an ETA from the stage pace', () => {
    let now = 0;
    const events: ProgressEvent[] = [];
    const p = stageProgress('nmf', (e) => events.push(e), () => now);
    p(0, 10);
    now = 2000;
    p(4, 10);
    expect(events[0].etaSeconds).toBeNull();
    expect(events[1]).toMatchObject({ stage: 'nmf', done: 4, total: 10 });
    expect(events[1].etaSeconds).toBeCloseTo(3, 10);
  });
  it('throws an AbortError once the signal aborts', () => {
    const c = new AbortController();
    expect(() => throwIfAborted(c.signal)).not.toThrow();
    c.abort();
    expect(() => throwIfAborted(c.signal)).toThrow(expect.objectContaining({ name: 'AbortError' }));
  });
});
