// Which of a few 64-bit hashes lie within d bits of a given one, for checking many hashes (every
// photo's turned and cropped hashes, 61 million at a million photos) against a few (the whole hashes
// of the photos a regrouping's update adds).
//
// Comparing each hash with every one of the few costs a check per pair. Pigeonhole cuts that: the
// 64 bits are cut into d + 1 chunks (or more), and two hashes at most d bits apart agree exactly on at least
// one chunk. So a table per chunk, from the chunk's value to the few hashes that have it, gives
// every hash that can be within d bits; each is then checked in full. Results are exact. With A
// hashes and chunks of w bits, a look-up costs d + 1 table reads and about (d + 1) * A / 2^w
// checks, against A checks one by one: fewer from a dozen hashes on, about a tenth at a hundred.
import { popcount32 } from './bits.ts';

/**
 * The chunk tables, flat: chunk c is `chunkMask` bits of a hash's high (chunkHigh 1) or low 32 bits
 * from bit `chunkShift`; its table starts at offsets[chunkTable[c]], one entry per chunk value
 * plus one, and gives the range of `members` (indices of the few hashes) with that value.
 */
interface ChunkTables {
  chunkHigh: Uint8Array;
  chunkShift: Uint8Array;
  chunkMask: Uint32Array;
  chunkTable: Uint32Array;
  offsets: Uint32Array;
  members: Uint32Array;
}

/** A table read of a look-up costs about as much as this many one-by-one checks (see costPerLookup). */
const TABLE_READ_CHECKS = 2.5;

export class FewHashes {
  readonly count: number;
  private readonly lo: Int32Array;
  private readonly hi: Int32Array;
  private readonly chunkBits: number[];
  private readonly flat: ChunkTables;
  /** Whether one-by-one checks are cheaper than the tables (a few hashes only, or a large d). */
  private readonly oneByOne: boolean;

  /** The few hashes as their low and high 32 bits (`lo[k]`, `hi[k]`); `maxDistance` 0..63. */
  constructor(lo: Int32Array, hi: Int32Array, readonly maxDistance: number) {
    if (lo.length !== hi.length) throw new Error('FewHashes: as many low halves as high ones');
    if (!Number.isInteger(maxDistance) || maxDistance < 0 || maxDistance > 63) throw new Error(`FewHashes: maxDistance must be 0..63, got ${maxDistance}`);
    this.count = lo.length;
    this.lo = lo;
    this.hi = hi;
    // At least four chunks: more than d + 1 keep the pigeonhole (one of them still agrees), and
    // tables of at most 2^16 values.
    const chunks = FewHashes.cut(Math.max(maxDistance + 1, 4));
    this.chunkBits = chunks.map((chunk) => chunk.bits);
    const tableStarts: number[] = [];
    let entries = 0;
    for (const { bits } of chunks) {
      tableStarts.push(entries);
      entries += (1 << bits) + 1;
    }
    const flat: ChunkTables = {
      chunkHigh: Uint8Array.from(chunks, (chunk) => chunk.half),
      chunkShift: Uint8Array.from(chunks, (chunk) => chunk.shift),
      chunkMask: Uint32Array.from(chunks, (chunk) => (1 << chunk.bits) - 1),
      chunkTable: Uint32Array.from(tableStarts),
      offsets: new Uint32Array(entries),
      members: new Uint32Array(chunks.length * this.count),
    };
    // Counting sort of the few hashes by chunk value, chunk after chunk, into one members array.
    chunks.forEach((chunk, c) => {
      const start = flat.chunkTable[c];
      const valueOf = (k: number) => ((chunk.half === 0 ? lo[k] : hi[k]) >>> chunk.shift) & flat.chunkMask[c];
      flat.offsets[start] = c * this.count;
      for (let k = 0; k < this.count; k++) flat.offsets[start + valueOf(k) + 1]++;
      for (let v = 0; v < 1 << chunk.bits; v++) flat.offsets[start + v + 1] += flat.offsets[start + v];
      const cursor = flat.offsets.slice(start, start + (1 << chunk.bits));
      for (let k = 0; k < this.count; k++) flat.members[cursor[valueOf(k)]++] = k;
    });
    this.flat = flat;
    this.oneByOne = this.count <= this.costPerLookup();
  }

  /** `count` chunks of the 64 bits (none straddles the halves), as even as they can be. */
  private static cut(count: number): Array<{ half: 0 | 1; shift: number; bits: number }> {
    const chunks: Array<{ half: 0 | 1; shift: number; bits: number }> = [];
    const inLow = Math.ceil(count / 2);
    for (const [half, parts] of [[0, inLow], [1, count - inLow]] as const) {
      let shift = 0;
      for (let p = 0; p < parts; p++) {
        const bits = Math.floor((32 * (p + 1)) / parts) - Math.floor((32 * p) / parts);
        chunks.push({ half, shift, bits });
        shift += bits;
      }
    }
    return chunks;
  }

  /**
   * The cost of one look-up through the tables (uniform hash bits), in one-by-one checks: the
   * expected checks, and the table reads, each as dear as TABLE_READ_CHECKS checks (a one-by-one
   * check mostly stops at the high half: 2-2.5 ns a hash; measured over 6 million hashes, the tables
   * cost 35-80 ns a hash at 6 and 10 bits with 10 hashes, where one by one cost 21-27).
   */
  private costPerLookup(): number {
    return this.chunkBits.reduce((cost, bits) => cost + TABLE_READ_CHECKS + this.count / 2 ** bits, 0);
  }

  /** What one look-up costs, in checks: the estimate a caller uses to choose between this and a full search. */
  get checksPerLookup(): number {
    return Math.min(this.count, this.costPerLookup());
  }

  /**
   * Calls visit(k) for each of the few hashes (k its index) within maxDistance bits of each of the
   * hashes `first` .. `end` - 1 of `bytes`, 8-byte big-endian hashes end to end (the catalog's form,
   * phash.ts hashesToBytes): read where they lie, with no copy (the update scan reads 61 million at a
   * million photos). A hash that agrees with one of the few on several chunks visits it once per
   * chunk (callers keep pairs once). The chunks are read from flat typed arrays, not objects.
   */
  forEachWithinBytes(bytes: Uint8Array, first: number, end: number, visit: (k: number) => void): void {
    const { maxDistance, count, lo: fewLo, hi: fewHi } = this;
    if (this.oneByOne) {
      for (let at = first * 8, stop = end * 8; at < stop; at += 8) {
        const hi = (bytes[at] << 24) | (bytes[at + 1] << 16) | (bytes[at + 2] << 8) | bytes[at + 3];
        for (let k = 0; k < count; k++) {
          // The high half alone rejects nearly every hash (random halves differ in some 16 bits).
          const hiDistance = popcount32(hi ^ fewHi[k]);
          if (hiDistance > maxDistance) continue;
          const lo = (bytes[at + 4] << 24) | (bytes[at + 5] << 16) | (bytes[at + 6] << 8) | bytes[at + 7];
          if (hiDistance + popcount32(lo ^ fewLo[k]) <= maxDistance) visit(k);
        }
      }
      return;
    }
    const { chunkHigh, chunkShift, chunkMask, chunkTable, offsets, members } = this.flat;
    const chunkCount = chunkHigh.length;
    for (let at = first * 8, stop = end * 8; at < stop; at += 8) {
      const hi = (bytes[at] << 24) | (bytes[at + 1] << 16) | (bytes[at + 2] << 8) | bytes[at + 3];
      const lo = (bytes[at + 4] << 24) | (bytes[at + 5] << 16) | (bytes[at + 6] << 8) | bytes[at + 7];
      for (let c = 0; c < chunkCount; c++) {
        const at = chunkTable[c] + (((chunkHigh[c] ? hi : lo) >>> chunkShift[c]) & chunkMask[c]);
        const end = offsets[at + 1];
        for (let m = offsets[at]; m < end; m++) {
          const k = members[m];
          if (popcount32(lo ^ fewLo[k]) + popcount32(hi ^ fewHi[k]) <= maxDistance) visit(k);
        }
      }
    }
  }
}
