/**
 * Browser harness (end-to-end tests, `npm run screenshot`, `npm run bench`): builds the app once, serves it with `vite preview` (the production headers:
 * cross-origin isolation, CSP) and drives Debian's Chromium through playwright-core. Never a
 * downloaded browser: CI installs /usr/bin/chromium with apt-get.
 */
import { existsSync } from 'node:fs';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { build, preview, type PreviewServer } from 'vite';
import { chromium, type Browser } from 'playwright-core';

export const CHROMIUM = process.env.LAB_CHROMIUM ?? '/usr/bin/chromium';

const FLAGS = [
  '--headless=new', '--no-sandbox', '--disable-background-networking', '--disable-component-update', '--disable-sync',
  '--disable-quic', '--no-first-run',
  // Chromium's software WebGPU adapter (SwiftShader): real WebGPU code paths on a machine without a GPU.
  '--enable-unsafe-webgpu',
];

export interface Served {
  url: string;
  close(): Promise<void>;
}

export async function buildAndServe(): Promise<Served> {
  const outDir = await mkdtemp(join(tmpdir(), 'lab-e2e-dist-'));
  await build({ logLevel: 'warn', build: { outDir, emptyOutDir: true } });
  const server: PreviewServer = await preview({ logLevel: 'warn', build: { outDir }, preview: { port: 0, host: '127.0.0.1', strictPort: false } });
  const url = server.resolvedUrls?.local[0];
  if (!url) throw new Error('vite preview did not report a URL');
  return { url, close: () => new Promise<void>((resolve) => server.httpServer.close(() => resolve())) };
}

export async function launchChromium(): Promise<Browser> {
  if (!existsSync(CHROMIUM)) {
    throw new Error(`${CHROMIUM} not found: the browser tests need Debian's chromium (apt-get install chromium; .ci/run installs it)`);
  }
  return chromium.launch({ executablePath: CHROMIUM, headless: true, args: FLAGS });
}
