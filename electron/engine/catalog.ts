// The catalog: one JSON document (lowdb) with the scanned folders, what we know of every image file,
// the user's "not duplicates" decisions and the settings. Embeddings are not in it (see vectors.ts);
// a file points at its rows there. lowdb writes through steno: a temp file renamed over the old one,
// so a crash mid-write leaves the previous catalog intact.
import { existsSync, renameSync } from 'node:fs';
import { mkdir, readFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { Low } from 'lowdb';
import { JSONFile } from 'lowdb/node';
import type { EngineSettings } from './types.ts';

export const CATALOG_FORMAT_VERSION = 1;

export type FileStatus = 'ok' | 'error' | 'unsupported';

export interface CatalogEntry {
  path: string;
  size: number;
  mtimeMs: number;
  contentHash: string | null;
  format: string | null;
  width: number | null;
  height: number | null;
  takenAt: string | null;
  /** 64-bit DCT perceptual hash, 16 hex digits; the 7 rotated/mirrored variants follow when computed. */
  phash: string | null;
  phashVariants: string[] | null;
  /** First row of this file's embeddings in the vector store (one row per model view), or null. */
  vectorRow: number | null;
  status: FileStatus;
  error: string | null;
}

export interface CatalogFolder {
  path: string;
  lastScanAt: string | null;
}

export interface CatalogData {
  formatVersion: number;
  /** What the vectors were made with; a different model or view set means re-embedding everything. */
  embedding: { model: string; sha256: string; dimension: number; views: string[] } | null;
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

export interface OpenedCatalog {
  db: Low<CatalogData>;
  /** Set when the catalog on disk could not be used and a fresh one was started (the old file is kept). */
  recovered: string | null;
}

/** Opens the catalog; a damaged file is set aside (renamed, never deleted) and an empty catalog started. */
export async function openCatalog(path: string): Promise<OpenedCatalog> {
  await mkdir(dirname(path), { recursive: true });
  const db = new Low<CatalogData>(new JSONFile<CatalogData>(path), emptyCatalog());
  let recovered: string | null = null;
  if (existsSync(path)) {
    try {
      const data = JSON.parse(await readFile(path, 'utf8')) as CatalogData;
      db.data = migrate(data);
    } catch (error) {
      const aside = `${path}.damaged-${Date.now()}`;
      renameSync(path, aside);
      recovered = `the catalog ${path} could not be read (${(error as Error).message}); it was kept as ${aside} and a new catalog is built from the files`;
      db.data = emptyCatalog();
    }
  }
  return { db, recovered };
}

/** Brings older catalog formats up to the current one. */
function migrate(data: CatalogData): CatalogData {
  if (typeof data !== 'object' || data === null || !Array.isArray(data.files) || !Array.isArray(data.folders)) {
    throw new Error('not a catalog document');
  }
  if (data.formatVersion > CATALOG_FORMAT_VERSION) {
    throw new Error(`catalog format ${data.formatVersion} is newer than this version of the app understands (${CATALOG_FORMAT_VERSION})`);
  }
  // Version 1 is the first format; future migrations go here, one step at a time.
  return { ...emptyCatalog(), ...data, formatVersion: CATALOG_FORMAT_VERSION };
}
