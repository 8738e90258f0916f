// Benchmark of a regrouping's candidate searches at a million photos (candidates.ts): the three
// searches in full (LSH pairs of embeddings, pHash pairs, every photo's turned and cropped hashes
// against every whole hash), then updated after new photos arrive (only the pairs with a new photo
// are looked for), and a check that the updated pairs equal a new full search. The rest of a
// regrouping (verifying the pairs, clustering) is bench/regroup-bench.ts's, on a real catalog.
//
//   npx tsx bench/candidates-bench.ts [--photos 1000000] [--adds 1,10,100,1000] [--no-check]
//
// Synthetic photos: embeddings from bench/synthetic-embeddings.ts in its reduced 256-dim mode (topics,
// bursts, planted edited copies), random pHashes (an edited copy's is its original's with 1-5 bits
// flipped), 7 turned and 54 cropped hashes per photo, random but for planted turned and cropped
// copies. The new photos are more of the same (as many edited, turned and cropped copies).
import { availableParallelism, cpus, loadavg, totalmem } from 'node:os';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { closeParallelPairs, configureParallelPairs } from '../electron/engine/candidate-workers.ts';
import { CandidateIndex, type IndexedPhoto } from '../electron/engine/candidates.ts';
import { DEFAULT_SETTINGS } from '../electron/engine/defaults.ts';
import { MATCH_LIMITS, ROTATED_PHASH_MAX } from '../electron/engine/match.ts';
import { SyntheticEmbeddings } from './synthetic-embeddings.ts';

const args = process.argv.slice(2);
const option = (name: string, fallback: string) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : fallback;
};
const PHOTOS = Number(option('photos', '1000000'));
const ADDS = option('adds', '1,10,100,1000').split(',').map(Number);
const CHECK = !args.includes('--no-check');
const DIM = 256;
const ROTATIONS = 7;
const WINDOWS = 54;
const WORDS = 2 * (ROTATIONS + WINDOWS); // per photo: each hash as two 32-bit words

const log = (message: string) => console.error(message);
const seconds = (ms: number) => `${(ms / 1000).toFixed(2)} s`;
const rows: [string, string][] = [];

// The engine's search options at the default settings (index.ts groups()).
const options = {
  minCosine: Math.min(DEFAULT_SETTINGS.similarCosine, DEFAULT_SETTINGS.nearCosine),
  phashMaxDistance: DEFAULT_SETTINGS.phashMaxDistance,
  rotatedMaxDistance: Math.min(ROTATED_PHASH_MAX, DEFAULT_SETTINGS.phashMaxDistance),
  cropMaxDistance: MATCH_LIMITS.cropPhashMax,
};

const total = PHOTOS + ADDS.reduce((sum, adds) => sum + adds, 0);
let started = performance.now();
const synthetic = new SyntheticEmbeddings(DIM, false, 11);
const { data: vectors, copyOf } = synthetic.generate(total);
const rand = synthetic.rand;
const word = () => Math.floor(rand() * 2 ** 32);
const phash = new BigUint64Array(total);
// Every photo's turned and cropped hashes as the catalog keeps them (8-byte big-endian hashes).
const variantBytes = Buffer.alloc(total * WORDS * 4);
for (let i = 0; i < variantBytes.length; i += 4) variantBytes.writeUInt32BE(word(), i);
const flip = (hash: bigint, bits: number) => {
  for (let f = 0; f < bits; f++) hash ^= 1n << BigInt(Math.floor(rand() * 64));
  return hash;
};
const setVariant = (photo: number, slot: number, hash: bigint) => {
  variantBytes.writeBigUInt64BE(hash, (photo * WORDS + 2 * slot) * 4);
};
for (let i = 0; i < total; i++) {
  phash[i] = copyOf[i] >= 0 ? flip(phash[copyOf[i]], 1 + Math.floor(rand() * 5)) : (BigInt(word()) << 32n) | BigInt(word());
  // A tenth of the photos (and of the new ones) are turned or cropped copies of an earlier photo.
  if (i > 0 && rand() < 0.1) {
    const original = Math.floor(rand() * i);
    if (rand() < 0.3) setVariant(i, Math.floor(rand() * ROTATIONS), flip(phash[original], Math.floor(rand() * 8)));
    else setVariant(i, ROTATIONS + Math.floor(rand() * WINDOWS), flip(phash[original], Math.floor(rand() * 5)));
  }
}
const photoOf = (base: number): IndexedPhoto => ({
  base,
  phash: phash[base],
  variantHashes: () => ({ bytes: variantBytes.subarray(base * WORDS * 4, (base + 1) * WORDS * 4), turned: ROTATIONS, cropped: WINDOWS }),
});
const readVector = (row: number) => vectors.subarray(row * DIM, (row + 1) * DIM);
log(`data: ${total} photos made in ${seconds(performance.now() - started)}`);

configureParallelPairs({ threads: availableParallelism() });
const dir = mkdtempSync(join(tmpdir(), 'candidates-bench-'));
const index = CandidateIndex.open(join(dir, 'index'), DIM, 1, 0, log);
const library = Array.from({ length: PHOTOS }, (_, base) => photoOf(base));

started = performance.now();
index.sync(library, readVector);
rows.push([`index ${PHOTOS.toLocaleString('en')} photos (LSH and pHash index)`, seconds(performance.now() - started)]);

const timedPairs = async (what: string) => {
  const cpu = process.cpuUsage();
  const start = performance.now();
  const found = await index.pairs(options, log);
  const wall = performance.now() - start;
  const used = process.cpuUsage(cpu);
  const { vectors, hashes, variants, deciding } = found.timings;
  rows.push([
    what,
    `${seconds(wall)} wall, ${seconds((used.user + used.system) / 1000)} CPU (all threads); ${found.pairs.length.toLocaleString('en')} pairs${found.changed ? ` (an update: ${found.changed.size} changed photos)` : ' (in full)'}; ` +
      `embeddings ${seconds(vectors)}, whole hashes ${seconds(hashes)}, turned and cropped hashes ${seconds(variants)}, deciding ${seconds(deciding)}`,
  ]);
  log(`${what}: ${seconds(wall)}`);
  return found;
};

const first = await timedPairs('every search in full (LSH, pHash, turned and cropped hashes)');
let pairs = new Set(first.pairs.map(([a, b]) => `${a} ${b}`));
let next = PHOTOS;
for (const adds of ADDS) {
  for (let k = 0; k < adds; k++) library.push(photoOf(next++));
  const start = performance.now();
  index.sync(library, readVector);
  const syncMs = performance.now() - start;
  const found = await timedPairs(`after ${adds} new photo${adds === 1 ? '' : 's'}: the searches (the index took them in ${seconds(syncMs)})`);
  if (found.changed === null) pairs = new Set();
  for (const [a, b] of found.pairs) pairs.add(`${a} ${b}`);
}
if (CHECK) {
  index.forgetPairs();
  const full = await timedPairs('the same photos, every search in full again');
  const fullPairs = new Set(full.pairs.map(([a, b]) => `${a} ${b}`));
  const same = fullPairs.size === pairs.size && [...fullPairs].every((pair) => pairs.has(pair));
  rows.push(['the first pairs and the updates = a full search', same ? 'yes' : `NO (${pairs.size} against ${fullPairs.size})`]);
}
rows.push(['peak RSS', `${(process.resourceUsage().maxRSS / 1024).toFixed(0)} MiB`]);
await closeParallelPairs();
rmSync(dir, { recursive: true, force: true });

console.log(`### Candidate searches at ${PHOTOS.toLocaleString('en')} photos\n`);
console.log(`Machine: ${cpus()[0]?.model ?? 'unknown CPU'}, ${availableParallelism()} cores, ${(totalmem() / 2 ** 30).toFixed(0)} GiB RAM; Node ${process.version}; ${new Date().toISOString().slice(0, 10)}; load average at the end ${loadavg().map((l) => l.toFixed(1)).join(' ')}`);
console.log(`Command: npx tsx bench/candidates-bench.ts ${args.join(' ')}`);
console.log(`Options: ${JSON.stringify(options)}, searches on ${availableParallelism()} worker threads\n`);
console.log('| measurement | result |\n|---|---|');
for (const [what, value] of rows) console.log(`| ${what} | ${value} |`);
