import { describe, expect, it } from 'vitest';
import { checkConfigForDataset, ConfigError, defaultConfig, mergeConfig } from '../../../src/core/config';

const dataset = (train: number, size = 128) => ({ name: 'brain-mri', size, train: { count: train } });
const withRank = (rank: number) => mergeConfig(defaultConfig(), { nmf: { rank } });

describe('checkConfigForDataset', () => {
  it('accepts a rank up to the number of training images', () => {
    const c = withRank(154);
    expect(checkConfigForDataset(c, dataset(154))).toBe(c);
    expect(() => checkConfigForDataset(withRank(15), dataset(15))).not.toThrow();
  });

  it('refuses a rank above the training images, naming the setting, the bound and the data set', () => {
    let err: unknown;
    try {
      checkConfigForDataset(withRank(500), dataset(154));
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as ConfigError).problems).toEqual([
      'nmf.rank = 500: must be at most 154 (the 154 training image(s) of brain-mri; lower the rank or add images)',
    ]);
    expect(() => checkConfigForDataset(withRank(155), dataset(154))).toThrow(/nmf\.rank = 155: must be at most 154/);
  });

  it('refuses a rank above the pixels per image', () => {
    expect(() => checkConfigForDataset(withRank(65), dataset(1000, 8))).toThrow(
      /nmf\.rank = 65: must be at most 64 \(the 8×8 = 64 pixels of each image; lower the rank or raise data\.imageSize\)/,
    );
    expect(() => checkConfigForDataset(withRank(64), dataset(1000, 8))).not.toThrow();
  });
});
