// Browser tests of the renderer without Electron: the renderer is built with vite, served over http on
// 127.0.0.1, opened in Chromium (playwright-core), and given a `window.dedup` installed before the
// page's scripts run. Every call of that object goes through a playwright binding to a Node-side
// "backend": normally the REAL engine (openEngine) with a real folder-based trash (DeleteJournal +
// FolderTrash), doing what the Electron main process does. Events (scan progress, groups changed) are
// pushed back into the page.
//
// In the browser the `dedup-thumb:` scheme does not exist, so thumbnailUrl() returns
// `/thumb?size=..&path=..` on the test server, which makes thumbnails with sharp of catalogued files
// only (like the app's protocol handler). pathForFile() maps a dropped File to `<dropRoot>/<name>`.
import { createServer, type Server } from 'node:http';
import { readFile, stat } from 'node:fs/promises';
import { extname, join, normalize, resolve } from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import sharp from 'sharp';
import { build } from 'vite';
import type { AppSettings, DedupApi, FolderInfo, Language, ScanProgress } from '../../electron/shared/api.ts';
import type { Engine } from '../../electron/engine/types.ts';
import { DeleteJournal, FolderTrash } from '../../electron/engine/trash.ts';

const REPO_ROOT = resolve(import.meta.dirname, '..', '..');

// ---------------------------------------------------------------------------------------------
// The backend: every asynchronous method of DedupApi, by "namespace.method" name.

type SyncOrEvent = 'scan.onProgress' | 'groups.onChanged' | 'files.thumbnailUrl' | 'files.pathForFile';
type MethodName = { [N in keyof DedupApi]: `${N}.${Extract<keyof DedupApi[N], string>}` }[keyof DedupApi];
export type BackendMethod = Exclude<MethodName, SyncOrEvent>;
type MethodOf<M> = M extends `${infer N}.${infer F}`
  ? N extends keyof DedupApi
    ? F extends keyof DedupApi[N]
      ? DedupApi[N][F]
      : never
    : never
  : never;
export type Backend = { [M in BackendMethod]: MethodOf<M> };

export type EventChannel = 'scan.progress' | 'groups.changed';
export type Emit = (channel: EventChannel, payload: unknown) => void;

/** Answers the test queues for the dialogs main would open (folder picker, destination, image). */
export interface DialogAnswers {
  folders: string[][];
  destination: (string | null)[];
  query: (string | null)[];
}

export interface EngineBackendOptions {
  engine: Engine;
  trashDir: string;
  journalPath: string;
  emit: Emit;
  dialogs: DialogAnswers;
  /** Paths passed to files.open / files.reveal, for assertions. */
  opened: string[];
  revealed: string[];
  /** Called with each progress event before it is forwarded; may delay forwarding (see holdProgress). */
  forwardProgress: (progress: ScanProgress) => void;
  /** Resolves when every held progress event has been forwarded. */
  progressFlushed: () => Promise<void>;
}

/** The real engine behind DedupApi, as the Electron main process wires it. */
export async function createEngineBackend(options: EngineBackendOptions): Promise<Backend & { journal: DeleteJournal }> {
  const { engine, emit, dialogs } = options;
  const journal = await DeleteJournal.open({ journalPath: options.journalPath, catalog: engine, trash: new FolderTrash(options.trashDir) });
  let language: Language = 'en';
  const scanning = new Set<AbortController>();
  /** Folders added but not scanned yet (the engine remembers a folder once it scans it). */
  const pending = new Set<string>();

  const folders = (): FolderInfo[] => {
    const known = engine.folders();
    for (const p of pending) if (!known.some((f) => f.path === p)) known.push({ path: p, lastScanAt: null, fileCount: 0 });
    return known;
  };
  const settings = (): AppSettings => ({ ...engine.settings(), language });
  const groupsChanged = async () => emit('groups.changed', await engine.groups());

  const runScan = async (paths?: string[]) => {
    const controller = new AbortController();
    scanning.add(controller);
    try {
      const summary = await engine.scan(paths, { signal: controller.signal, onProgress: options.forwardProgress });
      for (const p of summary.folders) pending.delete(p);
      await options.progressFlushed();
      await groupsChanged();
      return summary;
    } finally {
      scanning.delete(controller);
    }
  };

  /** As main does: added folders are scanned at once, in the background. */
  const addFolders = (paths: string[]): FolderInfo[] => {
    const absolute = paths.map((p) => resolve(p));
    for (const p of absolute) pending.add(p);
    void runScan(absolute);
    return folders();
  };

  return {
    journal,
    'folders.list': async () => folders(),
    'folders.pick': async () => {
      const chosen = dialogs.folders.shift() ?? [];
      if (chosen.length > 0) addFolders(chosen);
      return chosen;
    },
    'folders.add': async (paths) => addFolders(paths),
    'folders.remove': async (path) => {
      pending.delete(resolve(path));
      await engine.removeFolder(path);
      await groupsChanged();
      return folders();
    },
    'scan.start': async (paths) => runScan(paths),
    'scan.cancel': async () => scanning.forEach((c) => c.abort()),
    'groups.list': () => engine.groups(),
    'groups.notDuplicates': async (paths) => {
      await engine.markNotDuplicates(paths);
    },
    'files.remove': (request) => journal.remove(request),
    'files.undo': () => journal.undo(),
    'files.canUndo': async () => journal.canUndo(),
    'files.open': async (path) => {
      options.opened.push(path);
    },
    'files.reveal': async (path) => {
      options.revealed.push(path);
    },
    'files.pickDestination': async () => dialogs.destination.shift() ?? null,
    'query.byPath': (path, top) => engine.query(path, { top }),
    'query.pick': async (top) => {
      const path = dialogs.query.shift() ?? null;
      return { path, hits: path ? await engine.query(path, { top }) : [] };
    },
    'settings.get': async () => settings(),
    'settings.update': async (patch) => {
      const { language: lang, ...rest } = patch;
      if (lang) language = lang;
      if (Object.keys(rest).length > 0) await engine.updateSettings(rest);
      return settings();
    },
    'settings.provider': () => engine.providerInfo(),
  };
}

// ---------------------------------------------------------------------------------------------
// Build, serve, browse.

/** Builds the renderer (renderer/vite.config.ts) into outDir. */
export async function buildRenderer(outDir: string): Promise<void> {
  await build({
    configFile: join(REPO_ROOT, 'renderer', 'vite.config.ts'),
    build: { outDir, emptyOutDir: true },
    logLevel: 'warn',
  });
}

const MIME: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
};

export interface ThumbnailSource {
  /** The image file to thumbnail for a path, or null when the path is not catalogued (404). */
  sourceOf(path: string): string | null;
}

const THUMB_WIDTH = { small: 320, large: 1600 } as const;

/** Serves the built renderer and /thumb?size=small|large&path=... ; resolves to the base URL. */
export async function serveRenderer(distDir: string, thumbs: ThumbnailSource): Promise<{ server: Server; baseUrl: string }> {
  const cache = new Map<string, Buffer>();
  const server = createServer(async (req, res) => {
    try {
      const url = new URL(req.url ?? '/', 'http://127.0.0.1');
      if (url.pathname === '/thumb') {
        const path = url.searchParams.get('path') ?? '';
        const size = url.searchParams.get('size') === 'large' ? 'large' : 'small';
        const source = thumbs.sourceOf(path);
        if (!source) {
          res.writeHead(404).end();
          return;
        }
        const key = `${size}:${path}`;
        let body = cache.get(key);
        if (!body) {
          const width = THUMB_WIDTH[size];
          body = await sharp(source).rotate().resize({ width, height: width, fit: 'inside', withoutEnlargement: true }).jpeg({ quality: 80 }).toBuffer();
          cache.set(key, body);
        }
        res.writeHead(200, { 'content-type': 'image/jpeg', 'cache-control': 'no-store' }).end(body);
        return;
      }
      const relative = normalize(decodeURIComponent(url.pathname === '/' ? '/index.html' : url.pathname)).replace(/^([/\\])+/, '');
      const file = join(distDir, relative);
      if (!file.startsWith(distDir) || !(await stat(file).catch(() => null))?.isFile()) {
        res.writeHead(404).end();
        return;
      }
      res.writeHead(200, { 'content-type': MIME[extname(file)] ?? 'application/octet-stream' }).end(await readFile(file));
    } catch (error) {
      res.writeHead(500).end(String(error));
    }
  });
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
  const address = server.address();
  if (!address || typeof address === 'string') throw new Error('server has no port');
  return { server, baseUrl: `http://127.0.0.1:${address.port}` };
}

export const CHROMIUM_PATH = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

export function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM_PATH,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
}

/**
 * Installs window.dedup in the page (before its scripts run): asynchronous methods call the backend
 * through a binding; events arrive through `emitToPage`.
 */
export async function installDedupApi(page: Page, backend: Backend, options: { dropRoot: string }): Promise<void> {
  await page.exposeBinding('__dedupCall', async (_source, name: string, args: unknown[]) => {
    const method = (backend as unknown as Record<string, (...a: unknown[]) => Promise<unknown>>)[name];
    if (typeof method !== 'function') throw new Error(`unknown API method ${name}`);
    return method(...args);
  });
  // Plain JavaScript source: a function would be serialised with tsx's helpers (__name) it does not have.
  await page.addInitScript({ content: pageApiSource(options.dropRoot) });
}

function pageApiSource(dropRoot: string): string {
  return `(() => {
    const call = (name, args) => globalThis.__dedupCall(name, args);
    const listeners = { 'scan.progress': new Set(), 'groups.changed': new Set() };
    globalThis.__dedupEmit = (channel, payload) => {
      for (const listener of listeners[channel] ?? []) listener(payload);
    };
    const on = (channel) => (listener) => {
      listeners[channel].add(listener);
      return () => listeners[channel].delete(listener);
    };
    const method = (name) => (...args) => call(name, args);
    const dropRoot = ${JSON.stringify(dropRoot)};
    globalThis.dedup = {
      folders: { list: method('folders.list'), pick: method('folders.pick'), add: method('folders.add'), remove: method('folders.remove') },
      scan: { start: method('scan.start'), cancel: method('scan.cancel'), onProgress: on('scan.progress') },
      groups: { list: method('groups.list'), onChanged: on('groups.changed'), notDuplicates: method('groups.notDuplicates') },
      files: {
        remove: method('files.remove'),
        undo: method('files.undo'),
        canUndo: method('files.canUndo'),
        open: method('files.open'),
        reveal: method('files.reveal'),
        pickDestination: method('files.pickDestination'),
        thumbnailUrl: (path, size) => '/thumb?size=' + size + '&path=' + encodeURIComponent(path),
        pathForFile: (file) => dropRoot + '/' + file.name,
      },
      query: { byPath: method('query.byPath'), pick: method('query.pick') },
      settings: { get: method('settings.get'), update: method('settings.update'), provider: method('settings.provider') },
    };
  })();`;
}

export async function emitToPage(page: Page, channel: EventChannel, payload: unknown): Promise<void> {
  if (page.isClosed()) return;
  await page.evaluate(([c, p]) => (globalThis as any).__dedupEmit(c, p), [channel, payload] as const).catch(() => undefined);
}

// ---------------------------------------------------------------------------------------------
// All of it together.

export interface UiHarness {
  page: Page;
  baseUrl: string;
  dialogs: DialogAnswers;
  opened: string[];
  revealed: string[];
  /**
   * Holds back the scan progress events from the first one `match` accepts: the page keeps showing
   * that real event (for a screenshot) while the engine goes on; releaseProgress() forwards the rest.
   */
  holdProgress(match: (p: ScanProgress) => boolean): Promise<ScanProgress>;
  releaseProgress(): void;
  emit(channel: EventChannel, payload: unknown): Promise<void>;
  close(): Promise<void>;
}

export interface HarnessOptions {
  distDir: string;
  /** The backend, made with the harness's emit and progress plumbing. */
  makeBackend: (plumbing: { emit: Emit; dialogs: DialogAnswers; opened: string[]; revealed: string[]; forwardProgress: (p: ScanProgress) => void; progressFlushed: () => Promise<void> }) => Promise<Backend>;
  /** The image to thumbnail for a path; null when not catalogued. */
  thumbnailSource: (path: string) => string | null;
  dropRoot: string;
  browser: Browser;
  viewport?: { width: number; height: number };
  locale?: string;
}

export async function startUiHarness(options: HarnessOptions): Promise<UiHarness> {
  const { server, baseUrl } = await serveRenderer(options.distDir, { sourceOf: options.thumbnailSource });
  const context = await options.browser.newContext({
    viewport: options.viewport ?? { width: 1280, height: 800 },
    deviceScaleFactor: 1,
    locale: options.locale ?? 'en-US',
    colorScheme: 'light',
  });
  const page = await context.newPage();
  page.setDefaultTimeout(15_000);
  const pageErrors: string[] = [];
  page.on('pageerror', (error) => pageErrors.push(String(error)));
  page.on('console', (msg) => {
    // A thumbnail of a file that just left the catalog may 404 while the list refreshes: not a page error.
    if (msg.type() === 'error' && !msg.text().startsWith('Failed to load resource')) pageErrors.push(msg.text());
  });

  const dialogs: DialogAnswers = { folders: [], destination: [], query: [] };
  const opened: string[] = [];
  const revealed: string[] = [];
  let emitChain: Promise<void> = Promise.resolve();
  const emit: Emit = (channel, payload) => {
    emitChain = emitChain.then(() => emitToPage(page, channel, payload));
  };

  // Progress hold: events are queued while held, then forwarded in order.
  let held: { match: (p: ScanProgress) => boolean; resolve: (p: ScanProgress) => void; holding: boolean } | null = null;
  const queue: ScanProgress[] = [];
  let flushWaiters: (() => void)[] = [];
  const forwardProgress = (p: ScanProgress) => {
    if (held?.holding) {
      queue.push(p);
      return;
    }
    emit('scan.progress', p);
    if (held && held.match(p)) {
      held.holding = true;
      const resolveHeld = held.resolve;
      void emitChain.then(() => resolveHeld(p));
    }
  };
  const progressFlushed = () => (held?.holding ? new Promise<void>((done) => flushWaiters.push(done)) : emitChain);

  const backend = await options.makeBackend({ emit, dialogs, opened, revealed, forwardProgress, progressFlushed });
  await installDedupApi(page, backend, { dropRoot: options.dropRoot });
  await page.goto(`${baseUrl}/index.html`);

  return {
    page,
    baseUrl,
    dialogs,
    opened,
    revealed,
    holdProgress(match) {
      return new Promise<ScanProgress>((resolveHeld) => {
        held = { match, resolve: resolveHeld, holding: false };
      });
    },
    releaseProgress() {
      held = null;
      for (const p of queue.splice(0)) emit('scan.progress', p);
      const waiters = flushWaiters;
      flushWaiters = [];
      void emitChain.then(() => waiters.forEach((done) => done()));
    },
    emit: async (channel, payload) => {
      emit(channel, payload);
      await emitChain;
    },
    async close() {
      await context.close();
      await new Promise<void>((done) => server.close(() => done()));
      if (pageErrors.length > 0) throw new Error(`errors in the page:\n${pageErrors.join('\n')}`);
    },
  };
}
