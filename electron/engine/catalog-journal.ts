// The catalog's journal: the changes made since the catalog file was last written whole, appended
// to `<catalog>.journal` one record per save. At a million photos a whole write takes 6-7 s
// (catalog-file.ts), so a watcher that adds one photo, or a "not a duplicate" decision, would wait
// that long; a record of the entries that changed is written and flushed in milliseconds. Once the
// journal grows past a share of the catalog file, the next save writes the catalog whole again and
// the journal starts over (catalog-file.ts CatalogFile).
//
// Layout, one line each:
//   <checksum> {"journalOf":"<id>"}                        the catalog file it belongs to (its journalId)
//   <checksum> {"fields":{...},"put":[...],"removed":[...]}  one save: the document's small fields as
//                                                            they were then, entries added or changed
//                                                            (variant hashes as hex), paths removed
// The checksum is the xxHash3-64 (16 hex digits) of the line's JSON. A crash mid-append leaves a
// last line that is cut short or holds stray bytes: its checksum fails, and reading stops there
// (that save is lost, as if the crash came before it; the catalog file and every earlier record are
// intact). A journal whose first line names another catalog file (one written whole after it, with
// a crash before the journal was emptied) belongs to nothing and is ignored.
import { closeSync, fsyncSync, openSync, ftruncateSync, writeSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { checksum64 } from './content-hash.ts';
import { bytesFromHex, isHexWords } from './phash.ts';

/** One save's changes. Entries are as in memory (variant hashes as bytes); in the journal's JSON they are hex. */
export interface JournalRecord {
  fields: Record<string, unknown>;
  put: readonly unknown[];
  removed: readonly string[];
}

/** The field of a file entry that is bytes in memory (hex in the journal, which is all JSON). */
const BINARY_FIELD = 'phashVariants';

export function journalPathOf(catalogPath: string): string {
  return `${catalogPath}.journal`;
}

/** A line of the journal: its JSON's checksum, a space, the JSON, a newline. */
function lineOf(value: unknown): Buffer {
  const json = Buffer.from(JSON.stringify(value));
  return Buffer.concat([Buffer.from(`${checksum64(json)} `), json, Buffer.from('\n')]);
}

/** Bytes of a journal's first line (catalog ids are UUIDs: all of one length). */
export const JOURNAL_HEADER_BYTES = lineOf({ journalOf: '00000000-0000-0000-0000-000000000000' }).length;

/** The record's line, made now: the entries as they are at this moment, whatever happens to them later. */
export function recordLine(record: JournalRecord): Buffer {
  const put = record.put.map((entry) => {
    const variants = (entry as Record<string, unknown>)[BINARY_FIELD];
    return variants instanceof Uint8Array ? { ...(entry as object), [BINARY_FIELD]: Buffer.from(variants.buffer, variants.byteOffset, variants.byteLength).toString('hex') } : entry;
  });
  return lineOf({ fields: record.fields, put, removed: record.removed });
}

export interface ReadJournal {
  /** The records in the order they were written (variant hashes as bytes, as in memory). */
  records: JournalRecord[];
  /** Bytes of whole, checked lines: the next record is written there (anything after is a torn write). */
  validBytes: number;
  /** Bytes after the last good line (a save cut short by a crash), dropped. */
  tornBytes: number;
  /** Good lines follow the first bad one (damage, not a torn end): the saves after it were dropped. */
  damaged: boolean;
}

/**
 * Reads the journal of the catalog file whose id is `catalogId`. Null when there is none, or it
 * belongs to another catalog file (stale: ignored, and started over by the next append).
 */
export async function readJournal(path: string, catalogId: string): Promise<ReadJournal | null> {
  let bytes: Buffer;
  try {
    bytes = await readFile(path);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw error;
  }
  const records: JournalRecord[] = [];
  let validBytes = 0;
  let first = true;
  let start = 0;
  for (; start < bytes.length; ) {
    const end = bytes.indexOf(10, start);
    if (end === -1) break; // no newline: cut short
    const value = parseLine(bytes.subarray(start, end));
    if (value === undefined) break; // a torn or damaged line: the saves from here on are not taken
    if (first) {
      if ((value as { journalOf?: unknown }).journalOf !== catalogId) return null; // another catalog file's
      first = false;
    } else {
      if (!isRecord(value)) throw new Error(`the catalog journal ${path} holds a record that is not one (at byte ${start})`);
      records.push({ ...value, put: value.put.map(withVariantBytes) });
    }
    start = end + 1;
    validBytes = start;
  }
  const damaged = hasGoodLineAfter(bytes, validBytes);
  // No good first line: nothing was journaled (a crash while it was made), or it was damaged, and
  // whose saves follow cannot be known: not applied, but told.
  if (first) return damaged ? { records, validBytes: 0, tornBytes: bytes.length, damaged } : null;
  return { records, validBytes, tornBytes: bytes.length - validBytes, damaged };
}

/**
 * Whether a checked line follows the first bad one: then the bad one is not the torn end of a save
 * cut short, but damage (a flipped bit, a lost block), and the saves after it were lost.
 */
function hasGoodLineAfter(bytes: Buffer, badLineStart: number): boolean {
  for (let end = bytes.indexOf(10, badLineStart); end !== -1; ) {
    const next = bytes.indexOf(10, end + 1);
    if (next === -1) return false;
    if (parseLine(bytes.subarray(end + 1, next)) !== undefined) return true;
    end = next;
  }
  return false;
}

/** An entry read from the journal with its variant hashes as bytes, as in memory (hex that is not whole hashes stays, for catalog.ts to refuse). */
function withVariantBytes(entry: unknown): unknown {
  const variants = (entry as Record<string, unknown> | null)?.[BINARY_FIELD];
  if (typeof variants !== 'string' || !isHexWords(variants)) return entry;
  return { ...(entry as object), [BINARY_FIELD]: bytesFromHex(variants) };
}

/** A line's value when its checksum holds; undefined otherwise. */
function parseLine(line: Buffer): unknown {
  if (line.length < 18 || line[16] !== 0x20) return undefined; // 16 hex digits, a space
  const json = line.subarray(17);
  if (checksum64(json) !== line.toString('latin1', 0, 16)) return undefined; // of the bytes as written
  try {
    return JSON.parse(json.toString('utf8'));
  } catch {
    return undefined;
  }
}

function isRecord(value: unknown): value is JournalRecord {
  const record = value as JournalRecord;
  return (
    typeof record === 'object' &&
    record !== null &&
    typeof record.fields === 'object' &&
    record.fields !== null &&
    Array.isArray(record.put) &&
    Array.isArray(record.removed) &&
    record.removed.every((path) => typeof path === 'string')
  );
}

/**
 * The document with the records applied in order: each record's small fields replace the
 * document's; entries put replace the one with their path (in its place) or are added at the end;
 * removed paths go. The document's own list is not changed.
 */
export function applyJournal<T extends { files: readonly unknown[] }>(document: T, records: readonly JournalRecord[]): T {
  if (records.length === 0) return document;
  const files = [...document.files];
  // Where the paths the records name are (a map of only those: a million-entry map took a second).
  const named = new Set<unknown>();
  for (const record of records) {
    for (const entry of record.put) named.add(pathOf(entry));
    for (const path of record.removed) named.add(path);
  }
  const indexOfPath = new Map<unknown, number>();
  files.forEach((file, i) => {
    const path = pathOf(file);
    if (named.has(path)) indexOfPath.set(path, i);
  });
  let fields: Record<string, unknown> = {};
  for (const record of records) {
    fields = record.fields;
    for (const entry of record.put) {
      const at = indexOfPath.get(pathOf(entry));
      if (at === undefined) indexOfPath.set(pathOf(entry), files.push(entry) - 1);
      else files[at] = entry;
    }
    for (const path of record.removed) {
      const at = indexOfPath.get(path);
      if (at === undefined) continue;
      files[at] = undefined;
      indexOfPath.delete(path);
    }
  }
  const { files: _files, ...rest } = fields;
  return { ...document, ...rest, files: files.filter((file) => file !== undefined) };
}

function pathOf(entry: unknown): unknown {
  return typeof entry === 'object' && entry !== null ? (entry as { path?: unknown }).path : undefined;
}

/** Appends records to a journal, each flushed to the disk before append() returns. */
export class JournalWriter {
  private constructor(
    readonly path: string,
    private bytes: number,
  ) {}

  /** A new, empty journal for the catalog file `catalogId` (replacing any older one). */
  static create(path: string, catalogId: string): JournalWriter {
    const writer = new JournalWriter(path, 0);
    writer.writeAt(0, lineOf({ journalOf: catalogId }));
    syncFolder(dirname(path)); // the new file's name is on the disk too
    return writer;
  }

  /** The journal read on open: appends go after its last good line (a torn one is written over); null when it has no good first line. */
  static resume(path: string, read: ReadJournal): JournalWriter | null {
    return read.validBytes > 0 ? new JournalWriter(path, read.validBytes) : null;
  }

  get size(): number {
    return this.bytes;
  }

  append(line: Buffer): void {
    this.writeAt(this.bytes, line);
  }

  /**
   * Writes at the end of the good lines and cuts off whatever followed (a torn line from a crash, or
   * from a write that failed here: the file's size then says nothing, so the count of good bytes is
   * only moved on once the line is on the disk).
   */
  private writeAt(position: number, line: Buffer): void {
    const fd = openSync(this.path, position === 0 ? 'w' : 'r+');
    try {
      for (let done = 0; done < line.length; ) done += writeSync(fd, line, done, line.length - done, position + done);
      ftruncateSync(fd, position + line.length);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    this.bytes = position + line.length;
  }
}

/** Flushes a folder's entries (a new file's name) where the platform allows it. */
function syncFolder(folder: string): void {
  if (process.platform === 'win32') return; // folders cannot be opened for fsync there
  const fd = openSync(folder, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}
