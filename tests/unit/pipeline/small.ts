import { defaultConfig, mergeConfig, type DeepPartial, type LabConfig } from '../../../src/core/config';

/** A small but real mri-demo run: every stage, minutes of CPU cut to seconds. */
export function smallMri(patch: DeepPartial<LabConfig> = {}): LabConfig {
  return mergeConfig(mergeConfig(defaultConfig(), {
    seed: 3,
    data: { count: 240, imageSize: 64, difficulty: 0.3 },
    nmf: { rank: 8, maxIter: 60, projectIter: 60 },
    select: { top: 'auto', minSelected: 4 },
    classifier: { epochs: 60, patience: 15, batchSize: 32 },
    imageCnn: { enabled: false },
    diffusion: { epochs: 60, hidden: 64, batchSize: 64 },
    attack: { limit: 24, iterations: 20, queries: 200, eot: 2, adaptive: { steps: 20, eot: 4 } },
  }), patch);
}

