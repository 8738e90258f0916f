// Coarse lists for the vector index (an "inverted file", as in FAISS's IVF): k-means centroids over
// the index's compact vectors, and every item filed under its nearest centroid. A query scans the
// lists whose centroids are nearest to it, exactly, and so finds its plain nearest neighbours, which
// the hyperplane buckets (lsh.ts) cannot: two photos of the same kind of scene sit at centred cosine
// ~0.3, where they share an 18-bit bucket with probability ~1e-4 per table, but they share a list.
//
// Knows nothing of the LSH tables. Points are given as the index stores them (lsh.ts): int8 codes of
// unit vectors in the reduced space, with 1/|code|. Centroids are unit vectors in the same space,
// kept also in int8 in WebAssembly memory (int8-dots.ts), so that the nearest centroid of an item or
// a query is found exactly among all of them (~13 ns a centroid). An earlier version ranked the
// centroids by 128 sketch bits first and compared only 16 exactly; it was slower in JavaScript and
// filed items worse, which cost recall (0.49 against 0.61 with 1,000 lists at 1M, lists alone).

import { quantise } from './int8-dot.ts';
import { Int8Rows } from './int8-dots.ts';

/** k-means rounds over the training sample; the lists change little after a handful. */
const TRAIN_ROUNDS = 8;
/** Training sample per centroid (FAISS warns below 39). */
const SAMPLE_PER_LIST = 40;

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
    const { dim, codes, codeInvNorm } = points;
    if (slots.length === 0) throw new Error('CoarseLists.train: no items');
    count = Math.min(count, slots.length);
    const sample = sampleSlots(slots, Math.min(slots.length, count * SAMPLE_PER_LIST), rand);
    const unitOf = (slot: number) => {
      const unit = new Float64Array(dim);
      for (let j = 0; j < dim; j++) unit[j] = codes[slot * dim + j] * codeInvNorm[slot];
      return unit;
    };
    // The sample is shuffled, so its first `count` items are distinct random starting points.
    let lists = new CoarseLists(Array.from(sample.subarray(0, count), unitOf), dim);
    const sums = new Float64Array(count * dim);
    const sizes = new Int32Array(count);
    for (let round = 0; round < TRAIN_ROUNDS; round++) {
      sums.fill(0);
      sizes.fill(0);
      for (const slot of sample) {
        const c = lists.nearestOfItem(points, slot);
        sizes[c]++;
        const w = codeInvNorm[slot];
        for (let j = 0; j < dim; j++) sums[c * dim + j] += codes[slot * dim + j] * w;
      }
      const next: Float64Array[] = [];
      for (let c = 0; c < count; c++) {
        let norm = 0;
        for (let j = 0; j < dim; j++) norm += sums[c * dim + j] * sums[c * dim + j];
        if (sizes[c] === 0 || norm === 0) {
          next.push(unitOf(sample[Math.floor(rand() * sample.length)]));
          continue;
        }
        norm = Math.sqrt(norm);
        next.push(Float64Array.from(sums.subarray(c * dim, c * dim + dim), (x) => x / norm));
      }
      lists = new CoarseLists(next, dim);
    }
    return lists;
  }

  /** The list of a stored item: its nearest centroid. */
  nearestOfItem(points: CompactPoints, slot: number): number {
    const { dim, codes } = points;
    this.rows.setQuery(codes.subarray(slot * dim, slot * dim + dim));
    this.scoreAll();
    const { score } = this;
    let best = 0;
    for (let c = 1; c < this.count; c++) if (score[c] > score[best]) best = c;
    return best;
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
