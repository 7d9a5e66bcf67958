import { tmpdir } from 'node:os';
import { describe, expect, it } from 'vitest';
import { loadDataset } from '../../../src/cli/datasets';
import { defaultConfig } from '../../../src/core/config';

describe('loadDataset (built-in datasets)', () => {
  it('finds the shipped slices whatever the working directory', async () => {
    const cwd = process.cwd();
    process.chdir(tmpdir());
    try {
      const calls: number[] = [];
      const d = await loadDataset({ ...defaultConfig().data, count: 20, imageSize: 16 }, 1, (done) => calls.push(done));
      expect(d.name).toBe('mri-demo');
      expect(d.train.count + d.val.count + d.test.count).toBe(20);
      expect(d.train.pixels.length).toBe(d.train.count * 256);
      expect(calls.at(-1)).toBe(20);
    } finally {
      process.chdir(cwd);
    }
  });

  it('routes digits with the config limit, size and split', async () => {
    const d = await loadDataset({ ...defaultConfig().data, dataset: 'digits', imageSize: 28, limit: 100, split: [0.7, 0.15, 0.15] }, 0);
    expect(d.classNames).toHaveLength(10);
    expect(d.train.count + d.val.count + d.test.count).toBe(100);
  });
});
