/**
 * The clean cost of purification on the validation split, by diffusion length T: how the default
 * T was chosen (src/core/config.ts). For each seed the pipeline runs once per T with the attacks
 * off; everything before the denoiser is reused from the stage cache, so only the denoiser is
 * trained again. The validation features are purified at the configured t with K draws, under
 * three purification seeds, and the accuracy is their mean (the test split is left alone).
 *
 *   npx tsx scripts/noise-sweep.ts [--seeds 0,1,2,3,4] [--steps 1000,2000,3000] [--draws 3]
 */
import * as tf from '@tensorflow/tfjs';
import { parseArgs } from 'node:util';
import { initBackend } from '../src/core/backend';
import { defaultConfig, mergeConfig } from '../src/core/config';
import { defendedProbabilities } from '../src/core/diffusion/purify';
import { classificationMetrics } from '../src/core/metrics/classification';
import { predictLogits } from '../src/core/models/train';
import { Pipeline } from '../src/core/pipeline/run';
import { cliBesideRunner } from '../src/cli/beside';
import { loadDataset } from '../src/cli/datasets';
import { nodeWasmPaths } from '../src/cli/wasmPaths';

function list(s: string): number[] {
  return s.split(',').map((v) => {
    const n = Number(v);
    if (!Number.isInteger(n)) throw new Error(`'${v}' in '${s}' is not an integer`);
    return n;
  });
}

/** Accuracy of class probabilities, as the lab's reports compute it; disposes `probs`. */
async function accuracy(probs: tf.Tensor2D, labels: Int32Array): Promise<number> {
  const values = (await probs.data()) as Float32Array;
  const classes = probs.shape[1];
  probs.dispose();
  return classificationMetrics(values, labels, classes).accuracy;
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { seeds: { type: 'string' }, steps: { type: 'string' }, draws: { type: 'string' } } });
  const seeds = list(values.seeds ?? '0,1,2,3,4');
  const stepsList = list(values.steps ?? '1000,2000,3000');
  const draws = list(values.draws ?? '3')[0];
  const backend = await initBackend('wasm', { wasmPaths: nodeWasmPaths() });
  const beside = cliBesideRunner(backend.name, false);
  const gaps = new Map<number, number[]>(stepsList.map((T) => [T, []]));
  console.log('seed      T  noise   valBaseline  valDefended   gap (points)');
  try {
    for (const seed of seeds) {
      const pipeline = new Pipeline(loadDataset, backend, { beside });
      try {
        for (const steps of stepsList) {
          const config = mergeConfig(defaultConfig(), { seed, diffusion: { steps }, attack: { enabled: false } });
          const r = await pipeline.run(config);
          const d = config.diffusion;
          const x = r.classifier.inputs.val;
          const labels = r.dataset.val.labels;
          const clean = await accuracy(tf.tidy(() => tf.softmax(predictLogits(r.classifier.model, x)) as tf.Tensor2D), labels);
          let defended = 0;
          for (let k = 1; k <= draws; k++) {
            const opts = { timestep: d.timestep, eot: d.eot, seed: 1000 + k, embeddingDim: d.embedding, prior: r.denoiser.prior, reverseSteps: d.reverseSteps };
            defended += await accuracy(tf.tidy(() => defendedProbabilities(x, r.classifier.model, r.denoiser.model, r.denoiser.schedule, opts)), labels) / draws;
          }
          const gap = 100 * (clean - defended);
          gaps.get(steps)!.push(gap);
          const noise = Math.sqrt(1 - r.denoiser.schedule.alphaBar[d.timestep]);
          console.log(`${String(seed).padStart(4)} ${String(steps).padStart(6)}  ${noise.toFixed(3)}  ${clean.toFixed(3).padStart(11)}  ${defended.toFixed(3).padStart(11)}  ${gap.toFixed(1).padStart(13)}`);
        }
      } finally {
        pipeline.dispose();
      }
    }
  } finally {
    beside?.dispose();
  }
  for (const [steps, g] of gaps) console.log(`T = ${steps}: mean gap ${(g.reduce((a, b) => a + b, 0) / g.length).toFixed(1)} points over ${g.length} seeds`);
}

main().catch((err) => {
  process.stderr.write(`noise-sweep failed: ${(err as Error).stack}\n`);
  process.exit(1);
});
