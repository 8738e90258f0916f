// Exact int8 dot products of one query with many stored rows, in WebAssembly SIMD (int8-dots.wat):
// the coarse-list scan of the vector index (lsh.ts) compares a query with thousands of items, and
// this does each 256-dim product in a few ns where the JavaScript loop (int8-dot.ts) takes ~200.
// The rows live in the module's own memory, filled by the caller through `rows`. Rows made
// `withFloats` also carry three float32 each, and above() / aboveAt() then return only the rows
// whose score (dot product and floats combined) beats a bar: a query's list scan and its bucket
// items are judged in the module, and JavaScript sees only the few that may make its top k.
import { INT8_DOTS_WASM_BASE64 } from './int8-dots-wasm.ts';

const PAGE = 65536;
/** Rows per call into the module: the size of its output area (RUN pairs of int32). */
const RUN = 4096;
/** Bytes after each row's int8 values for its three float32 (setRowFloats), kept 16-aligned. */
const FLOAT_BYTES = 16;

// The WebAssembly API in the few words used here (the engine's TypeScript library has no DOM types).
interface WasmMemory {
  readonly buffer: ArrayBuffer;
  grow(pages: number): number;
}
interface WasmApi {
  Module: new (bytes: Uint8Array) => object;
  Instance: new (module: object) => { exports: Record<string, unknown> };
}
const wasm = (globalThis as unknown as { WebAssembly: WasmApi }).WebAssembly;
let compiled: object | null = null;

export class Int8Rows {
  /** Int8 values per row as the module reads them: dim rounded up to 16 (the SIMD width), zero-padded. */
  readonly span: number;
  /** Bytes per row: span, then 16 bytes for three float32 when made `withFloats` (see above()). */
  readonly stride: number;
  private readonly memory: WasmMemory;
  private readonly dotsExport: (query: number, rows: number, count: number, dim: number, stride: number, out: number) => void;
  private readonly aboveExport: (query: number, rows: number, count: number, dim: number, stride: number, scale: number, offset: number, bar: number, out: number) => number;
  private readonly nearestExport: (items: number, count: number, rows: number, rowCount: number, dim: number, stride: number, weights: number, wide: number, out: number) => void;
  private readonly aboveAtExport: (query: number, rows: number, indices: number, count: number, dim: number, stride: number, scale: number, offset: number, bar: number, out: number) => number;
  private capacity = 0;
  private query!: Int8Array;
  private out!: Int32Array;
  private indices!: Uint32Array;
  private floats!: Float32Array;
  /** The rows, `stride` bytes each, for the caller to fill; replaced when the memory grows (reserve, nearestRows). */
  rows!: Int8Array;

  constructor(
    readonly dim: number,
    readonly withFloats = false,
  ) {
    this.span = Math.ceil(dim / 16) * 16;
    this.stride = this.span + (withFloats ? FLOAT_BYTES : 0);
    compiled ??= new wasm.Module(Buffer.from(INT8_DOTS_WASM_BASE64, 'base64'));
    const instance = new wasm.Instance(compiled);
    this.memory = instance.exports.memory as WasmMemory;
    this.dotsExport = instance.exports.dots as Int8Rows['dotsExport'];
    this.aboveExport = instance.exports.above as Int8Rows['aboveExport'];
    this.aboveAtExport = instance.exports.aboveAt as Int8Rows['aboveAtExport'];
    this.nearestExport = instance.exports.nearest as Int8Rows['nearestExport'];
    this.reserve(0);
  }

  // Layout of the module's memory: query (span bytes), output (RUN pairs of int32), row indices
  // (RUN int32, for aboveAt), rows.
  private get indicesAt(): number {
    return this.span + RUN * 8;
  }
  private get rowsAt(): number {
    return this.indicesAt + RUN * 4;
  }

  /** Makes room for `count` rows (their contents are kept). */
  reserve(count: number): void {
    this.ensureBytes(this.rowsAt + count * this.stride);
    this.capacity = count;
    this.remakeViews();
  }

  /** Grows the module's memory to at least `bytes`; the views on it are made again. */
  private ensureBytes(bytes: number): void {
    if (bytes <= this.memory.buffer.byteLength) return;
    this.memory.grow(Math.ceil((bytes - this.memory.buffer.byteLength) / PAGE));
    this.remakeViews();
  }

  private remakeViews(): void {
    const buffer = this.memory.buffer;
    this.query = new Int8Array(buffer, 0, this.span);
    this.out = new Int32Array(buffer, this.span, RUN * 2);
    this.indices = new Uint32Array(buffer, this.indicesAt, RUN);
    this.rows = new Int8Array(buffer, this.rowsAt, this.capacity * this.stride);
    this.floats = new Float32Array(buffer, this.rowsAt, (this.capacity * this.stride) / 4);
  }

  /** Bytes of the module's memory. */
  get byteLength(): number {
    return this.memory.buffer.byteLength;
  }

  setQuery(query: ArrayLike<number>): void {
    if (query.length !== this.dim) throw new Error(`Int8Rows.setQuery: expected ${this.dim} numbers, got ${query.length}`);
    this.query.fill(0);
    this.query.set(query);
  }

  /**
   * Dot products of the query with rows first .. first + count - 1 (count at most Int8Rows.RUN), as
   * a view that the next call overwrites.
   */
  dots(first: number, count: number): Int32Array {
    this.checkRange('dots', first, count);
    this.dotsExport(0, this.rowsAt + first * this.stride, count, this.span, this.stride, this.span);
    return this.out.subarray(0, count);
  }

  /** Sets the three float32 kept after row `row`'s values (rows made `withFloats` only). */
  setRowFloats(row: number, a: number, b: number, c: number): void {
    if (!this.withFloats || row < 0 || row >= this.capacity) throw new Error(`Int8Rows.setRowFloats: no floats for row ${row}`);
    const at = (row * this.stride + this.span) / 4;
    this.floats[at] = a;
    this.floats[at + 1] = b;
    this.floats[at + 2] = c;
  }

  /**
   * Among rows first .. first + count - 1 (count at most Int8Rows.RUN; rows made `withFloats`), those
   * whose score dot * scale * a + offset * b + c, in float32 with the row's floats a, b, c, is above
   * `bar`: a filter that spares JavaScript a look at every row of a long scan. Returns how many;
   * pairs (row - first, dot) of those rows, in order, are at [2i, 2i + 1] of `found`, a view that
   * the next call overwrites.
   */
  above(first: number, count: number, scale: number, offset: number, bar: number): number {
    if (!this.withFloats) throw new Error('Int8Rows.above: the rows were made without floats');
    this.checkRange('above', first, count);
    return this.aboveExport(0, this.rowsAt + first * this.stride, count, this.span, this.stride, scale, offset, bar, this.span);
  }

  /**
   * above() for the rows at[0 .. count - 1] (count at most Int8Rows.RUN): the pairs hold (i, dot)
   * for row at[i].
   */
  aboveAt(at: Uint32Array, count: number, scale: number, offset: number, bar: number): number {
    if (!this.withFloats) throw new Error('Int8Rows.aboveAt: the rows were made without floats');
    if (count > RUN || count > at.length) throw new Error(`Int8Rows.aboveAt: ${count} rows is more than given or than one call takes`);
    for (let i = 0; i < count; i++) if (at[i] >= this.capacity) throw new Error(`Int8Rows.aboveAt: row ${at[i]} out of range`);
    this.indices.set(at.subarray(0, count));
    return this.aboveAtExport(0, this.rowsAt, this.indicesAt, count, this.span, this.stride, scale, offset, bar, this.span);
  }

  /**
   * For each of the `out.length` vectors in `vectors` (dim int8 values each, end to end), the row
   * with the highest dot * weights[row] in float32, the first of equals (weights: one per row
   * reserved): nearest-centroid filing, four vectors against each row at once in the module.
   */
  nearestRows(vectors: Int8Array, weights: Float32Array, out: Int32Array): void {
    const count = out.length;
    if (vectors.length !== count * this.dim || weights.length !== this.capacity || this.capacity === 0) {
      throw new Error(`Int8Rows.nearestRows: expected ${count} vectors of ${this.dim} and ${this.capacity} weights, one or more`);
    }
    // Scratch after the rows: the weights, 4 widened vectors, then up to RUN vectors.
    const weightsAt = this.rowsAt + this.capacity * this.stride;
    const wideAt = weightsAt + Math.ceil(this.capacity / 4) * 16;
    const vectorsAt = wideAt + 8 * this.span;
    this.ensureBytes(vectorsAt + RUN * this.span);
    const buffer = this.memory.buffer;
    new Float32Array(buffer, weightsAt, this.capacity).set(weights);
    const batch = new Int8Array(buffer, vectorsAt, RUN * this.span);
    for (let first = 0; first < count; first += RUN) {
      const n = Math.min(RUN, count - first);
      if (this.span === this.dim) batch.set(vectors.subarray(first * this.dim, (first + n) * this.dim));
      else for (let i = 0; i < n; i++) batch.set(vectors.subarray((first + i) * this.dim, (first + i + 1) * this.dim), i * this.span); // padding stays 0
      this.nearestExport(vectorsAt, n, this.rowsAt, this.capacity, this.span, this.stride, weightsAt, wideAt, this.span);
      out.set(this.out.subarray(0, n), first);
    }
  }

  /** What above() and aboveAt() found: int32 pairs. */
  get found(): Int32Array {
    return this.out;
  }

  private checkRange(what: string, first: number, count: number): void {
    if (count > RUN || first < 0 || first + count > this.capacity) throw new Error(`Int8Rows.${what}: rows ${first}..${first + count} out of range`);
  }

  static readonly RUN = RUN;
}
