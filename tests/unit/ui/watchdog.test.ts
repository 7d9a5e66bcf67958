import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { Watchdog } from '../../../src/ui/watchdog';

describe('watchdog', () => {
  beforeEach(() => vi.useFakeTimers());
  afterEach(() => vi.useRealTimers());

  const make = (ping: () => Promise<unknown>) => {
    const silent: string[] = [];
    const pings = vi.fn(ping);
    const w = new Watchdog({ ping: pings, onSilent: (why) => silent.push(why), pingAfterMs: 5_000, timeoutMs: 30_000 });
    return { w, silent, pings };
  };

  it('does not ping a worker that keeps reporting progress', async () => {
    const { w, silent, pings } = make(() => new Promise(() => undefined));
    w.start();
    for (let t = 0; t < 120; t++) {
      await vi.advanceTimersByTimeAsync(1000);
      w.alive();
    }
    expect(pings).not.toHaveBeenCalled();
    expect(silent).toEqual([]);
    w.stop();
  });

  it('pings a quiet worker and keeps watching while it answers', async () => {
    const { w, silent, pings } = make(() => Promise.resolve());
    w.start();
    await vi.advanceTimersByTimeAsync(60_000);
    expect(pings.mock.calls.length).toBeGreaterThanOrEqual(8);
    expect(pings.mock.calls.length).toBeLessThanOrEqual(12);
    expect(silent).toEqual([]);
    w.stop();
  });

  it('declares a worker that does not answer gone once, after the ping timeout, and stops', async () => {
    const { w, silent, pings } = make(() => new Promise(() => undefined));
    w.start();
    // First ping at 5 s of silence; its 30 s run out at 35 s.
    await vi.advanceTimersByTimeAsync(34_000);
    expect(silent).toEqual([]);
    await vi.advanceTimersByTimeAsync(2_000);
    expect(silent).toEqual(['the worker stopped responding for 30 s']);
    await vi.advanceTimersByTimeAsync(120_000);
    expect(silent).toHaveLength(1);
    expect(pings).toHaveBeenCalledTimes(1);
  });

  it('says nothing about a watch that was stopped while its ping was out', async () => {
    const { w, silent } = make(() => new Promise(() => undefined));
    w.start();
    await vi.advanceTimersByTimeAsync(7_000);
    w.stop();
    await vi.advanceTimersByTimeAsync(60_000);
    expect(silent).toEqual([]);
  });
});
