import { describe, expect, it } from 'vitest';
import { baseConfig, configFromQuery, configToQuery } from '../../../src/ui/url';
import { mergeConfig } from '../../../src/core/config';

describe('config in the URL', () => {
  it('writes only what differs from the data set defaults, and reads it back exactly', () => {
    expect(configToQuery(baseConfig('mri-demo'))).toBe('');
    expect(configToQuery(baseConfig('digits'))).toBe('data.dataset=digits');
    const c = mergeConfig(baseConfig('mri-demo'), {
      seed: 7, backend: 'webgpu', nmf: { rank: 20 }, select: { top: 6 }, diffusion: { timestep: 30, eot: 4 },
      attack: { eps: 0.05, attacks: ['apgd-ce', 'apgd-dlr'], threat: 'image', adaptive: { enabled: false } },
    });
    const q = configToQuery(c);
    expect(new URLSearchParams(q).get('nmf.rank')).toBe('20');
    expect(new URLSearchParams(q).get('attack.attacks')).toBe('apgd-ce,apgd-dlr');
    expect(new URLSearchParams(q).has('nmf.loss')).toBe(false);
    const back = configFromQuery(q);
    expect(back.warnings).toEqual([]);
    expect(back.config).toEqual(c);
  });

  it('starts digits from the follow-up paper and keeps the folder id', () => {
    expect(configFromQuery('data.dataset=digits').config.nmf.rank).toBe(baseConfig('digits').nmf.rank);
    expect(configFromQuery('data.dataset=folder%3Abrain').config.data.dataset).toBe('folder:brain');
  });

  it('drops what it cannot use, says why, and keeps the rest', () => {
    const { config, warnings } = configFromQuery('nmf.rank=12&diffusion.timestep=5000&attack.eps=abc&colour=red&select.top=auto');
    expect(config.nmf.rank).toBe(12);
    expect(config.diffusion.timestep).toBe(41);
    expect(config.attack.eps).toBe(0.1);
    expect(config.select.top).toBe('auto');
    expect(warnings).toHaveLength(3);
    expect(warnings.join('\n')).toMatch(/diffusion\.timestep = '5000' was refused \(diffusion\.timestep = 5000: must be an integer in \[1, 2999\]\)/);
    expect(warnings.join('\n')).toMatch(/attack\.eps = 'abc' is not a valid number/);
    expect(warnings.join('\n')).toMatch(/unknown setting 'colour'/);
  });

  it('accepts settings that are only valid together', () => {
    const { config, warnings } = configFromQuery('select.minSelected=2&nmf.rank=3');
    expect(warnings).toEqual([]);
    expect(config.nmf.rank).toBe(3);
  });
});
