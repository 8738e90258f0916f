// Keeps the catalog in step with the disk while the app runs: one chokidar watcher per catalogued
// folder; file events are collected and, after a quiet period (500 ms by default), handed to
// `engine.updatePaths` in one batch, so that a rename (unlink + add) arrives together and the engine
// can recognise it as a move instead of re-reading the photo.
//
// A folder that disappears (an unplugged drive, a renamed folder) is "offline": its events are
// dropped rather than passed on (the engine would forget its files), and every `pollMs` the watcher
// checks whether it came back; when it does, it is watched again and rescanned, which picks up
// whatever changed meanwhile. Hidden files (unless the settings include them) and the catalog's own
// folder are ignored.
import { stat } from 'node:fs/promises';
import { dirname, relative, resolve, sep } from 'node:path';
import { watch, type FSWatcher } from 'chokidar';
import type { FolderInfo, ScanSummary } from './types.ts';

/** What the watcher needs of the engine (the Engine itself satisfies it). */
export interface WatchedEngine {
  readonly catalogPath: string;
  folders(): FolderInfo[];
  settings(): { includeHidden: boolean };
  updatePaths(paths: string[]): Promise<ScanSummary>;
  scan(folders?: string[]): Promise<ScanSummary>;
}

export type WatchEvent =
  | { type: 'groups-changed'; reason: 'watcher' | 'folder-returned'; summary: ScanSummary }
  | { type: 'folder-offline'; path: string }
  | { type: 'folder-online'; path: string }
  | { type: 'problem'; message: string };

export interface FolderWatcherOptions {
  /** Quiet period after the last event before a batch goes to the engine. */
  debounceMs?: number;
  /** How often folders are checked for disappearing and coming back. */
  pollMs?: number;
  /** A new or changed file is passed on only once its size has not changed for this long. */
  writeSettleMs?: number;
  onEvent?: (event: WatchEvent) => void;
}

interface WatchedFolder {
  path: string;
  online: boolean;
  watcher: FSWatcher | null;
  ready: Promise<void>;
}

/** True when the summary says the catalog changed (and so the groups may have). */
export function catalogChanged(summary: ScanSummary): boolean {
  return summary.added + summary.changed + summary.moved + summary.removed > 0;
}

function isInside(path: string, folder: string): boolean {
  return path === folder || path.startsWith(folder.endsWith(sep) ? folder : folder + sep);
}

async function isDirectory(path: string): Promise<boolean> {
  return (await stat(path).catch(() => null))?.isDirectory() ?? false;
}

export class FolderWatcher {
  private readonly folders = new Map<string, WatchedFolder>();
  private readonly queued = new Set<string>();
  private debounceTimer: NodeJS.Timeout | null = null;
  private pollTimer: NodeJS.Timeout | null = null;
  /** Engine calls and folder state changes run one after the other. */
  private chain: Promise<void> = Promise.resolve();
  private closed = false;
  private readonly debounceMs: number;
  private readonly pollMs: number;
  private readonly writeSettleMs: number;

  constructor(private readonly engine: WatchedEngine, private readonly options: FolderWatcherOptions = {}) {
    this.debounceMs = options.debounceMs ?? 500;
    this.pollMs = options.pollMs ?? 2000;
    this.writeSettleMs = options.writeSettleMs ?? 300;
  }

  /** Watches exactly the engine's catalogued folders (call after scans and folder removals). */
  sync(): Promise<void> {
    return this.serialised(async () => {
      if (this.closed) return;
      const wanted = new Set(this.engine.folders().map((folder) => resolve(folder.path)));
      for (const [path, folder] of this.folders) {
        if (!wanted.has(path)) {
          this.folders.delete(path);
          await folder.watcher?.close();
        }
      }
      for (const path of wanted) {
        if (this.folders.has(path)) continue;
        const folder: WatchedFolder = { path, online: false, watcher: null, ready: Promise.resolve() };
        this.folders.set(path, folder);
        if (await isDirectory(path)) this.startWatching(folder);
        else this.emit({ type: 'folder-offline', path });
      }
      this.pollTimer ??= setInterval(() => void this.poll(), this.pollMs);
      this.pollTimer.unref();
    });
  }

  /** Resolves when every online folder's watcher has finished its initial walk. */
  async ready(): Promise<void> {
    await this.chain;
    await Promise.all([...this.folders.values()].map((folder) => folder.ready));
  }

  /** Resolves once queued events have been handed to the engine and its answer handled. */
  async idle(): Promise<void> {
    while (this.debounceTimer !== null || this.queued.size > 0) {
      if (this.debounceTimer) {
        clearTimeout(this.debounceTimer);
        this.debounceTimer = null;
        void this.flush();
      }
      await this.chain;
    }
    await this.chain;
  }

  /** The watched folders and whether each is present. */
  status(): { path: string; online: boolean }[] {
    return [...this.folders.values()].map(({ path, online }) => ({ path, online }));
  }

  async close(): Promise<void> {
    this.closed = true;
    if (this.debounceTimer) clearTimeout(this.debounceTimer);
    if (this.pollTimer) clearInterval(this.pollTimer);
    this.debounceTimer = null;
    this.pollTimer = null;
    await this.chain;
    await Promise.all([...this.folders.values()].map((folder) => folder.watcher?.close()));
    this.folders.clear();
  }

  // ---------------------------------------------------------------------------------------------

  private emit(event: WatchEvent): void {
    this.options.onEvent?.(event);
  }

  private serialised(work: () => Promise<void>): Promise<void> {
    const next = this.chain.then(work).catch((error: unknown) => {
      this.emit({ type: 'problem', message: `watcher: ${error instanceof Error ? error.message : String(error)}` });
    });
    this.chain = next;
    return next;
  }

  private startWatching(folder: WatchedFolder): void {
    const catalogDir = dirname(resolve(this.engine.catalogPath));
    const includeHidden = this.engine.settings().includeHidden;
    const ignored = (path: string): boolean => {
      const absolute = resolve(path);
      if (isInside(absolute, catalogDir)) return true;
      if (includeHidden) return false;
      return relative(folder.path, absolute)
        .split(sep)
        .some((part) => part.startsWith('.') && part !== '..');
    };
    const watcher = watch(folder.path, {
      ignoreInitial: true,
      ignored,
      awaitWriteFinish: { stabilityThreshold: this.writeSettleMs, pollInterval: Math.max(25, Math.round(this.writeSettleMs / 4)) },
      ignorePermissionErrors: true,
    });
    folder.watcher = watcher;
    folder.online = true;
    folder.ready = new Promise((resolveReady) => watcher.once('ready', () => resolveReady()));
    const queue = (path: string) => this.enqueue(resolve(path));
    watcher.on('add', queue);
    watcher.on('change', queue);
    watcher.on('unlink', queue);
    watcher.on('unlinkDir', queue); // a subfolder moved or deleted: the engine forgets what was inside
    // 'addDir' is not passed on: chokidar reports every file inside a new folder as 'add' too.
    watcher.on('error', (error) => this.emit({ type: 'problem', message: `watching ${folder.path}: ${(error as Error).message}` }));
  }

  private enqueue(path: string): void {
    if (this.closed) return;
    this.queued.add(path);
    if (this.debounceTimer) clearTimeout(this.debounceTimer);
    this.debounceTimer = setTimeout(() => {
      this.debounceTimer = null;
      void this.flush();
    }, this.debounceMs);
  }

  /** Hands the queued paths to the engine, except those of folders that went offline. */
  private flush(): Promise<void> {
    return this.serialised(async () => {
      if (this.queued.size === 0 || this.closed) return;
      const paths = [...this.queued];
      this.queued.clear();
      for (const folder of this.folders.values()) {
        if (folder.online && !(await isDirectory(folder.path))) await this.goOffline(folder);
      }
      const usable = paths.filter((path) => [...this.folders.values()].some((folder) => folder.online && isInside(path, folder.path)));
      if (usable.length === 0) return;
      const summary = await this.engine.updatePaths(usable);
      if (catalogChanged(summary)) this.emit({ type: 'groups-changed', reason: 'watcher', summary });
    });
  }

  private async goOffline(folder: WatchedFolder): Promise<void> {
    folder.online = false;
    const watcher = folder.watcher;
    folder.watcher = null;
    folder.ready = Promise.resolve();
    await watcher?.close();
    this.emit({ type: 'folder-offline', path: folder.path });
  }

  /** Notices folders that vanished without events, and brings back those that returned. */
  private poll(): Promise<void> {
    return this.serialised(async () => {
      if (this.closed) return;
      for (const folder of [...this.folders.values()]) {
        const present = await isDirectory(folder.path);
        if (folder.online && !present) {
          await this.goOffline(folder);
        } else if (!folder.online && present) {
          this.startWatching(folder);
          this.emit({ type: 'folder-online', path: folder.path });
          const summary = await this.engine.scan([folder.path]);
          if (catalogChanged(summary)) this.emit({ type: 'groups-changed', reason: 'folder-returned', summary });
        }
      }
    });
  }
}
