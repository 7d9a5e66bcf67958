/**
 * The built lab in headless Chromium on WebGPU (software adapter): drop a generated two-class
 * folder through the folder input, run with small settings, and read the basis images, the
 * rankings, the four-scenario chart and a per-image trace off the page.
 */
import { spawnSync } from 'node:child_process';
import { copyFile, mkdir, mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Page } from 'playwright-core';
import type { Served } from '../../src/cli/browser';
import { createRandom } from '../../src/core/random';
import type { LabReport } from '../../src/core/pipeline/report';
import { e2eSettings, startLab, type LabSession } from './settings';
import { pngHeader } from '../unit/data/craft';

const SIDE = 32;
const PER_CLASS = 40;

/** Two classes of 32×32 "scans": a noisy disc, and the same with a bright lesion somewhere in it
 * (under a non-ASCII class name); plus files the page must skip, each for its own reason. */
async function writeScans(root: string): Promise<void> {
  const rng = createRandom(11, 'e2e/scans');
  for (const cls of ['normal', 'läsion']) {
    await mkdir(join(root, cls), { recursive: true });
    for (let i = 0; i < PER_CLASS; i++) {
      const px = Buffer.alloc(SIDE * SIDE);
      const lx = 10 + rng.next() * 12;
      const ly = 10 + rng.next() * 12;
      for (let y = 0; y < SIDE; y++) {
        for (let x = 0; x < SIDE; x++) {
          const head = Math.hypot(x - 15.5, y - 15.5) < 13 ? 110 : 10;
          const lesion = cls !== 'normal' && Math.hypot(x - lx, y - ly) < 4 ? 120 : 0;
          px[y * SIDE + x] = Math.max(0, Math.min(255, head + lesion + (rng.next() - 0.5) * 40));
        }
      }
      await sharp(px, { raw: { width: SIDE, height: SIDE, channels: 1 } }).png().toFile(join(root, cls, `scan_${i}.png`));
    }
  }
  await writeFile(join(root, 'läsion', 'notes.txt'), 'not an image');
  await copyFile(join(root, 'normal', 'scan_1.png'), join(root, 'normal', '扫描 copy.png'));
  await writeFile(join(root, 'normal', 'bomb.png'), pngHeader(100_000, 100_000));
  await writeFile(join(root, 'normal', 'broken.png'), Buffer.from([0x89, 0x50, 0x4e, 0x47, 1, 2, 3, 4, 5, 6, 7, 8]));
}

/** Small but complete: every stage runs, each in seconds on a software adapter. */
const SMALL = e2eSettings({ backend: 'webgpu' });

describe('the lab in Chromium on WebGPU', () => {
  let lab: LabSession;
  let served: Served;
  let page: Page;
  let scans: string;

  beforeAll(async () => {
    scans = join(await mkdtemp(join(tmpdir(), 'lab-e2e-')), 'scans');
    await writeScans(scans);
    lab = await startLab();
    ({ served, page } = lab);
  }, 300_000);

  afterAll(async () => {
    await lab?.close();
  });

  it('starts the engine on WebGPU and names the adapter', async () => {
    await page.goto(`${served.url}?${SMALL}`);
    const badge = page.getByTestId('backend-badge');
    await expect.poll(() => badge.textContent(), { timeout: 60_000 }).toBe('WEBGPU');
    expect(await page.getByTestId('backend-adapter').textContent()).toMatch(/\S/);
  }, 90_000);

  it("'auto' prefers WASM to Chromium's software WebGPU adapter, and says why", async () => {
    const other = await lab.context.newPage();
    try {
      await other.goto(`${served.url}?data.count=40`);
      const badge = other.getByTestId('backend-badge');
      await expect.poll(() => badge.textContent(), { timeout: 60_000 }).toBe('WASM');
      expect(await badge.getAttribute('title')).toMatch(/WebGPU adapter is software \(.*swiftshader.*\), slower than WASM/i);
    } finally {
      await other.close();
    }
  }, 90_000);

  it('decodes a dropped folder in the page and lists what it skipped', async () => {
    await page.getByTestId('folder-input').setInputFiles(scans);
    const summary = page.getByTestId('data-summary');
    await expect.poll(() => summary.textContent().catch(() => ''), { timeout: 60_000 }).toMatch(/läsion/);
    const rows = await summary.locator('tbody tr').evaluateAll((trs) =>
      trs.map((tr) => Array.from((tr as HTMLTableRowElement).cells, (c) => c.textContent ?? '')));
    expect(rows.map((r) => r[0])).toEqual(['läsion', 'normal']);
    for (const [, train, val, test] of rows) {
      expect(Number(train) + Number(val) + Number(test)).toBe(PER_CLASS);
      expect(Number(train)).toBeGreaterThan(Number(test));
      expect(Number(test)).toBeGreaterThan(0);
    }
    const skipped = await page.getByTestId('skipped-files').textContent();
    expect(skipped).toMatch(/läsion\/notes\.txt: not an image/);
    expect(skipped).toMatch(/normal\/扫描 copy\.png: duplicate of normal\/scan_1\.png/);
    expect(skipped).toMatch(/normal\/bomb\.png: too large: 100000×100000 pixels/);
    expect(skipped).toMatch(/normal\/broken\.png: corrupt PNG/);
    expect(await page.getByTestId('sample-image').count()).toBeGreaterThanOrEqual(4);
    expect(page.url()).toContain('data.dataset=folder%3Ascans');
  }, 90_000);

  it('cancels a run mid-way and leaves the page ready for the next', async () => {
    await page.getByTestId('run-button').click();
    // On the software adapter every stage takes seconds: the cancel lands inside the run.
    await expect.poll(async () => (await page.getByTestId('progress').textContent().catch(() => '')) ?? '', { timeout: 60_000, interval: 100 }).toMatch(/project|select|features|denoiser/);
    await page.getByRole('button', { name: 'Cancel' }).first().click({ timeout: 10_000 });
    await expect.poll(() => page.getByTestId('run-button').isEnabled(), { timeout: 120_000 }).toBe(true);
    expect(await page.getByText('Run cancelled').count()).toBe(1);
    expect(await page.getByTestId('error').count()).toBe(0);
    expect(await page.getByTestId('results').count()).toBe(0);
  }, 180_000);

  it('runs every stage and shows basis images, rankings, the four scenarios and traces', async () => {
    await page.getByTestId('run-button').click();
    await page.getByTestId('results').waitFor({ timeout: 480_000 });
    expect(await page.getByTestId('basis-image').count()).toBe(4);
    const rankings = page.getByTestId('rankings');
    expect(await rankings.locator('.recharts-bar-rectangle').count()).toBeGreaterThanOrEqual(4);
    const chart = page.getByTestId('scenario-chart');
    for (const s of ['cleanBaseline', 'cleanDefended', 'robustBaseline', 'robustDefended']) {
      const row = await chart.getByTestId(`scenario-row-${s}`).textContent();
      expect(row).toMatch(/\d\.\d{3}/);
    }
    expect(await chart.textContent()).toMatch(/feature/);
    // The lesion is plain to see: the NNMF features must separate the classes on 4 + 4 test images.
    const accuracy = await chart.getByTestId('scenario-row-cleanBaseline').locator('td').evaluateAll((tds) => tds.map((td) => td.textContent ?? ''));
    expect(Number(accuracy.find((t) => /^\d\.\d{3}$/.test(t)))).toBeGreaterThanOrEqual(0.75);
    // A metric of 0 (robust accuracy often is) draws no bar, so count loosely.
    expect(await chart.locator('.recharts-bar-rectangle').count()).toBeGreaterThanOrEqual(4 * 4);
    const traces = page.getByTestId('trace-panel');
    expect(await traces.getByTestId('trace-item').count()).toBe(6);
    await traces.getByTestId('trace-item').first().click();
    expect(await traces.locator('canvas').count()).toBeGreaterThanOrEqual(2);
    expect(await page.getByTestId('backend-badge').textContent()).toBe('WEBGPU');
    // LAB_E2E_SHOTS=DIR keeps a full-page screenshot to look at.
    if (process.env.LAB_E2E_SHOTS) await page.screenshot({ path: join(process.env.LAB_E2E_SHOTS, 'lab-after-run.png'), fullPage: true });
  }, 600_000);

  /** The report the page offers for download, parsed. */
  async function pageReport(): Promise<LabReport> {
    const [download] = await Promise.all([page.waitForEvent('download'), page.getByTestId('export-report').click()]);
    return JSON.parse(await readFile((await download.path())!, 'utf8')) as LabReport;
  }

  async function runAndWait(): Promise<void> {
    await page.getByTestId('run-button').click();
    await expect.poll(() => page.getByTestId('run-button').isDisabled(), { timeout: 10_000, interval: 50 }).toBe(true);
    await expect.poll(() => page.getByTestId('run-button').isEnabled(), { timeout: 480_000, interval: 500 }).toBe(true);
    expect(await page.getByTestId('error').count()).toBe(0);
  }

  it('computes on WASM in the page exactly what the command line computes from the exported report', async () => {
    await page.getByLabel('Backend').selectOption('wasm');
    await expect.poll(() => page.getByTestId('backend-badge').textContent(), { timeout: 60_000 }).toBe('WASM');
    // The restarted engine gets the folder again and shows it without a new drop.
    await expect.poll(() => page.getByTestId('data-summary').textContent().catch(() => ''), { timeout: 60_000 }).toMatch(/läsion/);
    await expect.poll(() => page.getByTestId('stale-marker').count()).toBe(1);
    await runAndWait();
    const inPage = await pageReport();
    expect(inPage.backend.name).toBe('wasm');

    const out = await mkdtemp(join(tmpdir(), 'lab-e2e-cli-'));
    const reportFile = join(out, 'page-report.json');
    await writeFile(reportFile, JSON.stringify(inPage));
    const cli = spawnSync(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', 'run', '--config', reportFile, '--dataset', scans, '--backend', 'wasm', '--out', out, '--quiet'],
      { encoding: 'utf8', timeout: 300_000 });
    expect(cli.status, cli.stderr).toBe(0);
    const inNode = JSON.parse(await readFile(join(out, 'report.json'), 'utf8')) as LabReport;

    expect(inNode.dataset.counts).toEqual(inPage.dataset.counts);
    expect(inNode.dataset.skipped.map((f) => f.file)).toEqual(inPage.dataset.skipped.map((f) => f.file));
    expect(inNode.nmf.iterations).toBe(inPage.nmf.iterations);
    expect(inNode.nmf.loss.at(-1)!).toBeCloseTo(inPage.nmf.loss.at(-1)!, 1);
    expect(Math.abs(inNode.nmf.loss.at(-1)! / inPage.nmf.loss.at(-1)! - 1)).toBeLessThan(1e-3);
    expect(inNode.selection.selected).toEqual(inPage.selection.selected);
    inNode.selection.components.forEach((c, k) => expect(Math.abs(c.auc - inPage.selection.components[k].auc)).toBeLessThan(1e-3));
    expect(Object.keys(inNode.scenarios).sort()).toEqual(Object.keys(inPage.scenarios).sort());
    for (const [name, s] of Object.entries(inNode.scenarios)) {
      for (const [metric, v] of Object.entries(s.metrics)) {
        const w = inPage.scenarios[name].metrics[metric as keyof typeof s.metrics];
        if (v === null || w === null) expect(w).toBe(v);
        else expect(Math.abs(v - w), `${name}.${metric}: CLI ${v}, page ${w}`).toBeLessThan(1e-3);
      }
    }
  }, 600_000);

  it('moves the timestep and updates the results by itself, recomputing only the purification stages', async () => {
    await page.getByTestId('timestep-slider').fill('20');
    // The slider says what t means under the schedule: √(1−ᾱ_20) of T = 3000's linear β.
    expect(await page.locator('label.slider', { has: page.getByTestId('timestep-slider') }).textContent())
      .toContain('of T = 3000, noise √(1−ᾱ) = 0.059');
    // No Run press: the purification sliders rerun on their own (every earlier stage is cached).
    await expect.poll(() => page.getByTestId('run-button').isDisabled(), { timeout: 10_000, interval: 50 }).toBe(true);
    await expect.poll(() => page.getByTestId('run-button').isEnabled(), { timeout: 300_000, interval: 500 }).toBe(true);
    expect(await page.getByTestId('stale-marker').count()).toBe(0);
    const r = await pageReport();
    expect(r.config.diffusion.timestep).toBe(20);
    expect(r.scenarios.cleanDefended.timestep).toBe(20);
    expect(r.reused).toEqual(expect.arrayContaining(['load', 'nmf', 'project', 'select', 'features', 'denoiser', 'classify', 'attackBaseline']));
    expect(r.reused).not.toContain('evaluate');
    expect(r.reused).not.toContain('attackDefended');
    expect(await page.getByTestId('timing-row-nmf').textContent()).toMatch(/reused/i);
    // Any other setting only marks the view stale until Run.
    await page.getByTestId('rank-slider').fill('5');
    await expect.poll(() => page.getByTestId('stale-marker').count()).toBe(1);
    await page.waitForTimeout(1000);
    expect(await page.getByTestId('run-button').isEnabled()).toBe(true);
  }, 600_000);

  it('sent nothing anywhere but its own origin, broke no Content-Security-Policy rule, and threw nothing', () => {
    expect(lab.offOrigin).toEqual([]);
    expect(lab.cspViolations).toEqual([]);
    expect(lab.pageErrors).toEqual([]);
  });
});
