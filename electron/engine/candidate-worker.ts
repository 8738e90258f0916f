// One worker thread's share of a candidate search (candidate-workers.ts): it attaches to an index's
// shared arrays (no copy), does its share and returns the pairs. Two searches: the LSH pair search
// (a share of the tables) and the pHash search of the variant hashes (a batch of queries).
import { LshIndex, type LshSharedState, type PairOptions, type PairStats } from './lsh.ts';
import { PhashIndex, type PhashSharedState } from './phash-index.ts';

export interface PairWorkerTask {
  state: LshSharedState;
  options: PairOptions;
}

export interface PairWorkerResult {
  /** idA, idB of each pair, end to end. */
  ids: Float64Array;
  cosines: Float64Array;
  count: number;
  stats: PairStats;
}

/** Runs on a piscina worker thread: the pairs of the task's tables. */
export default function searchPairs({ state, options }: PairWorkerTask): PairWorkerResult {
  let ids = new Float64Array(2 * 65_536);
  let cosines = new Float64Array(65_536);
  let count = 0;
  const stats = LshIndex.attach(state).forEachCandidatePair(options, (idA, idB, cosine) => {
    if (count === cosines.length) {
      const moreIds = new Float64Array(ids.length * 2);
      moreIds.set(ids);
      ids = moreIds;
      const moreCosines = new Float64Array(cosines.length * 2);
      moreCosines.set(cosines);
      cosines = moreCosines;
    }
    ids[2 * count] = idA;
    ids[2 * count + 1] = idB;
    cosines[count++] = cosine;
  });
  return { ids: ids.slice(0, 2 * count), cosines: cosines.slice(0, count), count, stats };
}

export interface VariantSearchTask {
  index: PhashSharedState;
  /** Four numbers per query: the photo (its base), the hash's low and high 32 bits, the most bits apart. */
  queries: Float64Array;
}

/** Runs on a piscina worker thread: for each query, the ids within its distance, as (base, id) pairs end to end. */
export function searchWithin({ index, queries }: VariantSearchTask): Float64Array {
  const phashes = PhashIndex.attach(index);
  let pairs = new Float64Array(65_536);
  let count = 0;
  for (let q = 0; q < queries.length; q += 4) {
    const base = queries[q];
    phashes.forEachWithin(queries[q + 1] | 0, queries[q + 2] | 0, queries[q + 3], (id) => {
      if (count + 2 > pairs.length) {
        const more = new Float64Array(pairs.length * 2);
        more.set(pairs);
        pairs = more;
      }
      pairs[count++] = base;
      pairs[count++] = id;
    });
  }
  return pairs.slice(0, count);
}
