// The catalog: a lowdb document with the scanned folders, what we know of every image file, the
// user's "not duplicates" decisions and the settings. Embeddings are not in it (see vectors.ts); a
// file points at its rows there. On disk it is JSON Lines, one line per file (catalog-file.ts),
// written to a temp file and renamed over the old one, so a crash mid-write leaves the previous
// catalog intact; saves in between append what changed to a journal beside it (catalog-journal.ts).
import { copyFileSync, existsSync, renameSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { dirname } from 'node:path';
import { Low } from 'lowdb';
import { z } from 'zod';
import { removeLeftoverTemps } from './atomic-file.ts';
import { CatalogFile, readCatalogDocument } from './catalog-file.ts';
import { applyJournal } from './catalog-journal.ts';
import { bytesFromHex, isHexWords } from './phash.ts';
import type { EngineSettings } from './types.ts';

/**
 * The formats so far:
 *   0: (never written with a number; a document without formatVersion) no vectorGeneration, entries
 *      without pHash variants;
 *   1: entries with pHash variants (the first format this project wrote; vectorGeneration came later
 *      without a new number, so it may be missing);
 *   2: every embedded entry carries the checksum of its vector rows (vectorHash);
 *   3: an entry's pHash variants are one string (16 hex digits each, end to end), not a list of 61
 *      strings: six million strings fewer in memory for 100,000 photos, which made opening the
 *      catalog and every garbage collection slow.
 *   4: the same document as JSON Lines, one line per file (catalog-file.ts): a one-string document
 *      could not be saved past ~350,000 photos (V8's longest string).
 *   5: saves between whole writes are appended to a journal (catalog-journal.ts), which the file's
 *      first line names: an app that knows only format 4 would miss those changes, so it must refuse.
 */
export const CATALOG_FORMAT_VERSION = 5;

export type FileStatus = 'ok' | 'error' | 'unsupported';

export interface CatalogEntry {
  path: string;
  size: number;
  mtimeMs: number;
  contentHash: string | null;
  format: string | null;
  width: number | null;
  height: number | null;
  /** The size without the flat borders decode.ts cut off (letterbox bars); null or absent when none were. */
  content?: { width: number; height: number } | null;
  takenAt: string | null;
  /** 64-bit DCT perceptual hash, 16 hex digits. */
  phash: string | null;
  /**
   * The variant hashes (decode.ts: turns, crop windows, detail), 8 bytes each, end to end (phash.ts
   * hashesToBytes); null when not computed. Bytes, not hex, in memory as on disk: at a million
   * photos the hex strings took a gigabyte of heap.
   */
  phashVariants: Uint8Array | null;
  /** First row of this file's embeddings in the vector store (one row per model view), or null. */
  vectorRow: number | null;
  /** xxHash3-64 (hex) of those rows' bytes, checked on open: damaged rows are embedded again. */
  vectorHash: string | null;
  status: FileStatus;
  error: string | null;
}

export interface CatalogFolder {
  path: string;
  lastScanAt: string | null;
}

export interface CatalogData {
  formatVersion: number;
  /**
   * What the vectors and hashes were made with; a different model, view set or signals version
   * (decode.ts SIGNALS_VERSION; absent: 1) means decoding and embedding everything again.
   */
  embedding: { model: string; sha256: string; dimension: number; views: string[]; signals?: number } | null;
  vectorRows: number;
  /** Bumped whenever vector rows may be reused (a truncated or reset vector file): saved indexes go stale. */
  vectorGeneration: number;
  folders: CatalogFolder[];
  files: CatalogEntry[];
  /** Sets of content hashes the user said are not duplicates of each other. */
  notDuplicates: string[][];
  settings: Partial<EngineSettings>;
}

function emptyCatalog(): CatalogData {
  return { formatVersion: CATALOG_FORMAT_VERSION, embedding: null, vectorRows: 0, vectorGeneration: 0, folders: [], files: [], notDuplicates: [], settings: {} };
}

/** Least time between two saves of the catalog during a scan. */
export const SAVE_INTERVAL_MS = 2000;
/** Most of a scan's time that saving the catalog may take (see catalogSaveDue). */
export const SAVE_SHARE = 0.1;

/**
 * Whether a scan should save the catalog now: 2 s after the last save ended, so that a crash loses
 * little work, but later when saves are slow. A save writes the whole catalog (seconds at 100,000
 * photos), and saving every 2 s would then take most of the scan: the wait is at least
 * (1 - SAVE_SHARE) / SAVE_SHARE times what the last save took.
 */
export function catalogSaveDue(now: number, lastSaveEnd: number, lastSaveMs: number): boolean {
  return now - lastSaveEnd >= Math.max(SAVE_INTERVAL_MS, (lastSaveMs * (1 - SAVE_SHARE)) / SAVE_SHARE);
}

export interface OpenedCatalog {
  db: Low<CatalogData>;
  /** The file under db: saves go through its save(), which appends to the journal when it can. */
  file: CatalogFile<CatalogData>;
  /** Set when the catalog (or its journal) on disk could not be used and was set aside (renamed, never deleted). */
  recovered: string | null;
  /** Set when the catalog was in an older format and has been brought up to date (in memory). */
  migrated: string | null;
}

/**
 * Opens the catalog and applies its journal. A damaged catalog file (not JSON, or not shaped like a
 * catalog) is set aside with its journal and an empty catalog started; a damaged journal alone is
 * set aside and the catalog file used as it is (the files changed since are read again by the next
 * scan). A save cut short by a crash (the journal's last line torn) is dropped quietly, as if the
 * crash came before it.
 */
export async function openCatalog(path: string, options: { journalLimit?: number } = {}): Promise<OpenedCatalog> {
  await mkdir(dirname(path), { recursive: true });
  removeLeftoverTemps(path);
  const file = new CatalogFile<CatalogData>(path, readCatalog, options.journalLimit ?? null);
  const db = new Low<CatalogData>(file, emptyCatalog());
  let recovered: string | null = null;
  let migrated: string | null = null;
  /** A name beside `path` for a damaged file kept as it was. */
  const asideOf = (path: string) => `${path}.damaged-${Date.now()}`;
  /** The catalog file could not be used: it is kept aside with its journal, and a new catalog is started. */
  const startOver = (error: unknown) => {
    const aside = asideOf(path);
    renameSync(path, aside);
    file.setJournalAside(asideOf(file.journalPath)); // and the next save writes the new catalog whole
    recovered = `the catalog ${path} could not be read (${(error as Error).message}); it was kept as ${aside} and a new catalog is built from the files`;
    db.data = emptyCatalog();
  };
  let opened: Awaited<ReturnType<typeof file.open>> = null;
  try {
    opened = await file.open();
  } catch (error) {
    startOver(error);
  }
  if (opened) {
    const { records } = opened;
    let journalError = opened.journalError;
    let result: ReturnType<typeof migrate> | null = null;
    if (records.length > 0) {
      try {
        result = migrate(applyJournal(opened.document as CatalogData, records));
      } catch (error) {
        journalError = error as Error; // checked records that do not make a catalog: the file alone may
      }
    }
    if (journalError) {
      const aside = asideOf(file.journalPath);
      file.setJournalAside(aside);
      recovered = `the catalog's journal ${file.journalPath} could not be used (${journalError.message}); it was kept as ${aside}, and the catalog is as it was last written whole (files changed since are read again)`;
    } else if (opened.journalDamagedAt !== null) {
      // The saves before the damage are good and used; the next save writes over the rest.
      const aside = asideOf(file.journalPath);
      copyFileSync(file.journalPath, aside);
      recovered = `the catalog's journal ${file.journalPath} is damaged at byte ${opened.journalDamagedAt}; the changes saved before that are used, those after it were lost (files changed since are read again); it was kept as ${aside}`;
    }
    try {
      result ??= migrate(opened.document);
      db.data = result.data;
      migrated = result.message;
    } catch (error) {
      startOver(error);
    }
  }
  return { db, file, recovered, migrated };
}

/** The checked, migrated catalog in a file; null when there is none (lowdb's adapter read). */
async function readCatalog(path: string): Promise<CatalogData | null> {
  return existsSync(path) ? migrate(await readCatalogDocument(path)).data : null;
}

// What a catalog document must look like (every format; fields added later are optional here and
// filled in by migrate). Anything else is a damaged catalog.
const count = z.number().int().nonnegative();
const hexWords = z.string().refine(isHexWords, 'not 16-digit hex words');

const entrySchema = z.object({
  path: z.string().min(1),
  size: count,
  mtimeMs: z.number(),
  contentHash: z.string().nullable(),
  format: z.string().nullable(),
  width: count.nullable(),
  height: count.nullable(),
  content: z.object({ width: count, height: count }).nullable().optional(),
  takenAt: z.string().nullable(),
  phash: z.string().nullable(),
  // Formats 1 and 2: a list of hex strings; format 3: one string of 16-digit words, checked in
  // migrate(); format 4: whole 8-byte hashes read from the end of the file (catalog-file.ts).
  phashVariants: z.union([z.array(hexWords), z.string(), z.instanceof(Uint8Array)]).nullable().optional(),
  vectorRow: count.nullable(),
  vectorHash: z.string().nullable().optional(),
  status: z.enum(['ok', 'error', 'unsupported']),
  error: z.string().nullable(),
});
const documentSchema = z.object({
  formatVersion: count.optional(),
  embedding: z.object({ model: z.string(), sha256: z.string(), dimension: count, views: z.array(z.string()), signals: count.optional() }).nullable(),
  vectorRows: count,
  vectorGeneration: count.optional(),
  folders: z.array(z.object({ path: z.string().min(1), lastScanAt: z.string().nullable() })),
  files: z.array(entrySchema),
  notDuplicates: z.array(z.array(z.string())),
  settings: z.record(z.string(), z.unknown()),
});

/** Checks the document and brings older formats up to the current one; throws when it is not a catalog. */
function migrate(raw: unknown): { data: CatalogData; message: string | null } {
  const version = typeof raw === 'object' && raw !== null && !Array.isArray(raw) ? ((raw as { formatVersion?: unknown }).formatVersion ?? 0) : 0;
  if (typeof version === 'number' && version > CATALOG_FORMAT_VERSION) {
    throw new Error(`catalog format ${version} is newer than this version of the app understands (${CATALOG_FORMAT_VERSION})`);
  }
  const parsed = documentSchema.safeParse(raw);
  if (!parsed.success) throw new Error(`not a catalog document: ${z.prettifyError(parsed.error).split('\n').slice(0, 2).join(' ')}`);
  const document = parsed.data;
  const from = document.formatVersion ?? 0;
  let reread = 0;
  const files: CatalogEntry[] = document.files.map((entry) => {
    // 2 → 3: the variant list becomes one string; 3 → 4: bytes.
    const hex = Array.isArray(entry.phashVariants) ? entry.phashVariants.join('') : entry.phashVariants;
    if (typeof hex === 'string' && !isHexWords(hex)) throw new Error(`the variant hashes of ${entry.path} are not 16-digit hex words`);
    const variants = typeof hex === 'string' ? bytesFromHex(hex) : (hex ?? null);
    const upgraded: CatalogEntry = { ...entry, phashVariants: variants, vectorHash: entry.vectorHash ?? null };
    // 0 → 1: no pHash variants (rotated copies go unfound): read the photo again, as if it changed.
    if (from === 0 && entry.phashVariants === undefined && entry.status === 'ok') {
      reread++;
      return { ...upgraded, mtimeMs: 0, vectorRow: null, vectorHash: null };
    }
    // 1 → 2: vectorHash is computed from the rows on open (the engine trusts them this once).
    return upgraded;
  });
  const data: CatalogData = { ...emptyCatalog(), ...document, files, settings: document.settings as Partial<EngineSettings>, formatVersion: CATALOG_FORMAT_VERSION };
  const message =
    from === CATALOG_FORMAT_VERSION
      ? null
      : `the catalog was in format ${from}; it is now in format ${CATALOG_FORMAT_VERSION}${reread > 0 ? ` (${reread} photos will be read again for what format ${from} did not record)` : ''}`;
  return { data, message };
}
