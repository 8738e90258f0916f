// The candidate searches of a regrouping on every core: the LSH pair search (lsh.ts
// forEachCandidatePair, a minute of CPU at a million photos), the pHash pair search (phash-index.ts
// forEachPairWithin, 40 s there) and the pHash search of every photo's turned and cropped hashes
// (forEachWithinBatch, 61 queries per photo). Each worker thread does a share (some of the LSH tables,
// some of the pHash chunk tables, batches of queries) over the index's shared arrays
// (no copy: memory stays what the indexes hold). The results are those of the same search in one
// thread: an LSH pair is reported by the first table that examines it, whichever thread searches
// that table, and pHash hits do not depend on who looks. Small libraries search in this thread:
// starting workers costs more than it saves there. Any failure of the workers falls back to this
// thread. The workers are a piscina pool, like the HEIC decoder's.
import { availableParallelism } from 'node:os';
import { fileURLToPath } from 'node:url';
import { Piscina } from 'piscina';
import type { LshIndex, PairOptions, PairStats } from './lsh.ts';
import type { PhashIndex } from './phash-index.ts';
import { hitsOfQueries, type FilingTask, type HashPairTask, type PairWorkerResult, type PairWorkerTask, type VariantSearchTask } from './candidate-worker.ts';
import { execArgvFor, workerFileBeside } from './worker-files.ts';

/** Below this many indexed vectors (or photos) a search stays in the calling thread (~0.1 s of work). */
export const PARALLEL_MIN_ITEMS = 50_000;

export interface ParallelPairSettings {
  /** The worker module (default: candidate-worker beside this file); a bundled build passes its own. */
  workerFile?: string | URL;
  /** Worker threads (default: the number of cores; the calling thread waits meanwhile). */
  threads?: number;
  /** Fewest indexed vectors (LSH) or searching photos (pHash) for which workers are used (default PARALLEL_MIN_ITEMS). */
  minItems?: number;
  /** Queries per batch of the variant-hash search (default QUERIES_PER_BATCH). */
  queriesPerBatch?: number;
}

let settings: ParallelPairSettings = {};

export function configureParallelPairs(next: ParallelPairSettings): void {
  settings = { ...settings, ...next };
}

let searchesOnWorkers = 0;

/** How many searches the worker threads have done since the process started (for tests and benchmarks). */
export function workerSearchCount(): number {
  return searchesOnWorkers;
}

/**
 * The one way each search uses the workers: in this thread when fewer than two threads are wanted
 * or the job is small (`items` under minItems); else `parallel` on the pool, falling back to this
 * thread, with a word to `log`, when the workers fail.
 */
async function onWorkers(
  what: string,
  threads: number,
  items: number,
  inThisThread: () => void,
  parallel: (piscina: Piscina, threads: number) => Promise<void>,
  log: (message: string) => void,
): Promise<{ threads: number }> {
  if (threads < 2 || items < (settings.minItems ?? PARALLEL_MIN_ITEMS)) {
    inThisThread();
    return { threads: 1 };
  }
  try {
    await parallel(poolFor(workerFile(), threads), threads);
  } catch (error) {
    if ((error as Error)?.name === 'AbortError') throw error; // cancelled, not failed
    await closeParallelPairs(); // a fresh pool next time
    log(`the ${what} could not use worker threads (${(error as Error).message}); searching in one thread`);
    inThisThread();
    return { threads: 1 };
  }
  searchesOnWorkers++;
  return { threads };
}

const wantedThreads = () => settings.threads ?? availableParallelism();

/**
 * forEachCandidatePair over worker threads; `visit` gets the same pairs (in another order).
 * `log` hears why the workers could not be used, when that happens.
 */
export async function forEachCandidatePairParallel(
  index: LshIndex,
  options: PairOptions,
  visit: (idA: number, idB: number, cosine: number) => void,
  log: (message: string) => void = () => {},
): Promise<PairStats & { threads: number }> {
  const tables = index.options.tables;
  let stats: PairStats = { pairChecks: 0, cosineChecks: 0, emitted: 0, oversizedBuckets: 0, skippedCrossPairs: 0 };
  const { threads } = await onWorkers(
    'pair search',
    Math.min(wantedThreads(), tables),
    index.size,
    () => (stats = index.forEachCandidatePair(options, visit)),
    async (piscina, threadCount) => {
      const state = index.sharedState(options.maxBucketSize);
      // Tables dealt round-robin: they cost about the same.
      const shares = Array.from({ length: threadCount }, (_, k) => Array.from({ length: tables }, (_, t) => t).filter((t) => t % threadCount === k));
      const results = await Promise.all(shares.map((share) => piscina.run({ state, options: { ...options, tables: share } } satisfies PairWorkerTask) as Promise<PairWorkerResult>));
      for (const result of results) {
        for (const key of Object.keys(stats) as (keyof PairStats)[]) stats[key] += result.stats[key];
        for (let i = 0; i < result.cosines.length; i++) visit(result.ids[2 * i], result.ids[2 * i + 1], result.cosines[i]);
      }
    },
    log,
  );
  return { ...stats, threads };
}

/** Items a worker files per task: at a million photos about a second of work, so a cancel waits no longer. */
const FILING_TASK_ITEMS = 32_768;

/**
 * Trains the LSH index's coarse lists (LshIndex.trainLists), when they need it, with the nearest
 * centroids found on worker threads: each thread files a share of the items, the rest of k-means
 * stays here. The same lists as query() would train in this thread (half a minute of CPU at a
 * million), which it still does when the library is small or the workers fail. `signal` cancels
 * between tasks (rejecting with its AbortError; the index is left as it was).
 */
export async function trainListsParallel(index: LshIndex, log: (message: string) => void = () => {}, signal?: AbortSignal): Promise<{ threads: number }> {
  if (!index.listsNeedTraining) return { threads: 1 };
  return onWorkers(
    'list training',
    wantedThreads(),
    index.size,
    () => {}, // query() trains them in this thread
    async (piscina, threadCount) => {
      const points = index.compactPoints();
      await index.trainLists(async (lists, slots) => {
        // Each thread takes the next task when it is done with one (tasks cost about the same).
        const nearest = new Int32Array(slots.length);
        let next = 0;
        const fileTasks = async () => {
          while (next < slots.length) {
            signal?.throwIfAborted();
            const first = next;
            next = Math.min(slots.length, first + FILING_TASK_ITEMS);
            const task: FilingTask = { points, centroids: lists.centroids, slots: slots.slice(first, next) };
            nearest.set((await piscina.run(task, { name: 'fileItems', transferList: [task.slots.buffer as ArrayBuffer] })) as Int32Array, first);
          }
        };
        await Promise.all(Array.from({ length: threadCount }, fileTasks));
        signal?.throwIfAborted();
        return nearest;
      });
    },
    log,
  );
}

/**
 * PhashIndex.forEachPairWithin over worker threads, each searching some of the four chunk tables;
 * `visit` gets the same pairs (in another order).
 */
export async function forEachHashPairParallel(
  index: PhashIndex,
  maxDistance: number,
  visit: (idA: number, idB: number) => void,
  log: (message: string) => void = () => {},
): Promise<{ threads: number }> {
  return onWorkers(
    'hash pair search',
    Math.min(wantedThreads(), 4),
    index.size,
    () => index.forEachPairWithin(maxDistance, visit),
    async (piscina, threadCount) => {
      const state = index.sharedState();
      const shares = Array.from({ length: threadCount }, (_, k) => [0, 1, 2, 3].filter((c) => c % threadCount === k));
      const results = await Promise.all(shares.map((chunks) => piscina.run({ index: state, maxDistance, chunks } satisfies HashPairTask, { name: 'pairsWithin' }) as Promise<Float64Array>));
      for (const pairs of results) for (let i = 0; i < pairs.length; i += 2) visit(pairs[i], pairs[i + 1]);
    },
    log,
  );
}

/** One photo's hashes to look up in the pHash index, and how far each may be from a hit. */
export interface HashSearch {
  base: number;
  /** Hashes as [low, high] 32-bit halves (bits.ts hashWords). */
  words: Uint32Array;
  maxDistance: number;
}

/**
 * Queries per batch (4 numbers each: 16 MB). Large, because the batched search gets faster per
 * query the more share a batch (PhashIndex.forEachWithinBatch: at a million hashes, 3 times
 * forEachWithin's speed for 50,000 queries, 5 to 7 times for 250,000 to 1,000,000).
 */
const QUERIES_PER_BATCH = 500_000;

/**
 * The searches' hashes as batches of queries (VariantSearchTask's layout), made as they are taken.
 * Each batch holds one distance (turned and cropped hashes apart): the batched search handles a
 * distance at a time, and the fewer turned hashes would otherwise make small groups in every batch.
 */
function* queryBatches(searches: Iterable<HashSearch>): Generator<Float64Array<ArrayBuffer>> {
  const size = settings.queriesPerBatch ?? QUERIES_PER_BATCH;
  const filling = new Map<number, { batch: Float64Array<ArrayBuffer>; filled: number }>();
  for (const { base, words, maxDistance } of searches) {
    let open = filling.get(maxDistance);
    for (let i = 0; i < words.length; i += 2) {
      if (!open) filling.set(maxDistance, (open = { batch: new Float64Array(4 * size), filled: 0 }));
      const { batch } = open;
      batch[open.filled++] = base;
      batch[open.filled++] = words[i];
      batch[open.filled++] = words[i + 1];
      batch[open.filled++] = maxDistance;
      if (open.filled === batch.length) {
        yield batch; // a new one next time: this one goes to a worker (transferred)
        filling.delete(maxDistance);
        open = undefined;
      }
    }
  }
  for (const { batch, filled } of filling.values()) yield batch.slice(0, filled);
}

/**
 * Calls visit(base, id) for every hash of every search within its distance of an indexed hash: the
 * same hits as index.forEachWithin for each, in another order, and a hit may come twice when the
 * workers fail part-way (the search is then done again in this thread, which is why `searches` must
 * be iterable more than once); `photos` is how many searches there are.
 */
export async function forEachHashHitParallel(
  index: PhashIndex,
  searches: Iterable<HashSearch>,
  photos: number,
  visit: (base: number, id: number) => void,
  log: (message: string) => void = () => {},
): Promise<{ threads: number }> {
  if (photos === 0) return { threads: 1 };
  const take = (hits: Float64Array) => {
    for (let i = 0; i < hits.length; i += 2) visit(hits[i], hits[i + 1]);
  };
  return onWorkers(
    'hash search',
    wantedThreads(),
    photos,
    () => {
      for (const queries of queryBatches(searches)) take(hitsOfQueries(index, queries));
    },
    async (piscina, threadCount) => {
      const state = index.sharedState();
      // Batches go out as they are made; at most two per thread wait, so memory stays small.
      const waiting: Promise<Float64Array>[] = [];
      for (const queries of queryBatches(searches)) {
        const task: VariantSearchTask = { index: state, queries };
        const run = piscina.run(task, { name: 'searchWithin', transferList: [queries.buffer as ArrayBuffer] }) as Promise<Float64Array>;
        run.catch(() => {}); // a failure is met when this batch is awaited; never left unhandled meanwhile
        waiting.push(run);
        while (waiting.length > 2 * threadCount) take(await waiting.shift()!);
      }
      while (waiting.length > 0) take(await waiting.shift()!);
    },
    log,
  );
}

function workerFile(): string {
  return settings.workerFile instanceof URL ? fileURLToPath(settings.workerFile) : (settings.workerFile ?? workerFileBeside(import.meta.url, 'candidate-worker'));
}

let pool: { file: string; threads: number; piscina: Piscina } | null = null;

/** The worker pool (started on first use; its threads stop after a minute idle). */
function poolFor(file: string, threads: number): Piscina {
  if (pool && (pool.file !== file || pool.threads !== threads)) {
    void pool.piscina.destroy();
    pool = null;
  }
  if (!pool) {
    const piscina = new Piscina({ filename: file, execArgv: execArgvFor(file), minThreads: 0, maxThreads: threads, idleTimeout: 60_000 });
    // A worker failing outside a task (its module did not load) is reported here, not to any task;
    // once no worker is left, piscina starts no more and the tasks would wait forever: destroying
    // the pool rejects them, and the search falls back to this thread.
    piscina.on('error', () => {
      if (piscina.threads.length > 0) return;
      if (pool?.piscina === piscina) pool = null;
      void piscina.destroy();
    });
    pool = { file, threads, piscina };
  }
  return pool.piscina;
}

/** Stops the worker threads (they also stop by themselves after a minute idle). */
export async function closeParallelPairs(): Promise<void> {
  const old = pool;
  pool = null;
  if (old) await old.piscina.destroy();
}
