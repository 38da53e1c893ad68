/**
 * Opens a load-test report the way a person does: loadtest/reports/<scenario>.html in headless Chromium, checks
 * that its tables and charts drew and that it fetched nothing from anywhere, and saves a full-page screenshot.
 *
 *   node --import tsx scripts/report-screenshot.ts <scenario> [out.png]
 */
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { launchChromium } from './chromium.js';

const scenario = process.argv[2];
if (!scenario) throw new Error('usage: scripts/report-screenshot.ts <feed|deep-page|seed-challenge> [out.png]');
const file = resolve('loadtest/reports', `${scenario}.html`);
if (!existsSync(file)) throw new Error(`${file} does not exist: run npm run loadtest -- ${scenario} first`);
const out = process.argv[3] ?? `${scenario}-report.png`;

const browser = await launchChromium();
try {
  const page = await browser.newPage({ viewport: { width: 1200, height: 900 } });
  const external: string[] = [];
  page.on('request', (request) => {
    if (!request.url().startsWith('file://')) external.push(request.url());
  });
  await page.goto(pathToFileURL(file).href);
  const charts = await page.locator('svg').count();
  const rows = await page.locator('table tr').count();
  await page.screenshot({ path: out, fullPage: true });
  if (charts < 3 || rows < 2) throw new Error(`the report drew ${charts} charts and ${rows} table rows`);
  if (external.length > 0) throw new Error(`the report fetched from outside: ${external.join(', ')}`);
  console.log(`${scenario} report: ${charts} charts, ${rows} table rows, nothing fetched from outside; screenshot: ${out}`);
} finally {
  await browser.close();
}
