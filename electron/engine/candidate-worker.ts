// One worker thread's share of a candidate search (candidate-workers.ts): it attaches to an index's
// shared arrays (no copy), does its share and returns the pairs. Two searches: the LSH pair search
// (a share of the tables), the pHash pair search (a share of the chunk tables) and the pHash search
// of the variant hashes (a batch of queries).
import { CoarseLists, type CompactPoints } from './coarse-lists.ts';
import { LshIndex, type LshSharedState, type PairOptions, type PairStats } from './lsh.ts';
import { NumberList } from './number-list.ts';
import { PhashIndex, type PhashSharedState } from './phash-index.ts';

export interface PairWorkerTask {
  state: LshSharedState;
  options: PairOptions;
}

export interface PairWorkerResult {
  /** idA, idB of each pair, end to end. */
  ids: Float64Array;
  cosines: Float64Array;
  stats: PairStats;
}

/** Runs on a piscina worker thread: the pairs of the task's tables. */
export default function searchPairs({ state, options }: PairWorkerTask): PairWorkerResult {
  const ids = new NumberList();
  const cosines: number[] = [];
  const stats = LshIndex.attach(state).forEachCandidatePair(options, (idA, idB, cosine) => {
    ids.push(idA, idB);
    cosines.push(cosine);
  });
  return { ids: ids.toArray(), cosines: Float64Array.from(cosines), stats };
}

export interface VariantSearchTask {
  index: PhashSharedState;
  /** Four numbers per query: the photo (its base), the hash's low and high 32 bits, the most bits apart. */
  queries: Float64Array;
}

/** Runs on a piscina worker thread: for each query, the ids within its distance, as (base, id) pairs end to end. */
export function searchWithin({ index, queries }: VariantSearchTask): Float64Array {
  return hitsOfQueries(PhashIndex.attach(index), queries);
}

/**
 * The hits of a batch of queries (VariantSearchTask's four numbers each) as (base, id) pairs end to
 * end: one PhashIndex.forEachWithinBatch per distance in the batch (turned and cropped hashes have
 * their own).
 */
export function hitsOfQueries(phashes: PhashIndex, queries: Float64Array): Float64Array {
  const pairs = new NumberList();
  const count = queries.length / 4;
  const distances = new Set<number>();
  for (let q = 0; q < count; q++) distances.add(queries[4 * q + 3]);
  const bases = new Float64Array(count);
  const lo = new Int32Array(count);
  const hi = new Int32Array(count);
  for (const maxDistance of distances) {
    let taken = 0;
    for (let q = 0; q < count; q++) {
      if (queries[4 * q + 3] !== maxDistance) continue;
      bases[taken] = queries[4 * q];
      lo[taken] = queries[4 * q + 1] | 0;
      hi[taken] = queries[4 * q + 2] | 0;
      taken++;
    }
    phashes.forEachWithinBatch(lo.subarray(0, taken), hi.subarray(0, taken), maxDistance, (k, id) => pairs.push(bases[k], id));
  }
  return pairs.toArray();
}

export interface HashPairTask {
  index: PhashSharedState;
  maxDistance: number;
  chunks: number[];
}

/** Runs on a piscina worker thread: the pairs of whole-image hashes within maxDistance found in these chunk tables, end to end. */
export function pairsWithin({ index, maxDistance, chunks }: HashPairTask): Float64Array {
  const pairs = new NumberList();
  PhashIndex.attach(index).forEachPairWithin(maxDistance, (a, b) => pairs.push(a, b), chunks);
  return pairs.toArray();
}

export interface FilingTask {
  /** The index's compact vectors, on shared memory. */
  points: CompactPoints;
  /** The coarse lists' centroids (CoarseLists.centroids). */
  centroids: Float64Array[];
  /** The items to file (slots of `points`). */
  slots: Int32Array;
}

/** Runs on a piscina worker thread: the nearest centroid of each item (CoarseLists.nearestOfItems). */
export function fileItems({ points, centroids, slots }: FilingTask): Int32Array {
  return new CoarseLists(centroids, points.dim).nearestOfItems(points, slots);
}
