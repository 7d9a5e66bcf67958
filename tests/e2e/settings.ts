import type { Browser, BrowserContext, Page } from 'playwright-core';
import { buildAndServe, launchChromium, type Served } from '../../src/cli/browser';

/** Small but complete settings for the browser tests: every stage runs, each in seconds. */
export function e2eSettings(overrides: Record<string, string> = {}): string {
  return new URLSearchParams({
    'data.imageSize': '32',
    'nmf.rank': '4', 'nmf.maxIter': '30', 'nmf.projectIter': '30',
    'select.minSelected': '2',
    'classifier.epochs': '150', 'classifier.patience': '150', 'classifier.filters': '4,4', 'classifier.dense': '8',
    'imageCnn.enabled': 'false',
    'diffusion.epochs': '10', 'diffusion.hidden': '16', 'diffusion.eot': '2', 'diffusion.reverseSteps': '1',
    'attack.limit': '6', 'attack.iterations': '4', 'attack.queries': '10', 'attack.eot': '1',
    'attack.adaptive.steps': '3', 'attack.adaptive.eot': '1',
    ...overrides,
  }).toString();
}

/** The built lab served, and Chromium on it, watching what a page must never do: a request that
 * leaves the origin, a Content-Security-Policy violation, an uncaught error. */
export interface LabSession {
  served: Served;
  browser: Browser;
  context: BrowserContext;
  page: Page;
  offOrigin: string[];
  cspViolations: string[];
  pageErrors: string[];
  close(): Promise<void>;
}

export async function startLab(): Promise<LabSession> {
  const served = await buildAndServe();
  const browser = await launchChromium();
  const context = await browser.newContext({ acceptDownloads: true });
  const session: LabSession = {
    served, browser, context, page: null as unknown as Page, offOrigin: [], cspViolations: [], pageErrors: [],
    close: async () => {
      await browser.close();
      await served.close();
    },
  };
  const origin = new URL(served.url).origin;
  context.on('request', (r) => {
    const u = r.url();
    if (!u.startsWith(origin) && !u.startsWith('data:') && !u.startsWith('blob:')) session.offOrigin.push(u);
  });
  await context.exposeFunction('reportCspViolation', (v: string) => session.cspViolations.push(v));
  await context.addInitScript(() => {
    const report = (window as unknown as { reportCspViolation(v: string): void }).reportCspViolation;
    document.addEventListener('securitypolicyviolation', (e) => report(`${e.violatedDirective} ${e.blockedURI}`));
  });
  session.page = await context.newPage();
  session.page.on('pageerror', (e) => session.pageErrors.push(e.message));
  return session;
}
