// Embeddings live beside the catalog in one append-only binary file of fixed-size float16 rows
// (half the size of float32, ~1e-3 relative error, far below what matching needs). The catalog
// records how many rows are committed; rows past that (a torn write) are cut off on open.
import { closeSync, existsSync, fstatSync, fsyncSync, ftruncateSync, openSync, readSync, writeSync } from 'node:fs';
import { xxh3 } from '@node-rs/xxhash';

const MAGIC = 'PDDVEC01';
const HEADER_BYTES = 32;
const FORMAT_VERSION = 1;

export class VectorStore {
  private rows: Uint16Array; // all committed rows, in memory (float16 bits)
  private count: number;

  private constructor(private readonly fd: number, readonly path: string, readonly dim: number, rows: Uint16Array, count: number) {
    this.rows = rows;
    this.count = count;
  }

  /**
   * Opens (or creates) the store. `committedRows` is the row count the catalog vouches for; extra rows
   * (written before a crash, never committed) are dropped. Returns the rows actually available, which
   * can be fewer than committed if the file was damaged: the caller re-embeds the rest.
   */
  static open(path: string, dim: number, committedRows: number): VectorStore {
    // Not 'a+': with O_APPEND, Linux ignores write positions.
    const fd = openSync(path, existsSync(path) ? 'r+' : 'w+');
    try {
      const size = fstatSync(fd).size;
      if (size < HEADER_BYTES || !headerMatches(fd, dim)) {
        // New, wrong model dimension, or a damaged header: start empty (the catalog re-embeds).
        ftruncateSync(fd, 0);
        writeSync(fd, makeHeader(dim), 0, HEADER_BYTES, 0);
        fsyncSync(fd);
        return new VectorStore(fd, path, dim, new Uint16Array(dim * 1024), 0);
      }
      const rowBytes = dim * 2;
      const available = Math.min(committedRows, Math.floor((size - HEADER_BYTES) / rowBytes));
      if (size !== HEADER_BYTES + available * rowBytes) ftruncateSync(fd, HEADER_BYTES + available * rowBytes);
      const rows = new Uint16Array(dim * Math.max(1024, available * 2));
      const view = Buffer.from(rows.buffer, 0, available * rowBytes);
      let offset = 0;
      while (offset < view.length) offset += readSync(fd, view, offset, view.length - offset, HEADER_BYTES + offset);
      return new VectorStore(fd, path, dim, rows, available);
    } catch (error) {
      closeSync(fd);
      throw error;
    }
  }

  get rowCount(): number {
    return this.count;
  }

  /** Appends rows and flushes them to disk; returns the index of the first. */
  append(vectors: Float32Array[]): number {
    const first = this.count;
    if (vectors.length === 0) return first;
    const needed = (this.count + vectors.length) * this.dim;
    if (needed > this.rows.length) {
      const grown = new Uint16Array(Math.max(needed, this.rows.length * 2));
      grown.set(this.rows.subarray(0, this.count * this.dim));
      this.rows = grown;
    }
    for (const [i, vector] of vectors.entries()) {
      if (vector.length !== this.dim) throw new Error(`vector has ${vector.length} values, expected ${this.dim}`);
      const base = (first + i) * this.dim;
      for (let j = 0; j < this.dim; j++) this.rows[base + j] = toHalf(vector[j]);
    }
    const bytes = Buffer.from(this.rows.buffer, first * this.dim * 2, vectors.length * this.dim * 2);
    writeSync(this.fd, bytes, 0, bytes.length, HEADER_BYTES + first * this.dim * 2);
    fsyncSync(this.fd);
    this.count += vectors.length;
    return first;
  }

  /** Drops every row from `rows` on (e.g. to keep whole photos after a torn write). */
  truncate(rows: number): void {
    if (rows >= this.count) return;
    this.count = rows;
    ftruncateSync(this.fd, HEADER_BYTES + rows * this.dim * 2);
    fsyncSync(this.fd);
  }

  /** Dot product of a stored row with a vector, and the row's norm, without copying the row. */
  dotAndNorm(row: number, vector: Float32Array): { dot: number; norm: number } {
    let dot = 0;
    let norm = 0;
    const base = row * this.dim;
    for (let j = 0; j < this.dim; j++) {
      const value = HALF_TO_FLOAT[this.rows[base + j]];
      dot += value * vector[j];
      norm += value * value;
    }
    return { dot, norm: Math.sqrt(norm) };
  }

  /** Checksum (xxHash3-64, hex) of `count` rows from `first`, as stored: the catalog keeps it per photo. */
  hashRows(first: number, count: number): string {
    if (first < 0 || first + count > this.count) throw new Error(`vector rows ${first}..${first + count - 1} out of range (0..${this.count - 1})`);
    const bytes = Buffer.from(this.rows.buffer, first * this.dim * 2, count * this.dim * 2);
    return xxh3.xxh64(bytes).toString(16).padStart(16, '0');
  }

  /** Row as float32. */
  read(row: number): Float32Array {
    if (row < 0 || row >= this.count) throw new Error(`vector row ${row} out of range (0..${this.count - 1})`);
    const out = new Float32Array(this.dim);
    const base = row * this.dim;
    for (let j = 0; j < this.dim; j++) out[j] = HALF_TO_FLOAT[this.rows[base + j]];
    return out;
  }

  /** Rewrites the file with only the given rows, in order (compaction); returns nothing, rows renumber 0..n-1. */
  compact(keep: number[]): void {
    const next = new Uint16Array(this.dim * Math.max(1024, keep.length * 2));
    keep.forEach((row, i) => next.set(this.rows.subarray(row * this.dim, (row + 1) * this.dim), i * this.dim));
    this.rows = next;
    this.count = keep.length;
    ftruncateSync(this.fd, HEADER_BYTES);
    const bytes = Buffer.from(this.rows.buffer, 0, this.count * this.dim * 2);
    writeSync(this.fd, bytes, 0, bytes.length, HEADER_BYTES);
    fsyncSync(this.fd);
  }

  close(): void {
    closeSync(this.fd);
  }
}

function makeHeader(dim: number): Buffer {
  const header = Buffer.alloc(HEADER_BYTES);
  header.write(MAGIC, 0, 'ascii');
  header.writeUInt32LE(FORMAT_VERSION, 8);
  header.writeUInt32LE(dim, 12);
  header.writeUInt32LE(16, 16); // bits per value
  return header;
}

function headerMatches(fd: number, dim: number): boolean {
  const header = Buffer.alloc(HEADER_BYTES);
  readSync(fd, header, 0, HEADER_BYTES, 0);
  return header.toString('ascii', 0, 8) === MAGIC && header.readUInt32LE(8) === FORMAT_VERSION && header.readUInt32LE(12) === dim && header.readUInt32LE(16) === 16;
}

// ---- float16 conversion (IEEE 754 binary16), round to nearest ----
const floatView = new Float32Array(1);
const intView = new Uint32Array(floatView.buffer);

export function toHalf(value: number): number {
  floatView[0] = value;
  const x = intView[0];
  const sign = (x >>> 16) & 0x8000;
  let exponent = ((x >>> 23) & 0xff) - 127 + 15;
  let mantissa = x & 0x7fffff;
  if (exponent >= 31) return sign | 0x7c00 | (((x >>> 23) & 0xff) === 0xff && mantissa ? 0x200 : 0); // overflow → inf, NaN stays NaN
  if (exponent <= 0) {
    if (exponent < -10) return sign; // too small: signed zero
    mantissa |= 0x800000;
    const shift = 14 - exponent;
    let half = mantissa >> shift;
    if ((mantissa >> (shift - 1)) & 1) half += 1;
    return sign | half;
  }
  let half = sign | (exponent << 10) | (mantissa >> 13);
  if (mantissa & 0x1000) half += 1; // round (carry into the exponent is correct behaviour)
  return half;
}

const HALF_TO_FLOAT = (() => {
  const table = new Float32Array(65536);
  for (let h = 0; h < 65536; h++) {
    const sign = h & 0x8000 ? -1 : 1;
    const exponent = (h >> 10) & 0x1f;
    const mantissa = h & 0x3ff;
    if (exponent === 0) table[h] = sign * 2 ** -14 * (mantissa / 1024);
    else if (exponent === 31) table[h] = mantissa ? NaN : sign * Infinity;
    else table[h] = sign * 2 ** (exponent - 15) * (1 + mantissa / 1024);
  }
  return table;
})();

export function fromHalf(half: number): number {
  return HALF_TO_FLOAT[half];
}
