// The candidate searches on worker threads (candidate-workers.ts) against the same searches in one
// thread: the pHash search of variant hashes on synthetic hashes, and a whole regrouping of real
// photos (crops, turns, re-encodings) with the workers forced on for a small library.
import assert from 'node:assert/strict';
import { basename, join } from 'node:path';
import { after, before, test } from 'node:test';
import sharp from 'sharp';
import { hashWords } from '../electron/engine/bits.ts';
import { closeParallelPairs, configureParallelPairs, forEachHashHitParallel, forEachHashPairParallel, workerSearchCount, type HashSearch } from '../electron/engine/candidate-workers.ts';
import { openEngine } from '../electron/engine/index.ts';
import { mulberry32 } from '../electron/engine/lsh.ts';
import { PhashIndex } from '../electron/engine/phash-index.ts';
import { copyPhoto, DISTINCT_PHOTOS, editPhoto, removeDir, tempDir } from './helpers/photos.ts';

const rand = mulberry32(3);
const random64 = () => (BigInt(Math.floor(rand() * 2 ** 32)) << 32n) | BigInt(Math.floor(rand() * 2 ** 32));
const flip = (hash: bigint, bits: number) => {
  for (let i = 0; i < bits; i++) hash ^= 1n << BigInt(Math.floor(rand() * 64));
  return hash;
};

const forceWorkers = () => configureParallelPairs({ threads: 2, minItems: 0 });
const restore = () => configureParallelPairs({ threads: undefined, minItems: undefined, workerFile: undefined, queriesPerBatch: undefined });
after(closeParallelPairs);

/** 3000 indexed hashes (some near others), and 400 photos each searching 8 hashes near some of them (and some far from all). */
function hashData(): { index: PhashIndex; searches: HashSearch[] } {
  const index = new PhashIndex();
  const stored = Array.from({ length: 3000 }, (_, i) => (i % 5 === 4 ? null : random64()));
  stored.forEach((hash, i) => (stored[i] = hash ?? flip(stored[i - 1]!, i % 12)));
  stored.forEach((hash, id) => index.add(id, hash!));
  const searches = Array.from({ length: 400 }, (_, p) => ({
    base: 10_000 + p,
    words: hashWords(Array.from({ length: 8 }, () => (rand() < 0.5 ? flip(stored[Math.floor(rand() * stored.length)]!, Math.floor(rand() * 9)) : random64()))),
    maxDistance: p % 2 ? 6 : 10,
  }));
  return { index, searches };
}

async function hits(search: (visit: (base: number, id: number) => void) => Promise<unknown> | unknown): Promise<string[]> {
  const found = new Set<string>();
  await search((base, id) => found.add(`${base} ${id}`));
  return [...found].sort();
}

test('the variant-hash search on worker threads finds exactly the hits of one thread', async () => {
  const { index, searches } = hashData();
  const one = await hits((visit) => {
    for (const { base, words, maxDistance } of searches) for (let i = 0; i < words.length; i += 2) index.forEachWithin(words[i], words[i + 1], maxDistance, (id) => visit(base, id));
  });
  forceWorkers();
  try {
    let threads = 0;
    const many = await hits(async (visit) => {
      threads = (await forEachHashHitParallel(index, searches, searches.length, visit)).threads;
    });
    assert.equal(threads, 2, 'the workers did the search');
    assert.ok(one.length > 500, `enough hits to compare (${one.length})`);
    assert.deepEqual(many, one);
    // Many small batches, each of one distance, some cut in the middle of a photo's hashes.
    configureParallelPairs({ queriesPerBatch: 37 });
    assert.deepEqual(await hits((visit) => forEachHashHitParallel(index, searches, searches.length, visit)), one);
  } finally {
    restore();
  }
});

test('when the workers cannot start, the variant-hash search runs in this thread and says why', async () => {
  const { index, searches } = hashData();
  const one = await hits((visit) => forEachHashHitParallel(index, searches, searches.length, visit));
  configureParallelPairs({ threads: 2, minItems: 0, workerFile: '/nonexistent/candidate-worker.js' });
  try {
    const log: string[] = [];
    let threads = 0;
    const fallback = await hits(async (visit) => {
      threads = (await forEachHashHitParallel(index, searches, searches.length, visit, (line) => log.push(line))).threads;
    });
    assert.equal(threads, 1);
    assert.deepEqual(fallback, one);
    assert.ok(log.some((line) => /could not use worker threads/.test(line)), JSON.stringify(log));
  } finally {
    restore();
  }
});

test('the whole-hash pair search on worker threads finds exactly the pairs of one thread', async () => {
  const { index } = hashData();
  const one = await hits((visit) => index.forEachPairWithin(10, visit));
  forceWorkers();
  try {
    let threads = 0;
    const many = await hits(async (visit) => {
      threads = (await forEachHashPairParallel(index, 10, visit)).threads;
    });
    assert.equal(threads, 2);
    assert.ok(one.length > 0);
    assert.deepEqual(many, one);
  } finally {
    restore();
  }
});

let dir: string;
before(async () => {
  dir = await tempDir('candidate-workers-');
  const photos = join(dir, 'photos');
  for (const [i, relative] of DISTINCT_PHOTOS.slice(0, 6).entries()) await copyPhoto(relative, join(photos, `${i}.${relative.split('.').pop()}`));
  await editPhoto(DISTINCT_PHOTOS[0], 'crop', join(photos, '0 cropped.jpg'));
  await editPhoto(DISTINCT_PHOTOS[1], 'resize', join(photos, '1 small.jpg'));
  await editPhoto(DISTINCT_PHOTOS[3], 'recompress', join(photos, '3 q35.jpg'));
  await sharp(join(photos, '2.jpg')).rotate(90).jpeg({ quality: 90 }).toFile(join(photos, '2 turned.jpg'));
});
after(() => removeDir(dir));

test('a regrouping with the searches on worker threads makes the same groups as in one thread', async () => {
  const engine = await openEngine({ catalogPath: join(dir, 'catalog', 'catalog.json'), settings: { executionProvider: 'cpu' } });
  try {
    await engine.scan([join(dir, 'photos')]);
    const describe = async () => (await engine.groups()).groups.map((g) => `${g.kind} ${g.score.toFixed(4)}: ${g.files.map((f) => f.path.split('/').pop()).sort().join(', ')}`).sort();
    const one = await describe();
    assert.ok(one.filter((line) => line.startsWith('near')).length >= 4, one.join('\n'));
    forceWorkers();
    try {
      // Group with other settings, then with the first again: the engine keeps only the last groups.
      await engine.updateSettings({ nearCosine: 0.9601 });
      await engine.groups();
      await engine.updateSettings({ nearCosine: 0.96 });
      const before = workerSearchCount();
      assert.deepEqual(await describe(), one);
      // Other match settings: every pair is judged again, so the three searches run in full, on the workers.
      assert.equal(workerSearchCount() - before, 3, 'the LSH, pHash and variant-hash pair searches ran on the workers');
    } finally {
      restore();
    }
  } finally {
    await engine.close();
  }
});

test('with prepareQueriesAhead, a regrouping trains the lists in the background, once; close saves them', async () => {
  const catalogPath = join(dir, 'ahead', 'catalog.json');
  const lshOf = (engine: unknown) => (engine as { candidates: { lsh: { listsNeedTraining: boolean; listTrainings: number } } }).candidates.lsh;
  forceWorkers(); // the library is small: without this the lists are left to the first query
  try {
    const logged: string[] = [];
    const engine = await openEngine({ catalogPath, settings: { executionProvider: 'cpu' }, prepareQueriesAhead: true, log: (m) => logged.push(m) });
    try {
      await engine.scan([join(dir, 'photos')]);
      await engine.groups();
      assert.equal(lshOf(engine).listTrainings, 0, 'the training runs after groups() has answered');
      // The query comes while the training runs, or after: it does not train the lists again.
      const hits = await engine.query(join(dir, 'photos', '3 q35.jpg'), { top: 3 });
      assert.equal(basename(hits[0].path), '3 q35.jpg');
      assert.equal(lshOf(engine).listTrainings, 1, 'trained once');
      assert.ok(logged.some((m) => /readied for queries/.test(m)), logged.join('\n'));
      assert.ok(!logged.some((m) => /could not|failed/.test(m)), logged.join('\n'));
    } finally {
      await engine.close();
    }
    const reopened = await openEngine({ catalogPath, settings: { executionProvider: 'cpu' } });
    try {
      assert.ok(!lshOf(reopened).listsNeedTraining, 'the lists were saved with the index');
    } finally {
      await reopened.close();
    }

    // Without the option (the CLI), the lists wait for the first query.
    const plain = await openEngine({ catalogPath: join(dir, 'plain', 'catalog.json'), settings: { executionProvider: 'cpu' } });
    try {
      await plain.scan([join(dir, 'photos')]);
      await plain.groups();
      await new Promise((resolve) => setTimeout(resolve, 200));
      assert.ok(lshOf(plain).listsNeedTraining);
    } finally {
      await plain.close();
    }

    // Closed while the training runs: it is cancelled or finishes, quietly.
    const quick: string[] = [];
    const closing = await openEngine({ catalogPath: join(dir, 'closing', 'catalog.json'), settings: { executionProvider: 'cpu' }, prepareQueriesAhead: true, log: (m) => quick.push(m) });
    await closing.scan([join(dir, 'photos')]);
    await closing.groups();
    await closing.close();
    assert.ok(!quick.some((m) => /failed/.test(m)), quick.join('\n'));
  } finally {
    restore();
  }
});
