// One worker thread's share of the LSH pair search (lsh-pairs.ts): it attaches to the index's
// shared arrays (no copy), searches the tables it was given, and returns the pairs.
import { LshIndex, type LshSharedState, type PairOptions, type PairStats } from './lsh.ts';

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
