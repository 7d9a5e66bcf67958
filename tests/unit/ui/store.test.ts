import { describe, expect, it } from 'vitest';
import { mergeConfig } from '../../../src/core/config';
import { createLabStore, isStale, onlyPurificationDiffers } from '../../../src/ui/store';
import { baseConfig } from '../../../src/ui/url';

describe('store', () => {
  const c = baseConfig('mri-demo');
  it('lets only the purification settings rerun by themselves', () => {
    expect(onlyPurificationDiffers(c, mergeConfig(c, { diffusion: { timestep: 20, eot: 4, reverseSteps: 1 } }))).toBe(true);
    expect(onlyPurificationDiffers(c, mergeConfig(c, { diffusion: { epochs: 10 } }))).toBe(false);
    expect(onlyPurificationDiffers(c, mergeConfig(c, { nmf: { rank: 10 } }))).toBe(false);
    expect(onlyPurificationDiffers(c, mergeConfig(c, { attack: { eps: 0.05 } }))).toBe(false);
  });
  it('calls a view stale once the settings on screen differ from the ones it was computed with', () => {
    const store = createLabStore(c, []);
    expect(isStale(store.getState())).toBe(false);
    store.setState({ view: {} as never, viewConfig: c });
    expect(isStale(store.getState())).toBe(false);
    store.setState({ config: mergeConfig(c, { seed: 1 }) });
    expect(isStale(store.getState())).toBe(true);
  });
});
