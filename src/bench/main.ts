/**
 * The bench page: `npm run bench` opens it in headless Chromium (software WebGPU on a machine
 * without a GPU) and reads `window.labBench`; on a machine with a GPU anyone can open it by hand.
 */
import * as Comlink from 'comlink';
import type { BenchResult, LabApi } from '../../workers/labApi';
import type { BackendName } from '../core/config';
import type { BenchScale } from '../core/pipeline/bench';
import type { ProgressEvent } from '../core/pipeline/progress';
import { metricTable, timingTable } from '../cli/output';

declare global {
  interface Window {
    labBench?: { state: 'running' | 'done' | 'failed'; result?: BenchResult; error?: string };
  }
}

const BACKENDS = ['auto', 'webgpu', 'webgl', 'wasm', 'cpu'];

function formatResult(r: BenchResult): string {
  const b = r.backend;
  return [
    `backend: ${b.name}${b.adapter ? ` (${b.adapter})` : ''}${b.reason ? `: ${b.reason}` : ''}; scale: ${r.scale}`,
    `NMF (KL, multiplicative updates) ${r.nmfShape[0]} × ${r.nmfShape[1]}, rank 15: ${r.nmfSecondsPerIteration.toFixed(3)} s/iteration`,
    '',
    timingTable(r.report.timings),
    `end to end: ${r.endToEndSeconds.toFixed(2)} s`,
    `timestep change re-score: ${r.timestepRescoreSeconds.toFixed(3)} s (reused: ${r.rescoreReused.join(', ')})`,
    `tensors after run ${r.tensorsAfterRun}, after re-score ${r.tensorsAfterRescore}`,
    '',
    metricTable(r.report),
  ].join('\n');
}

async function main(): Promise<void> {
  const params = new URLSearchParams(location.search);
  const backend = params.get('backend') ?? 'webgpu';
  const scale = (params.get('scale') ?? 'paper') as BenchScale;
  const status = document.getElementById('bench-status')!;
  const output = document.getElementById('bench-output')!;
  window.labBench = { state: 'running' };
  try {
    if (!BACKENDS.includes(backend)) throw new Error(`backend=${backend}: must be one of ${BACKENDS.join(', ')}`);
    if (scale !== 'paper' && scale !== 'quick') throw new Error(`scale=${scale}: must be paper or quick`);
    const worker = new Worker(new URL('../../workers/lab.worker.ts', import.meta.url), { type: 'module', name: 'lab-bench' });
    const api = Comlink.wrap<LabApi>(worker);
    const info = await api.init(backend as BackendName | 'auto');
    status.textContent = `backend ${info.name}${info.adapter ? ` (${info.adapter})` : ''}; running the ${scale} bench…`;
    const result = await api.bench(scale, Comlink.proxy((e: ProgressEvent) => {
      status.textContent = `${e.stage} ${e.done}/${e.total}${e.note ? ` ${e.note}` : ''}`;
    }));
    output.textContent = formatResult(result);
    status.textContent = 'done';
    window.labBench = { state: 'done', result };
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    status.textContent = `bench failed: ${message}`;
    window.labBench = { state: 'failed', error: message };
  }
}

void main();
