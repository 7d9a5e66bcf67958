#!/usr/bin/env node
/**
 * `npm run bench [-- --json] [--quick] [--no-browser] [--browser-backend B] [--browser-scale S]`:
 * seconds per NMF iteration at the paper's scale (beside scikit-learn's where it can run), the
 * paper-scale mri-demo run stage by stage (like the paper's CPU/GPU table), the cost of a timestep
 * change, peak memory; then the same stages in headless Chromium's worker (bench.html), by default
 * on WebGPU. Never part of `npm test`.
 */
import * as tf from '@tensorflow/tfjs';
import { apgd } from '../core/attacks/apgd';
import { square } from '../core/attacks/square';
import { layersAttackModel } from '../core/attacks/model';
import { UNIT_BOX } from '../core/attacks/threat';
import { parseArgs } from 'node:util';
import { initBackend, type BackendInfo } from '../core/backend';
import { benchConfig, benchRun, nmfBenchShape, nmfSecondsPerIteration, type BenchScale } from '../core/pipeline/bench';
import { Pipeline } from '../core/pipeline/run';
import { buildReport } from '../core/pipeline/report';
import { nodeWasmPaths } from './wasmPaths';
import { loadDataset } from './datasets';
import { metricTable, progressPrinter, timingTable } from './output';
import { cliBesideRunner } from './beside';
import type { BenchResult } from '../../workers/labApi';
import { sklearnNmfSecondsPerIteration } from './sklearnBench';

/**
 * Points × iterations per second of APGD-CE (1 restart) and points × queries per second of Square
 * on the trained feature classifier, every test point attacked; the work actually done is counted
 * (APGD stops at a checkpoint once every point is broken, Square drops broken points).
 */
async function attackThroughput(classifier: tf.LayersModel, x: tf.Tensor2D, labels: Int32Array, quick: boolean) {
  const model = layersAttackModel(classifier);
  const y = labels.slice(0, x.shape[0]);
  const common = { eps: 0.1, norm: 'Linf' as const, box: UNIT_BOX, seed: 0 };
  let t = performance.now();
  const a = await apgd(model, x, y, { ...common, loss: 'ce', iterations: quick ? 20 : 100 });
  const apgdSeconds = (performance.now() - t) / 1000;
  a.adversarial.dispose();
  let pointIterations = 0;
  const n = y.length;
  for (let i = 0; i < a.lossTrace.length; i++) if (!Number.isNaN(a.lossTrace[i])) pointIterations++;
  t = performance.now();
  const s = await square(model, x, y, { ...common, queries: quick ? 200 : 1000 });
  const squareSeconds = (performance.now() - t) / 1000;
  s.adversarial.dispose();
  // Square's trace holds the best margin of every active point after each recorded query.
  let pointQueries = 0;
  for (let i = 0; i < s.lossTrace.length; i++) if (!Number.isNaN(s.lossTrace[i]) && s.lossTrace[i] > 0) pointQueries += s.traceStride;
  return { points: n, apgd: pointIterations / apgdSeconds, square: Math.max(pointQueries, 1) / squareSeconds };
}

/** The bench page in headless Chromium; null (with the reason logged) where it cannot run. */
async function browserBench(backend: string, scale: BenchScale, log: (s: string) => void): Promise<BenchResult | null> {
  const { buildAndServe, launchChromium } = await import('./browser');
  let served: Awaited<ReturnType<typeof buildAndServe>> | null = null;
  let browser: Awaited<ReturnType<typeof launchChromium>> | null = null;
  try {
    log(`browser bench: building the app and starting Chromium (${backend}, ${scale} scale)…`);
    served = await buildAndServe();
    browser = await launchChromium();
    const page = await browser.newPage();
    let lastStage = '';
    const url = new URL(`bench.html?backend=${encodeURIComponent(backend)}&scale=${scale}`, served.url).href;
    await page.goto(url);
    for (;;) {
      const state = await page.evaluate(() => ({ bench: window.labBench, status: document.getElementById('bench-status')?.textContent ?? '' }));
      // One line per stage the page reports (its status starts with the stage's name).
      const stage = state.status.split(' ')[0];
      if (stage !== lastStage) log(`  browser: ${state.status}`);
      lastStage = stage;
      if (state.bench?.state === 'done') return state.bench.result ?? null;
      if (state.bench?.state === 'failed') throw new Error(state.bench.error);
      await new Promise((r) => setTimeout(r, 1000));
    }
  } catch (err) {
    log(`browser bench did not run: ${(err as Error).message}`);
    return null;
  } finally {
    await browser?.close();
    await served?.close();
  }
}

function browserSummary(b: BenchResult): string[] {
  return [
    `In the browser (headless Chromium, ${b.backend.name}${b.backend.adapter ? `, ${b.backend.adapter}` : ''}, ${b.scale} scale):`,
    `NMF ${b.nmfShape[0]} × ${b.nmfShape[1]}, rank 15: ${b.nmfSecondsPerIteration.toFixed(3)} s/iteration`,
    timingTable(b.report.timings),
    `end to end: ${b.endToEndSeconds.toFixed(2)} s; timestep change re-score: ${b.timestepRescoreSeconds.toFixed(3)} s`,
  ];
}

function browserJson(b: BenchResult) {
  return {
    backend: b.backend.name, adapter: b.backend.adapter ?? null, scale: b.scale, nmfSecondsPerIteration: b.nmfSecondsPerIteration,
    nmfShape: b.nmfShape, endToEndSeconds: b.endToEndSeconds, timestepRescoreSeconds: b.timestepRescoreSeconds, stages: b.report.timings,
  };
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      json: { type: 'boolean' }, quick: { type: 'boolean' }, backend: { type: 'string' },
      'no-browser': { type: 'boolean' }, 'browser-only': { type: 'boolean' }, 'browser-backend': { type: 'string' }, 'browser-scale': { type: 'string' },
      'single-thread': { type: 'boolean' },
    },
  });
  const log = (s: string) => process.stderr.write(`${s}\n`);
  const browserScale = (values['browser-scale'] ?? 'quick') as BenchScale;
  if (browserScale !== 'quick' && browserScale !== 'paper') throw new Error(`--browser-scale ${browserScale}: must be quick or paper`);
  if (values['browser-only']) {
    const b = await browserBench(values['browser-backend'] ?? 'webgpu', browserScale, log);
    if (!b) process.exit(1);
    console.log(browserSummary(b).join('\n'));
    if (values.json) console.log(JSON.stringify({ browser: browserJson(b) }));
    return;
  }
  const backend: BackendInfo = await initBackend((values.backend ?? 'wasm') as 'wasm', { wasmPaths: nodeWasmPaths() });
  const quick = values.quick ?? false;
  const scale: BenchScale = quick ? 'quick' : 'paper';
  const [pixels, images] = nmfBenchShape(scale);
  const iters = quick ? 3 : 10;
  log(`backend ${backend.name}; NMF timing on a ${pixels} × ${images} matrix, rank 15, ${iters} iterations…`);
  const V = tf.randomUniform([pixels, images], 0, 1, 'float32', 7) as tf.Tensor2D;
  const nmfSeconds = await nmfSecondsPerIteration(V, 15, iters);
  V.dispose();
  const sklearn = quick ? null : sklearnNmfSecondsPerIteration(pixels, images, 15, 5);

  const config = benchConfig(scale);
  log(`paper-scale run: mri-demo, ${config.data.count} images, rank ${config.nmf.rank}, t=${config.diffusion.timestep}, K=${config.diffusion.eot}…`);
  // The lab's Node default: a second thread beside the main line (--single-thread: none).
  const beside = cliBesideRunner(backend.name, values['single-thread'] ?? false);
  const pipeline = new Pipeline(loadDataset, backend, { beside });
  const run = await benchRun(pipeline, config, progressPrinter(process.stderr, false));
  beside?.dispose();
  const report = buildReport(run.first);
  const throughput = await attackThroughput(run.first.classifier.model, run.first.classifier.inputs.test, run.first.dataset.test.labels, quick);
  pipeline.dispose();
  const peakRssMB = process.resourceUsage().maxRSS / 1024;

  const browser = values['no-browser'] ? null : await browserBench(values['browser-backend'] ?? 'webgpu', browserScale, log);

  const out = [
    `NMF (KL, multiplicative updates) ${pixels} × ${images}, rank 15: ${nmfSeconds.toFixed(3)} s/iteration (${backend.name})` +
      (sklearn !== null ? `; scikit-learn: ${sklearn.toFixed(3)} s/iteration (×${(sklearn / nmfSeconds).toFixed(2)})` : '; scikit-learn: not available'),
    `NMF in the run: ${report.nmf.iterations} iterations on ${pixels} × ${run.first.dataset.train.count}`,
    '',
    timingTable(report.timings, [], report.beside),
    `end to end: ${run.endToEndSeconds.toFixed(2)} s`,
    `timestep change re-score: ${run.timestepRescoreSeconds.toFixed(3)} s (reused: ${run.rescoreReused.join(', ')})`,
    `attack throughput on the feature classifier (${throughput.points} points): APGD-CE ${throughput.apgd.toFixed(0)} point-iterations/s, Square ${throughput.square.toFixed(0)} point-queries/s`,
    `peak resident memory: ${peakRssMB.toFixed(0)} MB; tensors after run ${run.tensorsAfterRun}, after re-score ${run.tensorsAfterRescore}`,
    '',
    metricTable(report),
  ];
  if (browser) out.push('', ...browserSummary(browser));
  console.log(out.join('\n'));
  if (values.json) {
    console.log(JSON.stringify({
      backend: backend.name, nmfSecondsPerIteration: nmfSeconds, nmfShape: [pixels, images], sklearnNmfSecondsPerIteration: sklearn,
      endToEndSeconds: run.endToEndSeconds, timestepRescoreSeconds: run.timestepRescoreSeconds, peakRssMB, stages: report.timings, besideStages: report.beside, quick,
      apgdPointIterationsPerSecond: throughput.apgd, squarePointQueriesPerSecond: throughput.square,
      tensorsAfterRun: run.tensorsAfterRun, tensorsAfterRescore: run.tensorsAfterRescore,
      browser: browser ? browserJson(browser) : null,
    }));
  }
}

main().catch((err) => {
  process.stderr.write(`bench failed: ${(err as Error).stack}\n`);
  process.exit(1);
});
