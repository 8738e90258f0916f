// Coarse lists for the vector index (an "inverted file", as in FAISS's IVF): k-means centroids over
// the index's compact vectors, and every item filed under its nearest centroid. A query scans the
// lists whose centroids are nearest to it, exactly, and so finds its plain nearest neighbours, which
// the hyperplane buckets (lsh.ts) cannot: two photos of the same kind of scene sit at centred cosine
// ~0.3, where they share an 18-bit bucket with probability ~1e-4 per table, but they share a list.
//
// Knows nothing of the LSH tables. Points are given as the index stores them (lsh.ts): int8 codes of
// unit vectors in the reduced space, with 1/|code|, and 256-bit sketches (signs of random rotations,
// whose Hamming distance estimates the angle). Centroids are unit vectors in the same space, with
// sketches made by the same rotations (the `sketch` callback), so that finding the nearest centroid
// can first rank all of them by sketch distance (popcounts, a few ns each) and then compute the exact
// cosine only for a shortlist: a photo's own centroid sits at centred cosine ~0.5, the others near
// 0, which 128 sketch bits tell apart with a wide margin.

import { popcount32 } from './bits.ts';
import { dotFloatInt8 } from './int8-dot.ts';

/** Sketch words per item, as lsh.ts stores them; ranking uses the first PREFILTER_WORDS. */
export const SKETCH_WORDS = 8;
const PREFILTER_WORDS = 4;
/** Centroids given an exact cosine after the sketch ranking, when filing an item. */
const SHORTLIST = 16;
/** k-means rounds over the training sample; the lists change little after a handful. */
const TRAIN_ROUNDS = 8;
/** Training sample per centroid (FAISS warns below 39). */
const SAMPLE_PER_LIST = 40;

/** The items to file, as the LSH index stores them (one row per slot). */
export interface CompactPoints {
  dim: number;
  codes: Int8Array; // slot * dim
  codeInvNorm: Float32Array;
  sketches: Int32Array; // slot * SKETCH_WORDS
}

/** Writes the sketch of a unit vector of the reduced space into out[offset .. offset + SKETCH_WORDS). */
export type Sketcher = (unit: Float64Array, out: Int32Array, offset: number) => void;

/**
 * How many lists suit an index of `items` items: one below `from` (a scan of everything is cheap
 * there), else about the square root (1,000 lists of 1,000 at 1M).
 */
export function listCountFor(items: number, from: number): number {
  return items < from ? 1 : Math.round(Math.sqrt(items));
}

export class CoarseLists {
  readonly count: number;
  readonly dim: number;
  /** The centroids: unit vectors of the reduced space, one row each. */
  readonly centroids: Float64Array[];
  private readonly centroidSketches: Int32Array;
  // Scratch for nearest().
  private readonly distance: Int32Array;
  private readonly byDistance: Int32Array;
  private readonly exact: Float64Array;

  constructor(centroids: Float64Array[], dim: number, sketch: Sketcher) {
    if (centroids.length === 0 || centroids.some((c) => c.length !== dim)) throw new Error(`CoarseLists: expected one or more ${dim}-dim centroids`);
    this.dim = dim;
    this.count = centroids.length;
    this.centroids = centroids;
    this.centroidSketches = new Int32Array(this.count * SKETCH_WORDS);
    centroids.forEach((centroid, c) => sketch(centroid, this.centroidSketches, c * SKETCH_WORDS));
    this.distance = new Int32Array(this.count);
    this.byDistance = new Int32Array(this.count);
    this.exact = new Float64Array(this.count);
  }

  /**
   * Spherical k-means over a sample of the items at `slots` (of `points`): `count` unit centroids.
   * Starts from distinct sample items chosen by `rand`; a centroid left empty restarts at a random item.
   */
  static train(points: CompactPoints, slots: ArrayLike<number>, count: number, sketch: Sketcher, rand: () => number): CoarseLists {
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
    let lists = new CoarseLists(Array.from(sample.subarray(0, count), unitOf), dim, sketch);
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
      lists = new CoarseLists(next, dim, sketch);
    }
    return lists;
  }

  /** The list of a stored item: nearest centroid by exact cosine among the sketch shortlist. */
  nearestOfItem(points: CompactPoints, slot: number): number {
    this.rankBySketch(points.sketches, slot * SKETCH_WORDS);
    const shortlist = Math.min(SHORTLIST, this.count);
    const { dim, codes } = points;
    let best = this.byDistance[0];
    let bestDot = -Infinity;
    for (let i = 0; i < shortlist; i++) {
      const c = this.byDistance[i];
      const dot = dotFloatInt8(this.centroids[c], codes, slot * dim, dim);
      if (dot > bestDot) {
        bestDot = dot;
        best = c;
      }
    }
    return best;
  }

  /**
   * Every list, nearest to a query (a unit vector of the reduced space and its sketch) first: the
   * first `shortlist` by sketch distance ordered by exact cosine, the rest in sketch order.
   */
  nearest(unit: Float64Array, sketch: Int32Array, sketchOffset: number, shortlist: number): Int32Array {
    this.rankBySketch(sketch, sketchOffset);
    const exactCount = Math.min(shortlist, this.count);
    const { dim, centroids, exact, byDistance } = this;
    for (let i = 0; i < exactCount; i++) {
      const centroid = centroids[byDistance[i]];
      let dot = 0;
      for (let j = 0; j < dim; j++) dot += unit[j] * centroid[j];
      exact[byDistance[i]] = dot;
    }
    const order = Int32Array.from(byDistance);
    order.subarray(0, exactCount).sort((a, b) => exact[b] - exact[a]);
    return order;
  }

  /** Bytes held by the centroids and their sketches. */
  get byteLength(): number {
    return this.count * this.dim * 8 + this.centroidSketches.byteLength;
  }

  /** Orders the centroids by sketch distance to the sketch at sketches[offset ..] (counting sort). */
  private rankBySketch(sketches: Int32Array, offset: number): void {
    const { count, centroidSketches, distance, byDistance } = this;
    const histogram = new Int32Array(PREFILTER_WORDS * 32 + 2);
    for (let c = 0; c < count; c++) {
      let d = 0;
      for (let w = 0; w < PREFILTER_WORDS; w++) d += popcount32(sketches[offset + w] ^ centroidSketches[c * SKETCH_WORDS + w]);
      distance[c] = d;
      histogram[d + 1]++;
    }
    for (let d = 1; d < histogram.length; d++) histogram[d] += histogram[d - 1];
    for (let c = 0; c < count; c++) byDistance[histogram[distance[c]]++] = c;
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
