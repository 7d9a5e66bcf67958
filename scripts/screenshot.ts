/**
 * docs/lab-main-view.png: the built lab in headless Chromium, a default run on mri-demo without
 * touching a setting (the README's claim), then a screenshot of the main view. Prints the run's
 * headline numbers and stage timings. Usage: npm run screenshot [-- --query 'attack.limit=40']
 */
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { buildAndServe, launchChromium } from '../src/cli/browser';
import type { LabReport } from '../src/core/pipeline/report';

const { values } = parseArgs({ options: { query: { type: 'string' }, out: { type: 'string' }, minutes: { type: 'string' } } });
const out = values.out ?? 'docs/lab-main-view.png';
const served = await buildAndServe();
const browser = await launchChromium();
try {
  const page = await browser.newPage({ viewport: { width: 1440, height: 1100 } });
  page.on('pageerror', (e) => console.error('page error:', e.message));
  await page.goto(`${served.url}${values.query ? `?${values.query}` : ''}`);
  await page.getByTestId('data-summary').waitFor({ timeout: 120_000 });
  console.error('backend:', await page.getByTestId('backend-badge').textContent(), '·', await page.getByTestId('backend-badge').getAttribute('title'));
  const t0 = Date.now();
  await page.getByTestId('run-button').click();
  await page.getByTestId('results').waitFor({ timeout: Number(values.minutes ?? 25) * 60_000 });
  console.error(`run finished in ${((Date.now() - t0) / 1000).toFixed(0)} s`);
  const [download] = await Promise.all([page.waitForEvent('download'), page.getByTestId('export-report').click()]);
  const report = JSON.parse(await readFile((await download.path())!, 'utf8')) as LabReport;
  for (const [name, s] of Object.entries(report.scenarios)) console.log(name, s.metrics.accuracy.toFixed(3), s.robustAccuracy !== undefined ? `robust ${s.robustAccuracy.toFixed(3)}` : '');
  console.log('timings', JSON.stringify(Object.fromEntries(Object.entries(report.timings).map(([k, v]) => [k, Number(v!.toFixed(1))]))));
  await page.evaluate(() => window.scrollTo(0, 0));
  await mkdir('docs', { recursive: true });
  await writeFile(out, await page.screenshot({ fullPage: false }));
  console.error(`wrote ${out}`);
} finally {
  await browser.close();
  await served.close();
}
