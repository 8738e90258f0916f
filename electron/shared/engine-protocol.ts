// The message protocol between the Electron main process and the engine process (an Electron utility
// process in the app; a Node child process or worker thread in the tests). It knows nothing of
// Electron: both ends talk through a `MessageChannelLike`, two functions that any transport provides.
//
//   main (client)                                   engine process (server)
//   ─ { kind: 'request', id, method, args } ──────▶ runs handlers[method](...args)
//   ◀── { kind: 'progress', id, progress } ──────── (scan / updatePaths only, throttled)
//   ◀── { kind: 'response', id, ok, value | error }
//   ─ { kind: 'cancel', id } ──────────────────────▶ aborts that request's AbortSignal
//   ◀── { kind: 'event', event } ─────────────────── watcher news: groups changed, folder offline/online
//
// Messages are plain data (structured clone), never functions or Error objects.
import type {
  Engine,
  EngineSettings,
  FolderInfo,
  GroupsResult,
  PhotoFacts,
  ProviderInfo,
  QueryHit,
  ScanProgress,
  ScanSummary,
} from '../engine/types.ts';

/** How the engine process is opened (the first request of every session). */
export interface EngineProcessOptions {
  catalogPath: string;
  modelDir?: string;
  settings?: Partial<EngineSettings>;
  /** Folder of the thumbnail cache. */
  thumbnailDir: string;
  /** Watch the catalogued folders for changes (off in some tests). */
  watch: boolean;
  /** Quiet period of the watcher before it hands a batch of changes to the engine, in ms. */
  watchDebounceMs?: number;
  /** How often the watcher checks whether a missing folder came back, in ms. */
  watchPollMs?: number;
}

export type ThumbnailSize = 'small' | 'large';

/** What the engine process does for main: the Engine API, plus thumbnails and lifecycle. */
export interface EngineProcessApi {
  open(options: EngineProcessOptions): Promise<void>;
  scan(folders?: string[]): Promise<ScanSummary>;
  updatePaths(paths: string[]): Promise<ScanSummary>;
  groups(): Promise<GroupsResult>;
  query(imagePath: string, top?: number): Promise<QueryHit[]>;
  folders(): Promise<FolderInfo[]>;
  removeFolder(path: string): Promise<void>;
  markNotDuplicates(paths: string[]): Promise<void>;
  fileFacts(path: string): Promise<PhotoFacts | null>;
  settings(): Promise<EngineSettings>;
  updateSettings(patch: Partial<EngineSettings>): Promise<EngineSettings>;
  providerInfo(): Promise<ProviderInfo>;
  /** Absolute path of a cached JPEG thumbnail of a catalogued file (made on demand); throws when refused. */
  thumbnail(path: string, size: ThumbnailSize): Promise<string>;
  /** Closes the watcher and the engine; the process may exit afterwards. */
  close(): Promise<void>;
}

export type MethodName = keyof EngineProcessApi;
type ArgsOf<M extends MethodName> = Parameters<EngineProcessApi[M]>;
type ValueOf<M extends MethodName> = Awaited<ReturnType<EngineProcessApi[M]>>;

/** Methods that report progress and can be cancelled. */
export const PROGRESS_METHODS: readonly MethodName[] = ['scan', 'updatePaths'];

/** News from the engine process that no request asked for. */
export type EngineEvent =
  | { type: 'groups-changed'; reason: 'watcher' | 'folder-returned' }
  | { type: 'folder-offline'; path: string }
  | { type: 'folder-online'; path: string }
  /** Something worth writing to the log (provider fallbacks, watcher errors, catalog repairs). */
  | { type: 'log'; message: string };

export interface RequestMessage {
  kind: 'request';
  id: number;
  method: MethodName;
  args: unknown[];
}
export interface CancelMessage {
  kind: 'cancel';
  id: number;
}
export interface ResponseMessage {
  kind: 'response';
  id: number;
  ok: boolean;
  value?: unknown;
  error?: { name: string; message: string };
}
export interface ProgressMessage {
  kind: 'progress';
  id: number;
  progress: ScanProgress;
}
export interface EventMessage {
  kind: 'event';
  event: EngineEvent;
}
export type ToServer = RequestMessage | CancelMessage;
export type ToClient = ResponseMessage | ProgressMessage | EventMessage;

/** The two things a transport must do. */
export interface MessageChannelLike {
  post(message: unknown): void;
  /** Starts delivering incoming messages to the listener; returns a function that stops it. */
  listen(listener: (message: unknown) => void): () => void;
}

const METHOD_NAMES: readonly MethodName[] = [
  'open', 'scan', 'updatePaths', 'groups', 'query', 'folders', 'removeFolder', 'markNotDuplicates', 'fileFacts',
  'settings', 'updateSettings', 'providerInfo', 'thumbnail', 'close',
];

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null;
}

function isToServer(message: unknown): message is ToServer {
  if (!isRecord(message) || typeof message.id !== 'number') return false;
  if (message.kind === 'cancel') return true;
  return message.kind === 'request' && METHOD_NAMES.includes(message.method as MethodName) && Array.isArray(message.args);
}

function isToClient(message: unknown): message is ToClient {
  if (!isRecord(message)) return false;
  if (message.kind === 'event') return isRecord(message.event);
  return (message.kind === 'response' || message.kind === 'progress') && typeof message.id === 'number';
}

// ---------------------------------------------------------------------------------------------
// Server (engine process side).

/** What each handler gets besides its arguments. */
export interface CallContext {
  /** Aborted when the client cancels this request. */
  signal: AbortSignal;
  /** Reports progress of this request to the client (throttled here). */
  progress(progress: ScanProgress): void;
}

export type ServerHandlers = {
  [M in MethodName]: (context: CallContext, ...args: ArgsOf<M>) => Promise<ValueOf<M>>;
};

export interface Server {
  /** Sends an event to the client. */
  emit(event: EngineEvent): void;
  stop(): void;
}

/** Progress goes out at most this often (a scan can report thousands of files per second). */
export const PROGRESS_INTERVAL_MS = 100;

/**
 * Answers requests arriving on `channel` with `handlers`. Requests run concurrently; a handler that
 * needs exclusive use of something (the engine) must serialise itself. Errors become failed responses.
 */
export function serve(channel: MessageChannelLike, handlers: ServerHandlers): Server {
  const running = new Map<number, AbortController>();

  async function run(request: RequestMessage): Promise<void> {
    const controller = new AbortController();
    running.set(request.id, controller);
    let lastSent = 0;
    let lastPhase: string | null = null;
    const context: CallContext = {
      signal: controller.signal,
      progress(progress) {
        const now = Date.now();
        // Phase changes and the final report always go out; the rest at most every PROGRESS_INTERVAL_MS.
        const important = progress.phase !== lastPhase || progress.done === progress.total;
        if (!important && now - lastSent < PROGRESS_INTERVAL_MS) return;
        lastSent = now;
        lastPhase = progress.phase;
        channel.post({ kind: 'progress', id: request.id, progress } satisfies ProgressMessage);
      },
    };
    let response: ResponseMessage;
    try {
      const handler = handlers[request.method] as (context: CallContext, ...args: unknown[]) => Promise<unknown>;
      const value = await handler(context, ...request.args);
      response = { kind: 'response', id: request.id, ok: true, value };
    } catch (error) {
      const { name, message } = error instanceof Error ? error : new Error(String(error));
      response = { kind: 'response', id: request.id, ok: false, error: { name, message } };
    } finally {
      running.delete(request.id);
    }
    channel.post(response);
  }

  const stopListening = channel.listen((message) => {
    if (!isToServer(message)) return; // not ours: ignore
    if (message.kind === 'cancel') running.get(message.id)?.abort();
    else void run(message);
  });

  return {
    emit(event) {
      channel.post({ kind: 'event', event } satisfies EventMessage);
    },
    stop() {
      stopListening();
      for (const controller of running.values()) controller.abort();
    },
  };
}

// ---------------------------------------------------------------------------------------------
// Client (main process side).

export interface CallOptions {
  signal?: AbortSignal;
  onProgress?: (progress: ScanProgress) => void;
}

/** Thrown on the client side with the name and message of the error in the engine process. */
export class RemoteError extends Error {
  constructor(message: string, readonly remoteName: string) {
    super(message);
    this.name = 'RemoteError';
  }
}

export interface Client {
  call<M extends MethodName>(method: M, args: ArgsOf<M>, options?: CallOptions): Promise<ValueOf<M>>;
  /** Listens to events; returns a function that stops listening. */
  onEvent(listener: (event: EngineEvent) => void): () => void;
  /** Fails every pending call with this reason (the transport is gone) and stops listening. */
  dispose(reason: string): void;
  /** Number of calls waiting for an answer. */
  readonly pending: number;
}

interface Pending {
  resolve(value: unknown): void;
  reject(error: Error): void;
  onProgress?: (progress: ScanProgress) => void;
  detachAbort?: () => void;
}

export function createClient(channel: MessageChannelLike): Client {
  let nextId = 1;
  let disposed: string | null = null;
  const pending = new Map<number, Pending>();
  const listeners = new Set<(event: EngineEvent) => void>();

  function settle(id: number): Pending | undefined {
    const entry = pending.get(id);
    pending.delete(id);
    entry?.detachAbort?.();
    return entry;
  }

  const stopListening = channel.listen((message) => {
    if (!isToClient(message)) return;
    if (message.kind === 'event') {
      for (const listener of listeners) listener(message.event);
    } else if (message.kind === 'progress') {
      pending.get(message.id)?.onProgress?.(message.progress);
    } else {
      const entry = settle(message.id);
      if (!entry) return;
      if (message.ok) entry.resolve(message.value);
      else entry.reject(new RemoteError(message.error?.message ?? 'unknown error', message.error?.name ?? 'Error'));
    }
  });

  return {
    call(method, args, options = {}) {
      if (disposed !== null) return Promise.reject(new Error(disposed));
      const id = nextId++;
      return new Promise((resolve, reject) => {
        const entry: Pending = { resolve: resolve as (value: unknown) => void, reject, onProgress: options.onProgress };
        const { signal } = options;
        if (signal) {
          const onAbort = () => channel.post({ kind: 'cancel', id } satisfies CancelMessage);
          signal.addEventListener('abort', onAbort, { once: true });
          entry.detachAbort = () => signal.removeEventListener('abort', onAbort);
        }
        pending.set(id, entry);
        channel.post({ kind: 'request', id, method, args } satisfies RequestMessage);
        if (signal?.aborted) channel.post({ kind: 'cancel', id } satisfies CancelMessage);
      });
    },
    onEvent(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    dispose(reason) {
      if (disposed !== null) return;
      disposed = reason;
      stopListening();
      for (const id of [...pending.keys()]) settle(id)?.reject(new Error(reason));
    },
    get pending() {
      return pending.size;
    },
  };
}

// ---------------------------------------------------------------------------------------------
// A typed remote engine on top of a client: what main (and trash.ts) use.

export interface RemoteEngine {
  scan(folders?: string[], options?: CallOptions): Promise<ScanSummary>;
  updatePaths(paths: string[], options?: CallOptions): Promise<ScanSummary>;
  groups(): Promise<GroupsResult>;
  query(imagePath: string, options?: { top?: number }): Promise<QueryHit[]>;
  folders(): Promise<FolderInfo[]>;
  removeFolder(path: string): Promise<void>;
  markNotDuplicates(paths: string[]): Promise<void>;
  fileFacts(path: string): Promise<PhotoFacts | null>;
  settings(): Promise<EngineSettings>;
  updateSettings(patch: Partial<EngineSettings>): Promise<EngineSettings>;
  providerInfo(): Promise<ProviderInfo>;
  thumbnail(path: string, size: ThumbnailSize): Promise<string>;
}

export function remoteEngine(client: Pick<Client, 'call'>): RemoteEngine {
  return {
    scan: (folders, options) => client.call('scan', [folders], options),
    updatePaths: (paths, options) => client.call('updatePaths', [paths], options),
    groups: () => client.call('groups', []),
    query: (imagePath, options) => client.call('query', [imagePath, options?.top]),
    folders: () => client.call('folders', []),
    removeFolder: (path) => client.call('removeFolder', [path]),
    markNotDuplicates: (paths) => client.call('markNotDuplicates', [paths]),
    fileFacts: (path) => client.call('fileFacts', [path]),
    settings: () => client.call('settings', []),
    updateSettings: (patch) => client.call('updateSettings', [patch]),
    providerInfo: () => client.call('providerInfo', []),
    thumbnail: (path, size) => client.call('thumbnail', [path, size]),
  };
}

/**
 * The same RemoteEngine face for an engine in this very process (no process boundary): for tests of
 * main-side code, and for tools that do not need the utility process.
 */
export function inProcessEngine(engine: Engine, thumbnail: (path: string, size: ThumbnailSize) => Promise<string>): RemoteEngine {
  return {
    scan: (folders, options) => engine.scan(folders, options),
    updatePaths: (paths, options) => engine.updatePaths(paths, options),
    groups: () => engine.groups(),
    query: (imagePath, options) => engine.query(imagePath, options),
    folders: async () => engine.folders(),
    removeFolder: (path) => engine.removeFolder(path),
    markNotDuplicates: (paths) => engine.markNotDuplicates(paths),
    fileFacts: async (path) => engine.fileFacts(path),
    settings: async () => engine.settings(),
    updateSettings: (patch) => engine.updateSettings(patch),
    providerInfo: () => engine.providerInfo(),
    thumbnail,
  };
}
