import { describe, expect, it } from 'vitest';
import { decodeAll, keepDecoded, type DecodeResult } from '../../../src/core/data/decodeAll';

const tick = () => new Promise<void>((r) => setTimeout(r, 0));

describe('decodeAll', () => {
  it('decodes 20,000 items with at most `lanes` in flight, progress rising to 20,000, results in input order', async () => {
    const N = 20_000;
    const items = Array.from({ length: N }, (_, i) => i);
    let inFlight = 0;
    let peak = 0;
    const progress: number[] = [];
    const results = await decodeAll(
      items,
      async (item, index) => {
        expect(index).toBe(item);
        inFlight++;
        peak = Math.max(peak, inFlight);
        // Uneven durations so lanes finish out of order.
        if (item % 7 === 0) await tick();
        else await Promise.resolve();
        inFlight--;
        return item * 2;
      },
      { lanes: 6, onProgress: (done, total) => { expect(total).toBe(N); progress.push(done); } },
    );
    expect(peak).toBe(6);
    expect(results).toHaveLength(N);
    expect(results.every((r, i) => r === 2 * i)).toBe(true);
    expect(progress).toHaveLength(N);
    expect(progress.every((d, i) => d === i + 1)).toBe(true);
  });

  it('stops starting decodes when aborted and rejects with an AbortError', async () => {
    const ctrl = new AbortController();
    let started = 0;
    const run = decodeAll(
      Array.from({ length: 20_000 }, (_, i) => i),
      async () => {
        started++;
        await tick();
        return 0;
      },
      { lanes: 4, signal: ctrl.signal, onProgress: (done) => { if (done === 1000) ctrl.abort(); } },
    );
    await expect(run).rejects.toMatchObject({ name: 'AbortError' });
    expect(started).toBeGreaterThanOrEqual(1000);
    expect(started).toBeLessThanOrEqual(1000 + 4);
  });

  it('rejects at once on an aborted signal, decodes nothing', async () => {
    const ctrl = new AbortController();
    ctrl.abort();
    let called = 0;
    await expect(decodeAll([1, 2, 3], async () => ++called, { lanes: 2, signal: ctrl.signal })).rejects.toMatchObject({ name: 'AbortError' });
    expect(called).toBe(0);
  });

  it('a decoder that throws stops the other lanes', async () => {
    let started = 0;
    const run = decodeAll(Array.from({ length: 1000 }, (_, i) => i), async (i) => {
      started++;
      await tick();
      if (i === 10) throw new Error('boom');
      return i;
    }, { lanes: 3 });
    await expect(run).rejects.toThrow('boom');
    await tick();
    await tick();
    expect(started).toBeLessThan(20);
  });

  it('handles no items and more lanes than items', async () => {
    expect(await decodeAll([], async () => 1, { lanes: 8 })).toEqual([]);
    expect(await decodeAll(['a', 'b'], async (s) => s + s, { lanes: 8 })).toEqual(['aa', 'bb']);
  });
});

describe('keepDecoded', () => {
  it('turns results into images and skipped files, dropping byte-identical copies', () => {
    const px = (v: number) => Float32Array.of(v);
    const files = [
      { path: 'a/1.png', className: 'a' },
      { path: 'a/2.png', className: 'a' },
      { path: 'b/1.png', className: 'b' },
      { path: 'b/2.png', className: 'b', group: 'train' as const },
    ];
    const results: DecodeResult[] = [
      { pixels: px(1), hash: 'h1' },
      { reason: 'zero bytes' },
      { pixels: px(1), hash: 'h1' },
      { pixels: px(2), hash: 'h2' },
    ];
    const { images, skipped } = keepDecoded(files, results);
    expect(images.map((im) => [im.name, im.className, im.pixels[0], im.group])).toEqual([['a/1.png', 'a', 1, undefined], ['b/2.png', 'b', 2, 'train']]);
    expect(skipped).toEqual([
      { file: 'a/2.png', reason: 'zero bytes' },
      { file: 'b/1.png', reason: 'duplicate of a/1.png (in another class)' },
    ]);
  });
});
