// Files replaced whole so that a crash (or a power cut) leaves either the old content or the new,
// never a torn mix: the new content goes to a temporary file beside the target, is flushed to the
// disk (fsync), and is renamed over the target. One module for every such file: the catalog, the
// similarity index and its search file, the delete journal, the app's settings.
import { randomUUID } from 'node:crypto';
import { closeSync, fsyncSync, openSync, readdirSync, renameSync, rmSync, writeSync } from 'node:fs';
import { open, rename, rm } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';

/** A temporary name beside `path`, unique to this call (two writers never share one): `<name>.<pid>.<8 hex>.tmp`. */
function tempPathFor(path: string): string {
  return `${path}.${process.pid}.${randomUUID().slice(0, 8)}.tmp`;
}

/**
 * Removes the temporary files a killed process left beside `path` (a crash mid-write): a catalog's
 * may be a gigabyte. Only those of processes that are gone: a running writer's file is its own.
 * Returns how many were removed.
 */
export function removeLeftoverTemps(path: string): number {
  const prefix = `${basename(path)}.`;
  let removed = 0;
  let names: string[];
  try {
    names = readdirSync(dirname(path));
  } catch {
    return 0; // no folder yet: nothing left over
  }
  for (const name of names) {
    if (!name.startsWith(prefix)) continue;
    const match = /^(\d+)\.[0-9a-f]{8}\.tmp$/.exec(name.slice(prefix.length));
    if (!match || processIsRunning(Number(match[1]))) continue;
    rmSync(join(dirname(path), name), { force: true });
    removed++;
  }
  return removed;
}

function processIsRunning(pid: number): boolean {
  try {
    process.kill(pid, 0); // signal 0: only asks whether the process exists
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM'; // exists, owned by someone else
  }
}

/**
 * Content to write: one string or byte array, or a sequence of them written one after the other
 * (a large file made a piece at a time, so that it never has to be one string in memory).
 */
export type FileContent = string | Uint8Array | Iterable<string | Uint8Array> | AsyncIterable<string | Uint8Array>;

/** Writes `content` to `path` atomically (temp file, fsync, rename). */
export async function writeFileAtomic(path: string, content: FileContent): Promise<void> {
  const temp = tempPathFor(path);
  try {
    const handle = await open(temp, 'w');
    try {
      // writeFile on an open handle writes on from where the last write ended, all of it.
      if (typeof content === 'string' || content instanceof Uint8Array) await handle.writeFile(content);
      else for await (const piece of content) await handle.writeFile(piece);
      await handle.sync();
    } finally {
      await handle.close();
    }
    await renameRetrying(temp, path);
  } catch (error) {
    await rm(temp, { force: true });
    throw error;
  }
}

/** The same, synchronously (for callers that cannot wait, like the similarity index's save). */
export function writeFileAtomicSync(path: string, content: string | Uint8Array): void {
  const temp = tempPathFor(path);
  try {
    const fd = openSync(temp, 'w');
    try {
      const bytes = typeof content === 'string' ? Buffer.from(content) : content;
      for (let done = 0; done < bytes.length; ) done += writeSync(fd, bytes, done);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(temp, path);
  } catch (error) {
    rmSync(temp, { force: true });
    throw error;
  }
}

/** A rename that retries briefly: on Windows a reader or a virus scanner may hold the target for a moment (EPERM, EACCES, EBUSY). */
async function renameRetrying(from: string, to: string): Promise<void> {
  for (let attempt = 0; ; attempt++) {
    try {
      await rename(from, to);
      return;
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (attempt >= 10 || process.platform !== 'win32' || !['EPERM', 'EACCES', 'EBUSY'].includes(code ?? '')) throw error;
      await new Promise((resolve) => setTimeout(resolve, 50 * (attempt + 1)));
    }
  }
}
