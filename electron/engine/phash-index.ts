// Exact Hamming-distance search over 64-bit perceptual hashes (multi-index hashing).
//
// Each hash is cut into four 16-bit chunks, and each chunk position has its own table of buckets.
// Pigeonhole: if two hashes differ in at most d bits, then some chunk differs in at most
// floor(d / 4) bits. So looking in, for each chunk, the buckets within floor(d / 4) bits of the
// query's chunk, and checking the full distance of what is there, misses nothing: results are exact.
// The cost grows with floor(d / 4) (1, 17, 137 and 697 buckets per chunk for 0..3), which is why
// distances are capped at PHASH_MAX_DISTANCE = 15 (the engine uses 10; different photos were never
// closer than 14 on the dev set). Items are integer ids chosen by the caller; no files here.
import { crc32 } from 'node:zlib';
import { endianness } from 'node:os';
import { popcount32 } from './bits.ts';
import { sharedArray } from './shared-arrays.ts';

export const PHASH_MAX_DISTANCE = 15;

const CHUNKS = 4;
const CHUNK_BITS = 16;
const BUCKETS = 1 << CHUNK_BITS;

export type PhashInput = bigint | string;

/** Parses a pHash given as a bigint or as 16 hex characters. */
export function toPhash(hash: PhashInput): bigint {
  let value: bigint;
  if (typeof hash === 'string') {
    if (!/^[0-9a-fA-F]{16}$/.test(hash)) throw new Error(`pHash: expected 16 hex characters, got "${hash}"`);
    value = BigInt(`0x${hash}`);
  } else {
    value = hash;
  }
  if (value < 0n || value >= 1n << 64n) throw new Error(`pHash: ${value} is not a 64-bit unsigned value`);
  return value;
}

/** Number of differing bits between two 64-bit hashes. */
export function hamming(a: PhashInput, b: PhashInput): number {
  const x = toPhash(a) ^ toPhash(b);
  return popcount32(Number(x & 0xffffffffn)) + popcount32(Number(x >> 32n));
}

/** The 16-bit chunk `c` (0 = lowest bits) of a hash stored as two 32-bit halves. */
function chunkOf(lo: number, hi: number, c: number): number {
  const word = c < 2 ? lo : hi;
  return c % 2 === 0 ? word & 0xffff : word >>> 16;
}

/** All 16-bit masks with 1..radius bits set. */
const masksByRadius = new Map<number, number[]>();

/** The non-zero 16-bit masks of at most `radius` bits; made once per radius (a scan of 65,536 values). */
function flipMasks(radius: number): number[] {
  let masks = masksByRadius.get(radius);
  if (!masks) {
    masks = [];
    for (let m = 1; m < BUCKETS; m++) if (popcount32(m) <= radius) masks.push(m);
    masksByRadius.set(radius, masks);
  }
  return masks;
}

/** Set bits of each 16-bit value. */
const POPCOUNT_16 = new Uint8Array(1 << 16);
for (let x = 1; x < POPCOUNT_16.length; x++) POPCOUNT_16[x] = POPCOUNT_16[x >>> 1] + (x & 1);

/**
 * popcount32 by two table reads: some 10 % faster in forEachWithinBatch's innermost loop (measured
 * at a million hashes); forEachPairWithin's uses it too. Defined here, not imported: under tsx,
 * worker threads load the engine as CommonJS, where each call of an imported function went through
 * a getter (a third of the worker's time in the batched search; the pair search at a million hashes
 * took 14-30 s with it, 13.6-14 s without, on 2 threads).
 */
function popcount32ByTable(x: number): number {
  return POPCOUNT_16[x & 0xffff] + POPCOUNT_16[x >>> 16];
}

/**
 * Whether a pair whose halves differ by xorLo / xorHi was already reported from a chunk table before
 * chunk c: it is in one of that table's searched buckets when that chunk is within `radius` bits.
 */
function reportedEarlier(xorLo: number, xorHi: number, c: number, radius: number): boolean {
  for (let e = 0; e < c; e++) if (popcount32(chunkOf(xorLo, xorHi, e)) <= radius) return true;
  return false;
}

/**
 * forEachWithinBatch's work in chunk table c: each group of queries with the same chunk value
 * (starts, in the sorted order) against the items of every bucket within `radius` bits of it.
 * A function of its own, with everything it reads passed in, for V8 to make the innermost loop tight.
 */
function searchChunkTable(
  c: number,
  radius: number,
  maxDistance: number,
  masks: number[],
  starts: Uint32Array,
  order: Uint32Array,
  sortedLo: Int32Array,
  sortedHi: Int32Array,
  offsets: Uint32Array,
  members: Uint32Array,
  memberLo: Int32Array,
  memberHi: Int32Array,
  slotIds: Float64Array,
  stale: Uint8Array | null,
  visit: (query: number, id: number, distance: number) => void,
): void {
  // "First" is the half without chunk c: its 32 bits are as far apart as chance makes them.
  const chunkInLo = c < 2;
  const firstOfQuery = chunkInLo ? sortedHi : sortedLo;
  const secondOfQuery = chunkInLo ? sortedLo : sortedHi;
  const firstOfItem = chunkInLo ? memberHi : memberLo;
  const secondOfItem = chunkInLo ? memberLo : memberHi;
  for (let v = 0; v < BUCKETS; v++) {
    const queriesStart = starts[v];
    const queriesEnd = starts[v + 1];
    if (queriesStart === queriesEnd) continue;
    for (let k = 0; k < masks.length; k++) {
      const bucket = v ^ masks[k];
      const bucketEnd = offsets[bucket + 1];
      for (let m = offsets[bucket]; m < bucketEnd; m++) {
        const first = firstOfItem[m];
        const second = secondOfItem[m];
        for (let at = queriesStart; at < queriesEnd; at++) {
          const firstDistance = popcount32ByTable(first ^ firstOfQuery[at]);
          if (firstDistance > maxDistance) continue;
          const d = firstDistance + popcount32ByTable(second ^ secondOfQuery[at]);
          if (d <= maxDistance && (stale === null || stale[members[m]] === 0) && !reportedEarlier(memberLo[m] ^ sortedLo[at], memberHi[m] ^ sortedHi[at], c, radius)) visit(order[at], slotIds[members[m]], d);
        }
      }
    }
  }
}

function checkDistance(maxDistance: number, caller: string): void {
  if (!Number.isInteger(maxDistance) || maxDistance < 0 || maxDistance > PHASH_MAX_DISTANCE)
    throw new Error(`${caller}: maxDistance must be an integer in 0..${PHASH_MAX_DISTANCE}, got ${maxDistance}`);
}

/** Changes (items added or removed) searches take without rebuilding the tables: as many as LshIndex takes (PENDING_LIMIT there), or a thousandth of the items. */
const PENDING_LIMIT = 1000;
/** Most one-by-one comparisons of a search's queries with the items added since the tables were built (a few milliseconds). */
const PENDING_CHECKS = 1e7;
/** Comparisons searches make with every item, one by one, before the tables they lack are built (see scanInsteadOfTables; some 0.15 s). */
const SCAN_CHECKS = 5e7;
/** staleSlot: the slot's table entries (if any) hold an item removed since, or another item than the one added into it since. */
const REMOVED_SINCE = 1;
const ADDED_SINCE = 2;

const MAGIC = 'PDPHASHX';
const FORMAT_VERSION = 1;
const HEADER_BYTES = 24;

/** The arrays the searches read, on SharedArrayBuffers: worker threads search without a copy (candidate-workers.ts). */
export interface PhashSharedState {
  live: number;
  slotIds: Float64Array;
  lo: Int32Array;
  hi: Int32Array;
  offsets: Uint32Array[];
  members: Uint32Array[];
  memberLo: Int32Array[];
  memberHi: Int32Array[];
}

export interface PhashHit {
  id: number;
  distance: number;
}

export class PhashIndex {
  private capacity = 0;
  private slotCount = 0;
  private live = 0;
  private readonly freeSlots: number[] = [];
  private readonly idToSlot = new Map<number, number>();
  private slotIds: Float64Array = new Float64Array(0);
  private alive = new Uint8Array(0);
  private lo: Int32Array = new Int32Array(0);
  private hi: Int32Array = new Int32Array(0);

  // Per chunk position: members grouped by chunk value (CSR), rebuilt lazily after changes.
  private offsets: Uint32Array[] = [];
  private members: Uint32Array[] = [];
  /** Per chunk table, the members' hashes in bucket order: a query reads them in sequence. */
  private memberLo: Int32Array[] = [];
  private memberHi: Int32Array[] = [];
  private dirty = true;
  // A regrouping after one new photo searches its hash, and rebuilding the tables for that took
  // 0.3 s at a million photos. So while few items changed since the tables were built, searches
  // take the tables as they are: entries of slots removed (or taken again) since are skipped
  // (`staleSlot`), and the items added since (`pending`) are compared one by one. The full
  // searches, and the worker threads, always get tables built over every item.
  private pending: number[] = [];
  private staleSlot = new Uint8Array(0);
  private removedSince = 0;
  private tableBuildCount = 0;
  private scannedSinceTablesBuilt = 0; // comparisons made by scanWithin since (scanInsteadOfTables)

  /** Times the chunk tables were built over every item (for tests and benchmarks). */
  get tableBuilds(): number {
    return this.tableBuildCount;
  }

  get size(): number {
    return this.live;
  }

  has(id: number): boolean {
    return this.idToSlot.has(id);
  }

  *ids(): IterableIterator<number> {
    for (const id of this.idToSlot.keys()) yield id;
  }

  /** The stored hash of an id, or undefined. */
  get(id: number): bigint | undefined {
    const slot = this.idToSlot.get(id);
    if (slot === undefined) return undefined;
    return (BigInt(this.hi[slot] >>> 0) << 32n) | BigInt(this.lo[slot] >>> 0);
  }

  /** Adds an item; an id already present is replaced. */
  add(id: number, hash: PhashInput): void {
    if (!Number.isSafeInteger(id) || id < 0) throw new Error(`PhashIndex.add: id must be a non-negative safe integer, got ${id}`);
    const value = toPhash(hash);
    if (this.idToSlot.has(id)) this.remove(id);
    let slot = this.freeSlots.pop();
    if (slot === undefined) {
      if (this.slotCount === this.capacity) this.grow(Math.max(1024, Math.ceil(this.capacity * 1.5)));
      slot = this.slotCount++;
    }
    this.slotIds[slot] = id;
    this.alive[slot] = 1;
    this.lo[slot] = Number(value & 0xffffffffn) | 0;
    this.hi[slot] = Number(value >> 32n) | 0;
    this.idToSlot.set(id, slot);
    this.live++;
    if (this.noteChange() && this.staleSlot[slot] !== ADDED_SINCE) {
      this.pending.push(slot); // once, should it be taken, freed and taken again
      this.staleSlot[slot] = ADDED_SINCE; // what the tables hold for this slot (if anything) is another item's
    }
  }

  remove(id: number): boolean {
    const slot = this.idToSlot.get(id);
    if (slot === undefined) return false;
    this.idToSlot.delete(id);
    this.alive[slot] = 0;
    this.freeSlots.push(slot);
    this.live--;
    if (this.noteChange()) {
      this.removedSince++;
      if (this.staleSlot[slot] === 0) this.staleSlot[slot] = REMOVED_SINCE;
    }
    return true;
  }

  /** Whether the change is to be noted for searches that take the tables as they are: not past the limit (the tables are then built again). */
  private noteChange(): boolean {
    if (this.dirty) return false;
    if (this.pending.length + this.removedSince < Math.max(PENDING_LIMIT, this.live / 1000)) return true;
    this.dirty = true;
    return false;
  }

  /** Every stored item within maxDistance bits of `hash`, nearest first (ties by id). Exact. */
  query(hash: PhashInput, maxDistance: number): PhashHit[] {
    checkDistance(maxDistance, 'PhashIndex.query');
    const value = toPhash(hash);
    const hits: PhashHit[] = [];
    this.forEachWithin(Number(value & 0xffffffffn) | 0, Number(value >> 32n) | 0, maxDistance, (id, distance) => hits.push({ id, distance }));
    return hits.sort((a, b) => a.distance - b.distance || a.id - b.id);
  }

  /**
   * The same search for a hash given as its low and high 32 bits, calling visit(id, distance) for
   * each hit, in no particular order. No BigInt and no allocation. For many queries at once,
   * forEachWithinBatch is several times faster per query.
   */
  forEachWithin(qlo: number, qhi: number, maxDistance: number, visit: (id: number, distance: number) => void): void {
    checkDistance(maxDistance, 'PhashIndex.forEachWithin');
    if (this.scanInsteadOfTables(1)) {
      this.scanWithin(Int32Array.of(qlo), Int32Array.of(qhi), maxDistance, (_, id, distance) => visit(id, distance));
      return;
    }
    const stale = this.tablesForSearch(1);
    const radius = Math.floor(maxDistance / CHUNKS);
    const masks = flipMasks(radius);
    for (let c = 0; c < CHUNKS; c++) {
      const chunk = chunkOf(qlo, qhi, c);
      const offsets = this.offsets[c];
      const members = this.members[c];
      const memberLo = this.memberLo[c];
      const memberHi = this.memberHi[c];
      for (let k = -1; k < masks.length; k++) {
        const bucket = k < 0 ? chunk : chunk ^ masks[k]; // the query's own bucket first
        for (let m = offsets[bucket]; m < offsets[bucket + 1]; m++) {
          const lo = memberLo[m];
          const hi = memberHi[m];
          const d = popcount32(lo ^ qlo) + popcount32(hi ^ qhi);
          if (d <= maxDistance && (stale === null || stale[members[m]] === 0) && !reportedEarlier(lo ^ qlo, hi ^ qhi, c, radius)) visit(this.slotIds[members[m]], d);
        }
      }
    }
    for (const slot of stale ? this.pending : []) {
      if (!this.alive[slot]) continue;
      const d = popcount32(this.lo[slot] ^ qlo) + popcount32(this.hi[slot] ^ qhi);
      if (d <= maxDistance) visit(this.slotIds[slot], d);
    }
  }

  /**
   * forEachWithin for many queries with the same maxDistance (the candidate search's turned and
   * cropped hashes, 61 a photo): calls visit(query, id, distance), `query` being the position in
   * qlo / qhi, for every hit, in no particular order; the same hits as forEachWithin of each query.
   * Faster per query the more there are (at a million items, 5 to 7 times for batches of 250,000 to
   * 1,000,000 queries): the queries are sorted by each chunk, so a bucket is read once for all the
   * queries that look in it, and a check starts with the 32-bit half that does not hold the chunk,
   * which rejects all but a few percent of what a bucket holds.
   */
  forEachWithinBatch(qlo: Int32Array, qhi: Int32Array, maxDistance: number, visit: (query: number, id: number, distance: number) => void): void {
    checkDistance(maxDistance, 'PhashIndex.forEachWithinBatch');
    if (qlo.length !== qhi.length) throw new Error('PhashIndex.forEachWithinBatch: qlo and qhi must have the same length');
    if (this.scanInsteadOfTables(qlo.length)) return this.scanWithin(qlo, qhi, maxDistance, visit);
    const stale = this.tablesForSearch(qlo.length);
    const count = qlo.length;
    const radius = Math.floor(maxDistance / CHUNKS);
    const masks = [0, ...flipMasks(radius)]; // the queries' own bucket first
    // The queries in order of the current chunk (counting sort), with their halves in that order.
    const starts = new Uint32Array(BUCKETS + 1);
    const order = new Uint32Array(count);
    const sortedLo = new Int32Array(count);
    const sortedHi = new Int32Array(count);
    for (let c = 0; c < CHUNKS; c++) {
      starts.fill(0);
      for (let q = 0; q < count; q++) starts[chunkOf(qlo[q], qhi[q], c) + 1]++;
      for (let v = 0; v < BUCKETS; v++) starts[v + 1] += starts[v];
      const cursor = starts.slice(0, BUCKETS);
      for (let q = 0; q < count; q++) {
        const at = cursor[chunkOf(qlo[q], qhi[q], c)]++;
        order[at] = q;
        sortedLo[at] = qlo[q];
        sortedHi[at] = qhi[q];
      }
      searchChunkTable(c, radius, maxDistance, masks, starts, order, sortedLo, sortedHi, this.offsets[c], this.members[c], this.memberLo[c], this.memberHi[c], this.slotIds, stale, visit);
    }
    for (const slot of stale ? this.pending : []) {
      if (!this.alive[slot]) continue;
      const lo = this.lo[slot];
      const hi = this.hi[slot];
      for (let q = 0; q < count; q++) {
        const d = popcount32(lo ^ qlo[q]) + popcount32(hi ^ qhi[q]);
        if (d <= maxDistance) visit(q, this.slotIds[slot], d);
      }
    }
  }

  /**
   * Whether a search of `queries` hashes should compare each with every item instead of building
   * the tables it lacks (never built, as after opening, or past the limit of changes): while these
   * comparisons, counted since the tables were last built, stay under SCAN_CHECKS. A new photo's
   * hash after opening costs 3-5 ms that way at a million items, against 0.3-0.4 s for the tables.
   */
  private scanInsteadOfTables(queries: number): boolean {
    if (!this.dirty || this.scannedSinceTablesBuilt + queries * this.live > SCAN_CHECKS) return false;
    this.scannedSinceTablesBuilt += queries * this.live;
    return true;
  }

  /** Every item compared with every query: the hits forEachWithinBatch reports, without the tables. */
  private scanWithin(qlo: Int32Array, qhi: Int32Array, maxDistance: number, visit: (query: number, id: number, distance: number) => void): void {
    const { alive, lo, hi, slotIds } = this;
    for (let s = 0; s < this.slotCount; s++) {
      if (!alive[s]) continue;
      for (let q = 0; q < qlo.length; q++) {
        const d = popcount32(lo[s] ^ qlo[q]) + popcount32(hi[s] ^ qhi[q]);
        if (d <= maxDistance) visit(q, slotIds[s], d);
      }
    }
  }

  /**
   * Readies the tables for a search of `queries` hashes: built over every item, or (returning which
   * slots' entries to skip) as they are when few items changed since and comparing each query with
   * the items added since costs little; null when they hold every item as it is.
   */
  private tablesForSearch(queries: number): Uint8Array | null {
    const changed = this.pending.length + this.removedSince > 0;
    if (!this.dirty && changed && this.pending.length * queries <= PENDING_CHECKS) return this.staleSlot;
    this.ensureTables(); // (nothing to do when they hold every item as it is)
    return null;
  }

  /** All pairs within maxDistance bits, as [idA, idB] with idA < idB. Exact. */
  pairsWithin(maxDistance: number): Array<[number, number]> {
    const pairs: Array<[number, number]> = [];
    this.forEachPairWithin(maxDistance, (a, b) => pairs.push([a, b]));
    return pairs;
  }

  /**
   * Calls visit(idA, idB, distance) once for every pair within maxDistance bits (idA < idB) and
   * returns how many. A pair is looked at in every chunk where its chunks are close enough, and
   * reported only from the first of them. `chunks` (default all four) limits the search to those
   * chunk tables: complementary sets report every pair once between them (worker threads split
   * the search that way, candidate-workers.ts).
   */
  forEachPairWithin(maxDistance: number, visit: (idA: number, idB: number, distance: number) => void, chunks: number[] = [0, 1, 2, 3]): number {
    checkDistance(maxDistance, 'PhashIndex.forEachPairWithin');
    if (chunks.some((c) => !Number.isInteger(c) || c < 0 || c >= CHUNKS)) throw new Error(`PhashIndex.forEachPairWithin: chunks must be in 0..${CHUNKS - 1}`);
    this.ensureTables();
    const radius = Math.floor(maxDistance / CHUNKS);
    const masks = flipMasks(radius);
    const n = this.live;
    const orderedLo = new Int32Array(n);
    const orderedHi = new Int32Array(n);
    const { lo, hi, slotIds } = this;
    let count = 0;

    for (const c of chunks) {
      const offsets = this.offsets[c];
      const members = this.members[c];
      for (let i = 0; i < n; i++) {
        orderedLo[i] = lo[members[i]];
        orderedHi[i] = hi[members[i]];
      }
      // The half without chunk c first: it rejects most pairs with one count (see forEachWithinBatch).
      const first = c < 2 ? orderedHi : orderedLo;
      const second = c < 2 ? orderedLo : orderedHi;
      // Positions i, j in bucket order.
      const examine = (i: number, j: number): void => {
        const firstDistance = popcount32ByTable(first[i] ^ first[j]);
        if (firstDistance > maxDistance) return;
        const d = firstDistance + popcount32ByTable(second[i] ^ second[j]);
        if (d > maxDistance || reportedEarlier(orderedLo[i] ^ orderedLo[j], orderedHi[i] ^ orderedHi[j], c, radius)) return;
        count++;
        const a = slotIds[members[i]];
        const b = slotIds[members[j]];
        if (a < b) visit(a, b, d);
        else visit(b, a, d);
      };
      for (let b = 0; b < BUCKETS; b++) {
        const start = offsets[b];
        const end = offsets[b + 1];
        if (start === end) continue;
        for (let i = start; i < end; i++) for (let j = i + 1; j < end; j++) examine(i, j);
        for (const mask of masks) {
          const other = b ^ mask;
          if (other < b) continue; // each bucket pair once
          const otherEnd = offsets[other + 1];
          for (let i = start; i < end; i++) for (let j = offsets[other]; j < otherEnd; j++) examine(i, j);
        }
      }
    }
    return count;
  }

  /** What the searches read, for worker threads (see PhashSharedState); valid until the index next changes. */
  sharedState(): PhashSharedState {
    this.ensureTables();
    return { live: this.live, slotIds: this.slotIds, lo: this.lo, hi: this.hi, offsets: this.offsets, members: this.members, memberLo: this.memberLo, memberHi: this.memberHi };
  }

  /** An index over another thread's arrays (sharedState()), for the searches only (forEachWithin, forEachWithinBatch, forEachPairWithin): it must not be changed. */
  static attach(state: PhashSharedState): PhashIndex {
    const index = new PhashIndex();
    index.slotIds = state.slotIds;
    index.lo = state.lo;
    index.hi = state.hi;
    index.offsets = state.offsets;
    index.members = state.members;
    index.memberLo = state.memberLo;
    index.memberHi = state.memberHi;
    index.live = state.live;
    index.dirty = false;
    return index;
  }

  /** Bytes held in typed arrays. */
  memoryBytes(): number {
    let bytes = this.slotIds.byteLength + this.alive.byteLength + this.lo.byteLength + this.hi.byteLength + this.staleSlot.byteLength;
    for (const a of [...this.offsets, ...this.members, ...this.memberLo, ...this.memberHi]) bytes += a.byteLength;
    return bytes;
  }

  // Little-endian layout: 0 magic "PDPHASHX", 8 u32 version, 12 u32 count, 16 u32 crc32 of the
  // body, 20 u32 body length; 24 body: ids f64[count], low halves u32[count], high halves u32[count].
  serialize(): Buffer {
    const n = this.live;
    const ids = new Float64Array(n);
    const lows = new Int32Array(n);
    const highs = new Int32Array(n);
    let i = 0;
    for (let s = 0; s < this.slotCount; s++) {
      if (!this.alive[s]) continue;
      ids[i] = this.slotIds[s];
      lows[i] = this.lo[s];
      highs[i] = this.hi[s];
      i++;
    }
    const body = Buffer.concat([ids, lows, highs].map((a) => Buffer.from(a.buffer, a.byteOffset, a.byteLength)));
    const header = Buffer.alloc(HEADER_BYTES);
    header.write(MAGIC, 0, 'latin1');
    header.writeUInt32LE(FORMAT_VERSION, 8);
    header.writeUInt32LE(n, 12);
    header.writeUInt32LE(crc32(body) >>> 0, 16);
    header.writeUInt32LE(body.length, 20);
    return Buffer.concat([header, body]);
  }

  static deserialize(buf: Uint8Array): PhashIndex {
    const data = Buffer.from(buf.buffer, buf.byteOffset, buf.byteLength);
    if (endianness() !== 'LE') throw new Error('PhashIndex.deserialize: only little-endian machines are supported');
    if (data.length < HEADER_BYTES) throw new Error(`PhashIndex.deserialize: truncated header (${data.length} bytes)`);
    if (data.toString('latin1', 0, 8) !== MAGIC) throw new Error('PhashIndex.deserialize: not a pHash index (bad magic)');
    const version = data.readUInt32LE(8);
    if (version !== FORMAT_VERSION) throw new Error(`PhashIndex.deserialize: unsupported format version ${version} (expected ${FORMAT_VERSION})`);
    const n = data.readUInt32LE(12);
    const bodyLength = data.readUInt32LE(20);
    if (bodyLength !== n * 16) throw new Error(`PhashIndex.deserialize: inconsistent header (body ${bodyLength} bytes for ${n} items)`);
    if (data.length < HEADER_BYTES + bodyLength) throw new Error(`PhashIndex.deserialize: truncated (${data.length} of ${HEADER_BYTES + bodyLength} bytes)`);
    const body = data.subarray(HEADER_BYTES, HEADER_BYTES + bodyLength);
    if (crc32(body) >>> 0 !== data.readUInt32LE(16)) throw new Error('PhashIndex.deserialize: checksum mismatch (corrupt data)');
    // Copy into fresh typed arrays: the body need not be aligned.
    const ids = new Float64Array(n);
    new Uint8Array(ids.buffer).set(body.subarray(0, n * 8));
    const lows = new Int32Array(n);
    new Uint8Array(lows.buffer).set(body.subarray(n * 8, n * 12));
    const highs = new Int32Array(n);
    new Uint8Array(highs.buffer).set(body.subarray(n * 12, n * 16));
    const index = new PhashIndex();
    index.grow(n);
    for (let s = 0; s < n; s++) {
      const id = ids[s];
      if (!Number.isSafeInteger(id) || id < 0 || index.idToSlot.has(id)) throw new Error(`PhashIndex.deserialize: bad or repeated id ${id}`);
      index.slotIds[s] = id;
      index.alive[s] = 1;
      index.lo[s] = lows[s];
      index.hi[s] = highs[s];
      index.idToSlot.set(id, s);
    }
    index.slotCount = n;
    index.live = n;
    return index;
  }

  private grow(capacity: number): void {
    if (capacity <= this.capacity) return;
    const copy = <A extends Float64Array | Uint8Array | Int32Array | Uint32Array>(old: A, next: A): A => {
      next.set(old as never);
      return next;
    };
    this.slotIds = copy(this.slotIds, sharedArray(Float64Array, capacity)); // read by worker threads
    this.alive = copy(this.alive, new Uint8Array(capacity));
    this.lo = copy(this.lo, sharedArray(Int32Array, capacity));
    this.hi = copy(this.hi, sharedArray(Int32Array, capacity));
    this.staleSlot = copy(this.staleSlot, new Uint8Array(capacity));
    this.capacity = capacity;
  }

  /** Counting sort of live slots by each chunk (about 30 ms per 1M items). */
  private ensureTables(): void {
    // Built again when dirty (never built, or past the limit of changes) or with changes noted since.
    if (!this.dirty && this.pending.length === 0 && this.removedSince === 0) return;
    for (let c = 0; c < CHUNKS; c++) {
      // On shared memory: worker threads search the tables (PhashSharedState).
      const offsets = sharedArray(Uint32Array, BUCKETS + 1);
      const members = sharedArray(Uint32Array, this.live);
      for (let s = 0; s < this.slotCount; s++) if (this.alive[s]) offsets[chunkOf(this.lo[s], this.hi[s], c) + 1]++;
      for (let b = 0; b < BUCKETS; b++) offsets[b + 1] += offsets[b];
      const cursor = offsets.slice(0, BUCKETS);
      for (let s = 0; s < this.slotCount; s++) if (this.alive[s]) members[cursor[chunkOf(this.lo[s], this.hi[s], c)]++] = s;
      this.offsets[c] = offsets;
      this.members[c] = members;
      const memberLo = sharedArray(Int32Array, this.live);
      const memberHi = sharedArray(Int32Array, this.live);
      for (let m = 0; m < members.length; m++) {
        memberLo[m] = this.lo[members[m]];
        memberHi[m] = this.hi[members[m]];
      }
      this.memberLo[c] = memberLo;
      this.memberHi[c] = memberHi;
    }
    this.dirty = false;
    this.tableBuildCount++;
    this.scannedSinceTablesBuilt = 0;
    this.pending = [];
    this.removedSince = 0;
    this.staleSlot = new Uint8Array(this.capacity);
  }
}
