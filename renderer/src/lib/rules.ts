// Auto-select rules: which photo of a group to keep; every other one is marked for removal.
// Pure functions, so the same choice is made whether one group or ten thousand are auto-selected.
import type { PhotoFacts } from '../../../electron/shared/api.ts';

export type RuleName = 'largest' | 'oldest' | 'folder';

export interface Rule {
  name: RuleName;
  /** For 'folder': keep the photo inside this folder (or below it). */
  preferredFolder: string | null;
}

const pixels = (f: PhotoFacts): number => (f.width ?? 0) * (f.height ?? 0);

/** Capture date when known, else the file's modification time (ms since epoch). */
export function photoTime(f: PhotoFacts): number {
  if (f.takenAt) {
    const t = Date.parse(f.takenAt);
    if (!Number.isNaN(t)) return t;
  }
  return f.mtimeMs;
}

const depth = (path: string): number => path.split(/[\\/]/).length;

/**
 * Larger resolution first, then larger file; among equals (exact copies) the older file, then the
 * one less deep in folders (a copy is usually newer and inside a "backup" folder), then by path.
 */
export function compareLargest(a: PhotoFacts, b: PhotoFacts): number {
  return (
    pixels(b) - pixels(a) ||
    b.size - a.size ||
    photoTime(a) - photoTime(b) ||
    depth(a.path) - depth(b.path) ||
    a.path.localeCompare(b.path)
  );
}

/** Older first, then the larger. */
export function compareOldest(a: PhotoFacts, b: PhotoFacts): number {
  return photoTime(a) - photoTime(b) || compareLargest(a, b);
}

export function isInFolder(path: string, folder: string): boolean {
  const norm = (p: string) => p.replace(/\\/g, '/').replace(/\/+$/, '');
  const f = norm(folder);
  return norm(path).startsWith(f + '/');
}

/** The photo the rule keeps. `files` must not be empty. */
export function pickKeeper(files: readonly PhotoFacts[], rule: Rule): PhotoFacts {
  let pool = [...files];
  if (rule.name === 'folder' && rule.preferredFolder) {
    const inFolder = pool.filter((f) => isInFolder(f.path, rule.preferredFolder!));
    if (inFolder.length > 0) pool = inFolder;
  }
  pool.sort(rule.name === 'oldest' ? compareOldest : compareLargest);
  return pool[0]!;
}

/** Paths to mark for removal: all but the keeper. */
export function autoMarks(files: readonly PhotoFacts[], rule: Rule): Set<string> {
  if (files.length < 2) return new Set();
  const keeper = pickKeeper(files, rule);
  return new Set(files.filter((f) => f.path !== keeper.path).map((f) => f.path));
}

/** The largest photo(s) of a group by resolution then size, to badge in the list. */
export function largestPath(files: readonly PhotoFacts[]): string | null {
  if (files.length === 0) return null;
  return [...files].sort(compareLargest)[0]!.path;
}
