// Coarse lists for the vector index (an "inverted file", as in FAISS's IVF): k-means centroids over
// the index's compact vectors, and every item filed under its nearest centroid. A query scans the
// lists whose centroids are nearest to it, exactly, and so finds its plain nearest neighbours, which
// the hyperplane buckets (lsh.ts) cannot: two photos of the same kind of scene sit at centred cosine
// ~0.3, where they share an 18-bit bucket with probability ~1e-4 per table, but they share a list.
//
// Knows nothing of the LSH tables. Points are given as the index stores them (lsh.ts): int8 codes of
// unit vectors in the reduced space, with 1/|code|. Centroids are unit vectors in the same space,
// kept also in int8 in WebAssembly memory (int8-dots.ts), so that the nearest centroid of an item or
// a query is found exactly among all of them (~13 ns a centroid; filing many items, four at a time,
// about half that: Int8Rows.nearestRows). Training may file on worker threads (trainWith,
// candidate-workers.ts trainListsParallel). An earlier version ranked the
// centroids by 128 sketch bits first and compared only 16 exactly; it was slower in JavaScript and
// filed items worse, which cost recall (0.49 against 0.61 with 1,000 lists at 1M, lists alone).

import { quantise } from './int8-dot.ts';
import { Int8Rows } from './int8-dots.ts';

/** k-means rounds over the training sample; the lists change little after a handful. */
const TRAIN_ROUNDS = 8;
/** Training sample per centroid (FAISS warns below 39). */
const SAMPLE_PER_LIST = 40;

/** Items gathered for each call of Int8Rows.nearestRows (1 MB of 256-dim codes). */
const FILING_BATCH = 4096;

/** The items to file, as the LSH index stores them (one row per slot). */
export interface CompactPoints {
  dim: number;
  codes: Int8Array; // slot * dim
  codeInvNorm: Float32Array;
}

/**
 * How many lists suit an index of `items` items: one below `from` (a scan of everything is cheap
 * there), else about twice the square root (2,000 lists of 500 at 1M). Measured at 1M on synthetic
 * photos in 1,000 kinds of scene (docs/BENCHMARKS.md): sqrt(n) lists, about one a kind, merge some
 * kinds and split others (recall@10 of the lists alone 0.61), 2 sqrt(n) give 0.91, 4 sqrt(n) 0.93
 * for twice the training time.
 */
export function listCountFor(items: number, from: number): number {
  return items < from ? 1 : Math.round(2 * Math.sqrt(items));
}

export class CoarseLists {
  readonly count: number;
  readonly dim: number;
  /** The centroids: unit vectors of the reduced space, one row each (kept for saving and training). */
  readonly centroids: Float64Array[];
  /** The centroids in int8, one row each, and 1/|int8 row|: what nearest-centroid searches compare with. */
  private readonly rows: Int8Rows;
  private readonly rowInvNorm: Float32Array;
  private readonly score: Float32Array; // scratch for nearest()

  constructor(centroids: Float64Array[], dim: number) {
    if (centroids.length === 0 || centroids.some((c) => c.length !== dim)) throw new Error(`CoarseLists: expected one or more ${dim}-dim centroids`);
    this.dim = dim;
    this.count = centroids.length;
    this.centroids = centroids;
    this.rows = new Int8Rows(dim);
    this.rows.reserve(this.count);
    this.rowInvNorm = new Float32Array(this.count);
    centroids.forEach((centroid, c) => {
      this.rowInvNorm[c] = quantise(centroid, this.rows.rows, c * this.rows.stride);
    });
    this.score = new Float32Array(this.count);
  }

  /**
   * Spherical k-means over a sample of the items at `slots` (of `points`): `count` unit centroids.
   * Starts from distinct sample items chosen by `rand`; a centroid left empty restarts at a random item.
   */
  static train(points: CompactPoints, slots: ArrayLike<number>, count: number, rand: () => number): CoarseLists {
    const kMeans = new KMeans(points, slots, count, rand);
    for (let round = 0; round < TRAIN_ROUNDS; round++) kMeans.refine(kMeans.lists.nearestOfItems(points, kMeans.sample));
    return kMeans.lists;
  }

  /**
   * train(), with `file` finding the sample's nearest centroids in each round (most of the work; on
   * worker threads, see candidate-workers.ts). The same lists, given the same `rand`.
   */
  static async trainWith(points: CompactPoints, slots: ArrayLike<number>, count: number, rand: () => number, file: Filing): Promise<CoarseLists> {
    const kMeans = new KMeans(points, slots, count, rand);
    for (let round = 0; round < TRAIN_ROUNDS; round++) kMeans.refine(await file(kMeans.lists, kMeans.sample));
    return kMeans.lists;
  }

  /** The list of a stored item: its nearest centroid. */
  nearestOfItem(points: CompactPoints, slot: number): number {
    return this.nearestOfItems(points, [slot])[0];
  }

  /**
   * The lists of many stored items at once: for each, the centroid of highest cosine in float32, the
   * first of equals (Int8Rows.nearestRows: four items against each centroid at a time).
   */
  nearestOfItems(points: CompactPoints, slots: ArrayLike<number>): Int32Array {
    const { dim, codes } = points;
    const nearest = new Int32Array(slots.length);
    const batch = new Int8Array(Math.min(slots.length, FILING_BATCH) * dim);
    for (let first = 0; first < slots.length; first += FILING_BATCH) {
      const n = Math.min(FILING_BATCH, slots.length - first);
      for (let i = 0; i < n; i++) {
        const slot = slots[first + i];
        batch.set(codes.subarray(slot * dim, slot * dim + dim), i * dim);
      }
      this.rows.nearestRows(batch.subarray(0, n * dim), this.rowInvNorm, nearest.subarray(first, first + n));
    }
    return nearest;
  }

  /** The `wanted` lists nearest to a query (int8 codes of a unit vector of the reduced space), nearest first. */
  nearest(query: Int8Array, wanted: number): Int32Array {
    wanted = Math.min(wanted, this.count);
    this.rows.setQuery(query);
    this.scoreAll();
    // Selection into a short sorted array: `wanted` is a few dozen of up to a few thousand.
    const { score } = this;
    const order = new Int32Array(wanted);
    let filled = 0;
    for (let c = 0; c < this.count; c++) {
      if (filled === wanted && score[c] <= score[order[wanted - 1]]) continue;
      let i = filled < wanted ? filled++ : wanted - 1;
      while (i > 0 && score[order[i - 1]] < score[c]) {
        order[i] = order[i - 1];
        i--;
      }
      order[i] = c;
    }
    return order;
  }

  /** Bytes held by the centroids and their int8 copy. */
  get byteLength(): number {
    return this.count * this.dim * 8 + this.rows.byteLength;
  }

  /** score[c] = cosine of the query set in `rows` with centroid c, up to the query's own scale. */
  private scoreAll(): void {
    const { rows, rowInvNorm, score } = this;
    for (let first = 0; first < this.count; first += Int8Rows.RUN) {
      const run = Math.min(Int8Rows.RUN, this.count - first);
      const dots = rows.dots(first, run);
      for (let i = 0; i < run; i++) score[first + i] = dots[i] * rowInvNorm[first + i];
    }
  }
}

/** Finds the nearest centroid of `lists` for each item at `slots` (CoarseLists.nearestOfItems, wherever it runs). */
export type Filing = (lists: CoarseLists, slots: Int32Array) => Promise<Int32Array>;

/** The state of a spherical k-means: its sample of items and the current lists. */
class KMeans {
  readonly sample: Int32Array;
  lists: CoarseLists;
  private readonly sums: Float64Array;
  private readonly sizes: Int32Array;

  constructor(
    private readonly points: CompactPoints,
    slots: ArrayLike<number>,
    count: number,
    private readonly rand: () => number,
  ) {
    if (slots.length === 0) throw new Error('CoarseLists.train: no items');
    count = Math.min(count, slots.length);
    this.sample = sampleSlots(slots, Math.min(slots.length, count * SAMPLE_PER_LIST), rand);
    // The sample is shuffled, so its first `count` items are distinct random starting points.
    this.lists = new CoarseLists(Array.from(this.sample.subarray(0, count), (slot) => this.unitOf(slot)), points.dim);
    this.sums = new Float64Array(count * points.dim);
    this.sizes = new Int32Array(count);
  }

  /** One round: each centroid moves to the mean direction of the sample items nearest to it (`nearest`, one per item). */
  refine(nearest: Int32Array): void {
    const { dim, codes, codeInvNorm } = this.points;
    const { sample, sums, sizes } = this;
    const count = this.lists.count;
    sums.fill(0);
    sizes.fill(0);
    for (let i = 0; i < sample.length; i++) {
      const slot = sample[i];
      const c = nearest[i];
      sizes[c]++;
      const w = codeInvNorm[slot];
      for (let j = 0; j < dim; j++) sums[c * dim + j] += codes[slot * dim + j] * w;
    }
    const next: Float64Array[] = [];
    for (let c = 0; c < count; c++) {
      let norm = 0;
      for (let j = 0; j < dim; j++) norm += sums[c * dim + j] * sums[c * dim + j];
      if (sizes[c] === 0 || norm === 0) {
        next.push(this.unitOf(sample[Math.floor(this.rand() * sample.length)]));
        continue;
      }
      norm = Math.sqrt(norm);
      next.push(Float64Array.from(sums.subarray(c * dim, c * dim + dim), (x) => x / norm));
    }
    this.lists = new CoarseLists(next, dim);
  }

  private unitOf(slot: number): Float64Array {
    const { dim, codes, codeInvNorm } = this.points;
    const unit = new Float64Array(dim);
    for (let j = 0; j < dim; j++) unit[j] = codes[slot * dim + j] * codeInvNorm[slot];
    return unit;
  }
}

/** `size` distinct entries of `slots`, in random order (partial Fisher-Yates). */
function sampleSlots(slots: ArrayLike<number>, size: number, rand: () => number): Int32Array {
  const pool = Int32Array.from(slots);
  for (let i = 0; i < size; i++) {
    const j = i + Math.floor(rand() * (pool.length - i));
    const t = pool[i];
    pool[i] = pool[j];
    pool[j] = t;
  }
  return pool.subarray(0, size);
}
