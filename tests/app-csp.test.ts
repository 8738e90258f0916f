// The renderer, built with the app's own build config (electron.vite.config.ts), runs under the app's
// Content-Security-Policy without a single violation: served with the CSP header main sends, opened in
// Chromium (playwright-core), with a small stand-in window.dedup. Catches a CSP that breaks the UI, or
// a UI change that needs something the CSP forbids.
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { extname, join, normalize, sep } from 'node:path';
import { after, before, test } from 'node:test';
import { chromium, type Browser } from 'playwright-core';
import { build, type InlineConfig } from 'vite';
import appConfig from '../electron.vite.config.ts';
import { contentSecurityPolicy } from '../electron/main/policy.ts';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const MIME: Record<string, string> = { '.html': 'text/html', '.js': 'text/javascript', '.css': 'text/css', '.svg': 'image/svg+xml', '.woff2': 'font/woff2' };

// A stand-in API with one exact group, so the main screen shows thumbnails.
const STAND_IN = `
  const file = (name) => ({ path: '/p/' + name, folder: '/p', size: 10, mtimeMs: 1, format: 'jpeg', width: 10, height: 10, takenAt: null, contentHash: 'h' });
  const groups = { groups: [{ id: 'g', kind: 'exact', score: 1, files: [file('a.jpg'), file('b.jpg')] }], errors: [] };
  const settings = { nearCosine: 0.87, similarCosine: 0.8, phashMaxDistance: 10, rotationInvariant: true, executionProvider: 'auto', includeHidden: false, maxMegapixels: 200, language: 'en' };
  const ok = (value) => async () => value;
  globalThis.dedup = {
    folders: { list: ok([{ path: '/p', lastScanAt: null, fileCount: 2 }]), pick: ok([]), add: ok([]), remove: ok([]) },
    scan: { start: ok({ folders: [], total: 0, added: 0, changed: 0, moved: 0, removed: 0, unchanged: 0, errors: [], durationMs: 0, cancelled: false }), cancel: ok(undefined), onProgress: () => () => {} },
    groups: { list: ok(groups), onChanged: () => () => {}, notDuplicates: ok(undefined) },
    files: { remove: ok({ done: [], refused: [], actionId: null }), undo: ok({ restored: [], failed: [] }), canUndo: ok(false), open: ok(undefined), reveal: ok(undefined), pickDestination: ok(null),
      thumbnailUrl: (path, size) => 'dedup-thumb://local/' + size + '?path=' + encodeURIComponent(path), pathForFile: () => '' },
    query: { byPath: ok([]), pick: ok({ path: null, hits: [] }) },
    settings: { get: ok(settings), update: ok(settings), provider: ok({ requested: 'auto', active: 'cpu', attempts: [] }) },
  };
  globalThis.__violations = [];
  document.addEventListener('securitypolicyviolation', (e) => globalThis.__violations.push(e.violatedDirective + ' ' + e.blockedURI));
`;

let outDir: string;
let server: Server;
let baseUrl: string;
let browser: Browser | null = null;

before(async () => {
  if (!existsSync(CHROMIUM)) return;
  outDir = await mkdtemp(join(tmpdir(), 'app-csp-'));
  const renderer = (appConfig as { renderer: InlineConfig }).renderer;
  await build({ ...renderer, configFile: false, logLevel: 'silent', base: './', build: { ...renderer.build, outDir, emptyOutDir: true } });
  const csp = contentSecurityPolicy(null);
  server = createServer(async (request, response) => {
    const path = normalize(decodeURIComponent(new URL(request.url ?? '/', 'http://x').pathname));
    const file = join(outDir, path === sep ? 'index.html' : path);
    const body = file.startsWith(outDir + sep) ? await readFile(file).catch(() => null) : null;
    if (!body) return void response.writeHead(404).end();
    response.writeHead(200, { 'Content-Type': MIME[extname(file)] ?? 'application/octet-stream', 'Content-Security-Policy': csp }).end(body);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  assert.ok(address && typeof address === 'object');
  baseUrl = `http://127.0.0.1:${address.port}/`;
  browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--headless', '--no-sandbox', '--disable-gpu'] });
});

after(async () => {
  await browser?.close();
  server?.close();
  if (outDir) await rm(outDir, { recursive: true, force: true });
});

test('the built renderer runs under the app CSP without violations', { skip: !existsSync(CHROMIUM) && `no Chromium at ${CHROMIUM}` }, async () => {
  const page = await browser!.newPage();
  const errors: string[] = [];
  page.on('pageerror', (error) => errors.push(String(error)));
  await page.addInitScript({ content: STAND_IN });
  await page.goto(baseUrl);
  // The group is on screen, with its thumbnails pointing at the app's thumbnail scheme.
  await page.waitForSelector('img[src^="dedup-thumb://"]', { timeout: 15_000 });
  assert.equal(await page.locator('img[src^="dedup-thumb://"]').count(), 2);
  assert.deepEqual(await page.evaluate(() => (globalThis as unknown as { __violations: string[] }).__violations), []);
  assert.deepEqual(errors, []);
  // The check itself works: an inline script is a violation.
  await page.evaluate(`{
    const script = document.createElement('script');
    script.textContent = 'globalThis.__inlineRan = true';
    document.body.append(script);
  }`);
  await page.waitForFunction(() => (globalThis as unknown as { __violations: string[] }).__violations.length > 0);
  assert.equal(await page.evaluate(() => (globalThis as unknown as { __inlineRan?: boolean }).__inlineRan), undefined);
  await page.close();
});
