// The LSH pair search (lsh.ts forEachCandidatePair) on every core: at a million photos it is a
// minute of CPU, and the tables are independent, so each worker thread searches a share of them
// over the index's shared arrays (no copy: memory stays what the index holds). The pairs are the
// same as one search over all tables: a pair is reported by the first table that examines it,
// whichever thread searches that table. Small libraries search in this thread: starting workers
// costs more than it saves there. Any failure of the workers falls back to this thread. The workers
// are a piscina pool, like the HEIC decoder's.
import { availableParallelism } from 'node:os';
import { fileURLToPath } from 'node:url';
import { Piscina } from 'piscina';
import type { LshIndex, PairOptions, PairStats } from './lsh.ts';
import type { PairWorkerResult, PairWorkerTask } from './lsh-pairs-worker.ts';
import { execArgvFor, workerFileBeside } from './worker-files.ts';

/** Below this many indexed vectors the search stays in the calling thread (~0.1 s of work). */
export const PARALLEL_MIN_ITEMS = 50_000;

export interface ParallelPairSettings {
  /** The worker module (default: lsh-pairs-worker beside this file); a bundled build passes its own. */
  workerFile?: string | URL;
  /** Worker threads (default: the number of cores; the calling thread waits meanwhile). */
  threads?: number;
  /** Fewest indexed vectors for which workers are used (default PARALLEL_MIN_ITEMS). */
  minItems?: number;
}

let settings: ParallelPairSettings = {};

export function configureParallelPairs(next: ParallelPairSettings): void {
  settings = { ...settings, ...next };
}

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
  const threads = Math.min(settings.threads ?? availableParallelism(), tables);
  if (threads < 2 || index.size < (settings.minItems ?? PARALLEL_MIN_ITEMS)) return { ...index.forEachCandidatePair(options, visit), threads: 1 };
  const workerFile = settings.workerFile instanceof URL ? fileURLToPath(settings.workerFile) : (settings.workerFile ?? workerFileBeside(import.meta.url, 'lsh-pairs-worker'));
  const state = index.sharedState(options.maxBucketSize);
  // Tables dealt round-robin: they cost about the same.
  const shares = Array.from({ length: threads }, (_, k) => Array.from({ length: tables }, (_, t) => t).filter((t) => t % threads === k));
  let results: PairWorkerResult[];
  try {
    const piscina = poolFor(workerFile, threads);
    results = await Promise.all(shares.map((share) => piscina.run({ state, options: { ...options, tables: share } } satisfies PairWorkerTask) as Promise<PairWorkerResult>));
  } catch (error) {
    await closeParallelPairs(); // a fresh pool next time
    log(`the pair search could not use worker threads (${(error as Error).message}); searching in one thread`);
    return { ...index.forEachCandidatePair(options, visit), threads: 1 };
  }
  const stats: PairStats = { pairChecks: 0, cosineChecks: 0, emitted: 0, oversizedBuckets: 0, skippedCrossPairs: 0 };
  for (const result of results) {
    for (const key of Object.keys(stats) as (keyof PairStats)[]) stats[key] += result.stats[key];
    for (let i = 0; i < result.count; i++) visit(result.ids[2 * i], result.ids[2 * i + 1], result.cosines[i]);
  }
  return { ...stats, threads };
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
