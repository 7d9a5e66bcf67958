/**
 * The page's side of the engine: starts the lab worker on the requested backend, forwards the
 * config, progress and results between the worker and the store, cancels through a shared flag
 * (the worker sees it even inside a long synchronous stage), and restarts the worker when it dies
 * or the user switches backend.
 */
import * as Comlink from 'comlink';
import type { BackendName, LabConfig } from '../core/config';
import type { ProgressEvent } from '../core/pipeline/progress';
import type { LabView } from '../core/pipeline/view';
import { reportToJson } from '../core/pipeline/report';
import type { FolderFile } from '../../workers/browserData';
import type { LabApi } from '../../workers/labApi';
import { dataKey, isStale, onlyPurificationDiffers, type LabStore } from './store';
import { configToQuery } from './url';
import { newRunId } from '../persist/runs';
import { Watchdog } from './watchdog';

function message(err: unknown): string {
  if (err instanceof Error) return err.message;
  return String(err);
}

function isAbort(err: unknown): boolean {
  return err instanceof Error && (err.name === 'AbortError' || /run cancelled/.test(err.message));
}

const INIT_TIMEOUT_S = 90;
/** A busy worker shows it is alive by its progress events, or else by answering a ping. Kernels
 * block the worker for well under a second at paper scale; 30 s of silence is a dead worker (closed
 * by the browser, or hung on a lost device), not a slow one. */
const PING_AFTER_MS = 5_000;
const PING_TIMEOUT_MS = 30_000;

export function download(blob: Blob, filename: string): void {
  const url = URL.createObjectURL(blob);
  const a = document.createElement('a');
  a.href = url;
  a.download = filename;
  a.click();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}

export class LabClient {
  private worker: Worker | null = null;
  private api: Comlink.Remote<LabApi> | null = null;
  private cancelFlag: Int32Array | null = null;
  private folderFiles: { name: string; files: FolderFile[] } | null = null;
  private loadedKey: string | null = null;
  private pending: ProgressEvent[] = [];
  private flushScheduled = false;
  private loading: Promise<void> | null = null;

  constructor(readonly store: LabStore) {}

  /** The run the worker is computing, so that a crash can resume it. */
  private activeRun: { config: LabConfig; runId: string; live: boolean } | null = null;

  /** (Re)starts the worker on the config's backend (or `backend`), then shows the data set. */
  async start(backend?: BackendName): Promise<boolean> {
    this.stop();
    const { config } = this.store.getState();
    const request = backend ?? config.backend;
    this.store.setState({ engine: { status: 'starting', info: null, error: null } });
    const worker = new Worker(new URL('../../workers/lab.worker.ts', import.meta.url), { type: 'module', name: 'lab' });
    this.worker = worker;
    worker.addEventListener('error', (e) => this.crashed(e.message || 'the worker stopped'));
    this.api = Comlink.wrap<LabApi>(worker);
    const shared = typeof SharedArrayBuffer !== 'undefined' && globalThis.crossOriginIsolated ? new SharedArrayBuffer(4) : undefined;
    this.cancelFlag = shared ? new Int32Array(shared) : null;
    try {
      // A backend whose initialization hangs (a lost GPU, a blocked WASM thread) must not leave the page waiting forever.
      const timeout = new Promise<never>((_, reject) => setTimeout(() => reject(new Error(`backend ${request} did not start within ${INIT_TIMEOUT_S} s`)), INIT_TIMEOUT_S * 1000));
      const info = await Promise.race([this.api.init(request, shared), timeout]);
      this.store.setState({ engine: { status: 'ready', info, error: null } });
    } catch (err) {
      this.store.setState({ engine: { status: 'failed', info: null, error: message(err) } });
      return false;
    }
    if (this.folderFiles) await this.api.setFolder(this.folderFiles.name, this.folderFiles.files);
    this.loadedKey = null;
    await this.refreshRuns();
    await this.loadData();
    return true;
  }

  private stop(): void {
    this.unwatch();
    this.api?.[Comlink.releaseProxy]();
    this.worker?.terminate();
    this.worker = null;
    this.api = null;
    // A call to the terminated worker never answers: forget it, or every later load would wait on it.
    this.loading = null;
    this.liveRunning = false;
  }

  private crashes: number[] = [];

  /**
   * The worker died (an uncaught error, a lost GPU device): restart it, on WASM if WebGPU will not
   * come back, and resume the run it was computing from its stored stages.
   */
  private crashed(why: string): void {
    const now = performance.now();
    this.crashes = [...this.crashes.filter((t) => now - t < 60_000), now];
    const resume = this.activeRun;
    this.activeRun = null;
    if (this.crashes.length > 2) {
      this.stop();
      const error = `The engine stopped three times within a minute (${why}). Choose another backend to restart it; settings, results and finished stages are kept.`;
      this.store.setState({ engine: { status: 'failed', info: null, error }, error, status: 'idle' });
      void this.refreshRuns();
      return;
    }
    const deviceLost = /device lost/i.test(why);
    this.store.setState({
      error: null, status: 'idle',
      notice: `The engine stopped (${why}). It is restarting${resume ? ' and will resume the run from its finished stages' : ''}; settings and results are kept.`,
    });
    void (async () => {
      const before = this.store.getState().engine.info?.name;
      let ok = await this.start();
      if (!ok && (deviceLost || before === 'webgpu')) ok = await this.start('wasm');
      if (!ok) return;
      const now = this.store.getState().engine.info?.name;
      const moved = before && now && before !== now ? ` WebGPU did not come back; the engine now runs on ${now.toUpperCase()}.` : '';
      this.store.setState({ notice: `The engine stopped (${why}) and restarted.${moved}${resume ? ' Resuming the run from its finished stages.' : ''}` });
      if (resume) await this.run(resume.live, resume);
    })();
  }

  private runsTimer: ReturnType<typeof setTimeout> | null = null;

  async refreshRuns(): Promise<void> {
    if (!this.api) return;
    let runs;
    try {
      runs = await this.api.listRuns();
    } catch (err) {
      console.warn('run history:', err);
      return;
    }
    this.store.setState({ runs });
    // A run another page or a dying worker is still finishing shows as running until its lock is
    // released (a reload mid-run): look again shortly, so it turns up as interrupted.
    const elsewhere = runs.some((r) => r.status === 'running' && r.id !== this.activeRun?.runId);
    if (this.runsTimer) clearTimeout(this.runsTimer);
    this.runsTimer = elsewhere ? setTimeout(() => void this.refreshRuns(), 2000) : null;
  }

  /** Shows a recorded run (its settings and results) without recomputing anything. */
  async openRun(id: string): Promise<void> {
    if (!this.api || this.store.getState().status !== 'idle') return;
    const got = await this.api.openRun(id);
    if (!got?.view) {
      this.store.setState({ error: 'That run has no results to show (it did not finish): resume it instead.' });
      return;
    }
    const { config } = got.record;
    const dataBefore = dataKey(this.store.getState().config);
    this.store.setState({ config, view: got.view, viewConfig: config, viewRunId: id, partial: false, error: null, notice: null });
    // A dropped folder is not kept: the data panel follows only when the run's data is at hand.
    const folderGone = config.data.dataset.startsWith('folder:') && config.data.dataset !== `folder:${this.folderFiles?.name}`;
    if (!folderGone && dataKey(config) !== dataBefore) void this.loadData();
    history.replaceState(null, '', `${location.pathname}${configToQuery(config) ? `?${configToQuery(config)}` : ''}${location.hash}`);
  }

  /** Continues an interrupted (or cancelled, or failed) run: its finished stages come from the store. */
  async resumeRun(id: string): Promise<void> {
    const record = this.store.getState().runs.find((r) => r.id === id);
    if (!record || !this.api || this.store.getState().status !== 'idle') return;
    this.setConfig(() => record.config);
    await this.loading;
    await this.run(false, { config: record.config, runId: id });
  }

  async deleteRun(id: string): Promise<void> {
    await this.api?.deleteRun(id);
    if (this.store.getState().viewRunId === id) this.store.setState({ viewRunId: null });
    await this.refreshRuns();
  }

  async exportRun(id: string): Promise<void> {
    if (!this.api) return;
    try {
      const bytes = await this.api.exportRun(id);
      const record = this.store.getState().runs.find((r) => r.id === id);
      const name = `${(record?.datasetName ?? 'run').replace(/[^\w.-]+/g, '_')}-${id}.nnmf-run.zip`;
      download(new Blob([bytes as Uint8Array<ArrayBuffer>], { type: 'application/zip' }), name);
    } catch (err) {
      this.store.setState({ error: message(err) });
    }
  }

  async importRun(file: File): Promise<void> {
    if (!this.api) return;
    try {
      const bytes = new Uint8Array(await file.arrayBuffer());
      const record = await this.api.importRun(Comlink.transfer(bytes, [bytes.buffer]), file.name);
      await this.refreshRuns();
      await this.openRun(record.id);
    } catch (err) {
      this.store.setState({ error: `Could not import ${file.name}: ${message(err).replace(`${file.name}: `, '')}` });
    }
  }

  setConfig(update: (c: LabConfig) => LabConfig): void {
    const before = this.store.getState().config;
    const config = update(before);
    this.store.setState({ config, error: null });
    const query = configToQuery(config);
    history.replaceState(null, '', `${location.pathname}${query ? `?${query}` : ''}${location.hash}`);
    if (config.backend !== before.backend) void this.start();
    else if (dataKey(config) !== dataKey(before)) void this.loadData();
    else this.scheduleLive();
  }

  private liveTimer: ReturnType<typeof setTimeout> | null = null;
  private liveRunning = false;

  /**
   * The purification sliders (timestep, K) update the results by themselves: every stage before
   * them is cached, so a rerun costs the evaluation (and the defended attack, which follows).
   * Other settings only mark the view stale until Run.
   */
  private scheduleLive(): void {
    const s = this.store.getState();
    if (!s.view || !s.viewConfig || !isStale(s) || !onlyPurificationDiffers(s.viewConfig, s.config)) return;
    if (this.liveTimer) clearTimeout(this.liveTimer);
    this.liveTimer = setTimeout(() => {
      this.liveTimer = null;
      const now = this.store.getState();
      if (now.status === 'idle') void this.run(true);
      // A live rerun already going is for an older value: stop it; its end starts the new one.
      else if (now.status === 'running' && this.liveRunning) this.cancel();
    }, 400);
  }

  async setFolder(name: string, files: FolderFile[]): Promise<void> {
    if (!this.api) return;
    // A new folder supersedes a data set still loading; a training run is not interrupted.
    if (this.store.getState().status === 'running') {
      this.store.setState({ error: 'A run is in progress: cancel it or wait, then drop the folder again.' });
      return;
    }
    if (this.loading) {
      this.cancel();
      await this.loading;
    }
    this.folderFiles = { name, files };
    this.store.setState({ folder: { name, files: files.length }, summary: null, view: null, viewConfig: null, error: null });
    const id = await this.api.setFolder(name, files);
    this.loadedKey = null;
    this.setConfig((c) => ({ ...c, data: { ...c.data, dataset: id } }));
    if (this.store.getState().config.data.dataset === id && this.loadedKey === null) await this.loadData();
  }

  private watchdog: Watchdog | null = null;

  /** While the worker computes, checks that it is alive; a silent one is treated as crashed. */
  private watch(): void {
    this.unwatch();
    const api = this.api;
    if (!api) return;
    this.watchdog = new Watchdog({
      ping: () => api.memory(), pingAfterMs: PING_AFTER_MS, timeoutMs: PING_TIMEOUT_MS,
      onSilent: (why) => {
        if (this.api === api) this.crashed(why);
      },
    });
    this.watchdog.start();
  }

  private unwatch(): void {
    this.watchdog?.stop();
    this.watchdog = null;
  }

  private onProgress = (event: ProgressEvent): void => {
    this.watchdog?.alive();
    this.pending.push(event);
    if (this.flushScheduled) return;
    this.flushScheduled = true;
    const flush = () => {
      this.flushScheduled = false;
      const stages = { ...this.store.getState().stages };
      let current = this.store.getState().current;
      for (const e of this.pending) {
        stages[e.stage] = e;
        current = e.stage;
      }
      this.pending = [];
      this.store.setState({ stages, current });
    };
    // Progress can arrive thousands of times a second; the page redraws at most once a frame.
    if (typeof requestAnimationFrame === 'function') requestAnimationFrame(flush);
    else setTimeout(flush, 16);
  };

  loadData(): Promise<void> {
    if (this.loading) return this.loading;
    this.loading = this.loadOnce().finally(() => {
      this.loading = null;
    });
    return this.loading.then(() => {
      // The settings may have moved while that load ran.
      if (dataKey(this.store.getState().config) !== this.attemptedKey && this.store.getState().status === 'idle') return this.loadData();
    });
  }

  /** The data key of the last load tried, whatever its outcome: a failed or cancelled load is not retried by itself. */
  private attemptedKey: string | null = null;

  private async loadOnce(): Promise<void> {
    const { config, status } = this.store.getState();
    if (!this.api || status === 'running' || status === 'loading') return;
    const key = dataKey(config);
    if (key === this.loadedKey) return;
    if (this.cancelFlag) Atomics.store(this.cancelFlag, 0, 0);
    this.attemptedKey = key;
    this.store.setState({ status: 'loading', stages: {}, current: 'load', startedAt: performance.now(), error: null, notice: null });
    this.watch();
    try {
      const summary = await this.api.load(config, Comlink.proxy(this.onProgress));
      this.loadedKey = key;
      // Shown only if it is still the data on screen.
      if (dataKey(this.store.getState().config) === key) this.store.setState({ summary });
      this.store.setState({ status: 'idle' });
    } catch (err) {
      this.store.setState({ status: 'idle', summary: null, error: isAbort(err) ? null : message(err) });
    } finally {
      this.unwatch();
    }
  }

  /**
   * Runs the config on screen (or `resume`'s) and records it in the history. A live rerun (a
   * purification slider moved) updates the record of the run on screen rather than adding one.
   */
  async run(live = false, resume?: { config: LabConfig; runId: string }): Promise<void> {
    const state = this.store.getState();
    const config = resume?.config ?? state.config;
    if (!this.api || state.status !== 'idle') return;
    if (this.cancelFlag) Atomics.store(this.cancelFlag, 0, 0);
    const runId = resume?.runId ?? (live && state.viewRunId ? state.viewRunId : newRunId());
    this.liveRunning = live;
    this.activeRun = { config, runId, live };
    const keepNotice = resume ? state.notice : null;
    this.store.setState({ status: 'running', stages: {}, current: null, startedAt: performance.now(), error: null, notice: keepNotice });
    const api = this.api;
    const onClean = (view: LabView) => {
      if (this.api === api) this.store.setState({ view, viewConfig: config, viewRunId: runId, partial: true });
    };
    void this.refreshRunsSoon();
    this.watch();
    try {
      const view = await api.run(config, Comlink.proxy(this.onProgress), Comlink.proxy(onClean), runId);
      this.loadedKey = dataKey(config);
      // A stage whose last steps were skipped (attacks with no point left) is still finished.
      const stages = Object.fromEntries(Object.entries(this.store.getState().stages).map(([k, e]) => [k, { ...e, done: e.total, etaSeconds: 0 }]));
      this.store.setState({ view, viewConfig: config, viewRunId: runId, partial: false, status: 'idle', stages });
    } catch (err) {
      // The view stays as it is: complete from an earlier run, or the clean scenarios of this one.
      if (isAbort(err)) this.store.setState({ status: 'idle', notice: live ? null : 'Run cancelled. Finished stages are kept and will be reused.' });
      else this.store.setState({ status: 'idle', error: message(err) });
    } finally {
      if (this.api === api) this.unwatch();
      this.liveRunning = false;
      if (this.activeRun?.runId === runId) this.activeRun = null;
    }
    await this.refreshRuns();
    this.scheduleLive();
  }

  /** The new record shows in the history once the worker has written it. */
  private async refreshRunsSoon(): Promise<void> {
    await new Promise((r) => setTimeout(r, 300));
    await this.refreshRuns();
  }

  cancel(): void {
    const { status } = this.store.getState();
    if (status !== 'running' && status !== 'loading') return;
    if (this.cancelFlag) Atomics.store(this.cancelFlag, 0, 1);
    void this.api?.cancel();
    this.store.setState({ status: 'cancelling' });
  }

  exportReport(): void {
    const { view } = this.store.getState();
    if (!view) return;
    download(new Blob([reportToJson(view.report)], { type: 'application/json' }), 'report.json');
  }

  async exportModels(): Promise<void> {
    if (!this.api) return;
    try {
      // The models of the run on screen, which may be an earlier one opened from the history.
      for (const m of await this.api.exportModels(this.store.getState().viewRunId)) {
        download(new Blob([m.modelJson], { type: 'application/json' }), `${m.name}.json`);
        download(new Blob([m.weights], { type: 'application/octet-stream' }), m.weightsFile);
      }
    } catch (err) {
      this.store.setState({ error: message(err) });
    }
  }
}

export type { BackendName };
