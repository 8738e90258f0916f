// Every IPC channel between the renderer (through the preload) and the main process, declared once:
// its name, its kind (an `invoke` the renderer calls, or an `event` main sends), and zod schemas of
// what it carries. Main validates every payload against these schemas before acting on it; the
// preload calls channels only through `createInvoker` / `subscribe` below, so a channel name cannot
// be misspelt and a payload cannot have the wrong type at compile time.
//
// This module imports nothing from Electron or Node: the sandboxed preload bundles it, and the tests
// run it under plain Node. The Electron objects (ipcMain, ipcRenderer) are passed in by the callers.
import { z } from 'zod';
import type {
  AppSettings,
  DuplicateGroup,
  FolderInfo,
  GroupsResult,
  Language,
  PhotoFacts,
  ProviderInfo,
  QueryHit,
  RemoveRequest,
  RemoveResult,
  ScanProgress,
  ScanSummary,
  UndoResult,
} from './api.ts';

// ---------------------------------------------------------------------------------------------
// Limits on what the renderer may send.

export const LIMITS = {
  /** Longest path accepted (Linux PATH_MAX; Windows long paths are shorter than this too). */
  pathLength: 4096,
  /** Most folders in one add / scan request. */
  folders: 100,
  /** Most files in one remove / not-duplicates request. */
  files: 10_000,
  /** Most hits a query may ask for. */
  queryTop: 1000,
  /** Longest group id. */
  groupIdLength: 200,
} as const;

// ---------------------------------------------------------------------------------------------
// Paths.

/** The platform whose path rules apply: the process's own, or linux where there is no `process`. */
function currentPlatform(): string {
  return typeof process !== 'undefined' && typeof process.platform === 'string' ? process.platform : 'linux';
}

/**
 * Why a path from the renderer is refused, or null when it is acceptable: a string, not empty, at most
 * LIMITS.pathLength characters, no NUL, absolute for the platform (`/...`; on Windows `C:\...` or
 * `\\server\share\...`), and without any `..` segment. Does not touch the disk.
 */
export function pathProblem(value: unknown, platform: string = currentPlatform()): string | null {
  if (typeof value !== 'string') return 'not a string';
  if (value.length === 0) return 'empty path';
  if (value.length > LIMITS.pathLength) return 'path too long';
  if (value.includes('\0')) return 'path contains NUL';
  const absolute =
    platform === 'win32' ? /^[A-Za-z]:[\\/]/.test(value) || /^\\\\[^\\/]+[\\/][^\\/]+/.test(value) : value.startsWith('/');
  if (!absolute) return 'path is not absolute';
  const segments = value.split(platform === 'win32' ? /[\\/]/ : '/');
  if (segments.includes('..')) return 'path contains ".."';
  return null;
}

/** An absolute path that passes `pathProblem`. */
export const absolutePath = z.string().superRefine((value, ctx) => {
  const problem = pathProblem(value);
  if (problem) ctx.addIssue({ code: 'custom', message: problem });
});

// ---------------------------------------------------------------------------------------------
// Schemas of the values exchanged (typed against electron/shared/api.ts, which stays the source of
// truth for the types: a schema that drifts from its type fails to compile).

/** No payload (the renderer sends undefined). */
const nothing = z.undefined();
/** No result (the handler resolves to undefined). */
const noResult = z.void();
const finite = z.number().refine(Number.isFinite, 'not a finite number');
const count = z.number().int().nonnegative();

export const languageSchema: z.ZodType<Language> = z.enum(['en', 'zh-CN']);

export const photoFactsSchema: z.ZodType<PhotoFacts> = z.object({
  path: z.string(),
  folder: z.string(),
  size: count,
  mtimeMs: finite,
  format: z.string().nullable(),
  width: count.nullable(),
  height: count.nullable(),
  takenAt: z.string().nullable(),
  contentHash: z.string().nullable(),
});

const scanProblemSchema = z.object({ path: z.string(), message: z.string() });

export const duplicateGroupSchema: z.ZodType<DuplicateGroup> = z.object({
  id: z.string(),
  kind: z.enum(['exact', 'near', 'similar']),
  score: finite,
  files: z.array(photoFactsSchema),
});

export const groupsResultSchema: z.ZodType<GroupsResult> = z.object({
  groups: z.array(duplicateGroupSchema),
  errors: z.array(scanProblemSchema),
});

export const folderInfoSchema: z.ZodType<FolderInfo> = z.object({
  path: z.string(),
  lastScanAt: z.string().nullable(),
  fileCount: count,
});

export const scanProgressSchema: z.ZodType<ScanProgress> = z.object({
  phase: z.enum(['listing', 'reading', 'embedding', 'grouping', 'done']),
  done: count,
  total: count,
  ratePerSecond: finite,
  etaSeconds: finite.nullable(),
  currentPath: z.string().nullable(),
});

export const scanSummarySchema: z.ZodType<ScanSummary> = z.object({
  folders: z.array(z.string()),
  total: count,
  added: count,
  changed: count,
  moved: count,
  removed: count,
  unchanged: count,
  errors: z.array(scanProblemSchema),
  durationMs: finite,
  cancelled: z.boolean(),
});

export const queryHitSchema: z.ZodType<QueryHit> = z.object({
  path: z.string(),
  score: finite,
  file: photoFactsSchema,
});

const providerName = z.enum(['tensorrt', 'cuda', 'webgpu', 'cpu']);

export const providerInfoSchema: z.ZodType<ProviderInfo> = z.object({
  requested: z.enum(['auto', 'tensorrt', 'cuda', 'webgpu', 'cpu']),
  active: providerName,
  attempts: z.array(z.object({ provider: providerName, ok: z.boolean(), reason: z.string().nullable() })),
});

/** Every field of the settings, each with the range main accepts. */
const settingsFields = {
  nearCosine: z.number().min(0).max(1),
  similarCosine: z.number().min(0).max(1),
  phashMaxDistance: z.number().int().min(0).max(64),
  rotationInvariant: z.boolean(),
  executionProvider: z.enum(['auto', 'tensorrt', 'cuda', 'webgpu', 'cpu']),
  includeHidden: z.boolean(),
  maxMegapixels: z.number().min(1).max(2000),
  language: languageSchema,
};

export const appSettingsSchema: z.ZodType<AppSettings> = z.object(settingsFields);

/** A settings change: any subset of the fields, nothing else. */
export const settingsPatchSchema: z.ZodType<Partial<AppSettings>> = z.strictObject({
  nearCosine: settingsFields.nearCosine.optional(),
  similarCosine: settingsFields.similarCosine.optional(),
  phashMaxDistance: settingsFields.phashMaxDistance.optional(),
  rotationInvariant: settingsFields.rotationInvariant.optional(),
  executionProvider: settingsFields.executionProvider.optional(),
  includeHidden: settingsFields.includeHidden.optional(),
  maxMegapixels: settingsFields.maxMegapixels.optional(),
  language: settingsFields.language.optional(),
});

export const removeRequestSchema: z.ZodType<RemoveRequest> = z.strictObject({
  groupId: z.string().min(1).max(LIMITS.groupIdLength),
  items: z
    .array(
      z.strictObject({
        path: absolutePath,
        size: z.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER),
        mtimeMs: finite,
      }),
    )
    .min(1)
    .max(LIMITS.files),
  destination: z.discriminatedUnion('kind', [
    z.strictObject({ kind: z.literal('trash') }),
    z.strictObject({ kind: z.literal('folder'), path: absolutePath }),
  ]),
});

export const removeResultSchema: z.ZodType<RemoveResult> = z.object({
  done: z.array(z.object({ path: z.string(), to: z.string().nullable() })),
  refused: z.array(z.object({ path: z.string(), reason: z.string() })),
  actionId: z.string().nullable(),
});

export const undoResultSchema: z.ZodType<UndoResult> = z.object({
  restored: z.array(z.string()),
  failed: z.array(z.object({ path: z.string(), reason: z.string() })),
});

const queryTop = z.number().int().min(1).max(LIMITS.queryTop);

// ---------------------------------------------------------------------------------------------
// The contract.

interface InvokeSpec<P, R> {
  kind: 'invoke';
  payload: z.ZodType<P>;
  result: z.ZodType<R>;
}
interface EventSpec<D> {
  kind: 'event';
  data: z.ZodType<D>;
}

function invoke<P, R>(payload: z.ZodType<P>, result: z.ZodType<R>): InvokeSpec<P, R> {
  return { kind: 'invoke', payload, result };
}
function event<D>(data: z.ZodType<D>): EventSpec<D> {
  return { kind: 'event', data };
}

/**
 * The channels. `invoke`: the renderer calls `ipcRenderer.invoke(name, payload)` with exactly one
 * payload argument (undefined where the schema says so) and main answers with the result.
 * `event`: main sends `webContents.send(name, data)`.
 */
export const ipcContract = {
  'folders:list': invoke(nothing, z.array(folderInfoSchema)),
  'folders:pick': invoke(nothing, z.array(z.string())),
  'folders:add': invoke(z.array(absolutePath).min(1).max(LIMITS.folders), z.array(folderInfoSchema)),
  'folders:remove': invoke(absolutePath, z.array(folderInfoSchema)),

  'scan:start': invoke(z.array(absolutePath).max(LIMITS.folders).optional(), scanSummarySchema),
  'scan:cancel': invoke(nothing, noResult),
  'scan:progress': event(scanProgressSchema),

  'groups:list': invoke(nothing, groupsResultSchema),
  'groups:not-duplicates': invoke(z.array(absolutePath).min(2).max(LIMITS.files), noResult),
  'groups:changed': event(groupsResultSchema),

  'files:remove': invoke(removeRequestSchema, removeResultSchema),
  'files:undo': invoke(nothing, undoResultSchema),
  'files:can-undo': invoke(nothing, z.boolean()),
  'files:open': invoke(absolutePath, noResult),
  'files:reveal': invoke(absolutePath, noResult),
  'files:pick-destination': invoke(nothing, z.string().nullable()),

  'query:by-path': invoke(z.strictObject({ path: absolutePath, top: queryTop.optional() }), z.array(queryHitSchema)),
  'query:pick': invoke(
    z.strictObject({ top: queryTop.optional() }),
    z.object({ path: z.string().nullable(), hits: z.array(queryHitSchema) }),
  ),

  'settings:get': invoke(nothing, appSettingsSchema),
  'settings:update': invoke(settingsPatchSchema, appSettingsSchema),
  'settings:provider': invoke(nothing, providerInfoSchema),
} as const;

export type IpcContract = typeof ipcContract;
export type ChannelName = keyof IpcContract;
export type InvokeChannel = { [K in ChannelName]: IpcContract[K] extends InvokeSpec<any, any> ? K : never }[ChannelName];
export type EventChannel = { [K in ChannelName]: IpcContract[K] extends EventSpec<any> ? K : never }[ChannelName];
export type PayloadOf<C extends InvokeChannel> = IpcContract[C] extends InvokeSpec<infer P, any> ? P : never;
export type ResultOf<C extends InvokeChannel> = IpcContract[C] extends InvokeSpec<any, infer R> ? R : never;
export type EventDataOf<C extends EventChannel> = IpcContract[C] extends EventSpec<infer D> ? D : never;

export const invokeChannels = Object.keys(ipcContract).filter(
  (name) => ipcContract[name as ChannelName].kind === 'invoke',
) as InvokeChannel[];
export const eventChannels = Object.keys(ipcContract).filter(
  (name) => ipcContract[name as ChannelName].kind === 'event',
) as EventChannel[];

// ---------------------------------------------------------------------------------------------
// Payload validation.

export type Validation<T> = { ok: true; value: T } | { ok: false; error: string };

/** Checks the arguments of an invoke: exactly zero or one argument, matching the channel's schema. */
export function validatePayload<C extends InvokeChannel>(channel: C, args: unknown[]): Validation<PayloadOf<C>> {
  const spec = ipcContract[channel] as unknown as InvokeSpec<PayloadOf<C>, unknown>;
  if (args.length > 1) return { ok: false, error: `${channel}: expected one payload argument, got ${args.length}` };
  const parsed = spec.payload.safeParse(args[0]);
  if (!parsed.success) return { ok: false, error: `${channel}: invalid payload: ${z.prettifyError(parsed.error)}` };
  return { ok: true, value: parsed.data };
}

/** Checks a result against the channel's schema (used by the tests, and in development builds). */
export function validateResult<C extends InvokeChannel>(channel: C, value: unknown): Validation<ResultOf<C>> {
  const spec = ipcContract[channel] as unknown as InvokeSpec<unknown, ResultOf<C>>;
  const parsed = spec.result.safeParse(value);
  if (!parsed.success) return { ok: false, error: `${channel}: invalid result: ${z.prettifyError(parsed.error)}` };
  return { ok: true, value: parsed.data };
}

// ---------------------------------------------------------------------------------------------
// Sender check.

/** What main knows of who sent a message (taken from Electron's IpcMainInvokeEvent). */
export interface SenderInfo {
  /** `event.sender.id`. */
  webContentsId: number;
  /** `event.senderFrame?.url`; null when the frame is gone. */
  frameUrl: string | null;
  /** True when the sending frame is the top frame (`event.senderFrame.parent === null`). */
  isMainFrame: boolean;
}

/** Whom main answers: our one window, showing our own pages. */
export interface SenderTrust {
  /** The webContents id of our window; null before it exists. */
  webContentsId: number | null;
  /** Origins of our pages, e.g. `app://bundle` (packaged) or `http://localhost:5173` (development). */
  origins: string[];
}

/** `scheme://host[:port]` of a URL, computed the same way for custom schemes as for http(s). */
export function originOf(url: string): string | null {
  try {
    const parsed = new URL(url);
    if (!parsed.host) return null;
    return `${parsed.protocol}//${parsed.host}`;
  } catch {
    return null;
  }
}

/** True only for the top frame of our window, on one of our origins. */
export function isTrustedSender(sender: SenderInfo, trust: SenderTrust): boolean {
  if (trust.webContentsId === null || sender.webContentsId !== trust.webContentsId) return false;
  if (!sender.isMainFrame || sender.frameUrl === null) return false;
  const origin = originOf(sender.frameUrl);
  return origin !== null && trust.origins.includes(origin);
}

// ---------------------------------------------------------------------------------------------
// Main side: registering handlers.

/** The part of Electron's ipcMain used here. */
export interface IpcMainLike<E> {
  handle(channel: string, listener: (event: E, ...args: unknown[]) => unknown): void;
  removeHandler(channel: string): void;
}

/** One handler per invoke channel: the compiler refuses a missing or misspelt one. */
export type InvokeHandlers<E> = {
  [C in InvokeChannel]: (payload: PayloadOf<C>, event: E) => Promise<ResultOf<C>> | ResultOf<C>;
};

export interface RegisterOptions<E> {
  /** Describes the sender of an event (from Electron's event object). */
  senderOf(event: E): SenderInfo;
  /** The current trust (read on every call: the window may be re-created). */
  trust(): SenderTrust;
  /** Told about refused calls (untrusted sender, invalid payload). */
  onRefused?(channel: string, reason: string): void;
}

/**
 * Registers every handler with ipcMain. Each call is answered only after the sender check and the
 * payload validation pass; otherwise the renderer's promise rejects and the handler never runs.
 * Returns a function that removes the handlers again.
 */
export function registerInvokeHandlers<E>(
  ipc: IpcMainLike<E>,
  handlers: InvokeHandlers<E>,
  options: RegisterOptions<E>,
): () => void {
  for (const channel of invokeChannels) {
    const handler = handlers[channel] as (payload: unknown, event: E) => unknown;
    ipc.handle(channel, async (event: E, ...args: unknown[]) => {
      if (!isTrustedSender(options.senderOf(event), options.trust())) {
        options.onRefused?.(channel, 'untrusted sender');
        throw new Error(`${channel}: refused: untrusted sender`);
      }
      const payload = validatePayload(channel, args);
      if (!payload.ok) {
        options.onRefused?.(channel, payload.error);
        throw new Error(payload.error);
      }
      return handler(payload.value, event);
    });
  }
  return () => {
    for (const channel of invokeChannels) ipc.removeHandler(channel);
  };
}

/** The part of webContents used to send events. */
export interface EventTargetLike {
  send(channel: string, ...args: unknown[]): void;
}

export function sendEvent<C extends EventChannel>(target: EventTargetLike, channel: C, data: EventDataOf<C>): void {
  target.send(channel, data);
}

// ---------------------------------------------------------------------------------------------
// Preload side: calling handlers and listening to events.

/** The part of Electron's ipcRenderer used here. */
export interface IpcRendererLike {
  invoke(channel: string, ...args: unknown[]): Promise<unknown>;
  on(channel: string, listener: (event: unknown, ...args: unknown[]) => void): unknown;
  removeListener(channel: string, listener: (event: unknown, ...args: unknown[]) => void): unknown;
}

export type Invoker = <C extends InvokeChannel>(
  channel: C,
  ...payload: undefined extends PayloadOf<C> ? [payload?: PayloadOf<C>] : [payload: PayloadOf<C>]
) => Promise<ResultOf<C>>;

/** A typed `invoke`: the channel must exist and the payload must have its type. */
export function createInvoker(ipc: IpcRendererLike): Invoker {
  return ((channel: InvokeChannel, payload?: unknown) => ipc.invoke(channel, payload)) as Invoker;
}

/** Listens to an event channel; the listener gets only the data (never Electron's event object). */
export function subscribe<C extends EventChannel>(
  ipc: IpcRendererLike,
  channel: C,
  listener: (data: EventDataOf<C>) => void,
): () => void {
  const wrapped = (_event: unknown, data: unknown) => listener(data as EventDataOf<C>);
  ipc.on(channel, wrapped);
  return () => {
    ipc.removeListener(channel, wrapped);
  };
}

// ---------------------------------------------------------------------------------------------
// Thumbnails: the URL the renderer puts in <img src>, served by main's custom protocol.

/** Scheme of the thumbnail protocol (registered as standard + secure before app ready). */
export const THUMBNAIL_SCHEME = 'dedup-thumb';
/** Host part of every thumbnail URL (standard schemes need one). */
export const THUMBNAIL_HOST = 'local';
export type ThumbnailSize = 'small' | 'large';

/** `dedup-thumb://local/small?path=%2Fphotos%2Fa.jpg`: the path travels in the query, percent-encoded. */
export function thumbnailUrl(path: string, size: ThumbnailSize): string {
  return `${THUMBNAIL_SCHEME}://${THUMBNAIL_HOST}/${size}?path=${encodeURIComponent(path)}`;
}
