// Removing duplicates, safely, with undo.
//
// `DeleteJournal` is the one place that removes files. It enforces the rules itself (the renderer's
// checks are a convenience, these are the guarantee):
//   - only files the catalog knows, and only members of the group they were chosen from;
//   - never a file whose size or mtime changed since the renderer showed it;
//   - never the last remaining copy of a group (a copy counts only if it is still in the catalog and
//     on disk, unchanged, as a regular file: a symbolic link is not a copy);
//   - to a chosen folder: never overwriting anything (a free name is picked, "name (2).jpg").
// Files go to the trash through an injected `TrashAdapter` (Electron's shell.trashItem in the app;
// `FolderTrash`, a real folder-based trash, in the tests and the CLI).
//
// The journal (one JSON file, replaced atomically) records every action: before the batch starts
// (state "in-progress", every item "pending") and after it ends (each item "removed" with where it
// went, or "failed"). If the process dies in between, the next `DeleteJournal.open` finds the action
// still "in-progress" and reconciles it with the disk: a file still at its path, unchanged, was not
// removed; a missing one was, and is looked for where it should have gone (the chosen folder, or the
// trash through `TrashAdapter.locate`). The action is then closed as if it had finished, the engine is
// told about every path of it, and undo works for what was found.
//
// Undo takes the most recent finished action and moves each file back to exactly its path (never over
// a file that appeared there since), with its bytes and mtime; it needs to know where the file went
// (a folder move always does; a trash adapter does when it returned the location and can restore).
//
// The trash format of `FolderTrash` is the freedesktop.org trash specification (files/ + info/*.trashinfo),
// which is also what the OS trash on Linux uses: `findInTrashDir` locates a trashed file in either.
import { randomUUID } from 'node:crypto';
import { constants as fsConstants } from 'node:fs';
import { copyFile, link, lstat, mkdir, open, readdir, readFile, rename, stat, unlink, utimes } from 'node:fs/promises';
import { homedir } from 'node:os';
import { basename, dirname, extname, join } from 'node:path';
import { removeLeftoverTemps, writeFileAtomic } from './atomic-file.ts';
import { contentHash } from './content-hash.ts';
import type { GroupsResult, PhotoFacts, RemoveDestination, RemoveRequest, RemoveRequestItem, RemoveResult, UndoResult } from './types.ts';

/** What the journal needs of the engine (the Engine itself, or the remote engine in the app). */
export interface CatalogView {
  groups(): Promise<GroupsResult>;
  fileFacts(path: string): Promise<PhotoFacts | null> | PhotoFacts | null;
  updatePaths(paths: string[]): Promise<unknown>;
}

export interface FileIdentity {
  size: number;
  mtimeMs: number;
}

/** Where removed files go when the destination is "trash". */
export interface TrashAdapter {
  /** Moves the file to the trash; resolves to where it went, or null when that is not known. */
  trash(path: string): Promise<string | null>;
  /** Moves a trashed file (at `trashedPath`, as returned by `trash`) back to `originalPath`. */
  restore?(trashedPath: string, originalPath: string): Promise<void>;
  /** After a crash: where a file trashed after `trashedAfterMs` went, if it can be found. */
  locate?(originalPath: string, identity: FileIdentity, trashedAfterMs: number): Promise<string | null>;
}

// ---------------------------------------------------------------------------------------------
// Moving files without ever overwriting one.

/** Same size and mtime (to the millisecond: copies across file systems keep no more). */
export function sameIdentity(a: FileIdentity, b: FileIdentity): boolean {
  return a.size === b.size && Math.abs(a.mtimeMs - b.mtimeMs) < 1;
}

function errorCode(error: unknown): string | undefined {
  return (error as NodeJS.ErrnoException)?.code;
}

function message(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** True when the file's bytes have this content hash (the catalog's). */
async function holdsContent(path: string, hash: string | null): Promise<boolean> {
  if (hash === null) return false;
  const bytes = await readFile(path).catch(() => null);
  return bytes !== null && contentHash(bytes) === hash;
}

/**
 * Moves `from` to exactly `to`, failing with EEXIST if anything is at `to` (checked atomically: a hard
 * link is made first, then the old name removed). Where hard links are impossible (another file
 * system, FAT, ...) the bytes are copied (exclusive create), the mtime set, then the original removed.
 */
export async function moveNoOverwrite(from: string, to: string): Promise<void> {
  try {
    await link(from, to);
  } catch (error) {
    const code = errorCode(error);
    if (code === 'EEXIST' || code === 'ENOENT') throw error;
    // EXDEV (other file system), EPERM / ENOTSUP / EMLINK (no hard links here): copy instead.
    const info = await stat(from);
    await copyFile(from, to, fsConstants.COPYFILE_EXCL);
    // Seconds as numbers, not Dates: a Date keeps whole milliseconds, this keeps about a microsecond.
    await utimes(to, info.atimeMs / 1000, info.mtimeMs / 1000);
  }
  await unlink(from);
}

/** Longest file name (in UTF-8 bytes) on the file systems we meet: Linux, macOS, Windows (NTFS). */
const MAX_NAME_BYTES = 255;

/**
 * `name.jpg`, `name (2).jpg`, `name (3).jpg`, ...; the stem is shortened (never the extension) when
 * the result would be longer than `maxBytes` (a 255-byte name has no room for " (2)").
 */
export function numberedName(name: string, n: number, maxBytes = MAX_NAME_BYTES): string {
  const extension = extname(name);
  const suffix = `${n <= 1 ? '' : ` (${n})`}${extension}`;
  let stem = name.slice(0, name.length - extension.length);
  while (stem.length > 0 && Buffer.byteLength(stem + suffix) > maxBytes) stem = [...stem].slice(0, -1).join('');
  return stem + suffix;
}

/** True when `candidate` is one of the names numberedName gives `original`. */
function isNumberedName(candidate: string, original: string, maxBytes = MAX_NAME_BYTES): boolean {
  const stem = candidate.slice(0, candidate.length - extname(candidate).length);
  const n = Number(/ \((\d+)\)$/.exec(stem)?.[1] ?? 1);
  return numberedName(original, n, maxBytes) === candidate || numberedName(original, 1, maxBytes) === candidate;
}

/** Moves a file into a folder under a free name (never overwriting); returns the new path. */
export async function moveIntoFolder(from: string, folder: string): Promise<string> {
  const name = basename(from);
  for (let n = 1; n <= 10_000; n++) {
    const to = join(folder, numberedName(name, n));
    try {
      await moveNoOverwrite(from, to);
      return to;
    } catch (error) {
      if (errorCode(error) !== 'EEXIST') throw error;
    }
  }
  throw new Error(`no free name for ${name} in ${folder}`);
}

/**
 * A file in `folder` that `moveIntoFolder` may have made from `originalName`, matching `identity`
 * (and, when `ino` is given, being that very inode: a second hard link of the original).
 */
async function findMovedFile(folder: string, originalName: string, identity: FileIdentity, ino?: number): Promise<string | null> {
  let names: string[];
  try {
    names = await readdir(folder);
  } catch {
    return null;
  }
  for (const name of names.filter((candidate) => isNumberedName(candidate, originalName)).sort()) {
    const candidate = join(folder, name);
    const info = await lstat(candidate).catch(() => null);
    if (info?.isFile() && sameIdentity(info, identity) && (ino === undefined || info.ino === ino)) return candidate;
  }
  return null;
}

// ---------------------------------------------------------------------------------------------
// The freedesktop.org trash format (https://specifications.freedesktop.org/trash-spec/): a trash
// folder holds files/<name> and info/<name>.trashinfo with the original path and deletion date.

function encodeTrashPath(path: string): string {
  return path.split('/').map(encodeURIComponent).join('/');
}

/** `YYYY-MM-DDThh:mm:ss` in local time, as the spec wants. */
function trashDate(ms: number): string {
  const d = new Date(ms);
  const two = (n: number) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${two(d.getMonth() + 1)}-${two(d.getDate())}T${two(d.getHours())}:${two(d.getMinutes())}:${two(d.getSeconds())}`;
}

export interface TrashInfo {
  originalPath: string;
  deletedAtMs: number;
}

export function parseTrashInfo(text: string): TrashInfo | null {
  const lines = text.split(/\r?\n/);
  if (lines[0]?.trim() !== '[Trash Info]') return null;
  let originalPath: string | null = null;
  let deletedAtMs = Number.NaN;
  for (const line of lines.slice(1)) {
    if (line.startsWith('Path=')) {
      try {
        originalPath = decodeURIComponent(line.slice(5).trim());
      } catch {
        return null;
      }
    } else if (line.startsWith('DeletionDate=')) {
      deletedAtMs = new Date(line.slice(13).trim()).getTime(); // no zone: local time, as written
    }
  }
  if (originalPath === null || Number.isNaN(deletedAtMs)) return null;
  return { originalPath, deletedAtMs };
}

/**
 * Finds, in a freedesktop trash folder, the most recently trashed file that came from `originalPath`,
 * is unchanged (size and mtime), and was trashed at or after `trashedAfterMs` (the spec's dates have
 * one-second resolution: a second of slack is allowed). Returns its path under files/, or null.
 */
export async function findInTrashDir(
  trashDir: string,
  originalPath: string,
  identity: FileIdentity,
  trashedAfterMs: number,
): Promise<string | null> {
  let names: string[];
  try {
    names = await readdir(join(trashDir, 'info'));
  } catch {
    return null;
  }
  let best: { path: string; deletedAtMs: number } | null = null;
  for (const name of names) {
    if (!name.endsWith('.trashinfo')) continue;
    const info = parseTrashInfo(await readFile(join(trashDir, 'info', name), 'utf8').catch(() => ''));
    if (!info || info.originalPath !== originalPath || info.deletedAtMs < trashedAfterMs - 1000) continue;
    const trashed = join(trashDir, 'files', name.slice(0, -'.trashinfo'.length));
    const facts = await lstat(trashed).catch(() => null);
    if (!facts?.isFile() || !sameIdentity(facts, identity)) continue;
    if (!best || info.deletedAtMs > best.deletedAtMs) best = { path: trashed, deletedAtMs: info.deletedAtMs };
  }
  return best?.path ?? null;
}

/** Puts a file from a freedesktop trash folder back where it was, and removes its .trashinfo. */
export async function restoreFromTrashDir(trashedPath: string, originalPath: string): Promise<void> {
  const trashDir = dirname(dirname(trashedPath));
  if (basename(dirname(trashedPath)) !== 'files') throw new Error(`${trashedPath} is not in a trash folder`);
  await moveNoOverwrite(trashedPath, originalPath);
  await unlink(join(trashDir, 'info', `${basename(trashedPath)}.trashinfo`)).catch(() => undefined);
}

/**
 * The trash folders that may receive a file on Linux, per the spec: the home trash
 * ($XDG_DATA_HOME/Trash), and for files on another mount, $topdir/.Trash/$uid and $topdir/.Trash-$uid.
 * `path` must exist (a file, or the folder that held it): the mount is found by walking up while
 * st_dev stays the same.
 */
export async function linuxTrashDirsFor(path: string, env: NodeJS.ProcessEnv = process.env): Promise<string[]> {
  const dataHome = env.XDG_DATA_HOME && env.XDG_DATA_HOME.startsWith('/') ? env.XDG_DATA_HOME : join(homedir(), '.local', 'share');
  const dirs = [join(dataHome, 'Trash')];
  try {
    const device = (await stat(path)).dev;
    const homeDevice = (await stat(dataHome).catch(() => stat(homedir()))).dev;
    if (device !== homeDevice) {
      let top = path;
      while (dirname(top) !== top && (await stat(dirname(top))).dev === device) top = dirname(top);
      const uid = process.getuid?.() ?? 0;
      dirs.push(join(top, '.Trash', String(uid)), join(top, `.Trash-${uid}`));
    }
  } catch {
    // the file or a parent cannot be examined: the home trash is the only candidate
  }
  return dirs;
}

/**
 * A real trash in a folder of our choice, in the freedesktop format: the file is moved (bytes and
 * mtime kept) to `<dir>/files/<name>` and `<dir>/info/<name>.trashinfo` records where it came from.
 * Used by the tests and the CLI; a file manager pointed at the folder can restore from it too.
 */
export class FolderTrash implements TrashAdapter {
  constructor(readonly dir: string) {}

  async trash(path: string): Promise<string> {
    await mkdir(join(this.dir, 'files'), { recursive: true });
    await mkdir(join(this.dir, 'info'), { recursive: true });
    const info = `[Trash Info]\nPath=${encodeTrashPath(path)}\nDeletionDate=${trashDate(Date.now())}\n`;
    for (let n = 1; n <= 10_000; n++) {
      const name = numberedName(basename(path), n, MAX_NAME_BYTES - '.trashinfo'.length);
      const infoPath = join(this.dir, 'info', `${name}.trashinfo`);
      try {
        await writeExclusive(infoPath, info); // reserves the name, as the spec asks
      } catch (error) {
        if (errorCode(error) === 'EEXIST') continue;
        throw error;
      }
      const trashed = join(this.dir, 'files', name);
      try {
        await moveNoOverwrite(path, trashed);
        return trashed;
      } catch (error) {
        await unlink(infoPath).catch(() => undefined);
        if (errorCode(error) !== 'EEXIST') throw error;
      }
    }
    throw new Error(`no free name in the trash for ${path}`);
  }

  restore(trashedPath: string, originalPath: string): Promise<void> {
    return restoreFromTrashDir(trashedPath, originalPath);
  }

  locate(originalPath: string, identity: FileIdentity, trashedAfterMs: number): Promise<string | null> {
    return findInTrashDir(this.dir, originalPath, identity, trashedAfterMs);
  }
}

async function writeExclusive(path: string, content: string): Promise<void> {
  const handle = await open(path, 'wx');
  try {
    await handle.writeFile(content, 'utf8');
  } finally {
    await handle.close();
  }
}

// ---------------------------------------------------------------------------------------------
// The journal.

export type ItemState = 'pending' | 'removed' | 'failed' | 'restored';

export interface JournalItem {
  path: string;
  size: number;
  mtimeMs: number;
  /** The catalog's content hash of the file when it was removed. */
  contentHash: string | null;
  /** Where the file went (trash location or new path in the folder); null when unknown. */
  to: string | null;
  state: ItemState;
  error: string | null;
}

export interface JournalAction {
  id: string;
  startedAt: string;
  finishedAt: string | null;
  /** in-progress: written before the batch; done: after it; undoing: before its undo; undone: after it. */
  state: 'in-progress' | 'done' | 'undoing' | 'undone';
  destination: RemoveDestination;
  items: JournalItem[];
}

interface JournalFile {
  version: 1;
  actions: JournalAction[];
}

export interface RecoveryReport {
  actionId: string;
  /** Files that were gone from their place (found where they went, or not). */
  removed: string[];
  /** Files still in their place, untouched. */
  kept: string[];
}

export interface DeleteJournalOptions {
  journalPath: string;
  catalog: CatalogView;
  trash: TrashAdapter;
  /** Finished actions kept in the journal (older ones are forgotten; their files stay where they went). */
  keepActions?: number;
}

export class DeleteJournal {
  private data: JournalFile;
  /** Every action runs after the previous one finished. */
  private queue: Promise<unknown> = Promise.resolve();
  /** What `open` found and repaired after a crash, if anything. */
  recovery: RecoveryReport | null = null;

  private constructor(private readonly options: DeleteJournalOptions, data: JournalFile) {
    this.data = data;
  }

  /** Opens (or creates) the journal and repairs an action a crash left in progress. */
  static async open(options: DeleteJournalOptions): Promise<DeleteJournal> {
    await mkdir(dirname(options.journalPath), { recursive: true });
    removeLeftoverTemps(options.journalPath);
    let data: JournalFile = { version: 1, actions: [] };
    try {
      const parsed = JSON.parse(await readFile(options.journalPath, 'utf8')) as JournalFile;
      if (parsed?.version === 1 && Array.isArray(parsed.actions)) data = parsed;
    } catch (error) {
      if (errorCode(error) !== 'ENOENT') {
        // Unreadable journal: keep it aside (it may help by hand) and start a new one.
        await rename(options.journalPath, `${options.journalPath}.damaged-${Date.now()}`).catch(() => undefined);
      }
    }
    const journal = new DeleteJournal(options, data);
    await journal.recover();
    return journal;
  }

  /** The actions in the journal, oldest first (a copy). */
  actions(): JournalAction[] {
    return structuredClone(this.data.actions);
  }

  canUndo(): boolean {
    return this.lastUndoable() !== null;
  }

  remove(request: RemoveRequest): Promise<RemoveResult> {
    return this.serialised(() => this.runRemove(request));
  }

  undo(): Promise<UndoResult> {
    return this.serialised(() => this.runUndo());
  }

  private serialised<T>(work: () => Promise<T>): Promise<T> {
    const next = this.queue.then(work, work);
    this.queue = next.catch(() => undefined);
    return next;
  }

  private async save(): Promise<void> {
    const keep = this.options.keepActions ?? 20;
    if (this.data.actions.length > keep) this.data.actions = this.data.actions.slice(-keep);
    await writeFileAtomic(this.options.journalPath, JSON.stringify(this.data, null, 1));
  }

  private lastUndoable(): JournalAction | null {
    for (let i = this.data.actions.length - 1; i >= 0; i--) {
      const action = this.data.actions[i];
      // Undone actions, and finished ones where nothing was removed, are skipped: undo goes further back.
      if (action.state === 'done' && action.items.some((item) => item.state === 'removed')) return action;
    }
    return null;
  }

  // -- the rules ------------------------------------------------------------------------------

  /** Splits the request into the items that may be removed and the refused ones, with reasons. */
  private async check(request: RemoveRequest): Promise<{ accepted: JournalItem[]; refused: RemoveResult['refused'] }> {
    const { catalog } = this.options;
    const refused: RemoveResult['refused'] = [];
    const refuseAll = (reason: string) => ({ accepted: [], refused: [...refused, ...request.items.map((item) => ({ path: item.path, reason }))] });

    const group = (await catalog.groups()).groups.find((candidate) => candidate.id === request.groupId);
    if (!group) return refuseAll('the group changed since it was shown; look at it again');

    if (request.destination.kind === 'folder') {
      const folder = await stat(request.destination.path).catch(() => null);
      if (!folder?.isDirectory()) return refuseAll('the destination folder does not exist');
    }

    const members = new Set(group.files.map((file) => file.path));
    const accepted: JournalItem[] = [];
    const seen = new Set<string>();
    for (const item of request.items) {
      if (seen.has(item.path)) continue;
      seen.add(item.path);
      const reason = await this.itemProblem(item, members, request.destination);
      if (reason) {
        refused.push({ path: item.path, reason });
        continue;
      }
      const facts = await catalog.fileFacts(item.path);
      accepted.push({ path: item.path, size: item.size, mtimeMs: item.mtimeMs, contentHash: facts?.contentHash ?? null, to: null, state: 'pending', error: null });
    }

    // At least one copy must stay: a member not being removed, still catalogued, on disk, unchanged
    // (its bytes too: one such copy is enough, so at most one file per group is read here).
    const removing = new Set(accepted.map((item) => item.path));
    let survivors = 0;
    for (const file of group.files) {
      if (survivors > 0) break;
      if (removing.has(file.path)) continue;
      const facts = await catalog.fileFacts(file.path);
      if (facts === null) continue;
      const info = await lstat(file.path).catch(() => null);
      if (info?.isFile() && sameIdentity(info, file) && (await holdsContent(file.path, facts.contentHash))) survivors++;
    }
    if (survivors === 0 && accepted.length > 0) {
      for (const item of accepted) refused.push({ path: item.path, reason: 'it would remove the last remaining copy in this group' });
      return { accepted: [], refused };
    }
    return { accepted, refused };
  }

  private async itemProblem(item: RemoveRequestItem, members: Set<string>, destination: RemoveDestination): Promise<string | null> {
    if (!members.has(item.path)) return 'not a member of this group';
    const facts = await this.options.catalog.fileFacts(item.path);
    if (facts === null) return 'not in the catalog';
    const info = await lstat(item.path).catch(() => null);
    if (!info) return 'the file no longer exists';
    if (info.isSymbolicLink()) return 'a symbolic link, not a copy: remove it in your file manager';
    if (!info.isFile()) return 'not a regular file';
    if (!sameIdentity(info, item)) return 'the file changed since it was shown';
    if (destination.kind === 'folder' && dirname(item.path) === destination.path) return 'already in the destination folder';
    // Size and mtime can stay the same through an edit (tools that restore the mtime): the bytes decide.
    if (!(await holdsContent(item.path, facts.contentHash))) return 'the file changed since it was shown';
    return null;
  }

  // -- remove ---------------------------------------------------------------------------------

  private async runRemove(request: RemoveRequest): Promise<RemoveResult> {
    const { accepted, refused } = await this.check(request);
    if (accepted.length === 0) return { done: [], refused, actionId: null };

    const action: JournalAction = {
      id: randomUUID(),
      startedAt: new Date().toISOString(),
      finishedAt: null,
      state: 'in-progress',
      destination: request.destination,
      items: accepted,
    };
    this.data.actions.push(action);
    await this.save(); // before the batch: a crash from here on is repaired by recover()

    for (const item of action.items) {
      try {
        item.to =
          request.destination.kind === 'folder'
            ? await moveIntoFolder(item.path, request.destination.path)
            : await this.options.trash.trash(item.path);
        item.state = 'removed';
      } catch (error) {
        item.state = 'failed';
        item.error = message(error);
      }
    }
    // The catalog hears of it before the action is recorded as done: a crash in between leaves it
    // in progress, and recover() tells the catalog again.
    const removed = action.items.filter((item) => item.state === 'removed');
    await this.tellCatalog(removed.map((item) => item.path));
    action.state = 'done';
    action.finishedAt = new Date().toISOString();
    await this.save(); // after the batch
    return {
      done: removed.map((item) => ({ path: item.path, to: item.to })),
      refused: [...refused, ...action.items.filter((item) => item.state === 'failed').map((item) => ({ path: item.path, reason: item.error ?? 'failed' }))],
      actionId: action.id,
    };
  }

  private async tellCatalog(paths: string[]): Promise<void> {
    if (paths.length === 0) return;
    // The files are moved whatever happens here; a watcher or the next scan catches up if this fails.
    await this.options.catalog.updatePaths(paths).catch(() => undefined);
  }

  // -- undo -----------------------------------------------------------------------------------

  private async runUndo(): Promise<UndoResult> {
    const action = this.lastUndoable();
    if (!action) return { restored: [], failed: [] };
    action.state = 'undoing';
    await this.save(); // a crash from here on is repaired by recover()
    const restored: string[] = [];
    const failed: UndoResult['failed'] = [];
    for (const item of [...action.items].reverse()) {
      if (item.state !== 'removed') continue;
      const problem = await this.restoreItem(action, item);
      if (problem) {
        failed.push({ path: item.path, reason: problem });
        item.error = problem;
      } else {
        item.state = 'restored';
        item.error = null;
        restored.push(item.path);
      }
    }
    // As for removal: the catalog first, then the final state (a crash in between is recovered as 'undoing').
    await this.tellCatalog(restored);
    action.state = 'undone';
    await this.save();
    return { restored: restored.reverse(), failed: failed.reverse() };
  }

  /** Puts one file back; returns why it could not, or null. */
  private async restoreItem(action: JournalAction, item: JournalItem): Promise<string | null> {
    if (item.to === null) {
      return action.destination.kind === 'trash'
        ? 'it is in the system trash, which does not say where: restore it from there'
        : 'where it went is not known';
    }
    const parent = await stat(dirname(item.path)).catch(() => null);
    // Never re-create a missing folder: it may be an unplugged drive's mount point.
    if (!parent?.isDirectory()) return 'its folder no longer exists';
    const current = await lstat(item.to).catch(() => null);
    if (!current?.isFile()) return `it is no longer at ${item.to}`;
    if (!sameIdentity(current, item)) return `it changed since it was removed (at ${item.to})`;
    try {
      if (action.destination.kind === 'folder') await moveNoOverwrite(item.to, item.path);
      else if (this.options.trash.restore) await this.options.trash.restore(item.to, item.path);
      else return 'this trash cannot restore files: restore it from the system trash';
    } catch (error) {
      if (errorCode(error) === 'EEXIST') return 'another file now has its name';
      return message(error);
    }
    return null;
  }

  // -- crash recovery -------------------------------------------------------------------------

  private async recover(): Promise<void> {
    await this.recoverUndo();
    const action = this.data.actions.find((candidate) => candidate.state === 'in-progress');
    if (!action) return;
    const startedMs = new Date(action.startedAt).getTime();
    const report: RecoveryReport = { actionId: action.id, removed: [], kept: [] };
    for (const item of action.items) {
      if (item.state !== 'pending') continue;
      const info = await lstat(item.path).catch(() => null);
      if (info?.isFile() && sameIdentity(info, item)) {
        item.state = 'failed';
        item.error = 'not removed: the action was interrupted';
        report.kept.push(item.path);
        // The crash may have come between the hard link at the destination and the unlink of the
        // original: that second name of the same file is taken back (the original stays).
        const secondName =
          action.destination.kind === 'folder'
            ? await findMovedFile(action.destination.path, basename(item.path), item, info.ino)
            : await this.options.trash.locate?.(item.path, item, startedMs).catch(() => null);
        const second = secondName ? await lstat(secondName).catch(() => null) : null;
        if (secondName && second?.ino === info.ino && second.dev === info.dev) await forgetSecondName(secondName);
        continue;
      }
      item.state = 'removed';
      item.to =
        action.destination.kind === 'folder'
          ? await findMovedFile(action.destination.path, basename(item.path), item)
          : ((await this.options.trash.locate?.(item.path, item, startedMs).catch(() => null)) ?? null);
      report.removed.push(item.path);
    }
    action.state = 'done';
    action.finishedAt = new Date().toISOString();
    await this.save();
    await this.tellCatalog(action.items.map((item) => item.path));
    this.recovery = report;
  }

  /**
   * An undo the process did not finish: files already back in place (same size and mtime) are marked
   * restored (a crash inside a move back may have left a second name where the file was: removed);
   * the others stay removed, and the action can be undone again for them.
   */
  private async recoverUndo(): Promise<void> {
    const action = this.data.actions.find((candidate) => candidate.state === 'undoing');
    if (!action) return;
    const restored: string[] = [];
    for (const item of action.items) {
      if (item.state !== 'removed') continue;
      const info = await lstat(item.path).catch(() => null);
      if (!info?.isFile() || !sameIdentity(info, item)) continue;
      const there = item.to ? await lstat(item.to).catch(() => null) : null;
      if (there && (there.ino !== info.ino || there.dev !== info.dev)) continue; // another file took the name: not ours
      if (there) await forgetSecondName(item.to!);
      item.state = 'restored';
      item.error = null;
      restored.push(item.path);
    }
    action.state = action.items.some((item) => item.state === 'removed') ? 'done' : 'undone';
    await this.save();
    await this.tellCatalog(restored);
  }
}

/** Removes a second name (hard link) of a file, and its .trashinfo when it is in a trash's files/. */
async function forgetSecondName(path: string): Promise<void> {
  await unlink(path);
  if (basename(dirname(path)) === 'files') {
    await unlink(join(dirname(dirname(path)), 'info', `${basename(path)}.trashinfo`)).catch(() => undefined);
  }
}
