/**
 * Nothing lost: runs are kept in IndexedDB and survive a reload, export to one file and import back
 * to the same results, a reload mid-run leaves a run to resume from its finished stages, and a
 * crashed worker or a lost WebGPU device is restarted and the run resumed. Faults are injected
 * through the worker's `labFaults` hook (workers/lab.worker.ts).
 */
import { readFile } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Page } from 'playwright-core';
import type { Served } from '../../src/cli/browser';
import type { LabReport } from '../../src/core/pipeline/report';
import { e2eSettings, startLab, type LabSession } from './settings';

/** A few seconds per run on WASM; the classifier and denoiser train long enough to be caught mid-run. */
const tiny = (backend: string, seed: number, epochs = { classifier: 400, diffusion: 300 }) => e2eSettings({
  backend, seed: String(seed), 'data.count': '80',
  'classifier.epochs': String(epochs.classifier), 'classifier.patience': String(epochs.classifier),
  'diffusion.epochs': String(epochs.diffusion),
});

describe('runs are kept, and survive reloads, crashes and a lost GPU', () => {
  let lab: LabSession;
  let served: Served;
  let page: Page;

  beforeAll(async () => {
    lab = await startLab();
    ({ served, page } = lab);
  }, 300_000);

  afterAll(async () => {
    await lab?.close();
  });

  async function open(query: string, p = page): Promise<void> {
    await p.goto(`${served.url}?${query}`);
    await expect.poll(() => p.getByTestId('backend-badge').textContent(), { timeout: 90_000 }).toMatch(/WASM|WEBGPU/);
  }

  async function waitIdle(p = page, timeout = 300_000): Promise<void> {
    await expect.poll(() => p.getByTestId('run-button').isEnabled(), { timeout, interval: 250 }).toBe(true);
  }

  async function report(p = page): Promise<LabReport> {
    const [download] = await Promise.all([p.waitForEvent('download'), p.getByTestId('export-report').click()]);
    return JSON.parse(await readFile((await download.path())!, 'utf8')) as LabReport;
  }

  /** The figures a user reads: every scenario's metrics, and the selected components. */
  const figures = (r: LabReport) => ({ scenarios: Object.fromEntries(Object.entries(r.scenarios).map(([k, s]) => [k, s.metrics])), selected: r.selection.selected });

  const rows = (p = page) => p.getByTestId('run-row');
  const statuses = (p = page) => rows(p).evaluateAll((els) => els.map((e) => e.getAttribute('data-status')));

  /** Waits until the run has finished `stage` (the progress panel lists it) and a later one is going. */
  async function waitForStage(stage: RegExp, p = page): Promise<void> {
    await expect.poll(async () => (await p.getByTestId('progress').textContent().catch(() => '')) ?? '', { timeout: 120_000, interval: 50 }).toMatch(stage);
  }

  function labWorker(p = page) {
    const w = p.workers().find((x) => x.url().includes('lab.worker'));
    if (!w) throw new Error('no lab worker in the page');
    return w;
  }

  let first: LabReport;

  it('keeps a finished run in the history, across a reload, and shows it again as it was', async () => {
    await open(tiny('wasm', 1));
    await page.getByTestId('run-button').click();
    await page.getByTestId('results').waitFor({ timeout: 300_000 });
    await waitIdle();
    first = await report();
    await expect.poll(() => statuses()).toEqual(['complete']);

    await page.reload();
    await expect.poll(() => statuses(), { timeout: 90_000 }).toEqual(['complete']);
    expect(await page.getByTestId('results').count()).toBe(0);
    await page.getByTestId('run-show').click();
    await page.getByTestId('results').waitFor();
    expect(figures(await report())).toEqual(figures(first));
  }, 600_000);

  it('exports a run to one file and imports it back with identical results; refuses a crafted file', async () => {
    const [download] = await Promise.all([page.waitForEvent('download'), page.getByTestId('run-export').click()]);
    expect(download.suggestedFilename()).toMatch(/\.nnmf-run\.zip$/);
    const file = (await download.path())!;
    await page.getByTestId('run-delete').click();
    await expect.poll(() => rows().count()).toBe(0);

    await page.getByTestId('run-import').setInputFiles({ name: 'tampered.nnmf-run.zip', mimeType: 'application/zip', buffer: Buffer.from('PK\x03\x04 not really a zip') });
    await expect.poll(() => page.getByTestId('error').textContent().catch(() => '')).toMatch(/Could not import tampered\.nnmf-run\.zip: not a readable zip archive/);
    expect(await rows().count()).toBe(0);

    await page.getByTestId('run-import').setInputFiles(file);
    await expect.poll(() => statuses()).toEqual(['complete']);
    await page.getByTestId('results').waitFor();
    expect(figures(await report())).toEqual(figures(first));

    // The models offered are the imported run's own, kept with it.
    const names: string[] = [];
    page.on('download', (d) => names.push(d.suggestedFilename()));
    await page.getByTestId('export-models').click();
    await expect.poll(() => names.length).toBe(4);
    expect(names.sort()).toEqual(['classifier.json', 'classifier.weights.bin', 'denoiser.json', 'denoiser.weights.bin']);
  }, 300_000);

  it('a reload mid-run leaves an interrupted run that resumes from its finished stages', async () => {
    await open(tiny('wasm', 2));
    await page.getByTestId('run-button').click();
    await waitForStage(/classif|denois/i);
    await page.reload();
    const banner = page.getByTestId('interrupted-run');
    await banner.waitFor({ timeout: 90_000 });
    expect(await banner.textContent()).toMatch(/interrupted after/);
    await page.getByTestId('resume-interrupted').click();
    await page.getByTestId('results').waitFor({ timeout: 300_000 });
    await waitIdle();
    const r = await report();
    expect(r.config.seed).toBe(2);
    expect(r.reused).toEqual(expect.arrayContaining(['nmf', 'project', 'select', 'features']));
    expect(await statuses()).toEqual(['complete', 'complete']);
    expect(await page.getByTestId('interrupted-run').count()).toBe(0);
  }, 600_000);

  it('restarts a crashed worker and resumes the run from its finished stages', async () => {
    await open(tiny('wasm', 3));
    await page.getByTestId('run-button').click();
    await waitForStage(/classif|denois/i);
    const crashed = labWorker();
    await crashed.evaluate(() => (self as unknown as { labFaults: { crash(): void } }).labFaults.crash());
    await expect.poll(() => page.getByRole('status').allTextContents(), { timeout: 30_000 }).toContainEqual(expect.stringMatching(/engine stopped \(.*injected worker crash\)/));
    await page.getByTestId('results').waitFor({ timeout: 300_000 });
    await waitIdle();
    expect(page.workers().some((w) => w === crashed)).toBe(false);
    const r = await report();
    expect(r.config.seed).toBe(3);
    expect(r.reused).toEqual(expect.arrayContaining(['nmf', 'project', 'select', 'features']));
    expect(await page.getByTestId('error').count()).toBe(0);
  }, 600_000);

  it('restarts a worker that stopped answering and resumes the run', async () => {
    await open(tiny('wasm', 5));
    await page.getByTestId('run-button').click();
    await waitForStage(/classif|denois/i);
    // The worker closes itself: no error event, only silence, which the page's watchdog notices.
    await labWorker().evaluate(() => (self as unknown as { labFaults: { hang(): void } }).labFaults.hang()).catch(() => undefined);
    await expect.poll(() => page.getByRole('status').allTextContents(), { timeout: 90_000 }).toContainEqual(expect.stringMatching(/engine stopped \(the worker stopped responding/));
    await page.getByTestId('results').waitFor({ timeout: 300_000 });
    await waitIdle();
    const r = await report();
    expect(r.config.seed).toBe(5);
    expect(r.reused).toEqual(expect.arrayContaining(['nmf', 'project', 'select', 'features']));
  }, 600_000);

  it('a lost WebGPU device restarts the engine and the run completes', async () => {
    // Every kernel is slow on the software adapter: few epochs, and the device goes once NNMF is done.
    await open(tiny('webgpu', 4, { classifier: 20, diffusion: 10 }));
    expect(await page.getByTestId('backend-badge').textContent()).toBe('WEBGPU');
    await page.getByTestId('run-button').click();
    await waitForStage(/project|select|features/i);
    await labWorker().evaluate(() => (self as unknown as { labFaults: { loseDevice(): void } }).labFaults.loseDevice());
    await expect.poll(() => page.getByRole('status').allTextContents(), { timeout: 60_000 }).toContainEqual(expect.stringMatching(/WebGPU device lost \(destroyed/));
    await page.getByTestId('results').waitFor({ timeout: 480_000 });
    await waitIdle(page, 480_000);
    const r = await report();
    expect(r.config.seed).toBe(4);
    // SwiftShader's adapter comes back, so the run resumes on WebGPU from its stored stages.
    expect(r.backend.name).toBe('webgpu');
    expect(r.reused).toEqual(expect.arrayContaining(['nmf']));
  }, 900_000);

  it('holds tensor count and GPU memory flat across 20 consecutive runs on WebGPU', async () => {
    type Memory = { numTensors: number; numBytes: number; numBytesInGPU?: number };
    const memory = () => labWorker().evaluate(() => (self as unknown as { labProbe: { memory(): Memory } }).labProbe.memory());
    const seen: Memory[] = [];
    for (let k = 0; k < 20; k++) {
      // Each rerun recomputes the evaluation and the defended attack; the cache frees the old ones.
      await page.getByTestId('timestep-slider').fill(k % 2 === 0 ? '30' : '60');
      await expect.poll(() => page.getByTestId('run-button').isDisabled(), { timeout: 10_000, interval: 50 }).toBe(true);
      await waitIdle(page, 300_000);
      seen.push(await memory());
    }
    expect(await page.getByTestId('error').count()).toBe(0);
    expect(seen[0].numBytesInGPU).toBeGreaterThan(0);
    for (const m of seen.slice(2)) {
      expect(m.numTensors).toBe(seen[1].numTensors);
      expect(m.numBytes).toBe(seen[1].numBytes);
      expect(m.numBytesInGPU).toBe(seen[1].numBytesInGPU);
    }
  }, 900_000);

  it('sent nothing anywhere but its own origin, broke no Content-Security-Policy rule, and threw nothing in the page', async () => {
    expect(lab.offOrigin).toEqual([]);
    expect(lab.pageErrors).toEqual([]);
    const policy = await page.locator('meta[http-equiv="Content-Security-Policy"]').getAttribute('content');
    expect(policy).toMatch(/default-src 'self'/);
    expect(policy).toMatch(/connect-src 'self'/);
    expect(lab.cspViolations).toEqual([]);
  });
});
