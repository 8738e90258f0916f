// How the catalog lies on disk. Since format 4:
//
//   line 1     the document's small fields (folders, settings, decisions...), the number of files,
//              the number of bytes of variant hashes at the end, and (since format 5) the id its
//              journal names: {..., "fileCount": N, "variantBytes": B, "journalId": "..."}
//   N lines    one file entry each, as JSON; its phashVariants is the number of bytes it has at the end
//   B bytes    the files' variant hashes, in binary, one file after another (8 bytes per hash)
//
// Formats 0 to 3 were one JSON document; they are still read (and written again in this layout).
//
// Why: a whole-document JSON.stringify builds one string, and V8 strings end at 2^29 - 24
// characters (512 MiB). A catalog entry took about 1.4 KiB, so a library past ~350,000 photos could
// no longer be saved at all. This file is made and written a piece at a time (never one string) and
// read a chunk at a time. The variant hashes (61 per photo, three quarters of an entry as hex) go in
// binary, as they are in memory: half the bytes of hex, and nothing to parse. A file cut short or
// run on is caught by the counts in the first line.
//
// Saves between whole writes go to a journal beside the file (catalog-journal.ts): CatalogFile.save.
import { randomUUID } from 'node:crypto';
import { createReadStream, existsSync, renameSync } from 'node:fs';
import { readFile, rm, stat } from 'node:fs/promises';
import type { Adapter } from 'lowdb';
import { writeFileAtomic } from './atomic-file.ts';
import { applyJournal, JOURNAL_HEADER_BYTES, journalPathOf, JournalWriter, readJournal, recordLine, type JournalRecord } from './catalog-journal.ts';

/** The first line's own fields: how many file lines follow, and how many bytes of variant hashes after them. */
const FILE_COUNT = 'fileCount';
const VARIANT_BYTES = 'variantBytes';
/** The first line's id of this very file, which its journal names (absent before format 5: no journal). */
const JOURNAL_ID = 'journalId';
/** The entry field kept in binary at the end of the file (a Uint8Array in memory). */
const BINARY_FIELD = 'phashVariants';
/** Characters (or bytes) per piece handed to the file: pieces keep memory flat. */
const PIECE_SIZE = 1 << 20;

/** A catalog document in memory: the small fields and the list of files. */
export interface CatalogDocument {
  files: readonly unknown[];
}

/** A file entry's variant hashes, or null when it has none. */
function variantsOf(file: unknown): Uint8Array | null {
  const value = typeof file === 'object' && file !== null ? (file as Record<string, unknown>)[BINARY_FIELD] : undefined;
  if (value === undefined || value === null) return null;
  // Parts of a hash would shift every later photo's hashes: refuse rather than save that.
  if (!(value instanceof Uint8Array) || value.length % 8 !== 0) throw new Error(`the variant hashes of ${(file as { path?: unknown }).path} are not whole 8-byte hashes`);
  return value;
}

/** The file's content, a piece at a time: the first line, the files' lines, then the variant hashes. */
export function* catalogPieces(document: CatalogDocument, journalId: string | null = null): Generator<string | Buffer> {
  const { files, ...fields } = document;
  let variantBytes = 0;
  for (const file of files) variantBytes += variantsOf(file)?.length ?? 0;
  yield `${JSON.stringify({ ...fields, [FILE_COUNT]: files.length, [VARIANT_BYTES]: variantBytes, ...(journalId === null ? {} : { [JOURNAL_ID]: journalId }) })}\n`;
  let piece: string[] = [];
  let length = 0;
  for (const file of files) {
    const variants = variantsOf(file);
    // JSON escapes line breaks inside strings (a path may hold one): one entry is always one line.
    const line = JSON.stringify(variants === null ? file : { ...(file as object), [BINARY_FIELD]: variants.length });
    piece.push(line);
    length += line.length + 1;
    if (length >= PIECE_SIZE) {
      yield `${piece.join('\n')}\n`;
      piece = [];
      length = 0;
    }
  }
  if (piece.length > 0) yield `${piece.join('\n')}\n`;
  let bytes = Buffer.allocUnsafe(PIECE_SIZE);
  let used = 0;
  for (const file of files) {
    const variants = variantsOf(file);
    if (variants === null) continue;
    if (used + variants.length > bytes.length) {
      yield bytes.subarray(0, used);
      bytes = Buffer.allocUnsafe(Math.max(PIECE_SIZE, variants.length));
      used = 0;
    }
    bytes.set(variants, used);
    used += variants.length;
  }
  if (used > 0) yield bytes.subarray(0, used);
}

/** The whole file's bytes (small catalogs: tests and tools). */
export function catalogBytes(document: CatalogDocument): Buffer {
  return Buffer.concat([...catalogPieces(document)].map((piece) => (typeof piece === 'string' ? Buffer.from(piece) : piece)));
}

/**
 * Puts a catalog file back together from its bytes, a chunk at a time. push() and end() return
 * false when the first line shows an older, whole-document catalog (the caller parses it whole).
 */
class CatalogParser {
  private fields: Record<string, unknown> | null = null;
  private readonly files: Record<string, unknown>[] = [];
  private lineNumber = 0;
  private rest: Buffer = Buffer.alloc(0); // the start of a line that goes on in the next chunk
  // Once every line was read, the variant hashes: each file gets its bytes as they come, a view of
  // the chunk read (no copy) unless they straddle two chunks.
  private binary: { sizes: Float64Array; received: number; file: number; need: number; parts: Buffer[] } | null = null;

  push(chunk: Buffer): boolean {
    let start = 0;
    if (!this.binary && this.rest.length > 0) {
      // The line begun in the last chunk: joined alone (joining whole chunks would copy every byte again).
      const end = chunk.indexOf(10);
      if (end === -1) {
        this.rest = Buffer.concat([this.rest, chunk]);
        return true;
      }
      if (!this.addLine(Buffer.concat([this.rest, chunk.subarray(0, end)]).toString('utf8'))) return false;
      this.rest = Buffer.alloc(0);
      start = end + 1;
    }
    for (let end = chunk.indexOf(10, start); !this.binary && end !== -1; end = chunk.indexOf(10, start)) {
      if (!this.addLine(chunk.toString('utf8', start, end))) return false;
      start = end + 1;
    }
    if (this.binary) this.addVariantBytes(chunk, start);
    else this.rest = chunk.subarray(start);
    return true;
  }

  private get fileCount(): number {
    return this.fields![FILE_COUNT] as number;
  }

  private get variantBytes(): number {
    return this.fields![VARIANT_BYTES] as number;
  }

  /** Takes the next line; false when it is a first line that is not this layout's. */
  private addLine(line: string): boolean {
    this.lineNumber++;
    if (this.fields === null) {
      let first: unknown;
      try {
        first = JSON.parse(line);
      } catch {
        return false; // e.g. "{" alone: an indented whole document
      }
      if (typeof first !== 'object' || first === null || Array.isArray(first)) return false;
      const fields = first as Record<string, unknown>;
      if (typeof fields[FILE_COUNT] !== 'number' || typeof fields[VARIANT_BYTES] !== 'number') return false;
      this.fields = fields;
    } else {
      try {
        this.files.push(JSON.parse(line));
      } catch (error) {
        throw new Error(`line ${this.lineNumber} of the catalog is not JSON (${(error as Error).message})`);
      }
    }
    if (this.files.length === this.fileCount) this.startVariants();
    return true;
  }

  /** After the last line: checks that the files' byte counts add up to the first line's. */
  private startVariants(): void {
    let total = 0;
    const sizes = new Float64Array(this.files.length);
    for (const [i, file] of this.files.entries()) {
      const size = variantSizeOf(file);
      sizes[i] = size;
      // Whole 8-byte hashes only: a part of one would shift every later file's hashes.
      if (!Number.isInteger(size) || size < 0 || size % 8 !== 0 || total + size > this.variantBytes) throw new Error(`a file's variant hashes (${size} bytes) are not whole hashes inside the catalog's`);
      total += size;
      if (size === 0 && typeof file === 'object' && file !== null && typeof file[BINARY_FIELD] === 'number') file[BINARY_FIELD] = Buffer.alloc(0); // an empty list, as it was
    }
    if (total !== this.variantBytes) throw new Error(`the files' variant hashes take ${total} bytes of the catalog's ${this.variantBytes}`);
    this.binary = { sizes, received: 0, file: 0, need: 0, parts: [] };
  }

  /** Hands the variant hash bytes in `chunk` from `start` on to the files they belong to, in order. */
  private addVariantBytes(chunk: Buffer, start: number): void {
    const binary = this.binary!;
    binary.received += chunk.length - start;
    let at = start;
    while (at < chunk.length) {
      while (binary.need === 0 && binary.file < this.files.length) binary.need = binary.sizes[binary.file++];
      if (binary.need === 0) return; // bytes past the last file's: end() says the file ran on
      const take = Math.min(binary.need, chunk.length - at);
      binary.parts.push(chunk.subarray(at, at + take));
      binary.need -= take;
      at += take;
      if (binary.need === 0) {
        this.files[binary.file - 1][BINARY_FIELD] = binary.parts.length === 1 ? binary.parts[0] : Buffer.concat(binary.parts);
        binary.parts = [];
      }
    }
  }

  /** The id the file's journal names (null: none, or an older layout); known once end() returned. */
  journalId: string | null = null;

  /** The document, once every chunk was pushed (null: an older layout); throws when the file was cut short or ran on. */
  end(): CatalogDocument | null {
    if (this.binary === null && this.rest.length > 0) {
      // No newline after the last line: a cut-short file, or a whole document on one line.
      const last = this.rest;
      this.rest = Buffer.alloc(0);
      if (!this.addLine(last.toString('utf8'))) return null;
    }
    if (this.fields === null) throw new Error('the catalog file is empty');
    if (this.binary === null) throw new Error(`the catalog lists ${this.fileCount} files but holds ${this.files.length} (cut short)`);
    if (this.binary.received !== this.variantBytes) throw new Error(`the catalog's variant hashes take ${this.binary.received} bytes, not ${this.variantBytes} (cut short or run on)`);
    const { [FILE_COUNT]: _count, [VARIANT_BYTES]: _bytes, [JOURNAL_ID]: journalId, ...fields } = this.fields;
    this.journalId = typeof journalId === 'string' ? journalId : null;
    return { ...fields, files: this.files };
  }
}

/** A file line's number of variant hash bytes (0 when it has none; NaN or a string when damaged). */
function variantSizeOf(file: unknown): number {
  const size = typeof file === 'object' && file !== null ? (file as Record<string, unknown>)[BINARY_FIELD] : undefined;
  if (size === undefined || size === null) return 0;
  if (typeof size !== 'number') throw new Error(`a file's variant hashes are ${JSON.stringify(size)}, not a number of bytes`);
  return size;
}

/**
 * The catalog document in a file's bytes, whichever layout it has (small catalogs: tests and tools).
 * Throws when it is not JSON, or is cut short; checking the document's shape is the caller's (catalog.ts).
 */
export function parseCatalogBytes(bytes: Buffer): unknown {
  const parser = new CatalogParser();
  const document = parser.push(bytes) ? parser.end() : null;
  return document ?? JSON.parse(bytes.toString('utf8'));
}

/** A catalog file as it is on disk (no journal applied), read a chunk at a time (a large catalog is never one string). */
async function readCatalogFile(path: string): Promise<{ document: unknown; journalId: string | null }> {
  const parser = new CatalogParser();
  const stream = createReadStream(path, { highWaterMark: PIECE_SIZE });
  let linesLayout = true;
  try {
    for await (const chunk of stream as AsyncIterable<Buffer>) {
      if (!parser.push(chunk)) {
        linesLayout = false;
        break;
      }
    }
  } finally {
    stream.destroy();
  }
  const document = linesLayout ? parser.end() : null;
  // Formats 0-3: one document (at most a few hundred MiB, or it could not have been written).
  return document ? { document, journalId: parser.journalId } : { document: JSON.parse(await readFile(path, 'utf8')), journalId: null };
}

/** The catalog document in a file, with its journal's changes applied (tests and tools; the engine opens it through CatalogFile). */
export async function readCatalogDocument(path: string): Promise<unknown> {
  const { document, journalId } = await readCatalogFile(path);
  const journal = journalId === null ? null : await readJournal(journalPathOf(path), journalId);
  return journal ? applyJournal(document as CatalogDocument, journal.records) : document;
}

/**
 * How large the journal may grow before the next save writes the catalog whole again: a tenth of
 * the catalog file, at least 1 MiB. Opening reads and applies the journal whole (at a million photos,
 * a journal of a quarter of the file, 119,000 changed photos, added 5 s to an open of 8.5 s).
 */
export const JOURNAL_MIN_BYTES = 1 << 20;
export const JOURNAL_SHARE = 0.1;

/**
 * lowdb's adapter for the catalog file: writes the lines layout atomically (temp file, fsync,
 * rename), or appends a save's changes to the journal (save()). Saves run one after another, each
 * with the document as it was when it was asked for, so that an older save never lands over a
 * newer one. Reading goes through catalog.ts (openCatalog), which checks and migrates what it reads.
 */
export class CatalogFile<T extends CatalogDocument> implements Adapter<T> {
  private writing: Promise<unknown> = Promise.resolve();
  /** The id of the catalog file on disk, which its journal names; null: none yet (the next save writes it whole). */
  private catalogId: string | null = null;
  private catalogBytes = 0;
  /** The journal appended to, once there is one for the file on disk. */
  private journal: JournalWriter | null = null;
  /** Whether the catalog file will have an id, and the journal's size, once the saves asked for are done (save() decides on them). */
  private willHaveId = false;
  private willHaveJournalBytes = 0;

  constructor(
    private readonly path: string,
    private readonly readDocument: (path: string) => Promise<T | null>,
    /** A fixed limit instead (tests: whole writes every few saves). */
    private readonly journalLimit: number | null = null,
  ) {}

  get journalPath(): string {
    return journalPathOf(this.path);
  }

  read(): Promise<T | null> {
    return this.readDocument(this.path);
  }

  /**
   * Reads the catalog file (null when there is none) and the records of its journal, for
   * openCatalog to check and apply; later saves append to that journal. Throws when the catalog
   * file cannot be read; a journal that cannot be read is `journalError` (the file alone is good).
   */
  async open(): Promise<{ document: unknown; records: JournalRecord[]; journalDamagedAt: number | null; journalError: Error | null } | null> {
    if (!existsSync(this.path)) return null;
    const { document, journalId } = await readCatalogFile(this.path);
    this.catalogId = journalId;
    this.willHaveId = journalId !== null;
    this.catalogBytes = (await stat(this.path)).size;
    if (journalId === null) return { document, records: [], journalDamagedAt: null, journalError: null };
    try {
      const journal = await readJournal(this.journalPath, journalId);
      this.journal = journal && JournalWriter.resume(this.journalPath, journal);
      this.willHaveJournalBytes = this.journal?.size ?? 0;
      return { document, records: journal?.records ?? [], journalDamagedAt: journal?.damaged ? journal.validBytes : null, journalError: null };
    } catch (error) {
      return { document, records: [], journalDamagedAt: null, journalError: error as Error };
    }
  }

  /** Renames the journal, if any, to `aside` (its changes could not be used) and stops appending to it: the next save writes the catalog whole. */
  setJournalAside(aside: string): void {
    if (existsSync(this.journalPath)) renameSync(this.journalPath, aside);
    this.journal = null;
    this.catalogId = null;
    this.willHaveId = false;
    this.willHaveJournalBytes = 0;
  }

  write(document: T): Promise<void> {
    return this.save(document, () => document.files, null).then(() => {});
  }

  /**
   * Saves the catalog: when `changes` (the entries put and removed since the last save) are given
   * and the journal stays small beside the catalog file, as one record appended to the journal
   * (milliseconds); otherwise the whole document, with the list of files that `files` gives (called
   * only then: at a million photos even making the list costs). `fields` are the document's small
   * fields (its files, if there, are ignored). Returns which it did.
   */
  save(fields: Omit<T, 'files'>, files: () => readonly unknown[], changes: Omit<JournalRecord, 'fields'> | null): Promise<'journal' | 'whole'> {
    const { files: _ignored, ...small } = fields as Omit<T, 'files'> & { files?: unknown };
    // Decided and taken now, as things will stand once the saves before it are done: the entries
    // change after this call, and the engine's list of files is made only for a whole write.
    const line = changes && recordLine({ fields: small, ...changes });
    const limit = this.journalLimit ?? Math.max(JOURNAL_MIN_BYTES, this.catalogBytes * JOURNAL_SHARE);
    const grows = line === null ? 0 : line.length + (this.willHaveJournalBytes === 0 ? JOURNAL_HEADER_BYTES : 0);
    const append = line !== null && this.willHaveId && this.willHaveJournalBytes + grows <= limit;
    const snapshot: CatalogDocument | null = append ? null : { ...small, files: [...files()] };
    if (append) this.willHaveJournalBytes += grows;
    else [this.willHaveId, this.willHaveJournalBytes] = [true, 0];
    const save = this.writing.then(async () => {
      if (snapshot) {
        await this.writeWhole(snapshot);
        return 'whole' as const;
      }
      // An earlier whole write failed (the catalog file on disk names no journal yet): this save cannot be appended.
      if (this.catalogId === null) throw new Error('the catalog file was not written whole yet: the save is made again whole');
      this.journal ??= JournalWriter.create(this.journalPath, this.catalogId);
      this.journal.append(line!);
      return 'journal' as const;
    });
    this.writing = save.catch(() => {
      // What the next saves decide on is what is on disk again.
      this.willHaveId = this.catalogId !== null;
      this.willHaveJournalBytes = this.journal?.size ?? 0;
    });
    return save;
  }

  /** Writes the whole document under a new id: the journal of the file before names the old id, so it no longer applies even if removing it fails. */
  private async writeWhole(document: CatalogDocument): Promise<void> {
    const id = randomUUID();
    await writeFileAtomic(this.path, catalogPieces(document, id));
    this.catalogId = id;
    this.catalogBytes = (await stat(this.path)).size;
    this.journal = null;
    await rm(this.journalPath, { force: true });
  }
}
