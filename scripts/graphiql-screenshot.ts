/**
 * Opens GraphiQL the way a person does: starts `npm start`'s server on a fresh embedded database, loads
 * /graphql in headless Chromium (Debian's `chromium`, driven by playwright-core), runs the pre-filled query with
 * the pre-filled demo token, checks the answer, and saves a screenshot to look at.
 *
 *   node --import tsx scripts/graphiql-screenshot.ts [out.png]
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { launchChromium } from './chromium.js';

const out = process.argv[2] ?? 'graphiql.png';
const port = 4321;
const dataDir = mkdtempSync(join(tmpdir(), 'tally-graphiql-'));
const server = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts'], {
  env: { ...process.env, PORT: String(port), PGLITE_DIR: join(dataDir, 'pglite'), DATABASE_URL: '', REDIS_URL: '', NODE_ENV: 'development' },
  stdio: ['ignore', 'pipe', 'inherit'],
});

try {
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('server did not start in 60 s')), 60_000);
    server.stdout.on('data', (chunk: Buffer) => {
      if (chunk.toString().includes('serving GraphiQL')) {
        clearTimeout(timer);
        resolve();
      }
    });
    server.on('exit', (code) => reject(new Error(`server exited with ${code}`)));
  });

  const browser = await launchChromium();
  try {
    const page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
    const external: string[] = [];
    page.on('request', (request) => {
      const url = request.url();
      // blob: and data: URLs are made in the page itself (GraphiQL's web workers), not fetched from anywhere.
      if (!url.startsWith(`http://localhost:${port}/`) && !/^(blob|data):/.test(url)) external.push(url);
    });
    await page.goto(`http://localhost:${port}/graphql`);
    await page.locator('.graphiql-execute-button').waitFor({ timeout: 30_000 });
    const answer = page.waitForResponse((response) => response.url().endsWith('/graphql') && response.request().method() === 'POST' && (response.request().postData() ?? '').includes('posts(first:5)'));
    await page.locator('.graphiql-execute-button').click();
    const body = (await (await answer).json()) as { data?: { viewer?: { username?: string }; posts?: { edges?: unknown[] } }; errors?: unknown };
    await page.waitForFunction(() => document.querySelector('.graphiql-response')?.textContent?.includes('"viewer"'), undefined, { timeout: 30_000 });
    await page.screenshot({ path: out });
    if (body.errors || body.data?.viewer?.username !== 'demo' || body.data.posts?.edges?.length !== 5) {
      throw new Error(`GraphiQL's answer lacks posts or the demo viewer: ${JSON.stringify(body).slice(0, 500)}`);
    }
    if (external.length > 0) throw new Error(`GraphiQL loaded from outside the server: ${external.join(', ')}`);
    console.log(`GraphiQL answered with posts and the demo viewer; screenshot: ${out}`);
  } finally {
    await browser.close();
  }
} finally {
  server.kill('SIGTERM');
  rmSync(dataDir, { recursive: true, force: true });
}
