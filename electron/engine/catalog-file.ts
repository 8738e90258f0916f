// How the catalog lies on disk. Since format 4 it is JSON Lines: a first line with the document's
// small fields (folders, settings, decisions...) and the number of files, then one line per file.
// Formats 0 to 3 were one JSON document; they are still read (and written again as lines).
//
// Why lines: a whole-document JSON.stringify builds one string, and V8 strings end at 2^29 - 24
// characters (512 MiB). A catalog entry takes about 1.4 KiB, so a library past ~350,000 photos
// could no longer be saved at all. Lines are made and written a piece at a time (never one string),
// read a chunk at a time, and a file cut short is caught by the count in the first line.
import { createReadStream } from 'node:fs';
import { readFile } from 'node:fs/promises';
import type { Adapter } from 'lowdb';
import { writeFileAtomic } from './atomic-file.ts';

/** The first line's own field: how many file lines follow. */
const FILE_COUNT = 'fileCount';
/** Characters per piece handed to the file (a piece is joined lines; pieces keep memory flat). */
const PIECE_CHARS = 1 << 20;

/** A catalog document in memory: the small fields and the list of files. */
export interface CatalogDocument {
  files: readonly unknown[];
}

/** The file's text, a piece at a time: the first line, then the files, one per line. */
export function* catalogLines(document: CatalogDocument): Generator<string> {
  const { files, ...fields } = document;
  yield `${JSON.stringify({ ...fields, [FILE_COUNT]: files.length })}\n`;
  let piece: string[] = [];
  let length = 0;
  for (const file of files) {
    // JSON escapes line breaks inside strings (a path may hold one): one entry is always one line.
    const line = JSON.stringify(file);
    piece.push(line);
    length += line.length + 1;
    if (length >= PIECE_CHARS) {
      yield `${piece.join('\n')}\n`;
      piece = [];
      length = 0;
    }
  }
  if (piece.length > 0) yield `${piece.join('\n')}\n`;
}

/** Puts a lines file back together, line by line; says when the file is not one (a whole-document catalog). */
class LinesReader {
  private fields: Record<string, unknown> | null = null;
  private readonly files: unknown[] = [];
  private lineNumber = 0;

  /** Takes the next line; false when the first line shows an older, whole-document catalog. */
  add(line: string): boolean {
    this.lineNumber++;
    if (this.fields === null) {
      let first: unknown;
      try {
        first = JSON.parse(line);
      } catch {
        return false; // e.g. "{" alone: an indented whole document
      }
      if (typeof first !== 'object' || first === null || Array.isArray(first) || typeof (first as Record<string, unknown>)[FILE_COUNT] !== 'number') return false;
      this.fields = first as Record<string, unknown>;
      return true;
    }
    if (line === '' && this.files.length === this.fileCount) return true; // a final empty line
    try {
      this.files.push(JSON.parse(line));
    } catch (error) {
      throw new Error(`line ${this.lineNumber} of the catalog is not JSON (${(error as Error).message})`);
    }
    return true;
  }

  private get fileCount(): number {
    return this.fields![FILE_COUNT] as number;
  }

  /** The document, once every line was added; throws when the file was cut short or ran on. */
  finish(): CatalogDocument {
    if (this.fields === null) throw new Error('the catalog file is empty');
    if (this.files.length !== this.fileCount) throw new Error(`the catalog lists ${this.fileCount} files but holds ${this.files.length} (cut short or run on)`);
    const { [FILE_COUNT]: _count, ...fields } = this.fields;
    return { ...fields, files: this.files };
  }
}

/**
 * The catalog document in a file's text, whichever layout it has (for small catalogs: tests and
 * tools). Throws when it is not JSON, or is cut short; checking the document's shape is the
 * caller's (catalog.ts).
 */
export function parseCatalogText(text: string): unknown {
  const reader = new LinesReader();
  const lines = text.split('\n');
  if (text.endsWith('\n')) lines.pop();
  for (const line of lines) if (!reader.add(line)) return JSON.parse(text);
  return reader.finish();
}

/** The catalog document in a file, read a chunk at a time (a large catalog is never one string). */
export async function readCatalogDocument(path: string): Promise<unknown> {
  const reader = new LinesReader();
  const stream = createReadStream(path, { encoding: 'utf8', highWaterMark: 1 << 20 });
  let rest = '';
  let linesLayout = true;
  try {
    reading: for await (const chunk of stream as AsyncIterable<string>) {
      const text = rest + chunk;
      let start = 0;
      for (let end = text.indexOf('\n'); end !== -1; end = text.indexOf('\n', start)) {
        if (!reader.add(text.slice(start, end))) {
          linesLayout = false;
          break reading;
        }
        start = end + 1;
      }
      rest = text.slice(start);
    }
  } finally {
    stream.destroy();
  }
  if (linesLayout && rest !== '' && !reader.add(rest)) linesLayout = false;
  // Formats 0-3: one document (at most a few hundred MiB, or it could not have been written).
  if (!linesLayout) return JSON.parse(await readFile(path, 'utf8'));
  return reader.finish();
}

/**
 * lowdb's adapter for the catalog file: writes the lines layout atomically (temp file, fsync,
 * rename). Saves run one after another, each with the document as it was when it was asked for, so
 * that an older save never lands over a newer one. Reading goes through catalog.ts (openCatalog),
 * which checks and migrates what it reads.
 */
export class CatalogLinesFile<T extends CatalogDocument> implements Adapter<T> {
  private writing: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly path: string,
    private readonly readDocument: (path: string) => Promise<T | null>,
  ) {}

  read(): Promise<T | null> {
    return this.readDocument(this.path);
  }

  write(document: T): Promise<void> {
    // The list of files is taken now; the engine hands a new list to every save.
    const snapshot: CatalogDocument = { ...document, files: [...document.files] };
    const write = this.writing.then(() => writeFileAtomic(this.path, catalogLines(snapshot)));
    this.writing = write.catch(() => {});
    return write;
  }
}
