// Random-hyperplane LSH over CNN embeddings: finds the near neighbours of a photo, and all
// near-duplicate pairs of a library, among up to about a million photos. Knows nothing of files:
// items are integer ids chosen by the caller.
//
// What happens to a vector (a Float32Array of `dim` numbers, e.g. 1792):
//  1. centre: subtract the library mean. Unrelated photos sit near cosine 0.47 before centring, so
//     hyperplanes through the origin would cut almost every photo the same way and buckets would be
//     lopsided; after centring they sit near 0.
//  2. reduce: a seeded random orthogonal projection (SRHT: random signs, Walsh-Hadamard transform,
//     keep `reducedDim` coordinates) down to 256 dims, then L2-normalise. Cosines survive with a
//     small, measured error (docs/BENCHMARKS.md); 1792 int8 dims x 1M photos would not fit.
//  3. store: that reduced unit vector in int8 (256 bytes/photo) for re-ranking, plus |x|, m.u and |u|
//     in float32, which turn the centred cosine back into an estimate of the RAW cosine (the one the
//     engine's thresholds speak):  x.y = |m|^2 + m.u + m.v + |u||v| cos(u, v).
//  4. hash: pseudo-random rotations of the reduced vector (three rounds of random signs + Hadamard
//     each, as in FALCONN); the sign of each rotated coordinate is one hyperplane bit. Each table's
//     bucket is `bitsPerTable` such bits; 256 more bits form a "sketch" whose Hamming distance
//     estimates the angle in a few nanoseconds, so pair search can skip hopeless pairs cheaply.
//
//  5. file (for queries): coarse lists (coarse-lists.ts), k-means centroids over the stored codes,
//     each item under its nearest. A query scans its nearest lists exactly (int8-dots.ts, in
//     WebAssembly SIMD) besides its buckets: buckets find near-duplicates, lists find the plain
//     nearest neighbours (same kind of scene), which share a bucket with it far too rarely. The
//     lists are scanned first; the bucket items are then compared in WebAssembly too, from the
//     lists' int8 copy, and only those that may make the top k come back to JavaScript.
//
// Results are estimates: the engine verifies every candidate against the raw vectors it keeps.
// The mean is fixed once items are added; see meanDrift() / needsRefit() for when to rebuild.
import { crc32 } from 'node:zlib';
import { endianness } from 'node:os';
import { popcount32 } from './bits.ts';
import { sharedArray } from './shared-arrays.ts';
import { dotFloatInt8, quantise } from './int8-dot.ts';
import { Int8Rows } from './int8-dots.ts';
import { CoarseLists, listCountFor, type CompactPoints, type Filing } from './coarse-lists.ts';

/** Sketch words (32 bits) per item; pair search tests the first half, then all. */
const SKETCH_WORDS = 8;
const SKETCH_BITS = SKETCH_WORDS * 32;

/**
 * Defaults, chosen by measurement (bench/index-bench.ts; figures in docs/BENCHMARKS.md):
 * - reducedDim 256: 256 bytes per photo (1M photos: 256 MB of int8). The projection's cosine error
 *   (p99 ~0.05 on near pairs) shrinks to ~0.034 at 512 dims for twice the memory; pair recall
 *   gained little, so 256.
 * - 48 tables x 18 bits, pairs at radius 1: finds 99 % of pairs at raw cosine 0.87-0.90 (96.5 %
 *   after the 1792 -> 256 projection) and >= 99.8 % above 0.90. 16 bits x 48 tables find 99 %
 *   even after projection but cost 3x more pair checks at 1M; 20 bits need ~96 tables (too much
 *   memory). Pair search at 1M: ~60 s CPU on 2 shared cores.
 * - probes 4 and scanItems 32768 (the query's nearest coarse lists, about 64 of the 2,000 at 1M,
 *   compared in WebAssembly): at 1M, plain top-10 recall 0.95-0.96 and every neighbour at cosine
 *   >= 0.87 found, in less time than 16,384 items took before the scan was judged in WebAssembly
 *   (docs/BENCHMARKS.md). The lists find the plain neighbours (buckets alone: 0.41 at 1M even with
 *   10 probes; 16,384 items: 0.93); the buckets find the near-duplicates that fall into another
 *   list (lists alone: 0.978 of those at 1M; with 2 probes still 0.978, with 4 all).
 */
export const LSH_DEFAULTS = {
  reducedDim: 256,
  tables: 48,
  bitsPerTable: 18,
  seed: 1,
  /** Extra buckets probed per table by query(). */
  probes: 4,
  /** Pair search: bucket neighbours at this Hamming distance are paired too. */
  pairRadius: 1,
  /** Pair search: buckets bigger than this are split by sketch bits (see forEachCandidatePair). */
  maxBucketSize: 2000,
  /** Items query() scans exactly from the coarse lists nearest to it (see QueryOptions.scan). */
  scanItems: 32768,
} as const;

/**
 * Below this many items the index keeps one coarse list (query() scans every item: ~0.3 ms); from it
 * on about 2 sqrt(items) lists (coarse-lists.ts). Lists are retrained when the index has doubled or
 * halved since.
 */
export const LISTS_FROM_ITEMS = 20_000;
/**
 * Changes (items added or removed) a query takes without rebuilding its tables and lists: each
 * added item costs every query an exact comparison (~0.3 µs), a rebuild costs seconds at a million;
 * at most this many, or a thousandth of the items.
 */
export const PENDING_LIMIT = 1000;
/**
 * Items forEachPairOf searches by reading every item's signatures once each (about 0.15 s at a
 * million: sequential) before it builds the bucket tables it lacks (2-3 s: a counting sort per
 * table, in random order): the first regrouping after opening, with a new photo or two, builds none.
 */
const SCANS_FOR_TABLES = 8;

export interface LshOptions {
  /** Length of the vectors given to add() and query(). */
  dim: number;
  /** Dimensions kept by the random projection (a multiple of 4); >= dim keeps the vector as is. */
  reducedDim?: number;
  tables?: number;
  /** Bits per table signature, 4..24. */
  bitsPerTable?: number;
  /** Seeds the projection and hyperplanes: same seed, same buckets. */
  seed?: number;
  /** Library mean to subtract; can also be set later with setMean() while the index is empty. */
  mean?: Float32Array;
}

export interface LshHit {
  id: number;
  /** Estimated cosine of the RAW (uncentred) vectors: comparable with the engine's thresholds. */
  cosine: number;
  /** Estimated cosine after centring and projection (what the hyperplanes see). */
  centredCosine: number;
}

export interface QueryOptions {
  /** How many hits to return (default 10). */
  k?: number;
  /** Extra buckets per table, least certain first (default LSH_DEFAULTS.probes, at most B + B(B-1)/2). */
  probes?: number;
  /** Drop hits whose estimated raw cosine is below this. */
  minCosine?: number;
  /**
   * Also compare the query exactly with about this many items from the coarse lists nearest to
   * it (every item while the index is smaller than LISTS_FROM_ITEMS; default LSH_DEFAULTS.scanItems;
   * 0: buckets only). This finds the plain nearest neighbours (same kind of
   * scene), which the buckets only find when they are near-duplicates.
   */
  scan?: number;
}

export interface PairOptions {
  /** Keep only pairs whose estimated raw cosine is at least this; without it every colliding pair is reported. */
  minCosine?: number;
  /** 0: same bucket only; 1 (default): also buckets one bit apart; 2: two bits apart. */
  radius?: number;
  /** Buckets above this size are split by sketch bits, see forEachCandidatePair(). */
  maxBucketSize?: number;
  /**
   * Search only these tables (default: all). candidate-workers.ts gives each worker thread its share; the
   * pairs of all shares together are exactly those of one search over every table.
   */
  tables?: number[];
}

/**
 * What a worker thread needs to search pairs in an index without copying it (candidate-workers.ts): the
 * options, the mean's norm and every array, all on SharedArrayBuffers. Taken after the bucket tables
 * are built and oversized buckets sorted; valid until the index next changes.
 */
export interface LshSharedState {
  options: Required<Omit<LshOptions, 'mean'>>;
  meanNormSq: number;
  slotCount: number;
  live: number;
  slotIds: Float64Array;
  alive: Uint8Array;
  codes: Int8Array;
  codeInvNorm: Float32Array;
  xNorm: Float32Array;
  mDotU: Float32Array;
  uNorm: Float32Array;
  signatures: Uint32Array;
  sketches: Int32Array;
  tableOffsets: Uint32Array[];
  tableMembers: Uint32Array[];
}

export interface PairStats {
  /** Pairs looked at (sketch compared). */
  pairChecks: number;
  /** Pairs whose sketch allowed an int8 cosine. */
  cosineChecks: number;
  /** Pairs reported. */
  emitted: number;
  /** Buckets (over all tables) that were split because they held more than maxBucketSize items. */
  oversizedBuckets: number;
  /** Cross-bucket pair checks skipped because one of the two buckets was oversized. */
  skippedCrossPairs: number;
}

/** State shared by the pair-search loops for one table. */
interface PairScan {
  table: number;
  members: Uint32Array; // slots in bucket order
  // One 64-byte record per item, in bucket order, so that a pair check reads one cache line per
  // item: 8 sketch words (bytes 0-31, `words` view), then |x|, m.u, |u| (bytes 32-55, `floats` view).
  words: Int32Array; // 16 per record
  floats: Float64Array; // 8 per record
  minCosine: number;
  meanNormSq: number;
  examinedBefore: (a: number, b: number, t: number) => boolean;
  visit: (idA: number, idB: number, cosine: number) => void;
  stats: PairStats;
}

// ---------------------------------------------------------------------------------------------
// Small numeric helpers

/** Seeded PRNG (mulberry32): uniform in [0, 1). Small, fast, good enough for random projections. */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A separate PRNG stream per purpose, so changing one part never reshuffles another. */
function stream(seed: number, purpose: number): () => number {
  return mulberry32(Math.imul(seed ^ 0x9e3779b9, 0x85ebca6b) ^ Math.imul(purpose + 1, 0xc2b2ae35));
}

function randomSigns(rand: () => number, n: number): Float64Array {
  const signs = new Float64Array(n);
  for (let i = 0; i < n; i++) signs[i] = rand() < 0.5 ? -1 : 1;
  return signs;
}

/** In-place fast Walsh-Hadamard transform (unnormalised; length a power of two). */
function fwht(a: Float64Array, n: number): void {
  for (let h = 1; h < n; h *= 2) {
    for (let i = 0; i < n; i += 2 * h) {
      for (let j = i; j < i + h; j++) {
        const x = a[j];
        const y = a[j + h];
        a[j] = x + y;
        a[j + h] = x - y;
      }
    }
  }
}

function nextPowerOfTwo(n: number): number {
  let p = 1;
  while (p < n) p *= 2;
  return p;
}

/**
 * Raw cosine of two items from their centred cosine and each one's |x|, m.u and |u| (see the header):
 * x.y = |m|^2 + m.u + m.v + |u||v| cos(u, v).
 */
function rawCosineFrom(meanNormSq: number, xA: number, muA: number, uA: number, xB: number, muB: number, uB: number, centred: number): number {
  const den = xA * xB;
  if (den === 0) return 0;
  return Math.max(-1, Math.min(1, (meanNormSq + muA + muB + uA * uB * centred) / den));
}

/** How many first sketch bits split a bucket of `size` items (0: not oversized; see forEachCandidatePair). */
function splitDepth(size: number, maxBucket: number): number {
  return size <= maxBucket ? 0 : Math.min(32, Math.ceil(Math.log2(size / maxBucket)) + 1);
}

/** Whether `x` has at most `radius` (0, 1 or 2) bits set: each x & (x - 1) clears its lowest set bit. */
function withinBits(x: number, radius: number): boolean {
  if (x === 0) return true;
  if (radius === 0) return false;
  const rest = x & (x - 1);
  return rest === 0 || (radius === 2 && (rest & (rest - 1)) === 0);
}

/** All B-bit masks with 1..radius bits set, fewest bits first. */
function flipMasks(bits: number, radius: number): number[] {
  const masks: number[] = [];
  for (let i = 0; i < bits && radius >= 1; i++) masks.push(1 << i);
  for (let i = 0; i < bits && radius >= 2; i++) for (let j = i + 1; j < bits; j++) masks.push((1 << i) | (1 << j));
  return masks;
}

/** The pair searches' options with their defaults, checked. */
function pairSettings(options: PairOptions, caller: string): { minCosine: number; radius: number; maxBucket: number } {
  const minCosine = options.minCosine ?? -Infinity;
  const radius = options.radius ?? LSH_DEFAULTS.pairRadius;
  const maxBucket = options.maxBucketSize ?? LSH_DEFAULTS.maxBucketSize;
  if (![0, 1, 2].includes(radius)) throw new Error(`LshIndex.${caller}: radius must be 0, 1 or 2`);
  if (!Number.isInteger(maxBucket) || maxBucket < 2) throw new Error(`LshIndex.${caller}: maxBucketSize must be an integer >= 2`);
  return { minCosine, radius, maxBucket };
}

/**
 * Sketch test. For a pair at centred cosine c, each sketch bit differs with probability
 * angle/pi, independently, so the Hamming distance h over `bits` bits is Binomial(bits, acos(c)/pi).
 * table[h] is the highest cosine c for which h is still within the 1 - 1e-4 quantile: a pair at
 * distance h is kept only if the cosine it needs is at most table[h], so a pair that does reach
 * it is dropped with probability <= 1e-4 per test. Distance 0 allows a little over 1 for
 * estimation error. Tabulated over c in steps of 0.001.
 */
function sketchMaxCosine(bits: number): Float64Array {
  const table = new Float64Array(bits + 1).fill(-1);
  for (let k = 0; k <= 2000; k++) {
    const c = k / 1000 - 1;
    const f = Math.acos(c) / Math.PI;
    // Smallest h with P(distance <= h) >= 1 - 1e-4.
    let h = 0;
    let cdf = 0;
    let pmf = Math.pow(1 - f, bits); // P(distance = 0)
    for (h = 0; h < bits; h++) {
      cdf += pmf;
      if (cdf >= 1 - 1e-4) break;
      pmf = (pmf * (bits - h) * f) / ((h + 1) * (1 - f));
    }
    // Distances up to h are plausible for cosine c (and for every lower cosine, h only grows).
    for (let d = 0; d <= h; d++) table[d] = Math.max(table[d], c);
  }
  table[0] = 1.02;
  return table;
}
const QUARTER_SKETCH_MAX_COSINE = sketchMaxCosine(SKETCH_BITS / 4);
const HALF_SKETCH_MAX_COSINE = sketchMaxCosine(SKETCH_BITS / 2);
const SKETCH_MAX_COSINE = sketchMaxCosine(SKETCH_BITS);


// ---------------------------------------------------------------------------------------------

const MAGIC = 'PDLSHIDX';
const FORMAT_VERSION = 2; // 2: coarse lists added (version 1 files load without them)
const HEADER_BYTES = 48;

export class LshIndex {
  readonly dim: number;
  /** Dimensions of the stored compact vectors. */
  readonly reducedDim: number;
  readonly tables: number;
  readonly bitsPerTable: number;
  readonly seed: number;

  private readonly project: boolean; // false: the centred vector is stored as is
  private readonly paddedDim: number; // projection works on a power of two
  private readonly projectionSigns: Float64Array;
  private readonly projectionKeep: Int32Array; // which Hadamard coordinates are kept
  private readonly hashDim: number; // rotations work on a power of two >= reducedDim
  private readonly rotations: number;
  private readonly rotationSigns: Float64Array; // rotations x 3 rounds x hashDim

  private mean: Float64Array;
  private meanNormSq = 0;
  private meanIsSet = false;

  // Per-slot storage (a slot is a row; removed slots are reused).
  private capacity = 0;
  private slotCount = 0;
  private live = 0;
  private readonly freeSlots: number[] = [];
  private readonly idToSlot = new Map<number, number>();
  private slotIds: Float64Array = new Float64Array(0);
  private alive: Uint8Array = new Uint8Array(0);
  private codes: Int8Array = new Int8Array(0); // slot * reducedDim
  private codeInvNorm: Float32Array = new Float32Array(0); // 1 / |code|
  private xNorm: Float32Array = new Float32Array(0); // |x| (raw)
  private mDotU: Float32Array = new Float32Array(0); // mean . (x - mean)
  private uNorm: Float32Array = new Float32Array(0); // |x - mean|
  private signatures: Uint32Array = new Uint32Array(0); // slot * tables + table
  private sketches: Int32Array = new Int32Array(0); // slot * SKETCH_WORDS
  private stamp = new Uint32Array(0); // query de-duplication
  private stampValue = 0;

  // Bucket tables, rebuilt lazily after changes: per table, members grouped by bucket (CSR).
  private tableOffsets: Uint32Array[] = [];
  private tableMembers: Uint32Array[] = [];
  private tablesDirty = true;
  private tableBuildCount = 0; // times ensureTables() rebuilt them in this session (tableBuilds)
  private scansSinceTablesBuilt = 0; // items forEachPairOf searched by reading every signature, not the stale tables (SCANS_FOR_TABLES)

  // Coarse lists (coarse-lists.ts), trained by query() once the index has LISTS_FROM_ITEMS items;
  // members per list (CSR) rebuilt lazily after changes, like the bucket tables.
  private lists: CoarseLists | null = null;
  private listsTrainedAt = 0; // live items when the lists were trained
  private listOf: Int32Array = new Int32Array(0); // slot -> its list, for live slots while lists exist
  private listOffsets = new Uint32Array(0);
  private listMembers = new Uint32Array(0); // slots, list after list
  // In the same order as listMembers: the int8 codes (in WebAssembly memory, for Int8Rows.dots) and
  // the numbers that turn a centred cosine into a raw one, so that a list scan reads memory in order.
  private listRows: Int8Rows | null = null;
  private listInvNorm = new Float32Array(0);
  private listXNorm = new Float32Array(0);
  private listMDotU = new Float32Array(0);
  private listUNorm = new Float32Array(0);
  private listsDirty = true;
  private addedWhileTraining: number[] | null = null; // slots added while trainLists() waited: filed again under its lists
  private trainings = 0; // times the lists were trained in this session (listTrainings)
  private listPosition = new Uint32Array(0); // slot -> its place in listMembers (live slots)
  // What query() has not folded into its bucket tables and list copy yet (refreshForQuery): slots
  // added since (judged exactly by every query; flagged so that stale entries are skipped) and how
  // many were removed since (left in place, skipped as dead).
  private pending: number[] = [];
  private pendingFlag = new Uint8Array(0);
  private pendingRemovals = 0;
  private tablesBuiltForQuery = false;
  private listsBuiltForQuery = false;
  private gathered = new Uint32Array(1024); // query(): bucket items to compare
  /** Made by attach() over another thread's arrays: read-only. */
  private attached = false;

  // Scratch buffers reused by embed().
  private readonly work: Float64Array;
  private readonly unit: Float64Array;
  private readonly coords: Float64Array;
  private readonly rot: Float64Array;

  constructor(options: LshOptions) {
    const { dim } = options;
    if (!Number.isInteger(dim) || dim < 1) throw new Error(`LshIndex: dim must be a positive integer, got ${dim}`);
    const reducedDim = Math.min(options.reducedDim ?? LSH_DEFAULTS.reducedDim, dim);
    const tables = options.tables ?? LSH_DEFAULTS.tables;
    const bitsPerTable = options.bitsPerTable ?? LSH_DEFAULTS.bitsPerTable;
    const seed = options.seed ?? LSH_DEFAULTS.seed;
    if (!Number.isInteger(reducedDim) || reducedDim < 4) throw new Error(`LshIndex: reducedDim must be an integer >= 4`);
    if (reducedDim < dim && reducedDim % 4 !== 0) throw new Error(`LshIndex: reducedDim must be a multiple of 4`);
    if (!Number.isInteger(tables) || tables < 1 || tables > 256) throw new Error(`LshIndex: tables must be 1..256`);
    if (!Number.isInteger(bitsPerTable) || bitsPerTable < 4 || bitsPerTable > 24) throw new Error(`LshIndex: bitsPerTable must be 4..24`);
    if (!Number.isInteger(seed) || seed < 0 || seed > 0xffffffff) throw new Error(`LshIndex: seed must be a 32-bit unsigned integer`);
    this.dim = dim;
    this.reducedDim = reducedDim;
    this.tables = tables;
    this.bitsPerTable = bitsPerTable;
    this.seed = seed;

    // Projection: x -> keep(H . signs . x); orthogonal rows, so angles are preserved on average.
    this.project = reducedDim < dim;
    this.paddedDim = this.project ? nextPowerOfTwo(dim) : dim;
    this.projectionSigns = this.project ? randomSigns(stream(seed, 1), this.paddedDim) : new Float64Array(0);
    this.projectionKeep = new Int32Array(reducedDim);
    if (this.project) {
      const order = Array.from({ length: this.paddedDim }, (_, i) => i);
      const rand = stream(seed, 2);
      for (let i = 0; i < reducedDim; i++) {
        const j = i + Math.floor(rand() * (this.paddedDim - i));
        [order[i], order[j]] = [order[j], order[i]];
      }
      this.projectionKeep.set(order.slice(0, reducedDim).sort((a, b) => a - b));
    }

    // Hashing: enough pseudo-random rotations to give every table its bits plus the sketch.
    this.hashDim = nextPowerOfTwo(reducedDim);
    this.rotations = Math.ceil((tables * bitsPerTable + SKETCH_BITS) / this.hashDim);
    this.rotationSigns = randomSigns(stream(seed, 3), this.rotations * 3 * this.hashDim);

    this.mean = new Float64Array(dim);
    this.work = new Float64Array(this.paddedDim);
    this.unit = new Float64Array(reducedDim);
    this.coords = new Float64Array(this.rotations * this.hashDim);
    this.rot = new Float64Array(this.hashDim);
    if (options.mean) this.setMean(options.mean);
  }

  /** The options that rebuild an identical empty index (e.g. with a new mean). */
  get options(): Required<Omit<LshOptions, 'mean'>> {
    return { dim: this.dim, reducedDim: this.reducedDim, tables: this.tables, bitsPerTable: this.bitsPerTable, seed: this.seed };
  }

  get size(): number {
    return this.live;
  }

  /** Coarse lists the index holds now (0 until a query trains them, see LISTS_FROM_ITEMS). */
  get coarseListCount(): number {
    return this.lists?.count ?? 0;
  }

  /** Mean of some vectors (e.g. the library's first few thousand embeddings), for setMean(). */
  static fitMean(vectors: Iterable<Float32Array>): Float32Array {
    let sum: Float64Array | null = null;
    let count = 0;
    for (const v of vectors) {
      if (!sum) sum = new Float64Array(v.length);
      if (v.length !== sum.length) throw new Error(`LshIndex.fitMean: vectors differ in length (${v.length} vs ${sum.length})`);
      for (let i = 0; i < v.length; i++) sum[i] += v[i];
      count++;
    }
    if (!sum) throw new Error('LshIndex.fitMean: no vectors');
    const mean = new Float32Array(sum.length);
    for (let i = 0; i < sum.length; i++) mean[i] = sum[i] / count;
    return mean;
  }

  /** Sets the mean subtracted before hashing. Only while the index is empty: codes depend on it. */
  setMean(mean: Float32Array): void {
    if (this.live > 0) throw new Error('LshIndex.setMean: the index is not empty; build a new index to change the mean');
    if (mean.length !== this.dim) throw new Error(`LshIndex.setMean: expected ${this.dim} numbers, got ${mean.length}`);
    let sq = 0;
    for (let i = 0; i < this.dim; i++) {
      if (!Number.isFinite(mean[i])) throw new Error('LshIndex.setMean: mean contains a non-finite number');
      this.mean[i] = mean[i];
      sq += mean[i] * mean[i];
    }
    this.meanNormSq = sq;
    this.meanIsSet = true;
  }

  getMean(): Float32Array {
    return Float32Array.from(this.mean);
  }

  has(id: number): boolean {
    return this.idToSlot.has(id);
  }

  *ids(): IterableIterator<number> {
    for (const id of this.idToSlot.keys()) yield id;
  }

  /** Adds an item; an id already present is replaced. */
  add(id: number, vector: Float32Array): void {
    if (!Number.isSafeInteger(id) || id < 0) throw new Error(`LshIndex.add: id must be a non-negative safe integer, got ${id}`);
    if (this.idToSlot.has(id)) this.remove(id);
    const stats = this.embed(vector, 'LshIndex.add');
    const slot = this.freeSlots.pop() ?? this.newSlot();
    this.storeEmbedded(slot, stats);
    this.slotIds[slot] = id;
    this.alive[slot] = 1;
    this.idToSlot.set(id, slot);
    this.live++;
    this.addedWhileTraining?.push(slot);
    this.pending.push(slot);
    this.pendingFlag[slot] = 1;
    this.tablesDirty = true;
    if (this.lists) this.listOf[slot] = this.lists.nearestOfItem(this.compactPoints(), slot);
    this.listsDirty = true;
  }

  remove(id: number): boolean {
    const slot = this.idToSlot.get(id);
    if (slot === undefined) return false;
    this.idToSlot.delete(id);
    this.alive[slot] = 0;
    this.freeSlots.push(slot);
    this.live--;
    this.pendingRemovals++;
    this.tablesDirty = true;
    this.listsDirty = true;
    return true;
  }

  /** Estimated raw cosine of two stored items (NaN when either is missing). */
  cosine(idA: number, idB: number): number {
    const a = this.idToSlot.get(idA);
    const b = this.idToSlot.get(idB);
    if (a === undefined || b === undefined) return Number.NaN;
    return this.rawCosine(a, b, this.slotCentredCosine(a, b));
  }

  /** Estimated centred cosine of two stored items (NaN when either is missing). */
  centredCosine(idA: number, idB: number): number {
    const a = this.idToSlot.get(idA);
    const b = this.idToSlot.get(idB);
    if (a === undefined || b === undefined) return Number.NaN;
    return this.slotCentredCosine(a, b);
  }

  /**
   * The k stored items most similar to `vector`, best first, by estimated raw cosine. Probes each
   * table's own bucket plus `probes` neighbour buckets (1 or 2 bits flipped), the least certain
   * first: a bit is uncertain when the vector lies close to its hyperplane (small |coordinate|),
   * and a flip set's score is the sum of squared margins (query-directed probing, Lv et al. 2007).
   */
  query(vector: Float32Array, options: QueryOptions = {}): LshHit[] {
    const k = options.k ?? 10;
    const minCosine = options.minCosine ?? -Infinity;
    const B = this.bitsPerTable;
    const maxProbes = B + (B * (B - 1)) / 2;
    const probes = Math.min(options.probes ?? LSH_DEFAULTS.probes, maxProbes);
    if (!Number.isInteger(k) || k < 1) throw new Error('LshIndex.query: k must be a positive integer');
    if (!Number.isInteger(probes) || probes < 0) throw new Error('LshIndex.query: probes must be a non-negative integer');
    const scan = options.scan ?? LSH_DEFAULTS.scanItems;
    if (!Number.isInteger(scan) || scan < 0) throw new Error('LshIndex.query: scan must be a non-negative integer');
    this.refreshForQuery(scan > 0);
    const stats = this.embed(vector, 'LshIndex.query');
    if (this.live === 0) return [];

    // Top-k kept sorted by raw cosine, best first.
    const topSlot = new Int32Array(k);
    const topRaw = new Float64Array(k);
    const topCentred = new Float64Array(k);
    let found = 0;

    const stamp = this.stamp;
    const mark = this.nextStamp();
    const D = this.reducedDim;
    const codes = this.codes;
    const invNorm = this.codeInvNorm;
    const unit = this.unit;
    const coords = this.coords;

    // Candidate flip sets: single and double bit flips, scored by squared margins. Only the
    // `probes` least certain bits can appear in the best `probes` flip sets (a set holding a less
    // certain bit scores worse than each of those singles), so the others are not considered.
    const top = Math.min(B, probes);
    const flipCount = top + (top * (top - 1)) / 2;
    const flipMask = new Int32Array(flipCount);
    const flipScore = new Float64Array(flipCount);
    const margin2 = new Float64Array(B);
    const order = new Int32Array(B); // bits, least certain first

    /** Keeps an item in the top k, which it is known to make. */
    const keep = (slot: number, raw: number, centred: number) => {
      let pos = found < k ? found++ : k - 1;
      while (pos > 0 && topRaw[pos - 1] < raw) {
        topSlot[pos] = topSlot[pos - 1];
        topRaw[pos] = topRaw[pos - 1];
        topCentred[pos] = topCentred[pos - 1];
        pos--;
      }
      topSlot[pos] = slot;
      topRaw[pos] = raw;
      topCentred[pos] = centred;
    };
    // With the coarse lists in use, every item has an int8 copy in WebAssembly memory (in list
    // order, listRows), and both the list scan and the bucket items are compared there; the module
    // passes on only the items whose raw cosine, times |query|, may beat the k-th so far (the row
    // floats of ensureLists() make that a sum of three products; a margin covers its float32
    // rounding), and each item passed on is judged here exactly.
    const rows = scan > 0 && this.lists && this.listRows ? this.listRows : null;
    const queryCode = new Int8Array(D);
    const queryInvNorm = quantise(unit, queryCode, 0);
    const { listOffsets, listMembers, listPosition, listInvNorm, listXNorm, listMDotU, listUNorm, meanNormSq, alive, pendingFlag } = this;
    const scale = queryInvNorm * stats.uNorm;
    const offset = meanNormSq + stats.mDotU;
    const scaledBar = () => {
      const bar = found === k ? Math.max(minCosine, topRaw[k - 1]) : minCosine;
      return stats.xNorm > 0 && bar > -Infinity ? (bar - 1e-3) * stats.xNorm : -Infinity;
    };
    /** Judges an item the module passed on: its list position and int8 dot product with the query. */
    const judgeListed = (m: number, dot: number) => {
      const centred = dot * queryInvNorm * listInvNorm[m];
      const raw = rawCosineFrom(meanNormSq, stats.xNorm, stats.mDotU, stats.uNorm, listXNorm[m], listMDotU[m], listUNorm[m], centred);
      if (raw < minCosine || (found === k && raw <= topRaw[k - 1])) return;
      const slot = listMembers[m];
      if (!alive[slot] || pendingFlag[slot]) return; // removed since, or its slot reused: a stale row
      stamp[slot] = mark;
      keep(slot, raw, centred);
    };

    if (rows && this.lists) {
      // The nearest coarse lists, until `scan` items: their members are found by neighbourhood, not
      // by bucket. Scanned before the buckets so that the k-th is nearly final when the bucket
      // items are compared and few pass. An item kept here is stamped; one not kept cannot make
      // the top k from a bucket later.
      // Lists vary in size: take up to four times as many as `scan` needs on average.
      const listsWanted = Math.ceil(scan / (this.live / this.lists.count));
      const listOrder = this.lists.nearest(queryCode, Math.max(32, 4 * listsWanted));
      rows.setQuery(queryCode);
      let scanned = 0;
      for (let i = 0; i < listOrder.length && scanned < scan; i++) {
        const list = listOrder[i];
        const end = listOffsets[list + 1];
        for (let first = listOffsets[list]; first < end; first += Int8Rows.RUN) {
          const passed = rows.above(first, Math.min(Int8Rows.RUN, end - first), scale, offset, scaledBar());
          const pairs = rows.found;
          for (let p = 0; p < passed; p++) judgeListed(first + pairs[2 * p], pairs[2 * p + 1]);
        }
        scanned += end - listOffsets[list];
      }
    }

    // The buckets: their items not compared yet are gathered first (as list positions when the
    // lists are in use), then compared together: at 1M they are mostly strangers scattered over
    // memory, and a loop over many independent items lets the processor wait for them together.
    let gathered = 0;
    for (let t = 0; t < this.tables; t++) {
      const base = t * B;
      let signature = 0;
      for (let b = 0; b < B; b++) {
        const c = coords[base + b];
        if (c > 0) signature |= 1 << b;
        margin2[b] = c * c;
        // Insertion sort of the bits by margin.
        let k = b;
        while (k > 0 && margin2[order[k - 1]] > margin2[b]) {
          order[k] = order[k - 1];
          k--;
        }
        order[k] = b;
      }
      let f = 0;
      for (let i = 0; i < top; i++) {
        flipMask[f] = 1 << order[i];
        flipScore[f++] = margin2[order[i]];
      }
      for (let i = 0; i < top; i++)
        for (let j = i + 1; j < top; j++) {
          flipMask[f] = (1 << order[i]) | (1 << order[j]);
          flipScore[f++] = margin2[order[i]] + margin2[order[j]];
        }
      const offsets = this.tableOffsets[t];
      const members = this.tableMembers[t];
      for (let p = 0; p <= probes; p++) {
        let bucket = signature;
        if (p > 0) {
          // Next least certain flip set (selection: probes are few).
          let best = -1;
          for (let f = 0; f < flipCount; f++) if (flipScore[f] >= 0 && (best < 0 || flipScore[f] < flipScore[best])) best = f;
          bucket = (signature ^ flipMask[best]) >>> 0;
          flipScore[best] = -1;
        }
        const end = offsets[bucket + 1];
        for (let m = offsets[bucket]; m < end; m++) {
          const slot = members[m];
          if (stamp[slot] === mark || !alive[slot] || pendingFlag[slot]) continue;
          stamp[slot] = mark;
          if (gathered === this.gathered.length) {
            const bigger = new Uint32Array(2 * gathered);
            bigger.set(this.gathered);
            this.gathered = bigger;
          }
          this.gathered[gathered++] = rows ? listPosition[slot] : slot;
        }
      }
    }
    const items = this.gathered;
    if (rows) {
      for (let first = 0; first < gathered; first += Int8Rows.RUN) {
        const passed = rows.aboveAt(items.subarray(first), Math.min(Int8Rows.RUN, gathered - first), scale, offset, scaledBar());
        const pairs = rows.found;
        for (let p = 0; p < passed; p++) judgeListed(items[first + pairs[2 * p]], pairs[2 * p + 1]);
      }
    }
    // Without the lists (buckets only, as the benchmarks ask for), the bucket items; and the items
    // added since the tables and lists were built (refreshForQuery): in JavaScript, one by one.
    const judgeExactly = (slot: number) => {
      const centred = dotFloatInt8(unit, codes, slot * D, D) * invNorm[slot];
      const raw = this.rawFromStats(stats.xNorm, stats.mDotU, stats.uNorm, slot, centred);
      if (raw >= minCosine && (found < k || raw > topRaw[k - 1])) keep(slot, raw, centred);
    };
    if (!rows) for (let i = 0; i < gathered; i++) judgeExactly(items[i]);
    for (const slot of this.pending) {
      if (!alive[slot] || stamp[slot] === mark) continue; // removed again, or met twice (re-added)
      stamp[slot] = mark;
      judgeExactly(slot);
    }

    const hits: LshHit[] = [];
    for (let i = 0; i < found; i++) hits.push({ id: this.slotIds[topSlot[i]], cosine: topRaw[i], centredCosine: topCentred[i] });
    return hits;
  }

  /** All candidate pairs as [idA, idB] with idA < idB (see forEachCandidatePair). */
  candidatePairs(options: PairOptions = {}): Array<[number, number]> {
    const pairs: Array<[number, number]> = [];
    this.forEachCandidatePair(options, (a, b) => pairs.push([a, b]));
    return pairs;
  }

  /**
   * Calls visit(idA, idB, cosine) once for every pair (idA < idB) whose signatures, in some table,
   * are at most `radius` bits apart (radius 1: the same bucket or two buckets one bit apart), and
   * whose estimated raw cosine is >= minCosine when given. Each pair is reported once: a pair is
   * skipped in table t when an earlier table already examined it.
   *
   * Cheap filter first: for each colliding pair, the raw threshold is turned into the centred
   * cosine it implies for that pair, and the sketches (first 64 bits, 128, then all 256) must be
   * within the Hamming distance such a pair shows with probability 1 - 1e-4 at each step; only then
   * is the int8 cosine computed. Do not add or remove items from inside `visit`.
   *
   * Oversized buckets (more than maxBucketSize items; they appear when many photos are nearly
   * identical or the mean no longer fits the library): a bucket of n items is split by the first
   * d = ceil(log2(n / maxBucketSize)) + 1 sketch bits, pairs are looked for only inside each part,
   * and its cross-bucket pairs are skipped in that table (other tables usually cover them; the
   * count is in the returned stats). Photos identical at that many bits are all still paired.
   */
  forEachCandidatePair(options: PairOptions, visit: (idA: number, idB: number, cosine: number) => void): PairStats {
    const { minCosine, radius, maxBucket } = pairSettings(options, 'forEachCandidatePair');
    this.ensureTables();
    const stats: PairStats = { pairChecks: 0, cosineChecks: 0, emitted: 0, oversizedBuckets: 0, skippedCrossPairs: 0 };
    const T = this.tables;
    const B = this.bitsPerTable;
    const bucketCount = 2 ** B;
    const masks = flipMasks(B, radius);
    const sig = this.signatures;
    const sk = this.sketches;

    const searched = options.tables ?? Array.from({ length: T }, (_, t) => t);
    if (searched.some((t) => !Number.isInteger(t) || t < 0 || t >= T)) throw new Error(`LshIndex.forEachCandidatePair: tables must be in 0..${T - 1}`);
    const depths = this.splitDepths(maxBucket);
    for (const t of searched) for (let b = 0; b < bucketCount; b++) if (depths[t][b] !== 0) stats.oversizedBuckets++;

    // Whether table u < t already examined the pair (same rule as the enumeration below).
    const examinedBefore = (a: number, b: number, t: number): boolean => {
      for (let u = 0; u < t; u++) {
        const ga = sig[a * T + u];
        const gb = sig[b * T + u];
        if (ga === gb) {
          const d = depths[u][ga];
          if (d === 0 || sk[a * SKETCH_WORDS] >>> (32 - d) === sk[b * SKETCH_WORDS] >>> (32 - d)) return true;
        } else if (popcount32(ga ^ gb) <= radius && depths[u][ga] === 0 && depths[u][gb] === 0) {
          return true;
        }
      }
      return false;
    };

    // Item data copied in bucket order so that the inner loops read memory sequentially.
    const n = this.live;
    const records = new ArrayBuffer(n * 64);
    const scan: PairScan = {
      table: 0,
      members: new Uint32Array(0),
      words: new Int32Array(records),
      floats: new Float64Array(records),
      minCosine,
      meanNormSq: this.meanNormSq,
      examinedBefore,
      visit,
      stats,
    };

    for (const t of searched) {
      const offsets = this.tableOffsets[t];
      const members = this.tableMembers[t];
      const depth = depths[t];
      scan.table = t;
      scan.members = members;
      for (let i = 0; i < n; i++) {
        const s = members[i];
        for (let w = 0; w < SKETCH_WORDS; w++) scan.words[i * 16 + w] = sk[s * SKETCH_WORDS + w];
        scan.floats[i * 8 + 4] = this.xNorm[s];
        scan.floats[i * 8 + 5] = this.mDotU[s];
        scan.floats[i * 8 + 6] = this.uNorm[s];
      }
      // Only the buckets that hold items are visited: a small library leaves nearly all 2^B empty,
      // and looping over every bucket and mask cost ~0.5 s per grouping whatever the library size.
      let filledCount = 0;
      const filled = new Int32Array(Math.min(bucketCount, n));
      for (let b = 0; b < bucketCount; b++) if (offsets[b + 1] > offsets[b]) filled[filledCount++] = b;
      // Pairs inside each bucket.
      for (let f = 0; f < filledCount; f++) {
        const b = filled[f];
        const start = offsets[b];
        const end = offsets[b + 1];
        if (end - start < 2) continue;
        const d = depth[b];
        if (d === 0) {
          this.scanBlock(scan, start, end, start, end);
        } else {
          // Oversized: pairs only inside runs that share the first d sketch bits.
          let runStart = start;
          while (runStart < end) {
            const prefix = scan.words[runStart * 16] >>> (32 - d);
            let runEnd = runStart + 1;
            while (runEnd < end && scan.words[runEnd * 16] >>> (32 - d) === prefix) runEnd++;
            this.scanBlock(scan, runStart, runEnd, runStart, runEnd);
            runStart = runEnd;
          }
        }
      }
      // Pairs across buckets `mask` apart, each bucket pair once (b < other). Mask by mask, both
      // buckets advance in order, so memory is read in two sequential streams.
      for (const mask of masks) {
        for (let f = 0; f < filledCount; f++) {
          const b = filled[f];
          const other = (b ^ mask) >>> 0;
          if (other < b) continue;
          const start = offsets[b];
          const end = offsets[b + 1];
          const otherStart = offsets[other];
          const otherEnd = offsets[other + 1];
          if (start === end || otherStart === otherEnd) continue;
          if (depth[b] !== 0 || depth[other] !== 0) {
            stats.skippedCrossPairs += (end - start) * (otherEnd - otherStart);
            continue;
          }
          this.scanBlock(scan, start, end, otherStart, otherEnd);
        }
      }
    }
    return stats;
  }

  /**
   * The pairs forEachCandidatePair would report that include one of `ids`, for updating an earlier
   * search after a few items were added: each item is checked against the members of every bucket
   * the full search pairs it with (its own bucket and those `radius` bits away, with the same rules
   * for oversized buckets), through the same sketch test and threshold. A few thousand checks per
   * item at 1M, against n^2 / 2^bits for a full search. A pair of two of `ids` comes once per side.
   *
   * Like query(), it does not rebuild the bucket tables (3 s at 1M) while the changes since they
   * were built are few (refreshForQuery): the items added since are found through `pending`, the
   * entries of items removed since are skipped, and bucket sizes (which decide the oversized
   * buckets) are counted as a rebuild would make them.
   */
  forEachPairOf(ids: Iterable<number>, options: PairOptions, visit: (idA: number, idB: number, cosine: number) => void): void {
    const settings = pairSettings(options, 'forEachPairOf');
    if (this.attached) throw new Error('LshIndex.forEachPairOf: not on an attached index');
    const slots: number[] = [];
    for (const id of ids) {
      const s = this.idToSlot.get(id);
      if (s !== undefined) slots.push(s);
    }
    // Tables that would have to be rebuilt (after opening, say: 2-3 s at a million) are not, for a
    // few items: reading every signature once per item finds the same buckets (SCANS_FOR_TABLES).
    if (this.tablesNeedRebuild(false) && this.scansSinceTablesBuilt + slots.length <= SCANS_FOR_TABLES) {
      this.scansSinceTablesBuilt += slots.length;
      for (const s of slots) this.pairsOfByScan(s, settings, visit);
      return;
    }
    this.refreshForQuery(false);
    const added = this.pendingByBucket();
    const depthOf = this.currentSplitDepths(settings.maxBucket, added);
    const T = this.tables;
    const masks = flipMasks(this.bitsPerTable, settings.radius);
    const { signatures: sig, sketches: sk, alive, pendingFlag } = this;
    for (const s of slots) {
      const consider = this.pairChecker(s, settings.minCosine, visit);
      for (let t = 0; t < T; t++) {
        const offsets = this.tableOffsets[t];
        const members = this.tableMembers[t];
        const g = sig[s * T + t];
        const d = depthOf(t, g);
        const prefix = sk[s * SKETCH_WORDS] >>> (32 - d);
        // In an oversized bucket only items sharing the first d sketch bits are paired.
        const considerIfSplitAlike = (m: number) => {
          if (d === 0 || sk[m * SKETCH_WORDS] >>> (32 - d) === prefix) consider(m);
        };
        for (let i = offsets[g]; i < offsets[g + 1]; i++) {
          const m = members[i];
          if (alive[m] && !pendingFlag[m]) considerIfSplitAlike(m); // else removed since, or its slot reused
        }
        for (const m of added[t].get(g) ?? []) considerIfSplitAlike(m);
        if (d !== 0) continue; // an oversized bucket's cross-bucket pairs are skipped in this table
        for (const mask of masks) {
          const other = (g ^ mask) >>> 0;
          if (depthOf(t, other) !== 0) continue;
          for (let i = offsets[other]; i < offsets[other + 1]; i++) {
            const m = members[i];
            if (alive[m] && !pendingFlag[m]) consider(m);
          }
          for (const m of added[t].get(other) ?? []) consider(m);
        }
      }
    }
  }

  /**
   * forEachPairOf for one slot without the bucket tables: one pass over every live item's
   * signatures collects, table by table, the members of the slot's bucket and of those `radius`
   * bits away, as built tables would hold them (their sizes decide the oversized buckets); then the
   * same rules as with the tables.
   */
  private pairsOfByScan(s: number, { minCosine, radius, maxBucket }: ReturnType<typeof pairSettings>, visit: (idA: number, idB: number, cosine: number) => void): void {
    const T = this.tables;
    const { signatures: sig, sketches: sk, alive } = this;
    const own = sig.slice(s * T, s * T + T);
    const buckets = Array.from({ length: T }, () => new Map<number, number[]>()); // per table: bucket -> members
    for (let m = 0; m < this.slotCount; m++) {
      if (!alive[m]) continue;
      const at = m * T;
      for (let t = 0; t < T; t++) {
        if (!withinBits(sig[at + t] ^ own[t], radius)) continue;
        const bucket = sig[at + t];
        const members = buckets[t].get(bucket);
        if (members) members.push(m);
        else buckets[t].set(bucket, [m]);
      }
    }
    const consider = this.pairChecker(s, minCosine, visit);
    for (let t = 0; t < T; t++) {
      const g = own[t];
      const d = splitDepth(buckets[t].get(g)!.length, maxBucket); // (s is in its own bucket)
      const prefix = sk[s * SKETCH_WORDS] >>> (32 - d);
      for (const m of buckets[t].get(g)!) if (d === 0 || sk[m * SKETCH_WORDS] >>> (32 - d) === prefix) consider(m);
      if (d !== 0) continue; // an oversized bucket's cross-bucket pairs are skipped in this table
      for (const [other, members] of buckets[t]) {
        if (other === g || splitDepth(members.length, maxBucket) !== 0) continue;
        for (const m of members) consider(m);
      }
    }
  }

  /** forEachPairOf's check of slot s against slot m: once per pair (whichever table brings it), the sketch test, the threshold. */
  private pairChecker(s: number, minCosine: number, visit: (idA: number, idB: number, cosine: number) => void): (m: number) => void {
    const mark = this.nextStamp();
    const { stamp } = this;
    stamp[s] = mark;
    const id = this.slotIds[s];
    return (m) => {
      if (stamp[m] === mark) return;
      stamp[m] = mark; // the test below does not depend on the table: once per pair is enough
      if (!this.sketchAllows(s, m, minCosine)) return;
      const raw = this.rawCosine(s, m, this.slotCentredCosine(s, m));
      if (raw < minCosine) return;
      const other = this.slotIds[m];
      if (id < other) visit(id, other, raw);
      else visit(other, id, raw);
    };
  }

  /** The live items added since the tables were built (`pending`), table by table and bucket by bucket. */
  private pendingByBucket(): Array<Map<number, number[]>> {
    const T = this.tables;
    const byBucket = Array.from({ length: T }, () => new Map<number, number[]>());
    for (const slot of new Set(this.pending)) {
      if (!this.alive[slot]) continue; // removed again (a slot reused since is in `pending` again)
      for (let t = 0; t < T; t++) {
        const bucket = this.signatures[slot * T + t];
        const slots = byBucket[t].get(bucket);
        if (slots) slots.push(slot);
        else byBucket[t].set(bucket, [slot]);
      }
    }
    return byBucket;
  }

  /**
   * The split depth of a bucket (see splitDepths) in the tables a rebuild would make now, from
   * tables that may be stale: a bucket holds its entries still current plus the items added since
   * (`added`). Counted when first asked for, and only for a bucket that could hold more than
   * maxBucket items: an update asks for the few buckets of its items, not for all 2^bits of every
   * table (12 million at 48 tables of 18 bits, some 45 ms for each regrouping).
   */
  private currentSplitDepths(maxBucket: number, added: Array<Map<number, number[]>>): (table: number, bucket: number) => number {
    const bucketCount = 2 ** this.bitsPerTable;
    const { alive, pendingFlag } = this;
    let addedCount = 0; // live items added since: each is in one bucket of every table
    for (const slots of added[0]?.values() ?? []) addedCount += slots.length;
    const counted = new Map<number, number>(); // table * bucketCount + bucket -> depth
    return (t, b) => {
      const offsets = this.tableOffsets[t];
      if (offsets[b + 1] - offsets[b] + addedCount <= maxBucket) return 0;
      const key = t * bucketCount + b;
      let depth = counted.get(key);
      if (depth === undefined) {
        const members = this.tableMembers[t];
        let size = added[t].get(b)?.length ?? 0;
        for (let i = offsets[b]; i < offsets[b + 1]; i++) if (alive[members[i]] && !pendingFlag[members[i]]) size++;
        depth = splitDepth(size, maxBucket);
        counted.set(key, depth);
      }
      return depth;
    };
  }

  /** A new mark for `stamp` (query and pair de-duplication): slots marked with it were seen by this search. */
  private nextStamp(): number {
    this.stampValue++;
    if (this.stampValue === 0xffffffff) {
      this.stamp.fill(0);
      this.stampValue = 1;
    }
    return this.stampValue;
  }

  /** forEachCandidatePair's sketch test for one pair of slots (scanBlock has it inline). */
  private sketchAllows(a: number, b: number, minCosine: number): boolean {
    if (minCosine === -Infinity) return true;
    const need = minCosine * this.xNorm[a] * this.xNorm[b] - (this.meanNormSq + this.mDotU[a]) - this.mDotU[b]; // grouped as in scanBlock
    const den = this.uNorm[a] * this.uNorm[b];
    const sk = this.sketches;
    const oa = a * SKETCH_WORDS;
    const ob = b * SKETCH_WORDS;
    let distance = 0;
    for (let w = 0; w < SKETCH_WORDS; w++) {
      distance += popcount32(sk[oa + w] ^ sk[ob + w]);
      if (w === 1 && need > QUARTER_SKETCH_MAX_COSINE[distance] * den) return false;
      if (w === 3 && need > HALF_SKETCH_MAX_COSINE[distance] * den) return false;
    }
    return need <= SKETCH_MAX_COSINE[distance] * den;
  }

  /**
   * Split depth of every bucket of every table (0: not oversized; see forEachCandidatePair). Members
   * of an oversized bucket are sorted by their first sketch word so that each part is a contiguous
   * run; an index attached in a worker thread leaves that to its owner (sharedState() does it), as
   * several threads read the same members.
   */
  private splitDepths(maxBucket: number): Uint8Array[] {
    const bucketCount = 2 ** this.bitsPerTable;
    const sk = this.sketches;
    const depths: Uint8Array[] = [];
    for (let t = 0; t < this.tables; t++) {
      const offsets = this.tableOffsets[t];
      const members = this.tableMembers[t];
      const depth = new Uint8Array(bucketCount);
      for (let b = 0; b < bucketCount; b++) {
        const size = offsets[b + 1] - offsets[b];
        if (size <= maxBucket) continue;
        depth[b] = splitDepth(size, maxBucket);
        if (this.attached) continue;
        const run = Array.from(members.subarray(offsets[b], offsets[b + 1]));
        run.sort((x, y) => (sk[x * SKETCH_WORDS] >>> 0) - (sk[y * SKETCH_WORDS] >>> 0));
        members.set(run, offsets[b]);
      }
      depths.push(depth);
    }
    return depths;
  }

  /** The index's arrays for worker threads (LshSharedState), bucket tables built and oversized buckets sorted for maxBucketSize. */
  sharedState(maxBucketSize: number = LSH_DEFAULTS.maxBucketSize): LshSharedState {
    this.ensureTables();
    this.splitDepths(maxBucketSize);
    return {
      options: this.options,
      meanNormSq: this.meanNormSq,
      slotCount: this.slotCount,
      live: this.live,
      slotIds: this.slotIds,
      alive: this.alive,
      codes: this.codes,
      codeInvNorm: this.codeInvNorm,
      xNorm: this.xNorm,
      mDotU: this.mDotU,
      uNorm: this.uNorm,
      signatures: this.signatures,
      sketches: this.sketches,
      tableOffsets: this.tableOffsets,
      tableMembers: this.tableMembers,
    };
  }

  /** An index over another thread's arrays (sharedState()), for forEachCandidatePair only: it must not be changed. */
  static attach(state: LshSharedState): LshIndex {
    const index = new LshIndex(state.options);
    index.attached = true;
    index.meanNormSq = state.meanNormSq;
    index.slotCount = state.slotCount;
    index.capacity = state.slotCount;
    index.live = state.live;
    index.slotIds = state.slotIds;
    index.alive = state.alive;
    index.codes = state.codes;
    index.codeInvNorm = state.codeInvNorm;
    index.xNorm = state.xNorm;
    index.mDotU = state.mDotU;
    index.uNorm = state.uNorm;
    index.signatures = state.signatures;
    index.sketches = state.sketches;
    index.tableOffsets = state.tableOffsets;
    index.tableMembers = state.tableMembers;
    index.tablesDirty = false;
    return index;
  }

  /**
   * Examines the pairs (i, j) of bucket-order positions with i in [i0, i1) and j in [j0, j1)
   * (j > i when both ranges are the same bucket). The hot loop of forEachCandidatePair.
   */
  private scanBlock(scan: PairScan, i0: number, i1: number, j0: number, j1: number): void {
    const same = i0 === j0;
    const { words, floats, minCosine, meanNormSq, stats } = scan;
    const filter = minCosine > -Infinity;
    for (let i = i0; i < i1; i++) {
      const o = i * 16;
      const s0 = words[o];
      const s1 = words[o + 1];
      const s2 = words[o + 2];
      const s3 = words[o + 3];
      const s4 = words[o + 4];
      const s5 = words[o + 5];
      const s6 = words[o + 6];
      const s7 = words[o + 7];
      const needI = meanNormSq + floats[i * 8 + 5];
      const xI = minCosine * floats[i * 8 + 4];
      const uI = floats[i * 8 + 6];
      for (let j = same ? i + 1 : j0; j < j1; j++) {
        if (filter) {
          // The centred cosine this pair must reach for its raw cosine to reach minCosine is
          // need / den; keep the pair only if that is plausible at its sketch distance, looking at
          // the first 64 bits of the sketch (most pairs stop here), then 128, then all 256.
          const p = j * 16;
          const f = j * 8;
          const need = xI * floats[f + 4] - needI - floats[f + 5];
          const den = uI * floats[f + 6];
          const quarter = popcount32(s0 ^ words[p]) + popcount32(s1 ^ words[p + 1]);
          if (need > QUARTER_SKETCH_MAX_COSINE[quarter] * den) continue;
          const half = quarter + popcount32(s2 ^ words[p + 2]) + popcount32(s3 ^ words[p + 3]);
          if (need > HALF_SKETCH_MAX_COSINE[half] * den) continue;
          const full = half + popcount32(s4 ^ words[p + 4]) + popcount32(s5 ^ words[p + 5]) + popcount32(s6 ^ words[p + 6]) + popcount32(s7 ^ words[p + 7]);
          if (need > SKETCH_MAX_COSINE[full] * den) continue;
        }
        this.finishPair(scan, i, j);
      }
      stats.pairChecks += same ? i1 - i - 1 : j1 - j0;
    }
  }

  /** A pair that passed the sketch test: report it if its cosine is enough, unless an earlier table did. */
  private finishPair(scan: PairScan, i: number, j: number): void {
    const a = scan.members[i];
    const b = scan.members[j];
    scan.stats.cosineChecks++;
    const raw = this.rawCosine(a, b, this.slotCentredCosine(a, b));
    if (raw < scan.minCosine) return;
    if (scan.table > 0 && scan.examinedBefore(a, b, scan.table)) return;
    scan.stats.emitted++;
    const idA = this.slotIds[a];
    const idB = this.slotIds[b];
    if (idA < idB) scan.visit(idA, idB, raw);
    else scan.visit(idB, idA, raw);
  }

  /**
   * How far the stored vectors' average has moved from the mean they were centred with, relative
   * to their spread (rms |x - mean|): 0 for a perfect fit; about 0.9 when no mean was set on
   * embeddings like ours. Costs one pass over the compact vectors (~0.3 s at 1M).
   */
  meanDrift(): number {
    if (this.live === 0) return 0;
    const D = this.reducedDim;
    const sum = new Float64Array(D);
    let sumSq = 0;
    for (let s = 0; s < this.slotCount; s++) {
      if (!this.alive[s]) continue;
      const scale = this.uNorm[s] * this.codeInvNorm[s];
      const off = s * D;
      for (let j = 0; j < D; j++) sum[j] += scale * this.codes[off + j];
      sumSq += this.uNorm[s] * this.uNorm[s];
    }
    let norm = 0;
    for (let j = 0; j < D; j++) norm += (sum[j] / this.live) ** 2;
    return Math.sqrt(norm) / Math.sqrt(sumSq / this.live || 1);
  }

  /**
   * True when the mean should be refitted: none was ever set, or meanDrift() > maxDrift. A drift of
   * 0.25 adds about 0.06 of shared cosine to unrelated photos, which makes buckets uneven. To
   * refit: `const next = new LshIndex({ ...old.options, mean: LshIndex.fitMean(raw vectors) })`,
   * then add every id again from the raw vectors (the compact copy here is not enough).
   */
  needsRefit(maxDrift = 0.25): boolean {
    if (this.live === 0) return false;
    return !this.meanIsSet || this.meanDrift() > maxDrift;
  }

  /** Bytes held in typed arrays (the id map adds roughly 50 bytes per item on top). */
  memoryBytes(): number {
    let bytes = 0;
    for (const a of [this.slotIds, this.alive, this.codes, this.codeInvNorm, this.xNorm, this.mDotU, this.uNorm, this.signatures, this.sketches, this.stamp])
      bytes += a.byteLength;
    for (const a of [this.listOf, this.listOffsets, this.listMembers, this.listPosition, this.listInvNorm, this.listXNorm, this.listMDotU, this.listUNorm]) bytes += a.byteLength;
    bytes += (this.listRows?.byteLength ?? 0) + (this.lists?.byteLength ?? 0);
    for (const a of [...this.tableOffsets, ...this.tableMembers]) bytes += a.byteLength;
    return bytes;
  }

  // -------------------------------------------------------------------------------------------
  // Persistence. Little-endian layout:
  //   0  magic "PDLSHIDX"        8  u32 format version      12 u32 dim       16 u32 reducedDim
  //   20 u32 tables              24 u32 bitsPerTable        28 u32 seed      32 u32 count
  //   36 u32 flags (1 = mean set) 40 u32 crc32 of the body   44 u32 body length
  //   48 body: mean f32[dim], ids f64[count], xNorm, mDotU, uNorm, codeInvNorm f32[count] each,
  //      signatures u32[count*tables], sketches i32[count*8], codes i8[count*reducedDim],
  //      (version 2) u32 lists, u32 items when they were trained, and when lists > 0:
  //      centroids f32[lists*reducedDim], list of each item i32[count]
  // Hyperplanes and the projection are not stored: they are regenerated from the seed.

  serialize(): Buffer {
    const n = this.live;
    const T = this.tables;
    const D = this.reducedDim;
    const slots: number[] = [];
    for (let s = 0; s < this.slotCount; s++) if (this.alive[s]) slots.push(s);
    const ids = new Float64Array(n);
    const f32 = [new Float32Array(n), new Float32Array(n), new Float32Array(n), new Float32Array(n)];
    const sigs = new Uint32Array(n * T);
    const sks = new Int32Array(n * SKETCH_WORDS);
    const codes = new Int8Array(n * D);
    const lists = this.lists;
    const listHeader = Uint32Array.of(lists?.count ?? 0, lists ? this.listsTrainedAt : 0);
    const centroids = new Float32Array(lists ? lists.count * D : 0);
    lists?.centroids.forEach((centroid, c) => centroids.set(centroid, c * D));
    const listOf = new Int32Array(lists ? n : 0);
    slots.forEach((s, i) => {
      ids[i] = this.slotIds[s];
      f32[0][i] = this.xNorm[s];
      f32[1][i] = this.mDotU[s];
      f32[2][i] = this.uNorm[s];
      f32[3][i] = this.codeInvNorm[s];
      sigs.set(this.signatures.subarray(s * T, s * T + T), i * T);
      sks.set(this.sketches.subarray(s * SKETCH_WORDS, s * SKETCH_WORDS + SKETCH_WORDS), i * SKETCH_WORDS);
      codes.set(this.codes.subarray(s * D, s * D + D), i * D);
      if (lists) listOf[i] = this.listOf[s];
    });
    const parts = [Float32Array.from(this.mean), ids, ...f32, sigs, sks, codes, listHeader, centroids, listOf].map((a) => Buffer.from(a.buffer, a.byteOffset, a.byteLength));
    const body = Buffer.concat(parts);
    const header = Buffer.alloc(HEADER_BYTES);
    header.write(MAGIC, 0, 'latin1');
    const fields = [FORMAT_VERSION, this.dim, D, T, this.bitsPerTable, this.seed, n, this.meanIsSet ? 1 : 0, crc32(body), body.length];
    fields.forEach((v, i) => header.writeUInt32LE(v >>> 0, 8 + 4 * i));
    return Buffer.concat([header, body]);
  }

  static deserialize(buf: Uint8Array): LshIndex {
    const data = Buffer.from(buf.buffer, buf.byteOffset, buf.byteLength);
    if (endianness() !== 'LE') throw new Error('LshIndex.deserialize: only little-endian machines are supported');
    if (data.length < HEADER_BYTES) throw new Error(`LshIndex.deserialize: truncated header (${data.length} bytes)`);
    if (data.toString('latin1', 0, 8) !== MAGIC) throw new Error('LshIndex.deserialize: not an LSH index (bad magic)');
    const field = (i: number) => data.readUInt32LE(8 + 4 * i);
    const version = field(0);
    if (version !== FORMAT_VERSION && version !== 1) throw new Error(`LshIndex.deserialize: unsupported format version ${version} (expected ${FORMAT_VERSION})`);
    const [dim, reducedDim, tables, bitsPerTable, seed, n, flags, crc, bodyLength] = [1, 2, 3, 4, 5, 6, 7, 8, 9].map(field);
    const itemsEnd = dim * 4 + n * 8 + n * 16 + n * tables * 4 + n * SKETCH_WORDS * 4 + n * reducedDim;
    const listsEnd = version === 1 ? itemsEnd : itemsEnd + 8;
    if (bodyLength < listsEnd) throw new Error(`LshIndex.deserialize: inconsistent header (body ${bodyLength} bytes, expected at least ${listsEnd})`);
    if (data.length < HEADER_BYTES + bodyLength) throw new Error(`LshIndex.deserialize: truncated (${data.length} of ${HEADER_BYTES + bodyLength} bytes)`);
    const body = data.subarray(HEADER_BYTES, HEADER_BYTES + bodyLength);
    if (crc32(body) >>> 0 !== crc) throw new Error('LshIndex.deserialize: checksum mismatch (corrupt data)');
    const listCount = version === 1 ? 0 : body.readUInt32LE(itemsEnd);
    const expected = listsEnd + (listCount > 0 ? listCount * reducedDim * 4 + n * 4 : 0);
    if (bodyLength !== expected) throw new Error(`LshIndex.deserialize: inconsistent header (body ${bodyLength} bytes, expected ${expected})`);

    const index = new LshIndex({ dim, reducedDim, tables, bitsPerTable, seed });
    if (index.reducedDim !== reducedDim) throw new Error('LshIndex.deserialize: inconsistent reducedDim');
    let offset = 0;
    // Copies the next section into the start of a typed array (a fresh one: aligned).
    const take = <A extends Float32Array | Float64Array | Uint32Array | Int32Array | Int8Array>(array: A, count = array.length): A => {
      const bytes = count * array.BYTES_PER_ELEMENT;
      new Uint8Array(array.buffer, array.byteOffset, bytes).set(body.subarray(offset, offset + bytes));
      offset += bytes;
      return array;
    };
    const mean = take(new Float32Array(dim));
    if (flags & 1) index.setMean(mean);
    const ids = take(new Float64Array(n));
    // Room for the photos a session adds: growing the arrays at the first one copied them all (1.5 s
    // at a million photos).
    index.ensureCapacity(n + Math.ceil(n / 32));
    take(index.xNorm, n);
    take(index.mDotU, n);
    take(index.uNorm, n);
    take(index.codeInvNorm, n);
    take(index.signatures, n * tables);
    take(index.sketches, n * SKETCH_WORDS);
    take(index.codes, n * reducedDim);
    if (version !== 1) {
      const [, trainedAt] = take(new Uint32Array(2));
      if (listCount > 0) {
        const centroids = take(new Float32Array(listCount * reducedDim));
        const rows = Array.from({ length: listCount }, (_, c) => Float64Array.from(centroids.subarray(c * reducedDim, (c + 1) * reducedDim)));
        const listOf = take(new Int32Array(n));
        if (listOf.some((list) => list < 0 || list >= listCount)) throw new Error('LshIndex.deserialize: an item is filed under a list that does not exist');
        index.lists = new CoarseLists(rows, reducedDim);
        index.listOf.set(listOf);
        index.listsTrainedAt = trainedAt;
      }
    }
    for (let s = 0; s < n; s++) {
      const id = ids[s];
      if (!Number.isSafeInteger(id) || id < 0 || index.idToSlot.has(id)) throw new Error(`LshIndex.deserialize: bad or repeated id ${id}`);
      index.slotIds[s] = id;
      index.alive[s] = 1;
      index.idToSlot.set(id, s);
    }
    index.slotCount = n;
    index.live = n;
    return index;
  }

  // -------------------------------------------------------------------------------------------
  // Internals

  /** Centres, projects and normalises `vector` into this.unit and its rotated coordinates into this.coords. */
  private embed(vector: Float32Array, caller: string): { xNorm: number; mDotU: number; uNorm: number } {
    if (vector.length !== this.dim) throw new Error(`${caller}: expected a vector of ${this.dim} numbers, got ${vector.length}`);
    const { dim, mean, work, unit, reducedDim: D } = this;
    let xx = 0;
    let mu = 0;
    let uu = 0;
    for (let i = 0; i < dim; i++) {
      const x = vector[i];
      const c = x - mean[i];
      xx += x * x;
      mu += mean[i] * c;
      uu += c * c;
      work[i] = c;
    }
    if (!Number.isFinite(xx + mu + uu)) throw new Error(`${caller}: vector contains a non-finite number`);
    if (this.project) {
      const signs = this.projectionSigns;
      for (let i = 0; i < dim; i++) work[i] *= signs[i];
      work.fill(0, dim);
      fwht(work, this.paddedDim);
      for (let j = 0; j < D; j++) unit[j] = work[this.projectionKeep[j]];
    } else {
      for (let j = 0; j < D; j++) unit[j] = work[j];
    }
    let norm = 0;
    for (let j = 0; j < D; j++) norm += unit[j] * unit[j];
    norm = Math.sqrt(norm);
    if (norm > 0) for (let j = 0; j < D; j++) unit[j] /= norm;

    this.rotateInto(unit, this.coords);
    return { xNorm: Math.sqrt(xx), mDotU: mu, uNorm: Math.sqrt(uu) };
  }

  /** The hashing coordinates of a unit vector of the reduced space: 3 rounds of (random signs, Hadamard) per rotation. */
  private rotateInto(unit: Float64Array, coords: Float64Array): void {
    const P = this.hashDim;
    const rot = this.rot;
    const signs = this.rotationSigns;
    for (let r = 0; r < this.rotations; r++) {
      rot.set(unit);
      rot.fill(0, this.reducedDim);
      for (let round = 0; round < 3; round++) {
        const base = (r * 3 + round) * P;
        for (let j = 0; j < P; j++) rot[j] *= signs[base + j];
        fwht(rot, P);
      }
      coords.set(rot, r * P);
    }
  }

  /** The sketch (signs of the hashing coordinates after the tables' bits) into out[offset .. offset + SKETCH_WORDS). */
  private sketchInto(coords: Float64Array, out: Int32Array, offset: number): void {
    const first = this.tables * this.bitsPerTable;
    for (let w = 0; w < SKETCH_WORDS; w++) {
      let word = 0;
      for (let b = 0; b < 32; b++) if (coords[first + w * 32 + b] > 0) word |= 1 << b;
      out[offset + w] = word;
    }
  }

  /** Writes the last embed() result into a slot: int8 code, signatures and sketch. */
  private storeEmbedded(slot: number, stats: { xNorm: number; mDotU: number; uNorm: number }): void {
    this.codeInvNorm[slot] = quantise(this.unit, this.codes, slot * this.reducedDim);
    this.xNorm[slot] = stats.xNorm;
    this.mDotU[slot] = stats.mDotU;
    this.uNorm[slot] = stats.uNorm;

    const B = this.bitsPerTable;
    const coords = this.coords;
    for (let t = 0; t < this.tables; t++) {
      let signature = 0;
      for (let b = 0; b < B; b++) if (coords[t * B + b] > 0) signature |= 1 << b;
      this.signatures[slot * this.tables + t] = signature >>> 0;
    }
    this.sketchInto(coords, this.sketches, slot * SKETCH_WORDS);
  }

  private slotCentredCosine(a: number, b: number): number {
    const D = this.reducedDim;
    const codes = this.codes;
    const oa = a * D;
    const ob = b * D;
    let s0 = 0;
    let s1 = 0;
    let s2 = 0;
    let s3 = 0;
    let j = 0;
    for (; j + 3 < D; j += 4) {
      s0 += codes[oa + j] * codes[ob + j];
      s1 += codes[oa + j + 1] * codes[ob + j + 1];
      s2 += codes[oa + j + 2] * codes[ob + j + 2];
      s3 += codes[oa + j + 3] * codes[ob + j + 3];
    }
    for (; j < D; j++) s0 += codes[oa + j] * codes[ob + j];
    return (s0 + s1 + s2 + s3) * this.codeInvNorm[a] * this.codeInvNorm[b];
  }

  private rawCosine(a: number, b: number, centred: number): number {
    return this.rawFromStats(this.xNorm[a], this.mDotU[a], this.uNorm[a], b, centred);
  }

  /** Raw cosine from one side's stats, the other side's slot and their centred cosine. */
  private rawFromStats(xA: number, muA: number, uA: number, b: number, centred: number): number {
    return rawCosineFrom(this.meanNormSq, xA, muA, uA, this.xNorm[b], this.mDotU[b], this.uNorm[b], centred);
  }

  private newSlot(): number {
    if (this.slotCount === this.capacity) this.ensureCapacity(Math.max(1024, Math.ceil(this.capacity * 1.5)));
    return this.slotCount++;
  }

  private ensureCapacity(capacity: number): void {
    if (capacity <= this.capacity) return;
    const grow = <A extends Float64Array | Float32Array | Uint32Array | Int32Array | Int8Array | Uint8Array>(old: A, make: (n: number) => A, per: number): A => {
      const next = make(capacity * per);
      next.set(old as never);
      return next;
    };
    // What the pair search reads lives on shared memory (see LshSharedState).
    this.slotIds = grow(this.slotIds, (n) => sharedArray(Float64Array, n), 1);
    this.alive = grow(this.alive, (n) => sharedArray(Uint8Array, n), 1);
    this.codes = grow(this.codes, (n) => sharedArray(Int8Array, n), this.reducedDim);
    this.codeInvNorm = grow(this.codeInvNorm, (n) => sharedArray(Float32Array, n), 1);
    this.xNorm = grow(this.xNorm, (n) => sharedArray(Float32Array, n), 1);
    this.mDotU = grow(this.mDotU, (n) => sharedArray(Float32Array, n), 1);
    this.uNorm = grow(this.uNorm, (n) => sharedArray(Float32Array, n), 1);
    this.signatures = grow(this.signatures, (n) => sharedArray(Uint32Array, n), this.tables);
    this.sketches = grow(this.sketches, (n) => sharedArray(Int32Array, n), SKETCH_WORDS);
    this.stamp = grow(this.stamp, (n) => new Uint32Array(n), 1);
    this.listOf = grow(this.listOf, (n) => new Int32Array(n), 1);
    this.pendingFlag = grow(this.pendingFlag, (n) => new Uint8Array(n), 1);
    this.capacity = capacity;
  }

  /** The stored compact vectors, as coarse-lists.ts reads them (on shared memory: worker threads can file them). */
  compactPoints(): CompactPoints {
    return { dim: this.reducedDim, codes: this.codes, codeInvNorm: this.codeInvNorm };
  }

  /**
   * Trains the coarse lists when there are none or the index has doubled or halved since they were
   * trained (k-means on a sample, then every item filed: ~7 ns per item and list, 14 µs an item at 1M), and after changes rebuilds
   * the members of each list (counting sort) and their list-ordered copies.
   */
  private ensureLists(): void {
    if (this.live === 0) return;
    if (this.listsNeedTraining) {
      const slots = this.liveSlots();
      const points = this.compactPoints();
      const lists = CoarseLists.train(points, slots, listCountFor(this.live, LISTS_FROM_ITEMS), stream(this.seed, 4));
      this.adoptLists(lists, slots, lists.nearestOfItems(points, slots));
    }
    if (!this.listsDirty || !this.lists) return;
    const count = this.lists.count;
    const offsets = new Uint32Array(count + 1);
    const members = new Uint32Array(this.live);
    for (let s = 0; s < this.slotCount; s++) if (this.alive[s]) offsets[this.listOf[s] + 1]++;
    for (let l = 0; l < count; l++) offsets[l + 1] += offsets[l];
    const cursor = offsets.slice(0, count);
    for (let s = 0; s < this.slotCount; s++) if (this.alive[s]) members[cursor[this.listOf[s]]++] = s;
    this.listOffsets = offsets;
    this.listMembers = members;
    this.listPosition = new Uint32Array(this.slotCount);
    for (let m = 0; m < members.length; m++) this.listPosition[members[m]] = m;

    const D = this.reducedDim;
    const rows = (this.listRows ??= new Int8Rows(D, true));
    rows.reserve(this.live);
    const stride = rows.stride;
    this.listInvNorm = new Float32Array(this.live);
    this.listXNorm = new Float32Array(this.live);
    this.listMDotU = new Float32Array(this.live);
    this.listUNorm = new Float32Array(this.live);
    for (let m = 0; m < this.live; m++) {
      const s = members[m];
      rows.rows.set(this.codes.subarray(s * D, s * D + D), m * stride);
      this.listInvNorm[m] = this.codeInvNorm[s];
      this.listXNorm[m] = this.xNorm[s];
      this.listMDotU[m] = this.mDotU[s];
      this.listUNorm[m] = this.uNorm[s];
      // For Int8Rows.above: raw cosine * |query| = dot * (queryInvNorm |u_query|) * a
      // + (|mean|^2 + mean . u_query) * b + c (rawCosineFrom, spread over query and item).
      const x = this.xNorm[s];
      if (x > 0) rows.setRowFloats(m, (this.codeInvNorm[s] * this.uNorm[s]) / x, 1 / x, this.mDotU[s] / x);
      else rows.setRowFloats(m, 0, 0, 0);
    }
    this.listsDirty = false;
  }

  /** How many times this object trained its coarse lists: a saved copy lacks the lists of the later trainings. */
  get listTrainings(): number {
    return this.trainings;
  }

  /** Whether the next query() trains the coarse lists: there are none, or the index doubled or halved since. */
  get listsNeedTraining(): boolean {
    return this.live > 0 && (!this.lists || this.live > 2 * this.listsTrainedAt || this.live < this.listsTrainedAt / 2);
  }

  /**
   * Trains the coarse lists now (what query() would do when listsNeedTraining), with `file` finding
   * the nearest centroids, most of the work: candidate-workers.ts runs it on worker threads, and the
   * engine may run it in the background, while photos come and go. The same lists as query() would
   * train. Items added meanwhile (perhaps into the slot of one removed) are filed again afterwards,
   * in this thread: only those, not every item (half a minute at a million). When `file` throws
   * (e.g. the training was cancelled), nothing changes. One training at a time.
   */
  async trainLists(file: Filing): Promise<void> {
    if (!this.listsNeedTraining) return;
    if (this.addedWhileTraining) throw new Error('the coarse lists are already being trained');
    const slots = this.liveSlots();
    this.addedWhileTraining = [];
    try {
      const lists = await CoarseLists.trainWith(this.compactPoints(), slots, listCountFor(this.live, LISTS_FROM_ITEMS), stream(this.seed, 4), file);
      const nearest = await file(lists, slots);
      const added = this.addedWhileTraining.filter((slot) => this.alive[slot] === 1);
      this.adoptLists(lists, slots, nearest); // removed slots keep a stale list: only live ones are read
      const again = lists.nearestOfItems(this.compactPoints(), added);
      added.forEach((slot, i) => (this.listOf[slot] = again[i]));
    } finally {
      this.addedWhileTraining = null;
    }
  }

  private liveSlots(): Int32Array {
    const slots = new Int32Array(this.live);
    let n = 0;
    for (let s = 0; s < this.slotCount; s++) if (this.alive[s]) slots[n++] = s;
    return slots;
  }

  /** Takes newly trained lists, with each live slot's list (`nearest[i]` for `slots[i]`). */
  private adoptLists(lists: CoarseLists, slots: Int32Array, nearest: Int32Array): void {
    this.trainings++;
    slots.forEach((s, i) => (this.listOf[s] = nearest[i]));
    this.lists = lists;
    this.listsTrainedAt = this.live;
    this.listsDirty = true;
    this.listsBuiltForQuery = false;
  }

  /** Times the bucket tables were rebuilt in this session (each goes over every item: 2-3 s at 1M). */
  get tableBuilds(): number {
    return this.tableBuildCount;
  }

  /** Items added or removed since query() or forEachPairOf() last rebuilt the tables and lists (see refreshForQuery). */
  get pendingChanges(): number {
    return this.pending.length + this.pendingRemovals;
  }

  /**
   * Readies the bucket tables and (when `scanning`) the coarse lists' members and int8 copy for a
   * query or forEachPairOf. Rebuilding them goes over every item (3-4 s at a million), too much to
   * pay on the first query or regrouping after each photo the watcher brings: while the changes
   * since the last rebuild are few (PENDING_LIMIT), the items added since are compared one by one
   * (`pending`), and the entries of items removed (or whose slot was reused) since are skipped.
   * Beyond that, everything is rebuilt.
   */
  private refreshForQuery(scanning: boolean): void {
    if (!this.tablesNeedRebuild(scanning)) return;
    if (scanning) this.ensureLists();
    this.ensureTables();
    this.forgetPending();
    this.listsBuiltForQuery = scanning && this.lists !== null; // not rebuilt otherwise: stale once the pending changes are forgotten
  }

  /** Whether refreshForQuery would rebuild the tables (and, when `scanning`, the lists). */
  private tablesNeedRebuild(scanning: boolean): boolean {
    const few = this.pending.length + this.pendingRemovals <= Math.max(PENDING_LIMIT, this.live / 1000);
    const listsReady = !scanning || (this.listsBuiltForQuery && !this.listsNeedTraining);
    return !(few && this.tablesBuiltForQuery && listsReady);
  }

  /** Starts the count of changes since the tables (and lists) were built again from none. */
  private forgetPending(): void {
    for (const slot of this.pending) this.pendingFlag[slot] = 0;
    this.pending = [];
    this.pendingRemovals = 0;
    this.tablesBuiltForQuery = true;
  }

  /** Rebuilds the bucket tables after adds/removes (counting sort per table: ~0.1 s per 1M items). */
  private ensureTables(): void {
    if (!this.tablesDirty) return;
    const T = this.tables;
    const bucketCount = 2 ** this.bitsPerTable;
    for (let t = 0; t < T; t++) {
      const offsets = this.tableOffsets[t]?.length === bucketCount + 1 ? this.tableOffsets[t].fill(0) : sharedArray(Uint32Array, bucketCount + 1);
      const members = this.tableMembers[t]?.length === this.live ? this.tableMembers[t] : sharedArray(Uint32Array, this.live);
      for (let s = 0; s < this.slotCount; s++) if (this.alive[s]) offsets[this.signatures[s * T + t] + 1]++;
      for (let b = 0; b < bucketCount; b++) offsets[b + 1] += offsets[b];
      const cursor = offsets.slice(0, bucketCount);
      for (let s = 0; s < this.slotCount; s++) if (this.alive[s]) members[cursor[this.signatures[s * T + t]]++] = s;
      this.tableOffsets[t] = offsets;
      this.tableMembers[t] = members;
    }
    this.tablesDirty = false;
    this.tableBuildCount++;
    this.scansSinceTablesBuilt = 0;
    // The tables now hold every item (a full pair search rebuilt them, say): the changes counted
    // since are needed only by lists built before them. Without those, the count starts again, and
    // the next update or query takes the items added from now on as they are.
    if (!this.listsBuiltForQuery) this.forgetPending();
  }
}
