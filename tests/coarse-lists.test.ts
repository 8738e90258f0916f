// Tests of the vector index's coarse lists (electron/engine/coarse-lists.ts, used by LshIndex.query):
// on clustered synthetic embeddings, where a photo's plain nearest neighbours are photos of the same
// kind of scene that share no hyperplane bucket with it, the lists find them; the buckets do not.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { crc32 } from 'node:zlib';
import { CoarseLists } from '../electron/engine/coarse-lists.ts';
import { quantise } from '../electron/engine/int8-dot.ts';
import { closeParallelPairs, configureParallelPairs, trainListsParallel } from '../electron/engine/candidate-workers.ts';
import { LshIndex, LISTS_FROM_ITEMS, mulberry32 } from '../electron/engine/lsh.ts';
import { exactCosine } from './helpers/vectors.ts';

const DIM = 100; // kept as is by the index (no projection), padded to 112 for the SIMD scan

/** `count` vectors in topics of ~500: offset + 0.55 topic + 0.83 own, so topic-mates sit near centred cosine 0.3. */
function clustered(count: number, seed: number): Float32Array[] {
  const rand = mulberry32(seed);
  const gauss = () => Math.sqrt(-2 * Math.log(rand() || 1e-12)) * Math.cos(2 * Math.PI * rand());
  const direction = () => {
    const v = Float64Array.from({ length: DIM }, gauss);
    const norm = Math.hypot(...v);
    return v.map((x) => x / norm);
  };
  const topics = Array.from({ length: Math.ceil(count / 500) }, direction);
  return Array.from({ length: count }, (_, i) => {
    const topic = topics[i % topics.length];
    const own = direction();
    return Float32Array.from({ length: DIM }, (_, j) => 3 + 10 * (0.55 * topic[j] + 0.83 * own[j]));
  });
}

/** Share of the true top-10 (exact cosine, every vector) that the index's top-10 finds, over the query ids. */
function recallAt10(index: LshIndex, vectors: Float32Array[], queries: number[], scan?: number): number {
  let found = 0;
  for (const q of queries) {
    const truth = vectors
      .map((v, id) => ({ id, c: id === q ? -2 : exactCosine(vectors[q], v) }))
      .sort((x, y) => y.c - x.c)
      .slice(0, 10)
      .map((t) => t.id);
    const got = new Set(index.query(vectors[q], { k: 11, scan }).map((h) => h.id));
    found += truth.filter((id) => got.has(id)).length;
  }
  return found / (queries.length * 10);
}

function build(vectors: Float32Array[]): LshIndex {
  const index = new LshIndex({ dim: DIM, seed: 3, mean: LshIndex.fitMean(vectors.slice(0, 2000)) });
  vectors.forEach((v, id) => index.add(id, v));
  return index;
}

const vectors = clustered(LISTS_FROM_ITEMS + 2000, 1);
const queries = Array.from({ length: 25 }, (_, i) => i * 397);
const index = build(vectors);

test('lists find the plain top-10 that the buckets miss', () => {
  const bucketsOnly = recallAt10(index, vectors, queries, 0);
  assert.equal(index.coarseListCount, 0, 'no lists until a query scans them');
  const withLists = recallAt10(index, vectors, queries);
  assert.equal(index.coarseListCount, Math.round(2 * Math.sqrt(vectors.length)));
  assert.ok(withLists >= 0.95, `recall@10 with lists ${withLists}`);
  assert.ok(bucketsOnly < 0.6, `recall@10 of the buckets alone ${bucketsOnly}: the test data is too easy`);
});

test('nearest() ranks centroids by exact cosine, nearest first; an item is filed under its nearest', () => {
  const rand = mulberry32(9);
  const unit = (v: Float64Array) => v.map((x) => x / Math.hypot(...v));
  const centroids = Array.from({ length: 300 }, () => unit(Float64Array.from({ length: DIM }, () => rand() - 0.5)));
  const lists = new CoarseLists(centroids, DIM);
  const probe = unit(Float64Array.from({ length: DIM }, () => rand() - 0.5));
  const code = new Int8Array(DIM);
  const invNorm = quantise(probe, code, 0);
  const cosine = (c: number) => centroids[c].reduce((sum, x, j) => sum + x * probe[j], 0);
  const truth = centroids.map((_, c) => c).sort((a, b) => cosine(b) - cosine(a));
  // Rank by rank, up to the int8 rounding (~0.005 of cosine): near ties may swap.
  const got = lists.nearest(code, 12);
  assert.equal(got.length, 12);
  got.forEach((c, rank) => assert.ok(Math.abs(cosine(c) - cosine(truth[rank])) < 0.01, `rank ${rank}: ${cosine(c)} against ${cosine(truth[rank])}`));
  assert.equal(lists.nearest(code, 1000).length, 300, 'at most every list');
  const points = { dim: DIM, codes: code, codeInvNorm: Float32Array.of(invNorm) };
  assert.ok(cosine(lists.nearestOfItem(points, 0)) > cosine(truth[1]) - 0.01);
});

test('the scan in WebAssembly passes on every item that makes the top k: a full scan is the exact top k of the index\'s own cosines', () => {
  for (const q of queries.slice(0, 8)) {
    const everything = index.query(vectors[q], { k: 20, scan: index.size });
    const truth = vectors.map((_, id) => ({ id, cosine: index.cosine(q, id) })).sort((x, y) => y.cosine - x.cosine);
    everything.forEach((hit, i) => {
      assert.ok(Math.abs(hit.cosine - truth[i].cosine) < 1e-6, `query ${q}, rank ${i}: ${hit.cosine} against ${truth[i].cosine}`);
      assert.ok(Math.abs(hit.cosine - index.cosine(q, hit.id)) < 1e-6);
    });
    // Every item above the 20th (a clear margin, against ties) is among the hits.
    const ids = new Set(everything.map((hit) => hit.id));
    for (const t of truth) if (t.cosine > truth[19].cosine + 1e-6) assert.ok(ids.has(t.id), `query ${q}: ${t.id} at ${t.cosine} missed`);
    // minCosine: all the items above it and none below.
    const bar = truth[40].cosine;
    const above = index.query(vectors[q], { k: 1000, minCosine: bar, scan: index.size });
    assert.ok(above.every((hit) => hit.cosine >= bar));
    assert.ok(above.length >= truth.filter((t) => t.cosine > bar + 1e-6).length, `query ${q}: ${above.length} items above ${bar}`);
  }
});

test('bucket items are compared too when the lists are scanned: nothing the buckets find is lost', () => {
  for (const q of queries) {
    const bucketsOnly = index.query(vectors[q], { k: 10, probes: 8, scan: 0 });
    const oneList = index.query(vectors[q], { k: 10, probes: 8, scan: 1 });
    const kth = oneList[oneList.length - 1].cosine;
    const ids = new Set(oneList.map((hit) => hit.id));
    for (const hit of bucketsOnly) if (hit.cosine > kth + 1e-6) assert.ok(ids.has(hit.id), `query ${q}: bucket item ${hit.id} at ${hit.cosine} lost`);
    for (const hit of oneList) assert.ok(Math.abs(hit.cosine - index.cosine(q, hit.id)) < 1e-6);
  }
});

test('a small index has one list, and a query scans all of it', () => {
  const few = vectors.slice(0, 3000);
  const small = build(few);
  const recall = recallAt10(small, few, queries.filter((q) => q < few.length));
  assert.equal(small.coarseListCount, 1);
  assert.ok(recall >= 0.97, `recall@10 ${recall}`);
});

test('items added after training are filed under their lists; doubling the index retrains them', () => {
  const grown = build(vectors.slice(0, LISTS_FROM_ITEMS));
  grown.query(vectors[0]); // trains the lists
  const trained = grown.coarseListCount;
  const more = clustered(3000, 2); // other topics: only found if filed under lists of their own kind
  more.forEach((v, i) => grown.add(LISTS_FROM_ITEMS + i, v));
  const all = [...vectors.slice(0, LISTS_FROM_ITEMS), ...more];
  const newQueries = Array.from({ length: 20 }, (_, i) => LISTS_FROM_ITEMS + i * 149);
  const recall = recallAt10(grown, all, newQueries);
  assert.equal(grown.coarseListCount, trained, 'not retrained below twice the size');
  assert.ok(recall >= 0.8, `recall@10 of added items ${recall}`);
  for (let id = 0; id < LISTS_FROM_ITEMS - 1000; id++) grown.remove(id);
  grown.query(more[0]);
  assert.equal(grown.coarseListCount, 1, `retrained at ${grown.size} items: one list`);
});

test('the lists survive serialize / deserialize; a version 1 file (no lists) still loads', () => {
  const copy = LshIndex.deserialize(index.serialize());
  assert.equal(copy.coarseListCount, index.coarseListCount);
  for (const q of queries.slice(0, 5)) assert.deepEqual(copy.query(vectors[q], { k: 10 }), index.query(vectors[q], { k: 10 }));

  // Version 1 had no list section: an index never queried writes an empty one (two zero words).
  const fresh = build(vectors.slice(0, 500)).serialize();
  const v1 = Buffer.from(fresh.subarray(0, fresh.length - 8));
  v1.writeUInt32LE(1, 8);
  const body = v1.subarray(48);
  v1.writeUInt32LE(crc32(body) >>> 0, 40);
  v1.writeUInt32LE(body.length, 44);
  const old = LshIndex.deserialize(v1);
  assert.equal(old.size, 500);
  assert.equal(old.query(vectors[3], { k: 1 })[0].id, 3);

  const damaged = index.serialize();
  damaged.writeUInt32LE(damaged.readUInt32LE(44) + 4, 44); // a body longer than its list section says
  assert.throws(() => LshIndex.deserialize(damaged), /truncated|inconsistent/);
});

test('lists trained with the filing on worker threads are the lists query() trains in this thread', async () => {
  const inThisThread = build(vectors);
  inThisThread.query(vectors[0]); // trains them
  const onWorkers = build(vectors);
  assert.ok(onWorkers.listsNeedTraining);
  configureParallelPairs({ threads: 2, minItems: 0 });
  try {
    const { threads } = await trainListsParallel(onWorkers);
    assert.equal(threads, 2, 'the workers filed the items');
  } finally {
    configureParallelPairs({ threads: undefined, minItems: undefined });
    await closeParallelPairs();
  }
  assert.ok(!onWorkers.listsNeedTraining);
  assert.equal(onWorkers.coarseListCount, inThisThread.coarseListCount);
  // The whole index, centroids and every item's list included, byte for byte.
  assert.ok(onWorkers.serialize().equals(inThisThread.serialize()), 'the same lists and filing');
});

test('items added or removed while the lists train are filed under the new lists', async () => {
  const changing = build(vectors.slice(0, LISTS_FROM_ITEMS));
  const extra = clustered(50, 4);
  let calls = 0;
  await changing.trainLists(async (lists, slots) => {
    if (calls++ === 3) {
      extra.forEach((v, i) => changing.add(900_000 + i, v)); // arrive during the fourth round
      for (let id = 0; id < 50; id++) changing.remove(id);
    }
    return lists.nearestOfItems(changing.compactPoints(), slots);
  });
  // Each live item's list is its nearest centroid of the trained lists (read through the index's privates).
  const { lists, listOf, alive, slotCount } = changing as unknown as { lists: CoarseLists; listOf: Int32Array; alive: Uint8Array; slotCount: number };
  const live = Array.from({ length: slotCount }, (_, s) => s).filter((s) => alive[s]);
  assert.equal(live.length, LISTS_FROM_ITEMS);
  assert.deepEqual(Array.from(live, (s) => listOf[s]), Array.from(lists.nearestOfItems(changing.compactPoints(), live)));
});

test('items added while the lists are trained again (the index doubled) leave the old lists for the new', async () => {
  const growing = build(vectors.slice(0, LISTS_FROM_ITEMS));
  growing.query(vectors[0]); // the first lists
  const listsOf = (index: LshIndex) => index as unknown as { lists: CoarseLists; listOf: Int32Array; alive: Uint8Array; slotCount: number };
  const first = listsOf(growing).lists;
  const more = clustered(LISTS_FROM_ITEMS + 10, 5);
  more.forEach((v, i) => growing.add(500_000 + i, v));
  assert.ok(growing.listsNeedTraining, 'doubled: due for new lists');
  const late = clustered(60, 6);
  let calls = 0;
  await growing.trainLists(async (lists, slots) => {
    if (calls++ === 8) {
      // While every item is being filed: new items (filed under the old lists as they come), some
      // of them in the slots of items removed meanwhile.
      for (let id = 0; id < 30; id++) growing.remove(id);
      late.forEach((v, i) => growing.add(900_000 + i, v));
    }
    return lists.nearestOfItems(growing.compactPoints(), slots);
  });
  assert.equal(calls, 9, 'eight rounds of k-means, then every item');
  const { lists, listOf, alive, slotCount } = listsOf(growing);
  assert.notEqual(lists, first);
  assert.ok(lists.count > first.count);
  const live = Array.from({ length: slotCount }, (_, s) => s).filter((s) => alive[s]);
  assert.equal(live.length, 2 * LISTS_FROM_ITEMS + 10 + 30);
  assert.deepEqual(Array.from(live, (s) => listOf[s]), Array.from(lists.nearestOfItems(growing.compactPoints(), live)));
  for (const i of [0, 29, 59]) assert.equal(growing.query(late[i], { k: 1 })[0].id, 900_000 + i, `late item ${i} finds itself`);
});

test('a training on worker threads stops when cancelled, leaves the index as it was, and can run again', async () => {
  const cancelled = build(vectors);
  const before = cancelled.serialize();
  const controller = new AbortController();
  configureParallelPairs({ threads: 2, minItems: 0 });
  try {
    const training = trainListsParallel(cancelled, () => {}, controller.signal);
    setImmediate(() => controller.abort());
    await assert.rejects(training, { name: 'AbortError' });
    assert.ok(cancelled.listsNeedTraining);
    assert.equal(cancelled.coarseListCount, 0);
    assert.ok(cancelled.serialize().equals(before), 'nothing changed');
    const { threads } = await trainListsParallel(cancelled);
    assert.equal(threads, 2, 'the workers are still there');
  } finally {
    configureParallelPairs({ threads: undefined, minItems: undefined });
    await closeParallelPairs();
  }
  const inThisThread = build(vectors);
  inThisThread.query(vectors[0]);
  assert.ok(cancelled.serialize().equals(inThisThread.serialize()), 'the same lists as one uninterrupted training');
});

test('after a few changes a query compares the new items exactly and skips removed or reused slots, without rebuilding', () => {
  const changing = build(vectors);
  changing.query(vectors[0]); // builds the tables, trains the lists
  const pendingOf = (index: LshIndex) => (index as unknown as { pending: number[] }).pending.length;
  const byId = new Map(vectors.map((v, id) => [id, v]));
  const extra = clustered(200, 6);
  for (let id = 0; id < 100; id++) {
    changing.remove(id);
    byId.delete(id);
  }
  // The last slots freed are taken again first: these new items sit in the slots of removed ones.
  extra.forEach((v, i) => {
    changing.add(900_000 + i, v);
    byId.set(900_000 + i, v);
  });
  for (const q of [0, 1, 2, 50, 99]) {
    // A removed item's own vector: its stale row and bucket entries must not come back, under its
    // old id or under the id of the item now in its slot.
    for (const hit of [...changing.query(vectors[q], { k: 10 }), ...changing.query(vectors[q], { k: 10, scan: 0 })]) {
      assert.ok(byId.has(hit.id), `removed ${hit.id} returned`);
      assert.ok(Math.abs(hit.cosine - exactCosine(vectors[q], byId.get(hit.id)!)) < 0.03, `hit ${hit.id}: ${hit.cosine} is not its own cosine`);
    }
  }
  for (let i = 0; i < extra.length; i += 20) assert.equal(changing.query(extra[i], { k: 5 })[0].id, 900_000 + i, `new item ${i} finds itself`);
  assert.equal(pendingOf(changing), 200, 'not rebuilt: the new items are still compared one by one');

  // As good as the same index rebuilt (a copy through serialize: its tables and lists hold every item).
  const rebuilt = LshIndex.deserialize(changing.serialize());
  const all = [...byId.entries()];
  const ids = all.map(([id]) => id);
  const recall = (index: LshIndex, qs: number[]) => {
    let hits = 0;
    for (const q of qs) {
      const truth = all.map(([id, v]) => ({ id, c: id === ids[q] ? -2 : exactCosine(all[q][1], v) })).sort((a, b) => b.c - a.c).slice(0, 10).map((t) => t.id);
      const got = new Set(index.query(all[q][1], { k: 11 }).map((h) => h.id));
      hits += truth.filter((id) => got.has(id)).length;
    }
    return hits / (qs.length * 10);
  };
  const qs = [...Array.from({ length: 10 }, (_, i) => all.length - 1 - i * 17), ...Array.from({ length: 10 }, (_, i) => 500 + i * 977)];
  const incremental = recall(changing, qs);
  assert.ok(incremental >= 0.95 && incremental >= recall(rebuilt, qs) - 0.01, `recall@10 ${incremental} against ${recall(rebuilt, qs)} rebuilt`);

  // More changes than a query takes one by one: everything is rebuilt.
  clustered(LISTS_FROM_ITEMS / 1000 + 1000, 7).forEach((v, i) => changing.add(950_000 + i, v));
  changing.query(vectors[500]);
  assert.equal(pendingOf(changing), 0, 'rebuilt');
});
