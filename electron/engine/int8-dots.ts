// Exact int8 dot products of one query with many stored rows, in WebAssembly SIMD (int8-dots.wat):
// the coarse-list scan of the vector index (lsh.ts) compares a query with thousands of items, and
// this does each 256-dim product in a few ns where the JavaScript loop (int8-dot.ts) takes ~200.
// The rows live in the module's own memory, filled by the caller through `rows`.
import { INT8_DOTS_WASM_BASE64 } from './int8-dots-wasm.ts';

const PAGE = 65536;
/** Rows per call into the module: the size of its output area. */
const RUN = 4096;

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
  /** Bytes per row: dim rounded up to 16 (the SIMD width), zero-padded. */
  readonly stride: number;
  private readonly memory: WasmMemory;
  private readonly dotsExport: (query: number, rows: number, count: number, dim: number, out: number) => void;
  private capacity = 0;
  private query!: Int8Array;
  private out!: Int32Array;
  /** The rows, `stride` bytes each, for the caller to fill; replaced when reserve() grows the memory. */
  rows!: Int8Array;

  constructor(readonly dim: number) {
    this.stride = Math.ceil(dim / 16) * 16;
    compiled ??= new wasm.Module(Buffer.from(INT8_DOTS_WASM_BASE64, 'base64'));
    const instance = new wasm.Instance(compiled);
    this.memory = instance.exports.memory as WasmMemory;
    this.dotsExport = instance.exports.dots as Int8Rows['dotsExport'];
    this.reserve(0);
  }

  // Layout of the module's memory: query (stride bytes), output (RUN int32), rows.
  private get rowsAt(): number {
    return this.stride + RUN * 4;
  }

  /** Makes room for `count` rows (their contents are kept). */
  reserve(count: number): void {
    const needed = this.rowsAt + count * this.stride;
    if (needed > this.memory.buffer.byteLength) this.memory.grow(Math.ceil((needed - this.memory.buffer.byteLength) / PAGE));
    const buffer = this.memory.buffer;
    this.query = new Int8Array(buffer, 0, this.stride);
    this.out = new Int32Array(buffer, this.stride, RUN);
    this.rows = new Int8Array(buffer, this.rowsAt, count * this.stride);
    this.capacity = count;
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
    if (count > RUN || first < 0 || first + count > this.capacity) throw new Error(`Int8Rows.dots: rows ${first}..${first + count} out of range`);
    this.dotsExport(0, this.rowsAt + first * this.stride, count, this.stride, this.stride);
    return this.out.subarray(0, count);
  }

  static readonly RUN = RUN;
}
