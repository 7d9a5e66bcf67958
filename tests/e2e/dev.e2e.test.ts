/**
 * `npm start` is the README's way in: the Vite dev server (on-the-fly transforms, pre-bundled
 * dependencies, a module worker) must serve a lab that starts its engine, shows the embedded
 * data and completes a run — a production build passing says nothing about the dev path.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createServer, type ViteDevServer } from 'vite';
import type { Browser } from 'playwright-core';
import { launchChromium } from '../../src/cli/browser';

const SMALL = new URLSearchParams({
  'data.count': '120', 'data.imageSize': '32',
  'nmf.rank': '4', 'nmf.maxIter': '20', 'nmf.projectIter': '20', 'select.minSelected': '2',
  'classifier.epochs': '20', 'imageCnn.enabled': 'false',
  'diffusion.epochs': '5', 'diffusion.hidden': '16', 'diffusion.eot': '2', 'diffusion.reverseSteps': '1',
  'attack.enabled': 'false',
}).toString();

describe('npm start (the Vite dev server)', () => {
  let server: ViteDevServer;
  let browser: Browser;
  const pageErrors: string[] = [];

  beforeAll(async () => {
    server = await createServer({ logLevel: 'warn', server: { port: 0, host: '127.0.0.1', strictPort: false } });
    await server.listen();
    browser = await launchChromium();
  }, 120_000);

  afterAll(async () => {
    await browser?.close();
    await server?.close();
  });

  it('serves the lab, which loads mri-demo and completes a run', async () => {
    const page = await browser.newPage();
    page.on('pageerror', (e) => pageErrors.push(e.message));
    await page.goto(`${server.resolvedUrls!.local[0]}?${SMALL}`);
    await expect.poll(() => page.getByTestId('backend-badge').textContent(), { timeout: 120_000 }).toBe('WASM');
    await expect.poll(() => page.getByTestId('data-summary').textContent().catch(() => ''), { timeout: 120_000 }).toMatch(/tumor/);
    await page.getByTestId('run-button').click();
    await page.getByTestId('results').waitFor({ timeout: 300_000 });
    expect(await page.getByTestId('basis-image').count()).toBe(4);
    expect(await page.getByTestId('scenario-row-cleanDefended').textContent()).toMatch(/\d\.\d{3}/);
    expect(pageErrors).toEqual([]);
  }, 480_000);
});
