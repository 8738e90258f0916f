// Embeddings live beside the catalog in one append-only binary file of fixed-size float16 rows
// (half the size of float32, ~1e-3 relative error, far below what matching needs). The catalog
// records how many rows are committed; rows past that (a torn write) are cut off on open.
//
// Rows are read from the file when asked for, not held in memory: a million photos have 3.5 GB of
// them, and a regrouping reads only the rows of the photos it judges (the indexes keep their own
// compact copies). The operating system's page cache keeps the rows read often at hand.
import { closeSync, existsSync, fstatSync, fsyncSync, ftruncateSync, openSync, readSync, writeSync } from 'node:fs';
import { checksum64 } from './content-hash.ts';

const MAGIC = 'PDDVEC01';
const HEADER_BYTES = 32;
const FORMAT_VERSION = 1;
/** Bytes read at once by hashRowRuns. */
const CHUNK_BYTES = 8 << 20;

export class VectorStore {
  private count: number;
  /** One row's bytes, read into by read() and dotAndNorm() (the engine runs on one thread). */
  private readonly row: Uint16Array;

  private constructor(private readonly fd: number, readonly path: string, readonly dim: number, count: number) {
    this.count = count;
    this.row = new Uint16Array(dim);
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
        writeFully(fd, makeHeader(dim), 0);
        fsyncSync(fd);
        return new VectorStore(fd, path, dim, 0);
      }
      const rowBytes = dim * 2;
      const available = Math.min(committedRows, Math.floor((size - HEADER_BYTES) / rowBytes));
      if (size !== HEADER_BYTES + available * rowBytes) ftruncateSync(fd, HEADER_BYTES + available * rowBytes);
      return new VectorStore(fd, path, dim, available);
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
    const halves = new Uint16Array(vectors.length * this.dim);
    for (const [i, vector] of vectors.entries()) {
      if (vector.length !== this.dim) throw new Error(`vector has ${vector.length} values, expected ${this.dim}`);
      const base = i * this.dim;
      for (let j = 0; j < this.dim; j++) halves[base + j] = toHalf(vector[j]);
    }
    writeFully(this.fd, bytesOf(halves), this.offsetOf(first));
    fsyncSync(this.fd);
    this.count += vectors.length;
    return first;
  }

  /** Drops every row from `rows` on (e.g. to keep whole photos after a torn write). */
  truncate(rows: number): void {
    if (rows >= this.count) return;
    this.count = rows;
    ftruncateSync(this.fd, this.offsetOf(rows));
    fsyncSync(this.fd);
  }

  /** Dot product of a stored row with a vector, and the row's norm. */
  dotAndNorm(row: number, vector: Float32Array): { dot: number; norm: number } {
    const halves = this.readRow(row);
    let dot = 0;
    let norm = 0;
    for (let j = 0; j < this.dim; j++) {
      const value = HALF_TO_FLOAT[halves[j]];
      dot += value * vector[j];
      norm += value * value;
    }
    return { dot, norm: Math.sqrt(norm) };
  }

  /** Checksum (xxHash3-64, hex) of `count` rows from `first`, as stored: the catalog keeps it per photo. */
  hashRows(first: number, count: number): string {
    this.checkRows(first, count);
    const bytes = Buffer.allocUnsafe(count * this.dim * 2); // filled by readFully, or it throws
    readFully(this.fd, bytes, this.offsetOf(first));
    return checksum64(bytes);
  }

  /**
   * Checksums of `count` rows from each of `firsts` (ascending), as hashRows gives them, read in large
   * chunks in file order: the engine checks every photo's rows on open, and a read per photo took
   * 8 s at a million photos.
   */
  hashRowRuns(firsts: ArrayLike<number>, count: number): string[] {
    const rowBytes = this.dim * 2;
    const chunk = Buffer.allocUnsafe(Math.max(count, Math.floor(CHUNK_BYTES / rowBytes)) * rowBytes);
    const chunkRows = chunk.length / rowBytes;
    let chunkFirst = 0;
    let chunkEnd = 0; // the rows in chunk: chunkFirst .. chunkEnd - 1
    const hashes: string[] = new Array(firsts.length);
    for (let i = 0; i < firsts.length; i++) {
      const first = firsts[i];
      this.checkRows(first, count);
      if (i > 0 && first < firsts[i - 1]) throw new Error(`vector rows asked for out of order (${first} after ${firsts[i - 1]})`);
      if (first + count > chunkEnd) {
        const rows = Math.min(chunkRows, this.count - first);
        readFully(this.fd, chunk.subarray(0, rows * rowBytes), this.offsetOf(first));
        chunkFirst = first;
        chunkEnd = first + rows;
      }
      const start = (first - chunkFirst) * rowBytes;
      hashes[i] = checksum64(chunk.subarray(start, start + count * rowBytes));
    }
    return hashes;
  }

  /** Row as float32. */
  read(row: number): Float32Array {
    const halves = this.readRow(row);
    const out = new Float32Array(this.dim);
    for (let j = 0; j < this.dim; j++) out[j] = HALF_TO_FLOAT[halves[j]];
    return out;
  }

  close(): void {
    closeSync(this.fd);
  }

  /** A row's float16 bits, in this.row (valid until the next read). */
  private readRow(row: number): Uint16Array {
    this.checkRows(row, 1);
    readFully(this.fd, bytesOf(this.row), this.offsetOf(row));
    return this.row;
  }

  private checkRows(first: number, count: number): void {
    if (!Number.isInteger(first) || !Number.isInteger(count) || first < 0 || count < 0 || first + count > this.count)
      throw new Error(`vector rows ${first}..${first + count - 1} out of range (0..${this.count - 1})`);
  }

  private offsetOf(row: number): number {
    return HEADER_BYTES + row * this.dim * 2;
  }
}

/** The bytes of a typed array (no copy). */
function bytesOf(array: Uint16Array): Buffer {
  return Buffer.from(array.buffer, array.byteOffset, array.byteLength);
}

/** Reads exactly buffer.length bytes at `position`; a file that ends first was cut while open. */
function readFully(fd: number, buffer: Buffer, position: number): void {
  for (let done = 0; done < buffer.length; ) {
    const read = readSync(fd, buffer, done, buffer.length - done, position + done);
    if (read === 0) throw new Error(`the vector file ends before byte ${position + buffer.length} (cut while open?)`);
    done += read;
  }
}

function writeFully(fd: number, buffer: Buffer, position: number): void {
  for (let done = 0; done < buffer.length; ) done += writeSync(fd, buffer, done, buffer.length - done, position + done);
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
