// Regrouping a large library: the whole of engine.groups() (candidate searches in the LSH and pHash
// indexes, exact verification of every candidate pair, clustering), first from nothing, then after
// a few new photos arrive the way the folder watcher brings them (engine.updatePaths), when only the
// new photos are searched and judged, and once more after the app restarts (the last search and its
// verdicts are saved with the index). Target (issue 5): regroup "instantly" at 100,000 photos.
//
//   npx tsx bench/regroup-bench.ts [--library 100000] [--seed-photos 20] [--changes 1,10,100] [--threads N] [--no-full-again]
//
// --no-full-again leaves out the two searches in full that check the updates' groups (minutes each
// at a million photos).
//
// The library: a real scan of some photos of ../shared/photos, then synthetic photos appended to the
// same catalog and vector store (bench/synthetic-embeddings.ts: topics, bursts, planted edited
// copies at raw cosine 0.88-0.98 and "similar" siblings). Their hashes follow the same story: a
// burst's photos have pHashes 6-24 bits from the burst's, an edited copy has its original's pHash
// and detail hash with a few bits flipped, everything else is random. The new photos are resized,
// re-encoded copies of the seed photos: each must join its original's group.
import { mkdirSync, rmSync, statSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { availableParallelism, cpus, loadavg, totalmem } from 'node:os';
import { join, resolve } from 'node:path';
import sharp from 'sharp';
import { closeParallelPairs, configureParallelPairs } from '../electron/engine/candidate-workers.ts';
import { DETAIL_WORDS, ROTATION_VARIANT_COUNT } from '../electron/engine/decode.ts';
import { openEngine, type GroupsResult } from '../electron/engine/index.ts';
import { buildSyntheticLibrary, syntheticPath } from './synthetic-catalog.ts';
import { SyntheticEmbeddings } from './synthetic-embeddings.ts';

const args = process.argv.slice(2);
const option = (name: string, fallback: string) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : fallback;
};
const LIBRARY = Number(option('library', '100000'));
const SEED_PHOTOS = Number(option('seed-photos', '20'));
const CHANGES = option('changes', '1,10,100').split(',').map(Number);
const THREADS = Number(option('threads', String(availableParallelism())));
const FULL_AGAIN = !args.includes('--no-full-again');

const ROOT = resolve(import.meta.dirname, '..');
const SHARED = process.env.PHOTO_DEDUP_SHARED ?? resolve(ROOT, '..', 'shared');
const WORK = join(ROOT, '.bench', 'regroup');
const log = (message: string) => console.error(message);
const seconds = (ms: number) => `${(ms / 1000).toFixed(2)} s`;

async function main() {
  rmSync(WORK, { recursive: true, force: true });
  const seedDir = join(WORK, 'seed');
  const newDir = join(seedDir, 'new'); // inside a scanned folder: the watcher only reports those
  const catalogPath = join(WORK, 'catalog', 'catalog.json');
  mkdirSync(seedDir, { recursive: true });
  const manifest = JSON.parse(await readFile(join(SHARED, 'photos', 'manifest.json'), 'utf8'));
  const sources: string[] = manifest.photos
    .filter((p: any) => p.width * p.height >= 250_000 && ['JPEG', 'PNG'].includes(p.format))
    .slice(0, SEED_PHOTOS)
    .map((p: any) => join(SHARED, 'photos', p.file));
  for (const [i, source] of sources.entries()) await sharp(source).rotate().jpeg({ quality: 90 }).toFile(join(seedDir, `${String(i).padStart(3, '0')}.jpg`));
  const { count, plantedCopies } = await buildLibrary(seedDir, catalogPath);
  mkdirSync(newDir);

  configureParallelPairs({ threads: THREADS });
  let engine = await openEngine({ catalogPath });
  const rows: [string, string][] = [['library', `${count.toLocaleString('en')} photos (${sources.length} real, the rest synthetic); ${plantedCopies.length.toLocaleString('en')} planted edited copies`]];

  const timed = async (what: string): Promise<GroupsResult> => {
    const cpuBefore = process.cpuUsage();
    const started = performance.now();
    const result = await engine.groups();
    const wall = performance.now() - started;
    const cpu = process.cpuUsage(cpuBefore);
    const stats = engine.lastRegroup();
    rows.push([what, `${seconds(wall)} wall, ${seconds((cpu.user + cpu.system) / 1000)} CPU (all threads); ${stats}`]);
    log(`${what}: ${seconds(wall)}`);
    return result;
  };

  // 1. From nothing: every search in full (the first regrouping after the app starts).
  const first = await timed('regroup from nothing (index built and every search in full)');
  const nearGroupOf = new Map<string, number>();
  first.groups.forEach((group, g) => group.kind === 'near' && group.files.forEach((file) => nearGroupOf.set(file.path, g)));
  const copiesFound = plantedCopies.filter(([original, copy]) => nearGroupOf.has(syntheticPath(WORK, copy)) && nearGroupOf.get(syntheticPath(WORK, copy)) === nearGroupOf.get(syntheticPath(WORK, original))).length;
  rows.push(['groups found', `${first.groups.length.toLocaleString('en')} (${first.groups.filter((g) => g.kind === 'near').length.toLocaleString('en')} near, ${first.groups.filter((g) => g.kind === 'similar').length.toLocaleString('en')} similar)`]);
  rows.push(['planted edited copies in their original\'s near group', `${copiesFound.toLocaleString('en')} / ${plantedCopies.length.toLocaleString('en')}`]);

  // 2. New photos, the watcher's way: only they are searched and judged.
  let added = 0;
  let joined = 0;
  let last = first;
  // The last batch comes after a restart: close (saves the index and the last search) and open again.
  const restart = async () => {
    let started = performance.now();
    await engine.close();
    const closed = performance.now() - started;
    started = performance.now();
    engine = await openEngine({ catalogPath });
    rows.push(['app restart: close (saves the index and the last search) / open', `${seconds(closed)} / ${seconds(performance.now() - started)}`]);
  };
  for (const [batch, changes] of [...CHANGES, 1].entries()) {
    const afterRestart = batch === CHANGES.length;
    if (afterRestart) await restart();
    const paths: string[] = [];
    for (let k = 0; k < changes; k++, added++) {
      const source = join(seedDir, `${String(added % sources.length).padStart(3, '0')}.jpg`);
      const path = join(newDir, `${added}.jpg`);
      // A smaller, re-encoded copy; each a little different so that none is byte-identical to another.
      await sharp(source).resize({ width: 900 - (added % 300) }).jpeg({ quality: 70 + (added % 25) }).toFile(path);
      paths.push(path);
    }
    const summary = await engine.updatePaths(paths);
    if (summary.added !== paths.length) throw new Error(`the engine took ${summary.added} of ${paths.length} new photos: ${JSON.stringify(summary).slice(0, 500)}`);
    last = await timed(`${afterRestart ? 'first regroup after the restart, ' : 'regroup after '}${changes} new photo${changes === 1 ? '' : 's'} (watcher)`);
    const groupOf = new Map<string, number>();
    last.groups.forEach((group, g) => group.files.forEach((file) => groupOf.set(file.path, g)));
    for (const [k, path] of paths.entries()) {
      const original = join(seedDir, `${String((added - paths.length + k) % sources.length).padStart(3, '0')}.jpg`);
      if (groupOf.has(path) && groupOf.get(path) === groupOf.get(original)) joined++;
    }
  }
  rows.push(['new photos in their original\'s group', `${joined} / ${added}`]);

  // 3. The same library searched in full again: the groups must be the same as the updated ones.
  const describe = (result: GroupsResult) => JSON.stringify(result.groups.map((g) => [g.kind, g.files.map((f) => f.path).sort()]).sort());
  if (FULL_AGAIN) {
    engine.forgetJudgedPairs();
    const full = await timed('the same regrouping with every search in full');
    rows.push(['groups after the updates = groups of a full search', describe(full) === describe(last) ? 'yes' : 'NO']);
  } else rows.push(['groups after the updates = groups of a full search', 'not checked (--no-full-again)']);

  // 4. Stricter match settings: the last matches are judged again, without a search; the groups
  //    must be those of a full search with the same settings.
  const defaults = engine.settings();
  await engine.updateSettings({ nearCosine: 0.98, phashMaxDistance: 8 });
  const stricter = await timed('regroup after stricter match settings (near cosine 0.98, pHash 8 bits)');
  if (FULL_AGAIN) {
    engine.forgetJudgedPairs();
    const stricterFull = await timed('the same settings, every search in full');
    rows.push(['groups after stricter settings = groups of a full search', describe(stricter) === describe(stricterFull) ? 'yes' : 'NO']);
  }
  await engine.updateSettings({ nearCosine: defaults.nearCosine, phashMaxDistance: defaults.phashMaxDistance });
  // 5. After a restart (the index saved), a regrouping that changes only the last search (stricter
  //    settings again), then close: the search's own small file is written, not the whole index.
  await engine.close();
  engine = await openEngine({ catalogPath });
  await engine.updateSettings({ nearCosine: 0.98 });
  await engine.groups();
  const indexFile = `${catalogPath}.index`;
  const indexBefore = statSync(indexFile).ino;
  const closeStarted = performance.now();
  await engine.close();
  const closeMs = performance.now() - closeStarted;
  const indexWritten = statSync(indexFile).ino !== indexBefore; // a save renames a new file over it
  rows.push([
    'close after a restart and a regrouping that changed only the last search',
    `${seconds(closeMs)} (the catalog, written only when it changed; the index file, ${(statSync(indexFile).size / 2 ** 20).toFixed(0)} MiB: ${indexWritten ? 'WRITTEN AGAIN' : 'not written again'}; the search file: ${(statSync(`${indexFile}.search`).size / 1024).toFixed(0)} KiB written)`,
  ]);
  rows.push(['peak RSS of this run', `${(process.resourceUsage().maxRSS / 1024).toFixed(0)} MiB`]);
  await closeParallelPairs();

  const cpu = cpus()[0]?.model ?? 'unknown CPU';
  console.log(`\nMachine: ${cpu}, ${availableParallelism()} cores, ${(totalmem() / 2 ** 30).toFixed(0)} GiB RAM; Node ${process.version}; ${new Date().toISOString().slice(0, 10)}; load average at the end ${loadavg().map((l) => l.toFixed(1)).join(' ')}`);
  console.log(`Command: npx tsx bench/regroup-bench.ts ${args.join(' ')} (candidate searches on ${THREADS} worker threads)\n`);
  console.log('| measurement | result |\n|---|---|');
  for (const [what, value] of rows) console.log(`| ${what} | ${value} |`);
}

/**
 * Scans the seed photos, then appends synthetic photos to the catalog up to LIBRARY. Returns the
 * library's size and the planted (original, copy) synthetic photos.
 */
async function buildLibrary(seedDir: string, catalogPath: string): Promise<{ count: number; plantedCopies: Array<[number, number]> }> {
  const started = performance.now();
  let vectors: Float32Array = new Float32Array(0);
  let dim = 0;
  let windowCount = 0;
  const phashOf: bigint[] = [];
  const detailOf: bigint[] = []; // the 4 detail words as one 256-bit number
  const plantedCopies: Array<[number, number]> = [];
  let rand = Math.random;
  const word = () => Math.floor(rand() * 2 ** 32);
  const randomHash = () => (BigInt(word()) << 32n) | BigInt(word());
  const hex = (hash: bigint) => hash.toString(16).padStart(16, '0');
  const flip = (hash: bigint, bits: number, width: number) => {
    for (let f = 0; f < bits; f++) hash ^= 1n << BigInt(Math.floor(rand() * width));
    return hash;
  };
  const count = await buildSyntheticLibrary(
    seedDir,
    catalogPath,
    WORK,
    (seed) => {
      const n = LIBRARY - seed.data.files.length;
      dim = seed.dim;
      windowCount = seed.variantCount - ROTATION_VARIANT_COUNT - DETAIL_WORDS;
      const synthetic = new SyntheticEmbeddings(dim, true, 7);
      const generated = synthetic.generate(n);
      vectors = generated.data;
      rand = synthetic.rand;
      // The hashes: a burst's near its own random hash, an edited copy's near its original's.
      const eventHash = new Map<number, bigint>();
      for (let i = 0; i < n; i++) {
        const original = generated.copyOf[i];
        if (original >= 0) {
          phashOf.push(flip(phashOf[original], 1 + Math.floor(rand() * 5), 64));
          detailOf.push(flip(detailOf[original], Math.floor(rand() * 12), 256));
          plantedCopies.push([original, i]);
        } else {
          const event = generated.eventOf[i];
          if (!eventHash.has(event)) eventHash.set(event, randomHash());
          phashOf.push(flip(eventHash.get(event)!, 6 + Math.floor(rand() * 19), 64));
          detailOf.push((randomHash() << 192n) | (randomHash() << 128n) | (randomHash() << 64n) | randomHash());
        }
      }
      return n;
    },
    (_, i) => {
      const detail = [3n, 2n, 1n, 0n].map((k) => hex((detailOf[i] >> (64n * k)) & 0xffffffffffffffffn));
      return {
        vector: vectors.subarray(i * dim, (i + 1) * dim),
        phash: hex(phashOf[i]),
        phashVariants: [...Array.from({ length: ROTATION_VARIANT_COUNT + windowCount }, () => hex(randomHash())), ...detail].join(''),
      };
    },
  );
  log(`library: ${count} photos, made in ${seconds(performance.now() - started)}`);
  return { count, plantedCopies };
}

await main();
