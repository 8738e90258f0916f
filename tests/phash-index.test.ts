// Tests of the pHash multi-index: exact against brute force at every distance it accepts.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PhashIndex, PHASH_MAX_DISTANCE, hamming, toPhash } from '../electron/engine/phash-index.ts';
import { mulberry32 } from '../electron/engine/lsh.ts';

const rand = mulberry32(11);
const random64 = () => (BigInt(Math.floor(rand() * 2 ** 32)) << 32n) | BigInt(Math.floor(rand() * 2 ** 32));

function flipBits(hash: bigint, count: number): bigint {
  const bits = new Set<number>();
  while (bits.size < count) bits.add(Math.floor(rand() * 64));
  for (const b of bits) hash ^= 1n << BigInt(b);
  return hash;
}

function naiveHamming(a: bigint, b: bigint): number {
  let x = a ^ b;
  let count = 0;
  while (x > 0n) {
    count += Number(x & 1n);
    x >>= 1n;
  }
  return count;
}

/** Clusters of hashes at every distance from 0 to 20 from their centre, plus unrelated ones. */
function makeHashes(count: number): bigint[] {
  const hashes: bigint[] = [];
  while (hashes.length < count) {
    const centre = random64();
    hashes.push(centre);
    const members = Math.floor(rand() * 8);
    for (let m = 0; m < members && hashes.length < count; m++) hashes.push(flipBits(centre, Math.floor(rand() * 21)));
  }
  return hashes;
}

const hashes = makeHashes(1500);
const index = new PhashIndex();
hashes.forEach((h, id) => index.add(id, h));

/** Brute-force distances between all stored hashes, counted independently of the module (Kernighan). */
const halves = hashes.map((h) => [Number(h >> 32n), Number(h & 0xffffffffn)]);
function bitsIn(x: number): number {
  let count = 0;
  for (let v = x >>> 0; v !== 0; v = (v & (v - 1)) >>> 0) count++;
  return count;
}
const distanceBetween = (a: number, b: number) => bitsIn(halves[a][0] ^ halves[b][0]) + bitsIn(halves[a][1] ^ halves[b][1]);

test('hamming() counts differing bits, for bigints and hex strings', () => {
  for (let i = 0; i < 200; i++) {
    const a = random64();
    const b = i % 2 ? flipBits(a, i % 30) : random64();
    assert.equal(hamming(a, b), naiveHamming(a, b));
  }
  assert.equal(hamming('ffffffffffffffff', 0n), 64);
  assert.equal(hamming('8000000000000001', '0000000000000000'), 2);
  assert.equal(toPhash('00000000000000ff'), 255n);
  assert.throws(() => toPhash('xyz'), /16 hex/);
  assert.throws(() => toPhash(1n << 64n), /64-bit/);
});

test('query() returns exactly what brute force returns, at every distance', () => {
  for (const maxDistance of [0, 1, 3, 4, 7, 8, 10, 12, PHASH_MAX_DISTANCE]) {
    for (let q = 0; q < 60; q++) {
      const probe = q % 3 === 0 ? flipBits(hashes[q * 7], q % 9) : hashes[q * 7];
      const expected = hashes
        .map((h, id) => ({ id, distance: naiveHamming(h, probe) }))
        .filter((hit) => hit.distance <= maxDistance)
        .sort((a, b) => a.distance - b.distance || a.id - b.id);
      assert.deepEqual(index.query(probe, maxDistance), expected, `probe ${q} at distance ${maxDistance}`);
    }
  }
});

test('forEachWithinBatch() reports exactly the brute-force hits of every query, each once, also after removals and replaced ids', () => {
  const changed = new PhashIndex();
  hashes.forEach((h, id) => changed.add(id * 3 + 1, h)); // ids unlike the slots
  for (let id = 0; id < hashes.length; id += 10) changed.remove(id * 3 + 1);
  for (let id = 5; id < hashes.length; id += 50) changed.add(id * 3 + 1, flipBits(hashes[id], 3));
  const stored = new Map<number, bigint>(hashes.map((_, id) => [id * 3 + 1, changed.get(id * 3 + 1)!]).filter(([, h]) => h !== undefined) as [number, bigint][]);
  // Many queries share each chunk value (the batch groups them), some far from everything.
  const probes = Array.from({ length: 2000 }, (_, q) => (q % 4 === 3 ? random64() : flipBits(hashes[(q * 13) % hashes.length], q % 12)));
  const lo = Int32Array.from(probes, (p) => Number(p & 0xffffffffn) | 0);
  const hi = Int32Array.from(probes, (p) => Number(p >> 32n) | 0);
  // Brute force, with the halves counted by bitsIn (not the module's popcount).
  const near: Array<[number, number, number]> = [];
  const storedHalves = [...stored].map(([id, h]) => [id, Number(h & 0xffffffffn), Number(h >> 32n)]);
  probes.forEach((_, q) => {
    for (const [id, storedLo, storedHi] of storedHalves) {
      const distance = bitsIn(storedLo ^ lo[q]) + bitsIn(storedHi ^ hi[q]);
      if (distance <= PHASH_MAX_DISTANCE) near.push([q, id, distance]);
    }
  });
  for (const maxDistance of [0, 2, 4, 6, 9, 10, 13, PHASH_MAX_DISTANCE]) {
    const expected = near.filter(([, , distance]) => distance <= maxDistance).map(([q, id, distance]) => `${q} ${id} ${distance}`);
    const got: string[] = [];
    changed.forEachWithinBatch(lo, hi, maxDistance, (q, id, distance) => got.push(`${q} ${id} ${distance}`));
    assert.ok(expected.length > 100 || maxDistance === 0, `test data has hits at distance ${maxDistance} (${expected.length})`);
    assert.deepEqual(got.sort(), expected.sort(), `distance ${maxDistance}`);
  }
  assert.throws(() => changed.forEachWithinBatch(lo, hi.subarray(1), 4, () => {}), /same length/);
  assert.throws(() => changed.forEachWithinBatch(lo, hi, PHASH_MAX_DISTANCE + 1, () => {}), /maxDistance/);
});

test('after a few changes searches take the tables as they are (skipping removed and re-taken slots) and find what brute force finds; past the limit they are rebuilt', () => {
  const changing = new PhashIndex();
  hashes.forEach((h, id) => changing.add(id, h));
  changing.pairsWithin(0); // builds the tables
  assert.equal(changing.tableBuilds, 1);
  const stored = new Map(hashes.map((h, id) => [id, h]));
  const remove = (id: number) => (changing.remove(id), stored.delete(id));
  const add = (id: number, hash: bigint) => (changing.add(id, hash), stored.set(id, hash));
  for (let id = 0; id < 60; id++) remove(id); // their slots are taken again by the items below
  for (let k = 0; k < 40; k++) add(5000 + k, flipBits(hashes[100 + k], k % 6));
  for (let id = 200; id < 210; id++) add(id, flipBits(hashes[id], 2)); // an id given another hash
  add(5000, hashes[7]); // added again at once, with another hash
  remove(5001); // added since, and gone again
  const brute = (query: bigint, maxDistance: number) =>
    [...stored].filter(([, h]) => naiveHamming(h, query) <= maxDistance).map(([id, h]) => `${id} ${naiveHamming(h, query)}`).sort();
  const queries = [hashes[3], hashes[5], hashes[100], hashes[120], hashes[205], hashes[7], hashes[1001], random64()];
  const check = (label: string) => {
    let hits = 0;
    for (const query of queries) {
      for (const maxDistance of [0, 4, 10, PHASH_MAX_DISTANCE]) {
        const expected = brute(query, maxDistance);
        hits += expected.length;
        assert.deepEqual(changing.query(query, maxDistance).map((hit) => `${hit.id} ${hit.distance}`).sort(), expected, `${label}: query at ${maxDistance}`);
        const lo = Int32Array.of(Number(query & 0xffffffffn) | 0, 0);
        const hi = Int32Array.of(Number(query >> 32n) | 0, 0);
        const got: string[] = [];
        changing.forEachWithinBatch(lo, hi, maxDistance, (q, id, distance) => q === 0 && got.push(`${id} ${distance}`));
        assert.deepEqual(got.sort(), expected, `${label}: batch at ${maxDistance}`);
      }
    }
    assert.ok(hits >= 40, `${label}: enough hits (${hits})`);
  };
  check('a few changes');
  assert.equal(changing.tableBuilds, 1, 'the tables were taken as they were');
  for (let k = 0; k < 1100; k++) add(10_000 + k, random64()); // past PENDING_LIMIT
  check('many changes'); // searched without the tables: each query against every item (SCAN_CHECKS)
  assert.equal(changing.tableBuilds, 1, 'not rebuilt for a few searches');
  changing.pairsWithin(0);
  check('many changes, the tables rebuilt');
  assert.equal(changing.tableBuilds, 2, 'rebuilt once');
  add(20_000, hashes[3]);
  changing.sharedState(); // worker threads always get tables over every item
  assert.equal(changing.tableBuilds, 3);
});

test('an opened index compares a few queries with every item instead of building its tables, then builds them', () => {
  const opened = PhashIndex.deserialize(index.serialize());
  opened.remove(3); // a freed slot the comparisons pass over
  const queries = [hashes[3], hashes[5], hashes[100], flipBits(hashes[120], 3), random64()];
  let hits = 0;
  for (const query of queries) {
    for (const maxDistance of [0, 4, 10, PHASH_MAX_DISTANCE]) {
      const expected = hashes.map((h, id) => [id, naiveHamming(h, query)]).filter(([id, d]) => id !== 3 && d <= maxDistance).map(([id, d]) => `${id} ${d}`).sort();
      hits += expected.length;
      assert.deepEqual(opened.query(query, maxDistance).map((hit) => `${hit.id} ${hit.distance}`).sort(), expected, `query at ${maxDistance}`);
      const got: string[] = [];
      opened.forEachWithinBatch(Int32Array.of(0, Number(query & 0xffffffffn) | 0), Int32Array.of(0, Number(query >> 32n) | 0), maxDistance, (q, id, distance) => q === 1 && got.push(`${id} ${distance}`));
      assert.deepEqual(got.sort(), expected, `batch at ${maxDistance}`);
    }
  }
  assert.ok(hits >= 40, `enough hits (${hits})`);
  assert.equal(opened.tableBuilds, 0, 'no tables built for a few queries');
  // A batch whose comparisons with every item would pass SCAN_CHECKS (5e7) builds them.
  const many = Math.ceil(5e7 / opened.size) + 1;
  opened.forEachWithinBatch(new Int32Array(many), new Int32Array(many), 0, () => {});
  assert.equal(opened.tableBuilds, 1);
  // So do as many single queries, counted since it was opened.
  const again = PhashIndex.deserialize(index.serialize());
  for (let q = 0; q < many; q++) again.forEachWithin(q, 0, 0, () => {});
  assert.equal(again.tableBuilds, 1);
});

test('pairsWithin() returns exactly the brute-force pairs, each once', () => {
  for (const maxDistance of [3, 4, 8, 10, PHASH_MAX_DISTANCE]) {
    const expected: string[] = [];
    for (let a = 0; a < hashes.length; a++)
      for (let b = a + 1; b < hashes.length; b++) if (distanceBetween(a, b) <= maxDistance) expected.push(`${a},${b}`);
    assert.ok(expected.length > 50, 'test data has pairs at this distance');
    const got: string[] = [];
    index.forEachPairWithin(maxDistance, (a, b, distance) => {
      assert.ok(a < b);
      assert.equal(distance, distanceBetween(a, b));
      got.push(`${a},${b}`);
    });
    assert.deepEqual(got.sort(), expected.sort(), `distance ${maxDistance}`);
    assert.equal(index.pairsWithin(maxDistance).length, expected.length);
  }
});

test('remove() and replacing an id', () => {
  const small = new PhashIndex();
  small.add(1, 0n);
  small.add(2, 1n);
  small.add(3, '00000000000000ff');
  assert.deepEqual(small.query(0n, 1).map((h) => h.id), [1, 2]);
  assert.equal(small.remove(2), true);
  assert.equal(small.remove(2), false);
  assert.deepEqual(small.query(0n, 1).map((h) => h.id), [1]);
  assert.deepEqual(small.pairsWithin(8), [[1, 3]]);
  small.add(1, 0xffn); // replace: now identical to 3
  assert.equal(small.size, 2);
  assert.equal(small.get(1), 0xffn);
  assert.deepEqual(small.query(0xffn, 0), [
    { id: 1, distance: 0 },
    { id: 3, distance: 0 },
  ]);
  assert.equal(small.get(2), undefined);
});

test('serialize / deserialize round trip; corrupt buffers refused', () => {
  const copy = PhashIndex.deserialize(index.serialize());
  assert.equal(copy.size, index.size);
  assert.deepEqual(copy.query(hashes[5], 10), index.query(hashes[5], 10));
  assert.deepEqual(copy.pairsWithin(6).sort(), index.pairsWithin(6).sort());
  assert.equal(copy.get(1499), hashes[1499]);

  const buf = index.serialize();
  const badMagic = Buffer.from(buf);
  badMagic[0] ^= 1;
  assert.throws(() => PhashIndex.deserialize(badMagic), /bad magic/);
  const badVersion = Buffer.from(buf);
  badVersion.writeUInt32LE(7, 8);
  assert.throws(() => PhashIndex.deserialize(badVersion), /unsupported format version 7/);
  assert.throws(() => PhashIndex.deserialize(buf.subarray(0, buf.length - 1)), /truncated/);
  const flipped = Buffer.from(buf);
  flipped[100] ^= 0x10;
  assert.throws(() => PhashIndex.deserialize(flipped), /checksum/);
});

test('distances beyond the exact range are refused', () => {
  assert.throws(() => index.query(0n, PHASH_MAX_DISTANCE + 1), /maxDistance/);
  assert.throws(() => index.pairsWithin(-1), /maxDistance/);
  assert.throws(() => index.add(1.5, 0n), /id must be/);
});

test('forEachPairWithin over complementary sets of chunk tables reports every pair exactly once', () => {
  const all = index.pairsWithin(10).map(String).sort();
  for (const split of [[[0, 2], [1, 3]], [[0], [1, 2, 3]], [[3], [2], [1], [0]]]) {
    const parts = split.flatMap((chunks) => {
      const pairs: string[] = [];
      index.forEachPairWithin(10, (a, b) => pairs.push(String([a, b])), chunks);
      return pairs;
    });
    assert.deepEqual(parts.sort(), all, JSON.stringify(split));
  }
  assert.throws(() => index.forEachPairWithin(10, () => {}, [4]), /chunks must be in 0\.\.3/);
});
