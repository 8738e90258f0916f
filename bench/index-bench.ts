// Benchmark of the LSH vector index (electron/engine/lsh.ts) and the pHash index on synthetic data.
//
//   npx tsx bench/index-bench.ts --n 100000            (1792-dim raw vectors, projected by the index)
//   npx tsx bench/index-bench.ts --n 1000000           (generated directly in the 256-dim reduced space)
//
// Options: --mode full|reduced (default: full up to 200k, reduced above), --queries 200, --tables,
// --bits, --probes, --seed 7, --near 0.87 (the engine's near-duplicate cosine), --margin 0.03 (how much
// lower the index is asked to look, since its cosines are estimates), --similar (also time the
// "similar" tier pair search at 0.80), --reduced 256 (compact dims), --scan 32768 (items a query scans from
// the coarse lists; also timed at twice that), --no-phash, --threads N (worker
// threads of the pair search and the lists' filing, default: the cores; the near tier is also timed in one thread),
// --phash-distances 4,10,12 (default 4,10 above 200k items: 12 takes minutes there), --grid 4:16384,10:8192
// (the query settings to time, probes:scan each, instead of the default rows), --no-pairs (skip the
// all-pairs search).
//
// The data imitates the embeddings measured on the dev photos (docs: /work/shared/notes): raw
// vectors are non-negative (ReLU), unrelated photos sit near cosine 0.47, photos are grouped into
// topics and events (bursts at ~0.8), and there are planted near-duplicates (0.88-0.98) and
// "similar" pairs (0.75-0.86). In reduced mode the same model is drawn in 256 dims without the
// ReLU, which skips the projection (its cost in recall is measured by the full mode).
import os from 'node:os';
import { LshIndex, LSH_DEFAULTS, PENDING_LIMIT, type PairStats } from '../electron/engine/lsh.ts';
import { SyntheticEmbeddings, type Planted } from './synthetic-embeddings.ts';
import { closeParallelPairs, configureParallelPairs, forEachCandidatePairParallel, forEachHashPairParallel, trainListsParallel } from '../electron/engine/candidate-workers.ts';
import { PhashIndex, hamming } from '../electron/engine/phash-index.ts';

// ---------------------------------------------------------------------------------------------
// Arguments

const argv = process.argv.slice(2);
function arg(name: string, fallback: string): string {
  const i = argv.indexOf(`--${name}`);
  return i >= 0 && i + 1 < argv.length ? argv[i + 1] : fallback;
}
const flag = (name: string) => argv.includes(`--${name}`);
const n = Number(arg('n', '100000'));
const mode = arg('mode', n <= 200_000 ? 'full' : 'reduced');
const queryCount = Number(arg('queries', '200'));
const tables = Number(arg('tables', String(LSH_DEFAULTS.tables)));
const bits = Number(arg('bits', String(LSH_DEFAULTS.bitsPerTable)));
const probes = Number(arg('probes', String(LSH_DEFAULTS.probes)));
const reducedDim = Number(arg('reduced', String(LSH_DEFAULTS.reducedDim)));
const pairThreads = Number(arg('threads', String(os.availableParallelism())));
const seed = Number(arg('seed', '7'));
const nearCosine = Number(arg('near', '0.87'));
const margin = Number(arg('margin', '0.03'));
const dim = mode === 'full' ? 1792 : 256;

// ---------------------------------------------------------------------------------------------
// Synthetic embeddings (bench/synthetic-embeddings.ts)

const synthetic = new SyntheticEmbeddings(dim, mode === 'full', seed);
const rand = synthetic.rand;
const generate = () => synthetic.generate(n);

// ---------------------------------------------------------------------------------------------
// Exact cosines on the raw vectors

function norms(data: Float32Array): Float64Array {
  const out = new Float64Array(n);
  for (let r = 0; r < n; r++) {
    let s = 0;
    for (let i = r * dim; i < (r + 1) * dim; i++) s += data[i] * data[i];
    out[r] = Math.sqrt(s);
  }
  return out;
}

function exactCosine(data: Float32Array, norm: Float64Array, a: number, b: number): number {
  let s = 0;
  const oa = a * dim;
  const ob = b * dim;
  for (let i = 0; i < dim; i++) s += data[oa + i] * data[ob + i];
  return s / (norm[a] * norm[b]);
}

/** Exact top-k by raw cosine, excluding the query row itself. */
function bruteTopK(data: Float32Array, norm: Float64Array, q: number, k: number): { id: number; cosine: number }[] {
  const top: { id: number; cosine: number }[] = [];
  const oq = q * dim;
  for (let r = 0; r < n; r++) {
    if (r === q) continue;
    let s = 0;
    const or = r * dim;
    for (let i = 0; i < dim; i++) s += data[oq + i] * data[or + i];
    const c = s / (norm[q] * norm[r]);
    if (top.length < k || c > top[top.length - 1].cosine) {
      top.push({ id: r, cosine: c });
      top.sort((x, y) => y.cosine - x.cosine);
      if (top.length > k) top.pop();
    }
  }
  return top;
}

// ---------------------------------------------------------------------------------------------

const mb = (bytes: number) => `${(bytes / 2 ** 20).toFixed(0)} MiB`;
const ms = (t: number) => `${t.toFixed(t < 10 ? 2 : 0)} ms`;
const sec = (t: number) => `${(t / 1000).toFixed(1)} s`;
/** CPU time of this process since `start` (user + system), in ms: honest on a shared machine. */
const cpuSince = (start: NodeJS.CpuUsage) => {
  const used = process.cpuUsage(start);
  return (used.user + used.system) / 1000;
};
const percentile = (xs: number[], p: number) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(p * xs.length))];
const rows: [string, string][] = [];
const row = (what: string, value: string) => {
  rows.push([what, value]);
  console.error(`  ${what}: ${value}`);
};

const rssStart = process.memoryUsage().rss;
const loadAtStart = os.loadavg().map((l) => l.toFixed(1)).join(' ');
console.error(`generating ${n} x ${dim} (${mode}) ...`);
let t0 = performance.now();
const { data, planted } = generate();
const norm = norms(data);
row('data generation', `${sec(performance.now() - t0)} (${mb(data.byteLength)} of float32, not part of the index)`);
{
  let s = 0;
  const samples = 20000;
  for (let i = 0; i < samples; i++) s += exactCosine(data, norm, Math.floor(rand() * n), Math.floor(rand() * n));
  row('mean raw cosine of random pairs', (s / samples).toFixed(3));
}

// Build: mean from the first 10 000 vectors, as the engine would after its first batch.
t0 = performance.now();
const buildCpu = process.cpuUsage();
const fitRows = Math.min(n, 10_000);
const mean = LshIndex.fitMean((function* () {
  for (let r = 0; r < fitRows; r++) yield data.subarray(r * dim, (r + 1) * dim);
})());
const index = new LshIndex({ dim, reducedDim, tables, bitsPerTable: bits, seed: 1, mean });
const rssBeforeIndex = process.memoryUsage().rss;
for (let r = 0; r < n; r++) index.add(r, data.subarray(r * dim, (r + 1) * dim));
const buildMs = performance.now() - t0;
row('index build (add all), wall / CPU', `${sec(buildMs)} / ${sec(cpuSince(buildCpu))} (${((buildMs / n) * 1000).toFixed(0)} µs/item wall)`);
t0 = performance.now();
index.query(data.subarray(0, dim), { k: 1, scan: 0 }); // first query builds the bucket tables
row('bucket tables build (first query)', ms(performance.now() - t0));
t0 = performance.now();
const listsCpu = process.cpuUsage();
// As the engine does before a query (candidates.ts prepareQuery): the filing on worker threads;
// with --threads 1, the first query trains them in this thread.
configureParallelPairs({ threads: pairThreads, minItems: 0 });
const { threads: listThreads } = await trainListsParallel(index, (m) => console.error(m));
index.query(data.subarray(0, dim), { k: 1 });
row(
  `coarse lists: training and filing every item (${listThreads === 1 ? 'one thread, first query' : `filing on ${listThreads} worker threads`}), wall / CPU of all threads`,
  `${sec(performance.now() - t0)} / ${sec(cpuSince(listsCpu))} (${index.coarseListCount} lists)`,
);
const rssAfterIndex = process.memoryUsage().rss;
row('index typed arrays', mb(index.memoryBytes()));
row('RSS growth while building the index', mb(rssAfterIndex - rssBeforeIndex));
row('RSS total (data + index)', mb(rssAfterIndex));
row('mean drift after build', index.meanDrift().toFixed(3));

// Estimation error of the compact copy (projection + int8) on planted and random pairs.
{
  const errs: number[] = [];
  for (const p of planted) errs.push(Math.abs(index.cosine(p.a, p.b) - exactCosine(data, norm, p.a, p.b)));
  const randErr: number[] = [];
  for (let i = 0; i < 5000; i++) {
    const a = Math.floor(rand() * n);
    const b = Math.floor(rand() * n);
    if (a !== b) randErr.push(Math.abs(index.cosine(a, b) - exactCosine(data, norm, a, b)));
  }
  row('raw-cosine estimate error, planted pairs (median / p99 / max)', `${percentile(errs, 0.5).toFixed(4)} / ${percentile(errs, 0.99).toFixed(4)} / ${errs.reduce((m, e) => Math.max(m, e), 0).toFixed(4)}`);
  row('raw-cosine estimate error, random pairs (median / p99)', `${percentile(randErr, 0.5).toFixed(4)} / ${percentile(randErr, 0.99).toFixed(4)}`);
}

// Queries: half from planted near-duplicate groups, half uniform.
const queries: number[] = [];
const nearPlanted = planted.filter((p) => p.kind === 'near');
while (queries.length < queryCount) {
  queries.push(queries.length % 2 === 0 && nearPlanted.length > 0 ? nearPlanted[Math.floor(rand() * nearPlanted.length)].a : Math.floor(rand() * n));
}
console.error(`exact brute force for ${queries.length} queries ...`);
t0 = performance.now();
const truth = queries.map((q) => bruteTopK(data, norm, q, 10));
const bruteQueryMs = (performance.now() - t0) / queries.length;

function recallAt10(hitsFor: (q: number) => number[], floor: number): number {
  let found = 0;
  let total = 0;
  queries.forEach((q, i) => {
    const got = new Set(hitsFor(q));
    for (const t of truth[i]) {
      if (t.cosine < floor) continue;
      total++;
      if (got.has(t.id)) found++;
    }
  });
  return total === 0 ? Number.NaN : found / total;
}

const scanItems = Number(arg('scan', String(LSH_DEFAULTS.scanItems)));
const grid = arg('grid', '');
const querySettings = grid
  ? grid.split(',').map((cell) => {
      const [p, scan] = cell.split(':').map(Number);
      return { probes: p, scan };
    })
  : [...[0, probes, probes * 3].map((p) => ({ probes: p, scan: 0 })), ...[0, probes].map((p) => ({ probes: p, scan: scanItems })), { probes, scan: scanItems * 2 }];
// Warm-up, untimed: every setting once on some queries, so that the first setting timed does not
// pay for compiling the query paths and touching the list copy for the first time.
for (const { probes: p, scan } of querySettings) for (const q of queries.slice(0, 20)) index.query(data.subarray(q * dim, (q + 1) * dim), { k: 11, probes: p, scan });
for (const { probes: p, scan } of querySettings) {
  const times: number[] = [];
  const results = new Map<number, number[]>();
  for (const q of queries) {
    const v = data.subarray(q * dim, (q + 1) * dim);
    const start = performance.now();
    const hits = index.query(v, { k: 11, probes: p, scan });
    times.push(performance.now() - start);
    results.set(q, hits.map((h) => h.id).filter((id) => id !== q).slice(0, 10));
  }
  const label = scan === 0 ? `query k=10, buckets only, probes=${p}` : `query k=10, probes=${p} + lists (scan ${scan})`;
  row(`${label}: p50 / p99`, `${ms(percentile(times, 0.5))} / ${ms(percentile(times, 0.99))}`);
  row(`${label}: recall@10 (all true top-10)`, recallAt10((q) => results.get(q)!, -1).toFixed(3));
  row(`${label}: recall@10 of true neighbours with cosine >= 0.80`, recallAt10((q) => results.get(q)!, 0.8).toFixed(3));
  row(`${label}: recall@10 of true neighbours with cosine >= ${nearCosine}`, recallAt10((q) => results.get(q)!, nearCosine).toFixed(3));
}
{
  // What the engine gets when it re-ranks the index's top 100 with its raw vectors.
  const results = new Map<number, number[]>();
  for (const q of queries) {
    const v = data.subarray(q * dim, (q + 1) * dim);
    const hits = index.query(v, { k: 101, probes });
    const exact = hits.filter((h) => h.id !== q).map((h) => ({ id: h.id, c: exactCosine(data, norm, q, h.id) }));
    exact.sort((a, b) => b.c - a.c);
    results.set(q, exact.slice(0, 10).map((h) => h.id));
  }
  row(`query top-100 re-ranked exactly: recall@10 (all)`, recallAt10((q) => results.get(q)!, -1).toFixed(3));
  row(`query top-100 re-ranked exactly: recall@10 of neighbours >= 0.80`, recallAt10((q) => results.get(q)!, 0.8).toFixed(3));
}
row('brute force query, float32 raw vectors', ms(bruteQueryMs));

// All near-duplicate pairs.
async function pairSearch(threshold: number, label: string, kinds: Planted['kind'][], threads: number): Promise<void> {
  const found = new Set<number>();
  let reported = 0;
  let belowThreshold = 0;
  const visit = (a: number, b: number) => {
    found.add(a * n + b);
    reported++;
  };
  const options = { minCosine: threshold - margin };
  const start = performance.now();
  const cpu = process.cpuUsage();
  // The engine's path (candidate-workers.ts): worker threads, each searching a share of the tables.
  configureParallelPairs({ threads, minItems: 0 });
  const stats: PairStats = threads > 1 ? await forEachCandidatePairParallel(index, options, visit, (m) => console.error(m)) : index.forEachCandidatePair(options, visit);
  const elapsed = performance.now() - start;
  const elapsedCpu = cpuSince(cpu);
  label = `${label} (${threads === 1 ? 'one thread' : `${threads} worker threads`})`;
  // Recall over planted pairs whose exact cosine reaches the threshold, by cosine band.
  const bands = [threshold, 0.9, 0.94, 0.98, 1.01];
  const hit = new Array(bands.length - 1).fill(0);
  const total = new Array(bands.length - 1).fill(0);
  for (const p of planted) {
    if (!kinds.includes(p.kind)) continue;
    const c = exactCosine(data, norm, p.a, p.b);
    const band = bands.findIndex((lo, i) => c >= lo && c < bands[i + 1]);
    if (band < 0) continue;
    total[band]++;
    if (found.has(Math.min(p.a, p.b) * n + Math.max(p.a, p.b))) hit[band]++;
  }
  for (const key of found) if (exactCosine(data, norm, Math.floor(key / n), key % n) < threshold) belowThreshold++;
  const sumHit = hit.reduce((a, b) => a + b, 0);
  const sumTotal = total.reduce((a, b) => a + b, 0);
  row(`${label} pairs (cosine >= ${threshold}, index asked for >= ${(threshold - margin).toFixed(2)}): wall / CPU time`, `${sec(elapsed)} / ${sec(elapsedCpu)}`);
  row(`${label} pairs: recall of planted pairs`, `${(sumHit / sumTotal).toFixed(4)} (${sumHit} / ${sumTotal})`);
  row(
    `${label} pairs: recall by exact cosine band`,
    total.map((t, i) => `[${bands[i].toFixed(2)}, ${Math.min(1, bands[i + 1]).toFixed(2)}): ${t ? (hit[i] / t).toFixed(3) : '-'} of ${t}`).join('; '),
  );
  row(`${label} pairs: reported / below threshold on exact check`, `${reported} / ${belowThreshold}`);
  row(`${label} pairs: sketch checks / int8 cosines / oversized buckets`, `${(stats.pairChecks / 1e6).toFixed(0)} M / ${(stats.cosineChecks / 1e6).toFixed(2)} M / ${stats.oversizedBuckets}`);
}
if (!flag('no-pairs')) {
  console.error('all-pairs search ...');
  if (pairThreads > 1) await pairSearch(nearCosine, 'near-duplicate', ['near'], 1);
  await pairSearch(nearCosine, 'near-duplicate', ['near'], pairThreads);
  if (flag('similar')) await pairSearch(0.8, 'similar', ['near', 'similar'], pairThreads);
}
await closeParallelPairs();
{
  // Brute-force all pairs is quadratic: time a sample of exact float32 cosines and extrapolate.
  const sample = 20_000;
  const start = performance.now();
  for (let i = 0; i < sample; i++) exactCosine(data, norm, i % n, (i * 7919) % n);
  const floatNs = ((performance.now() - start) / sample) * 1e6;
  const pairs = (n * (n - 1)) / 2;
  row('brute-force all pairs, float32 (extrapolated from a sample)', `${((pairs * floatNs) / 1e9 / 3600).toFixed(1)} h`);
}

// Serialisation.
{
  const start = performance.now();
  const buf = index.serialize();
  const serialiseMs = performance.now() - start;
  const start2 = performance.now();
  const back = LshIndex.deserialize(buf);
  row('serialize / deserialize', `${ms(serialiseMs)} / ${ms(performance.now() - start2)} (${mb(buf.length)})`);
  if (back.size !== index.size) throw new Error('round trip lost items');
}

// pHash index: synthetic 64-bit hashes, 5 % with a near copy (1-6 bits flipped).
if (!flag('no-phash')) {
  const phash = new PhashIndex();
  const hashes: bigint[] = [];
  const randomHash = () => (BigInt(Math.floor(rand() * 2 ** 32)) << 32n) | BigInt(Math.floor(rand() * 2 ** 32));
  let start = performance.now();
  for (let i = 0; i < n; i++) {
    let h = randomHash();
    if (i > 0 && rand() < 0.05) {
      h = hashes[i - 1];
      const flips = 1 + Math.floor(rand() * 6);
      for (let f = 0; f < flips; f++) h ^= 1n << BigInt(Math.floor(rand() * 64));
    }
    hashes.push(h);
    phash.add(i, h);
  }
  row('pHash index build', sec(performance.now() - start));
  for (const d of arg('phash-distances', n > 200_000 ? '4,10' : '4,10,12').split(',').map(Number)) {
    start = performance.now();
    const cpu = process.cpuUsage();
    const count = phash.forEachPairWithin(d, () => {});
    row(`pHash all pairs within ${d} bits (one thread), wall / CPU`, `${sec(performance.now() - start)} / ${sec(cpuSince(cpu))} (${count} pairs)`);
    if (pairThreads < 2) continue;
    // The engine's path: worker threads, each searching some of the chunk tables.
    start = performance.now();
    const cpuWorkers = process.cpuUsage();
    let found = 0;
    configureParallelPairs({ threads: pairThreads, minItems: 0 });
    const { threads } = await forEachHashPairParallel(phash, d, () => found++, (m) => console.error(m));
    row(`pHash all pairs within ${d} bits (${threads} worker threads), wall / CPU`, `${sec(performance.now() - start)} / ${sec(cpuSince(cpuWorkers))} (${found} pairs)`);
  }
  await closeParallelPairs();
  const times: number[] = [];
  for (let i = 0; i < 200; i++) {
    const q = hashes[Math.floor(rand() * n)];
    const s = performance.now();
    phash.query(q, 10);
    times.push(performance.now() - s);
  }
  row('pHash query within 10 bits: p50 / p99', `${ms(percentile(times, 0.5))} / ${ms(percentile(times, 0.99))}`);
  start = performance.now();
  let brute = 0;
  for (let i = 0; i < n; i++) if (hamming(hashes[0], hashes[i]) <= 10) brute++;
  row('pHash brute-force query (bigint)', `${ms(performance.now() - start)} (${brute} within 10)`);
}

// ---------------------------------------------------------------------------------------------
// Items arriving after the index was built (the folder watcher's new photos): the first query after
// them, and their pairs. A few are compared exactly by each query; past PENDING_LIMIT the tables and
// lists are rebuilt.
{
  const noisy = (r: number) => {
    const v = Float32Array.from(data.subarray(r * dim, (r + 1) * dim));
    for (let j = 0; j < dim; j++) v[j] += 0.01 * (rand() - 0.5);
    return v;
  };
  let nextId = n;
  const queryAfter = (label: string, adds: number) => {
    const start = performance.now();
    for (let i = 0; i < adds; i++) index.add(nextId++, noisy(Math.floor(rand() * n)));
    const addMs = performance.now() - start;
    const q = queries[adds % queries.length];
    const t = performance.now();
    index.query(data.subarray(q * dim, (q + 1) * dim), { k: 11 });
    const first = performance.now() - t;
    const times: number[] = [];
    for (const q2 of queries.slice(0, 50)) {
      const t2 = performance.now();
      index.query(data.subarray(q2 * dim, (q2 + 1) * dim), { k: 11 });
      times.push(performance.now() - t2);
    }
    row(
      `${label}: adding them / the first query after / p50 of the next 50 (changes not rebuilt into the tables then)`,
      `${ms(addMs)} / ${ms(first)} / ${ms(percentile(times, 0.5))} (${index.pendingChanges})`,
    );
  };
  queryAfter('1 new item', 1);
  queryAfter(`${PENDING_LIMIT - 1} more new items`, PENDING_LIMIT - 1);
  queryAfter('10 more new items (over the limit: tables and lists rebuilt)', 10);

  // The pairs of new items, as a regrouping's update looks for them (forEachPairOf): like queries,
  // they take the items added since the tables were built as they are while those are few.
  const pairsAfter = (label: string, adds: number) => {
    const ids: number[] = [];
    for (let i = 0; i < adds; i++) {
      index.add(nextId, noisy(Math.floor(rand() * n)));
      ids.push(nextId++);
    }
    const builds = index.tableBuilds;
    let pairs = 0;
    const start = performance.now();
    index.forEachPairOf(ids, { minCosine: nearCosine - margin }, () => pairs++);
    const elapsed = performance.now() - start;
    const rebuilt = index.tableBuilds > builds ? 'tables rebuilt' : `${index.pendingChanges} changes not rebuilt into the tables`;
    row(`${label}: the pairs of the new items (a regrouping's update, cosine >= ${(nearCosine - margin).toFixed(2)})`, `${ms(elapsed)}, ${pairs} pairs (${rebuilt})`);
  };
  pairsAfter('1 new item', 1);
  pairsAfter('100 more new items', 100);
  pairsAfter(`${PENDING_LIMIT} more new items (over the limit)`, PENDING_LIMIT);
}

// ---------------------------------------------------------------------------------------------

const cpus = os.cpus();
console.log(`### Vector index, n = ${n.toLocaleString('en')} (${mode} mode, ${dim}-dim input)\n`);
console.log(`Command: \`npx tsx bench/index-bench.ts ${argv.join(' ')}\`  `);
console.log(`Machine: ${cpus[0]?.model ?? 'unknown CPU'}, ${cpus.length} cores, ${mb(os.totalmem())} RAM; Node ${process.version}; ${new Date().toISOString().slice(0, 10)}  `);
console.log(`Load average (shared machine) at start / end: ${loadAtStart} / ${os.loadavg().map((l) => l.toFixed(1)).join(' ')}  `);
console.log(`Index: ${tables} tables x ${bits} bits, reduced to ${index.reducedDim} dims (int8), probes ${probes}, ${queries.length} queries, RSS at start ${mb(rssStart)}\n`);
console.log('| measure | value |');
console.log('|---|---|');
for (const [what, value] of rows) console.log(`| ${what} | ${value} |`);
