// Tests of the LSH vector index against brute force on small synthetic data, and of its pair
// search spread over worker threads (candidate-workers.ts) against the same search in one thread.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { LshIndex, mulberry32 } from '../electron/engine/lsh.ts';
import { configureParallelPairs, forEachCandidatePairParallel } from '../electron/engine/candidate-workers.ts';
import { exactCosine } from './helpers/vectors.ts';

const DIM = 192;

/** Synthetic embeddings: a shared positive offset (like post-ReLU features) plus random content. */
function makeData(count: number, seed: number): { vectors: Float32Array[]; planted: [number, number][] } {
  const rand = mulberry32(seed);
  const gauss = () => Math.sqrt(-2 * Math.log(rand() || 1e-12)) * Math.cos(2 * Math.PI * rand());
  const offset = Float32Array.from({ length: DIM }, () => 1 + rand());
  const vectors: Float32Array[] = [];
  const planted: [number, number][] = [];
  while (vectors.length < count) {
    const v = Float32Array.from(offset, (o) => o + 1.2 * gauss());
    vectors.push(v);
    // Every 10th photo gets an edited copy (small noise: cosine ~0.95-0.99).
    if (vectors.length % 10 === 0 && vectors.length < count) {
      const noise = 0.15 + 0.25 * rand();
      vectors.push(Float32Array.from(v, (x) => x + noise * gauss()));
      planted.push([vectors.length - 2, vectors.length - 1]);
    }
  }
  return { vectors, planted };
}

function buildIndex(vectors: Float32Array[], options: Partial<ConstructorParameters<typeof LshIndex>[0]> = {}): LshIndex {
  const index = new LshIndex({ dim: DIM, reducedDim: 128, tables: 24, bitsPerTable: 12, seed: 5, mean: LshIndex.fitMean(vectors), ...options });
  vectors.forEach((v, id) => index.add(id, v));
  return index;
}

const { vectors, planted } = makeData(3000, 1);
const index = buildIndex(vectors);

test('query finds the exact nearest neighbour of planted copies (recall vs brute force)', () => {
  let agree = 0;
  for (const [a] of planted) {
    // Brute force: the true nearest neighbour of a (other than itself).
    let best = -1;
    let bestCos = -2;
    vectors.forEach((v, id) => {
      if (id === a) return;
      const c = exactCosine(vectors[a], v);
      if (c > bestCos) [best, bestCos] = [id, c];
    });
    const hits = index.query(vectors[a], { k: 2, scan: 0 }).filter((h) => h.id !== a);
    if (hits[0]?.id === best) agree++;
  }
  assert.ok(agree / planted.length >= 0.97, `recall@1 ${agree} / ${planted.length}`);
});

test('query results are sorted, honour k and minCosine, and estimate the raw cosine', () => {
  const [a, b] = planted[3];
  const hits = index.query(vectors[a], { k: 5, probes: 20, scan: 0 });
  assert.equal(hits.length, 5);
  for (let i = 1; i < hits.length; i++) assert.ok(hits[i - 1].cosine >= hits[i].cosine);
  const copy = hits.find((h) => h.id === b);
  assert.ok(copy, 'the planted copy is among the hits');
  assert.ok(Math.abs(copy.cosine - exactCosine(vectors[a], vectors[b])) < 0.03, `estimate ${copy.cosine}`);
  const strict = index.query(vectors[a], { k: 50, minCosine: 0.9, scan: 0 });
  assert.ok(strict.length >= 2 && strict.length < 50);
  for (const h of strict) assert.ok(h.cosine >= 0.9);
});

test('more probes find at least as many planted copies', () => {
  const found = (probes: number) => planted.filter(([a, b]) => index.query(vectors[a], { k: 3, probes, scan: 0 }).some((h) => h.id === b)).length;
  const none = found(0);
  const many = found(30);
  assert.ok(many >= none, `${many} < ${none}`);
  assert.ok(many / planted.length >= 0.97);
});

test('cosine() estimates the raw cosine of stored items', () => {
  for (const [a, b] of planted.slice(0, 50)) {
    const exact = exactCosine(vectors[a], vectors[b]);
    assert.ok(Math.abs(index.cosine(a, b) - exact) < 0.03, `pair ${a},${b}: ${index.cosine(a, b)} vs ${exact}`);
  }
  assert.ok(Number.isNaN(index.cosine(0, 999_999)));
});

test('candidatePairs finds the pairs above a threshold that brute force finds', () => {
  const threshold = 0.93;
  const truth = new Set<string>();
  for (let a = 0; a < vectors.length; a++)
    for (let b = a + 1; b < vectors.length; b++) if (exactCosine(vectors[a], vectors[b]) >= threshold) truth.add(`${a},${b}`);
  assert.ok(truth.size > 100, `only ${truth.size} true pairs: the test data is too easy`);
  const reported = new Set<string>();
  const stats = index.forEachCandidatePair({ minCosine: threshold - 0.03 }, (a, b, cosine) => {
    assert.ok(a < b);
    const key = `${a},${b}`;
    assert.ok(!reported.has(key), `pair ${key} reported twice`);
    reported.add(key);
    assert.ok(cosine >= threshold - 0.03);
  });
  let found = 0;
  for (const key of truth) if (reported.has(key)) found++;
  assert.ok(found / truth.size >= 0.97, `pair recall ${found} / ${truth.size}`);
  assert.equal(stats.emitted, reported.size);
  assert.ok(stats.pairChecks > stats.cosineChecks, 'the sketch filter should skip most pairs');
});

test('remove() takes items out of queries and pairs; add() replaces an id', () => {
  const small = buildIndex(vectors.slice(0, 400));
  const [a, b] = planted[0];
  assert.ok(small.query(vectors[a], { k: 3 }).some((h) => h.id === b));
  assert.equal(small.remove(b), true);
  assert.equal(small.remove(b), false);
  assert.equal(small.has(b), false);
  assert.equal(small.size, 399);
  assert.ok(!small.query(vectors[a], { k: 10 }).some((h) => h.id === b));
  assert.ok(!small.candidatePairs({ minCosine: 0.5 }).some(([x, y]) => x === b || y === b));
  small.add(b, vectors[b]);
  assert.ok(small.query(vectors[a], { k: 3 }).some((h) => h.id === b));
  // Replacing an id with another vector moves it.
  small.add(b, vectors[300]);
  assert.equal(small.size, 400);
  assert.ok(small.cosine(b, 300) > 0.99);
});

test('serialize / deserialize round trip gives the same answers', () => {
  const small = buildIndex(vectors.slice(0, 500));
  small.remove(7); // a freed slot must not survive the round trip
  const copy = LshIndex.deserialize(small.serialize());
  assert.equal(copy.size, small.size);
  assert.equal(copy.has(7), false);
  assert.deepEqual(copy.options, small.options);
  assert.deepEqual(copy.getMean(), small.getMean());
  for (const q of [0, 10, 123]) assert.deepEqual(copy.query(vectors[q], { k: 5 }), small.query(vectors[q], { k: 5 }));
  assert.deepEqual(copy.candidatePairs({ minCosine: 0.8 }).sort(), small.candidatePairs({ minCosine: 0.8 }).sort());
  // The copy keeps working after more changes.
  copy.add(7, vectors[7]);
  assert.equal(copy.size, 500);
});

test('deserialize refuses corrupt buffers with a clear error', () => {
  const buf = buildIndex(vectors.slice(0, 50)).serialize();
  const badMagic = Buffer.from(buf);
  badMagic.write('NOTANIDX', 0, 'latin1');
  assert.throws(() => LshIndex.deserialize(badMagic), /bad magic/);
  const badVersion = Buffer.from(buf);
  badVersion.writeUInt32LE(99, 8);
  assert.throws(() => LshIndex.deserialize(badVersion), /unsupported format version 99/);
  assert.throws(() => LshIndex.deserialize(buf.subarray(0, buf.length - 10)), /truncated/);
  assert.throws(() => LshIndex.deserialize(buf.subarray(0, 20)), /truncated header/);
  const flipped = Buffer.from(buf);
  flipped[flipped.length - 3] ^= 0x40;
  assert.throws(() => LshIndex.deserialize(flipped), /checksum/);
});

test('the same seed gives the same index; another seed gives other buckets', () => {
  const part = vectors.slice(0, 200);
  const a = buildIndex(part, { seed: 42 }).serialize();
  const b = buildIndex(part, { seed: 42 }).serialize();
  const c = buildIndex(part, { seed: 43 }).serialize();
  assert.ok(a.equals(b));
  assert.ok(!a.equals(c));
});

test('identical photos in an oversized bucket are all still paired', () => {
  const same = new LshIndex({ dim: DIM, reducedDim: 128, tables: 4, bitsPerTable: 8, mean: LshIndex.fitMean(vectors) });
  for (let id = 0; id < 300; id++) same.add(id, vectors[0]);
  for (let id = 300; id < 600; id++) same.add(id, vectors[id]);
  let identical = 0;
  const stats = same.forEachCandidatePair({ minCosine: 0.99, maxBucketSize: 50 }, (a, b) => {
    if (a < 300 && b < 300) identical++;
  });
  assert.ok(stats.oversizedBuckets > 0);
  assert.equal(identical, (300 * 299) / 2);
});

test('mean handling: fitMean, setMean only while empty, needsRefit', () => {
  const part = vectors.slice(0, 300);
  const mean = LshIndex.fitMean(part);
  assert.ok(Math.abs(mean[0] - part.reduce((s, v) => s + v[0], 0) / part.length) < 1e-5);
  const uncentred = new LshIndex({ dim: DIM, reducedDim: 128 });
  part.forEach((v, id) => uncentred.add(id, v));
  assert.equal(uncentred.needsRefit(), true);
  assert.ok(uncentred.meanDrift() > 0.5);
  assert.throws(() => uncentred.setMean(mean), /not empty/);
  const centred = buildIndex(part);
  assert.equal(centred.needsRefit(), false);
  assert.ok(centred.meanDrift() < 0.15, `drift ${centred.meanDrift()}`);
});

test('bad input is refused', () => {
  assert.throws(() => new LshIndex({ dim: 0 }), /dim/);
  assert.throws(() => new LshIndex({ dim: DIM, bitsPerTable: 30 }), /bitsPerTable/);
  assert.throws(() => index.query(new Float32Array(DIM - 1)), /expected a vector of 192/);
  const bad = new Float32Array(DIM);
  bad[3] = Number.NaN;
  assert.throws(() => new LshIndex({ dim: DIM }).add(1, bad), /non-finite/);
  assert.throws(() => new LshIndex({ dim: DIM }).add(-1, vectors[0]), /id must be/);
  assert.throws(() => LshIndex.fitMean([]), /no vectors/);
});

/** Every pair a search reports, as sorted "idA idB cosine" lines. */
async function pairLines(search: (visit: (a: number, b: number, cosine: number) => void) => unknown): Promise<string[]> {
  const lines: string[] = [];
  await search((a, b, cosine) => lines.push(`${a} ${b} ${cosine}`));
  return lines.sort();
}

test('the pair search on worker threads reports exactly the pairs of one thread, oversized buckets included', async () => {
  configureParallelPairs({ threads: 2, minItems: 0 });
  try {
    const same = new LshIndex({ dim: DIM, reducedDim: 128, tables: 6, bitsPerTable: 8, mean: LshIndex.fitMean(vectors) });
    for (let id = 0; id < 200; id++) same.add(id, vectors[0]);
    for (let id = 200; id < 1200; id++) same.add(id, vectors[id]);
    for (const [subject, options] of [
      [index, { minCosine: 0.8 }],
      [same, { minCosine: 0.9, maxBucketSize: 50 }],
    ] as const) {
      const oneStats = subject.forEachCandidatePair(options, () => {});
      const one = await pairLines((visit) => subject.forEachCandidatePair(options, visit));
      let threads = 0;
      let manyStats = oneStats;
      const many = await pairLines(async (visit) => {
        const result = await forEachCandidatePairParallel(subject, options, visit);
        threads = result.threads;
        manyStats = result;
      });
      assert.equal(threads, 2, 'the workers did the search');
      assert.ok(one.length > 100, `enough pairs to compare (${one.length})`);
      assert.deepEqual(many, one);
      for (const key of ['pairChecks', 'cosineChecks', 'emitted', 'oversizedBuckets', 'skippedCrossPairs'] as const) assert.equal(manyStats[key], oneStats[key], key);
    }
  } finally {
    configureParallelPairs({ threads: undefined, minItems: undefined });
  }
});

test('a table subset searches only those tables; complementary subsets report every pair once', () => {
  const all = index.candidatePairs({ minCosine: 0.8 }).map(String).sort();
  const even = index.candidatePairs({ minCosine: 0.8, tables: [0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22] }).map(String);
  const odd = index.candidatePairs({ minCosine: 0.8, tables: [1, 3, 5, 7, 9, 11, 13, 15, 17, 19, 21, 23] }).map(String);
  assert.ok(even.length > 0 && odd.length > 0);
  assert.deepEqual([...even, ...odd].sort(), all);
  assert.throws(() => index.candidatePairs({ tables: [24] }), /tables must be in 0\.\.23/);
});

test('when the worker threads cannot start, the pair search runs in this thread and says why', async () => {
  configureParallelPairs({ threads: 2, minItems: 0, workerFile: '/nonexistent/candidate-worker.js' });
  try {
    const log: string[] = [];
    const one = await pairLines((visit) => index.forEachCandidatePair({ minCosine: 0.8 }, visit));
    let threads = 0;
    const fallback = await pairLines(async (visit) => {
      threads = (await forEachCandidatePairParallel(index, { minCosine: 0.8 }, visit, (message) => log.push(message))).threads;
    });
    assert.equal(threads, 1);
    assert.deepEqual(fallback, one);
    assert.ok(log.some((line) => /could not use worker threads/.test(line)), JSON.stringify(log));
  } finally {
    configureParallelPairs({ threads: undefined, minItems: undefined, workerFile: undefined });
  }
});

test('the pairs of some items are exactly the full search pairs that include them, oversized buckets included', () => {
  // 300 variations of one photo crowd a few buckets: past maxBucketSize 20 they are split by sketch
  // bits and their cross-bucket pairs skipped, so the rules decide which of these pairs are found.
  const crowded = new LshIndex({ dim: DIM, reducedDim: 128, tables: 6, bitsPerTable: 8, mean: LshIndex.fitMean(vectors) });
  const rand = mulberry32(3);
  for (let id = 0; id < 300; id++) crowded.add(id, Float32Array.from(vectors[0], (x) => x + 0.3 * (rand() - 0.5)));
  for (let id = 300; id < 1200; id++) crowded.add(id, vectors[id]);
  const some = new Set([0, 5, 199, 250, ...planted.slice(0, 20).map(([a]) => a), ...planted.slice(20, 30).map(([, b]) => b)]);
  const crowdedOptions = { minCosine: 0.9, maxBucketSize: 20 };
  assert.ok(crowded.forEachCandidatePair(crowdedOptions, () => {}).skippedCrossPairs > 0, 'some buckets are oversized');
  for (const [subject, options] of [
    [index, { minCosine: 0.8 }],
    [index, { minCosine: 0.8, radius: 2 }],
    [crowded, crowdedOptions],
  ] as const) {
    const expected = new Set<string>();
    subject.forEachCandidatePair(options, (a, b) => (some.has(a) || some.has(b)) && expected.add(`${a} ${b}`));
    const found: string[] = [];
    subject.forEachPairOf(some, options, (a, b) => {
      assert.ok(a < b);
      found.push(`${a} ${b}`);
    });
    const once = [...new Set(found)].sort();
    assert.ok(once.length >= 20, `enough pairs to compare (${once.length})`);
    assert.deepEqual(once, [...expected].sort());
  }
  assert.throws(() => index.forEachPairOf([1], { radius: 3 }, () => {}), /radius must be 0, 1 or 2/);
});

test('without bucket tables, the pairs of a few items are found by reading every signature, as the tables would find them', () => {
  // An opened index has no bucket tables: forEachPairOf reads every item's signatures for its first
  // few items (SCANS_FOR_TABLES, 8) instead of building them; then it builds them. The pairs must be
  // those of a full search, oversized buckets (split by sketch bits) and radii 0 to 2 included.
  const rand = mulberry32(21);
  const crowded = new LshIndex({ dim: DIM, reducedDim: 128, tables: 6, bitsPerTable: 8, mean: LshIndex.fitMean(vectors), seed: 4 });
  for (let id = 0; id < 300; id++) crowded.add(id, Float32Array.from(vectors[3], (x) => x + 0.3 * (rand() - 0.5)));
  for (let id = 300; id < 1500; id++) crowded.add(id, vectors[id]);
  const crowdedOptions = { maxBucketSize: 20 };
  assert.ok(crowded.forEachCandidatePair(crowdedOptions, () => {}).oversizedBuckets > 0, 'some buckets are oversized');
  // Without minCosine every bucket-mate is a pair: the buckets themselves are compared.
  for (const [subject, options, ids] of [
    [index, { minCosine: 0.8 }, [planted[0][0], planted[1][1], 17]],
    [index, {}, [planted[0][0], 17]],
    [index, { radius: 2 }, [planted[2][0], 40]],
    [index, { radius: 0 }, [planted[3][1], 41]],
    [crowded, crowdedOptions, [0, 5, 250, 400, planted.find(([a]) => a > 300)![0]]],
  ] as const) {
    const opened = LshIndex.deserialize(subject.serialize());
    opened.remove(7); // a freed slot the scan must pass over
    const found: string[] = [];
    opened.forEachPairOf(ids, options, (a, b) => found.push(`${a} ${b}`));
    assert.equal(opened.tableBuilds, 0, 'no tables were built');
    const expected: string[] = [];
    opened.forEachCandidatePair(options, (a, b) => ((ids as readonly number[]).includes(a) || (ids as readonly number[]).includes(b)) && expected.push(`${a} ${b}`));
    assert.ok(expected.length >= Math.min(2, ids.length), `enough pairs to compare (${expected.length})`);
    assert.deepEqual([...new Set(found)].sort(), expected.sort());
  }
  // Past eight items searched that way, it builds the tables.
  const opened = LshIndex.deserialize(index.serialize());
  for (let id = 0; id < 8; id++) opened.forEachPairOf([id], { minCosine: 0.8 }, () => {});
  assert.equal(opened.tableBuilds, 0);
  opened.forEachPairOf([8], { minCosine: 0.8 }, () => {});
  assert.equal(opened.tableBuilds, 1);
});

test('the pairs of items added since the tables were built are found without rebuilding them, as a rebuild would find them', () => {
  // Built over 1,000 items; then items are added (a crowd of 60 look-alikes pushes buckets past
  // maxBucketSize 20 and splits them further), others removed, and some ids re-added into the freed
  // slots. The pairs of the changed items must be those a full search over rebuilt tables reports.
  const options = { minCosine: 0.8, maxBucketSize: 20 };
  const mean = LshIndex.fitMean(vectors);
  const subject = new LshIndex({ dim: DIM, reducedDim: 128, tables: 6, bitsPerTable: 8, mean, seed: 9 });
  const rand = mulberry32(11);
  const lookAlike = () => Float32Array.from(vectors[7], (x) => x + 0.3 * (rand() - 0.5));
  for (let id = 0; id < 1000; id++) subject.add(id, id < 40 ? lookAlike() : vectors[id]);
  subject.forEachPairOf(Array.from({ length: 20 }, (_, id) => id), options, () => {}); // builds the tables (for more items than it would scan for)
  const builds = subject.tableBuilds;
  assert.equal(builds, 1);

  const changed = new Set<number>();
  for (let id = 1000; id < 1060; id++) {
    subject.add(id, lookAlike());
    changed.add(id);
  }
  for (const [a, b] of planted.filter(([a, b]) => a >= 1000 && b < 1400)) {
    subject.add(a, vectors[a]);
    subject.add(b, vectors[b]);
    changed.add(a).add(b);
  }
  for (let id = 10; id < 30; id++) subject.remove(id); // crowd members gone: their entries are stale
  for (let id = 500; id < 520; id++) subject.remove(id);
  for (let id = 500; id < 510; id++) {
    subject.add(id, id % 2 ? vectors[id] : lookAlike()); // back, into freed slots
    changed.add(id);
  }
  subject.add(1003, lookAlike()); // added twice: its first slot freed and maybe taken again
  assert.ok(subject.pendingChanges > 0);

  const found: string[] = [];
  subject.forEachPairOf(changed, options, (a, b) => found.push(`${a} ${b}`));
  assert.equal(subject.tableBuilds, builds, 'the tables were not rebuilt');
  const expected = new Set<string>();
  const stats = subject.forEachCandidatePair(options, (a, b) => (changed.has(a) || changed.has(b)) && expected.add(`${a} ${b}`));
  assert.equal(subject.tableBuilds, builds + 1, 'the full search rebuilt them');
  assert.ok(stats.oversizedBuckets > 0 && stats.skippedCrossPairs > 0, 'some buckets are oversized');
  const once = [...new Set(found)].sort();
  assert.ok(once.length >= 100, `enough pairs to compare (${once.length})`);
  assert.deepEqual(once, [...expected].sort());

  // A new index whose first search is a full one (as the engine's is): the next new item is taken as it is too.
  const searched = new LshIndex({ dim: DIM, reducedDim: 128, tables: 6, bitsPerTable: 8, mean, seed: 9 });
  for (let id = 0; id < 1000; id++) searched.add(id, id < 40 ? lookAlike() : vectors[id]);
  searched.forEachCandidatePair(options, () => {});
  searched.add(2000, lookAlike());
  const afterFull: string[] = [];
  searched.forEachPairOf([2000], options, (a, b) => afterFull.push(`${a} ${b}`));
  assert.equal(searched.tableBuilds, 1, 'not rebuilt for the item added after the full search');
  const expectedAfter: string[] = [];
  searched.forEachCandidatePair(options, (a, b) => (a === 2000 || b === 2000) && expectedAfter.push(`${a} ${b}`));
  assert.ok(afterFull.length > 0);
  assert.deepEqual(afterFull.sort(), expectedAfter.sort());
});
