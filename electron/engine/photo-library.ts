// The library as the indexes and grouping see it: one photo per content hash (byte copies are one
// photo), with the files that hold those bytes. Photos are numbered ("nodes") in content-hash order;
// each has a base, the first vector row of its first file by path, which names it in the indexes.
//
// Kept up to date file by file as the catalog changes (change()), not made again for every
// regrouping: at a million photos that took 1.75 s, for a regrouping after one new photo. It also
// says which bases came and went since the indexes were last brought in line (takeBaseChanges), so
// that they need not look at every photo either.
import type { CatalogEntry } from './catalog.ts';

/** Above this many content hashes changed at once, the sorted list is made again rather than edited in place. */
const REBUILD_ABOVE = 2000;

/** Whether a file counts as a photo of the library: read, embedded and hashed. */
export function isLibraryFile(entry: CatalogEntry | undefined): entry is CatalogEntry {
  return entry !== undefined && entry.status === 'ok' && !!entry.contentHash && entry.vectorRow !== null && !!entry.phash;
}

export class PhotoLibrary {
  /** Content hash → the files with those bytes, sorted by path. */
  private readonly filesOf = new Map<string, CatalogEntry[]>();
  /** The content hashes, sorted: a photo's node is its place here. */
  private sortedKeys: string[] = [];
  /** Each node's base. */
  private nodeBases: number[] = [];
  /** Node of each base (-1: none), made when asked for after a change. */
  private nodeOfRow: Int32Array | null = null;
  /** Content hashes whose files changed since the keys were last put in order. */
  private readonly touched = new Set<string>();
  /** Content hashes whose files changed since takeFileChanges() (a file added, gone or replaced). */
  private filesChangedKeys = new Set<string>();
  /** Content hashes with more than one file (byte copies: the exact groups). */
  private readonly copiedKeys = new Set<string>();
  /** Bases gone and come since takeBaseChanges() (a base can be in both: its photo was replaced). */
  private removedBases = new Set<number>();
  private addedBases = new Set<number>();

  constructor(entries: Iterable<CatalogEntry>) {
    for (const entry of entries) if (isLibraryFile(entry)) this.addFile(entry);
    for (const list of this.filesOf.values()) if (list.length > 1) list.sort(byPath);
    this.touched.clear();
    this.putAllInOrder();
  }

  /** Sorts every content hash again and takes each photo's base. */
  private putAllInOrder(): void {
    this.sortedKeys = [...this.filesOf.keys()].sort();
    this.nodeBases = this.sortedKeys.map((key) => this.filesOf.get(key)![0].vectorRow!);
  }

  /** A file's entry was replaced: `before` is what the catalog held (undefined: new), `after` what it holds now (undefined: removed). */
  change(before: CatalogEntry | undefined, after: CatalogEntry | undefined): void {
    // A content hash can have many files (100,000 copies of one tiny file in a scan benchmark): each
    // is found and placed by binary search, not by a pass or a sort of its list (quadratic then).
    if (isLibraryFile(before)) {
      const list = this.filesOf.get(before.contentHash!);
      const at = list ? placeOf(list, before.path) : -1;
      if (list && at < list.length && list[at].path === before.path) {
        list.splice(at, 1);
        if (list.length === 0) this.filesOf.delete(before.contentHash!);
        if (list.length < 2) this.copiedKeys.delete(before.contentHash!);
        this.touched.add(before.contentHash!);
        this.filesChangedKeys.add(before.contentHash!);
      }
    }
    if (isLibraryFile(after)) {
      this.addFile(after, true);
      this.touched.add(after.contentHash!);
      this.filesChangedKeys.add(after.contentHash!);
    }
  }

  /** Adds a file to its content hash's list: at its place by path (`inOrder`), or at the end (the constructor sorts the lists once). */
  private addFile(entry: CatalogEntry, inOrder = false): void {
    const key = entry.contentHash!;
    const list = this.filesOf.get(key);
    if (!list) {
      this.filesOf.set(key, [entry]);
      return;
    }
    if (inOrder) list.splice(placeOf(list, entry.path), 0, entry);
    else list.push(entry);
    this.copiedKeys.add(key);
  }

  /** Puts the changed content hashes in their places, and notes the bases that went and came. */
  private settle(): void {
    if (this.touched.size === 0) return;
    this.nodeOfRow = null;
    const oldBaseOf = new Map<string, number>();
    for (const key of this.touched) {
      const node = this.find(key);
      if (node >= 0) oldBaseOf.set(key, this.nodeBases[node]);
    }
    if (this.touched.size > REBUILD_ABOVE) this.putAllInOrder();
    else {
      for (const key of this.touched) {
        const node = this.find(key);
        const list = this.filesOf.get(key);
        if (list && node >= 0) this.nodeBases[node] = list[0].vectorRow!;
        else if (list) {
          const at = -node - 1;
          this.sortedKeys.splice(at, 0, key);
          this.nodeBases.splice(at, 0, list[0].vectorRow!);
        } else if (node >= 0) {
          this.sortedKeys.splice(node, 1);
          this.nodeBases.splice(node, 1);
        }
      }
    }
    for (const key of this.touched) {
      const before = oldBaseOf.get(key);
      const after = this.filesOf.get(key)?.[0].vectorRow ?? undefined;
      if (before === after) continue;
      if (before !== undefined) this.removedBases.add(before);
      if (after !== undefined) this.addedBases.add(after);
    }
    this.touched.clear();
  }

  /** The node of a content hash, or -(where it would go) - 1 (binary search in the sorted keys). */
  private find(key: string): number {
    let low = 0;
    let high = this.sortedKeys.length - 1;
    while (low <= high) {
      const middle = (low + high) >>> 1;
      const at = this.sortedKeys[middle];
      if (at < key) low = middle + 1;
      else if (at > key) high = middle - 1;
      else return middle;
    }
    return -low - 1;
  }

  /** The content hashes in node order. */
  get keys(): readonly string[] {
    this.settle();
    return this.sortedKeys;
  }

  /** Each node's base. */
  get bases(): readonly number[] {
    this.settle();
    return this.nodeBases;
  }

  /** The files of a content hash, sorted by path (undefined: not a photo of the library). */
  files(key: string): readonly CatalogEntry[] | undefined {
    return this.filesOf.get(key);
  }

  /** The node of a content hash (-1: not in the library). */
  nodeOfKey(key: string): number {
    this.settle();
    return Math.max(-1, this.find(key));
  }

  /** The node of a base (-1: none). */
  nodeOfBase(base: number): number {
    this.settle();
    if (!this.nodeOfRow) {
      let rows = 0;
      for (const b of this.nodeBases) rows = Math.max(rows, b + 1);
      this.nodeOfRow = new Int32Array(rows).fill(-1);
      this.nodeBases.forEach((b, node) => (this.nodeOfRow![b] = node));
    }
    return base < this.nodeOfRow.length ? this.nodeOfRow[base] : -1;
  }

  /** Each photo's first file by path (the one whose signals stand for it), in no particular order. */
  *representatives(): Generator<CatalogEntry> {
    for (const list of this.filesOf.values()) yield list[0];
  }

  /** The content hashes held by more than one file. */
  copied(): ReadonlySet<string> {
    return this.copiedKeys;
  }

  /** The content hashes whose files changed since the last call (made anew: none). */
  takeFileChanges(): string[] {
    const keys = [...this.filesChangedKeys];
    this.filesChangedKeys = new Set();
    return keys;
  }

  /**
   * The bases removed and added since the last call (a base in both: its photo was replaced). Added
   * ones are those still there (one may have come and gone again since).
   */
  takeBaseChanges(): { removed: number[]; added: number[] } {
    this.settle();
    const changes = { removed: [...this.removedBases], added: [...this.addedBases].filter((base) => this.nodeOfBase(base) >= 0) };
    this.removedBases = new Set();
    this.addedBases = new Set();
    return changes;
  }
}

function byPath(a: CatalogEntry, b: CatalogEntry): number {
  return a.path < b.path ? -1 : a.path > b.path ? 1 : 0;
}

/** The first place in a list sorted by path (byPath) whose path is not before `path`. */
function placeOf(list: readonly CatalogEntry[], path: string): number {
  let low = 0;
  let high = list.length;
  while (low < high) {
    const middle = (low + high) >>> 1;
    if (list[middle].path < path) low = middle + 1;
    else high = middle;
  }
  return low;
}
