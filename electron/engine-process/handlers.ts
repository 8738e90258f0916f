// What the engine process does with each request: the Engine API, the folder watcher and the
// thumbnail cache, wired together. Knows nothing of Electron or of the transport.
import { openEngine } from '../engine/index.ts';
import type { Engine } from '../engine/types.ts';
import { ThumbnailCache } from '../engine/thumbnail-cache.ts';
import { FolderWatcher, type WatchEvent } from '../engine/watch.ts';
import type { EngineEvent, EngineProcessOptions, ServerHandlers } from '../shared/engine-protocol.ts';

/** The thumbnail cache is pruned to this size when the engine opens. */
const THUMBNAIL_CACHE_BYTES = 1024 * 1024 * 1024;

export interface EngineProcessState {
  handlers: ServerHandlers;
  /** Closes whatever is open (also used when the parent goes away). */
  shutdown(): Promise<void>;
}

function toEngineEvent(event: WatchEvent): EngineEvent {
  switch (event.type) {
    case 'groups-changed':
      return { type: 'groups-changed', reason: event.reason };
    case 'folder-offline':
    case 'folder-online':
      return { type: event.type, path: event.path };
    case 'problem':
      return { type: 'log', message: event.message };
  }
}

export function createEngineProcess(emit: (event: EngineEvent) => void): EngineProcessState {
  let engine: Engine | null = null;
  let watcher: FolderWatcher | null = null;
  let thumbnails: ThumbnailCache | null = null;
  let options: EngineProcessOptions | null = null;

  function opened(): Engine {
    if (!engine) throw new Error('the engine is not open');
    return engine;
  }

  async function startWatching(): Promise<void> {
    if (!engine || !options?.watch) return;
    watcher = new FolderWatcher(engine, {
      debounceMs: options.watchDebounceMs,
      pollMs: options.watchPollMs,
      onEvent: (event) => emit(toEngineEvent(event)),
    });
    await watcher.sync();
  }

  async function shutdown(): Promise<void> {
    const [w, e] = [watcher, engine];
    watcher = null;
    engine = null;
    thumbnails = null;
    await w?.close();
    await e?.close();
  }

  const handlers: ServerHandlers = {
    async open(_context, openOptions) {
      if (engine) throw new Error('the engine is already open');
      options = openOptions;
      engine = await openEngine({
        catalogPath: openOptions.catalogPath,
        modelDir: openOptions.modelDir,
        settings: openOptions.settings,
        log: (message) => emit({ type: 'log', message }),
        exclude: [openOptions.thumbnailDir], // its JPEGs are not photos of the user's
        prepareQueriesAhead: true, // a dropped photo should not wait for the index's first training
      });
      thumbnails = new ThumbnailCache(openOptions.thumbnailDir, engine);
      void thumbnails.prune(THUMBNAIL_CACHE_BYTES).catch(() => undefined);
      await startWatching();
    },
    async scan(context, folders) {
      const summary = await opened().scan(folders, { signal: context.signal, onProgress: context.progress });
      await watcher?.sync(); // new folders are watched from now on
      return summary;
    },
    updatePaths: (context, paths) => opened().updatePaths(paths, { signal: context.signal, onProgress: context.progress }),
    groups: async () => opened().groups(),
    query: async (_context, imagePath, top) => opened().query(imagePath, { top }),
    folders: async () => opened().folders(),
    async removeFolder(_context, path) {
      await opened().removeFolder(path);
      await watcher?.sync();
    },
    markNotDuplicates: async (_context, paths) => opened().markNotDuplicates(paths),
    fileFacts: async (_context, path) => opened().fileFacts(path),
    settings: async () => opened().settings(),
    async updateSettings(_context, patch) {
      const before = opened().settings();
      const after = await opened().updateSettings(patch);
      if (after.includeHidden !== before.includeHidden && watcher) {
        // The watcher's filter depends on it: start it again.
        await watcher.close();
        await startWatching();
      }
      return after;
    },
    providerInfo: async () => opened().providerInfo(),
    async thumbnail(_context, path, size) {
      if (!thumbnails) throw new Error('the engine is not open');
      return thumbnails.get(path, size);
    },
    close: () => shutdown(),
  };

  return { handlers, shutdown };
}
