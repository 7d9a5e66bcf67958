import * as tf from '@tensorflow/tfjs';
import { describe, expect, it, vi } from 'vitest';
import { smallMri } from './small';
import { Pipeline } from '../../../src/core/pipeline/run';
import { buildReport, type LabReport } from '../../../src/core/pipeline/report';
import { inThreadBesideRunner, type BesideRunner } from '../../../src/core/pipeline/beside';
import type { ProgressEvent } from '../../../src/core/pipeline/progress';
import { loadDataset } from '../../../src/cli/datasets';
import { WorkerBesideRunner } from '../../../src/cli/beside';

const backend = { name: 'wasm' as const, reason: 'test' };
const config = (attack = false) => smallMri({ imageCnn: { enabled: true, epochs: 2, patience: 2 }, attack: { enabled: attack, adaptive: { enabled: false } } });

/** The report without wall-clock figures and without the list of stages run beside. */
function numbers(r: LabReport): unknown {
  const { timings: _t, beside: _b, ...rest } = r;
  return JSON.parse(JSON.stringify(rest, (k, v) => (k === 'seconds' ? undefined : v)));
}

describe('stages beside the main line', () => {
  it('a worker thread trains the image CNN and the denoiser and attacks the baseline to the same numbers as the main thread', async () => {
    const tensorsBefore = tf.memory().numTensors;
    const alone = new Pipeline(loadDataset, backend);
    const single = buildReport(await alone.run(config(true)));
    alone.dispose();
    expect(single.beside).toEqual([]);

    const runner = new WorkerBesideRunner('wasm');
    const shares = vi.spyOn(runner, 'klShare');
    const pipeline = new Pipeline(loadDataset, backend, { beside: runner });
    const events: ProgressEvent[] = [];
    try {
      const report = buildReport(await pipeline.run(config(true), { onProgress: (e) => events.push(e) }));
      expect(report.beside).toEqual(['imageCnn', 'denoiser', 'attackBaseline']);
      expect(report.scenarios.robustBaseline.attack).toBeDefined();
      // NMF's iterations were shared with the second thread (its timing stays the main line's).
      expect(shares).toHaveBeenCalledTimes(1);
      expect(numbers(report)).toEqual(numbers(single));
      expect(report.timings.imageCnn).toBeGreaterThan(0);
      // The second thread's progress arrives marked, and only for its stages.
      expect(new Set(events.filter((e) => e.beside).map((e) => e.stage))).toEqual(new Set(['imageCnn', 'denoiser', 'attackBaseline']));
      // A timestep change reuses both: nothing is sent to the second thread.
      const again = buildReport(await pipeline.run({ ...config(true), diffusion: { ...config().diffusion, timestep: 30 } }));
      expect(again.beside).toEqual([]);
      expect(again.reused).toEqual(expect.arrayContaining(['nmf', 'imageCnn', 'project', 'denoiser', 'attackBaseline']));
      expect(shares).toHaveBeenCalledTimes(1);
    } finally {
      pipeline.dispose();
      runner.dispose();
    }
    expect(tf.memory().numTensors).toBe(tensorsBefore);
  });

  it('without an image CNN the second thread projects the validation and test images, to the same numbers', async () => {
    const plain = smallMri();
    const alone = new Pipeline(loadDataset, backend);
    const single = buildReport(await alone.run(plain));
    alone.dispose();
    const jobs: string[] = [];
    let shared = 0;
    const recording: BesideRunner = {
      run: (job, progress, signal) => {
        jobs.push(job.stage);
        return inThreadBesideRunner.run(job, progress, signal);
      },
      klShare: (blocks, signal) => {
        shared++;
        return inThreadBesideRunner.klShare!(blocks, signal);
      },
      dispose: () => {},
    };
    const pipeline = new Pipeline(loadDataset, backend, { beside: recording });
    const report = buildReport(await pipeline.run(plain));
    pipeline.dispose();
    expect(jobs).toEqual(['project', 'denoiser', 'attackBaseline']);
    expect(shared).toBe(1);
    expect(numbers(report)).toEqual(numbers(single));
  });

  it('a failed beside job fails the run with its message, and the next run goes on', async () => {
    const failing: BesideRunner = {
      run: async (job) => {
        if (job.stage === 'denoiser') throw new Error('denoiser: out of memory on the second thread');
        return inThreadBesideRunner.run(job, () => {});
      },
      dispose: () => {},
    };
    const pipeline = new Pipeline(loadDataset, backend, { beside: failing });
    try {
      await expect(pipeline.run(config())).rejects.toThrow(/out of memory on the second thread/);
      const ok = new Pipeline(loadDataset, backend, { beside: inThreadBesideRunner });
      const report = buildReport(await ok.run(config()));
      ok.dispose();
      expect(report.beside).toEqual(['imageCnn', 'denoiser']);
    } finally {
      pipeline.dispose();
    }
  });

  it('a run cancelled on the main line ends the beside job it no longer waits for', async () => {
    let jobSignal: AbortSignal | undefined;
    const slow: BesideRunner = {
      run: (job, _progress, signal) => {
        jobSignal = signal;
        return new Promise((_resolve, reject) => signal?.addEventListener('abort', () => reject(new Error(`${job.stage} ended`))));
      },
      dispose: () => {},
    };
    const controller = new AbortController();
    const pipeline = new Pipeline(loadDataset, backend, { beside: slow });
    // The image CNN's job starts after NMF, while this thread projects.
    const run = pipeline.run(config(), { signal: controller.signal, onProgress: (e) => { if (e.stage === 'project') controller.abort(); } });
    await expect(run).rejects.toThrow(/abort|cancel/i);
    expect(jobSignal?.aborted).toBe(true);
    pipeline.dispose();
  });

  it('a run cancelled during NMF ends the second thread\'s share, and the next run on the same thread goes on', async () => {
    const runner = new WorkerBesideRunner('wasm');
    const pipeline = new Pipeline(loadDataset, backend, { beside: runner });
    const controller = new AbortController();
    try {
      const run = pipeline.run(smallMri(), { signal: controller.signal, onProgress: (e) => { if (e.stage === 'nmf' && e.done >= 20) controller.abort(); } });
      await expect(run).rejects.toThrow(/abort|cancel/i);
      const report = buildReport(await pipeline.run(smallMri({ nmf: { maxIter: 20 } })));
      expect(report.nmf.iterations).toBe(20);
      expect(report.beside).toEqual(['denoiser', 'attackBaseline']);
    } finally {
      pipeline.dispose();
      runner.dispose();
    }
  });
});
