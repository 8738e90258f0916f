// The candidate index (candidates.ts), when few photos changed since its last search, looks only for
// the pairs with a changed photo: with the last search's other pairs they must be exactly the pairs
// of a new search over the same photos (synthetic hashes with planted turned and cropped matches
// both ways, and embeddings with planted close copies).
import assert from 'node:assert/strict';
import { readFileSync, statSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { xxh3 } from '@node-rs/xxhash';
import { after, test } from 'node:test';
import { hashWords } from '../electron/engine/bits.ts';
import { closeParallelPairs, configureParallelPairs } from '../electron/engine/candidate-workers.ts';
import { CandidateIndex, type IndexedPhoto } from '../electron/engine/candidates.ts';
import { splitVariants, variantHashesOf, variantWords } from '../electron/engine/decode.ts';
import { hashesFromBytes, hashesToBytes } from '../electron/engine/phash.ts';
import { mulberry32, type LshIndex } from '../electron/engine/lsh.ts';
import { removeDir, tempDir } from './helpers/photos.ts';

const DIM = 32;
const rand = mulberry32(9);
const random64 = () => (BigInt(Math.floor(rand() * 2 ** 32)) << 32n) | BigInt(Math.floor(rand() * 2 ** 32));
/** A vector at cosine ~0.99 to `vector`. */
const closeTo = (vector: Float32Array) => vector.map((x) => x + (rand() - 0.5) * 0.1);
const near = (hash: bigint, bits: number) => {
  for (let i = 0; i < bits; i++) hash ^= 1n << BigInt(Math.floor(rand() * 64));
  return hash;
};

interface Photo {
  base: number;
  phash: bigint;
  variants: bigint[]; // 7 turns, 54 crop windows, 4 detail words (decode.ts layout)
  vector: Float32Array;
}

function makePhoto(base: number): Photo {
  return {
    base,
    phash: random64(),
    variants: Array.from({ length: 7 + 54 + 4 }, random64),
    vector: Float32Array.from({ length: DIM }, () => rand() - 0.5),
  };
}

/** Makes `copy` a turned (or cropped) copy of `original`: one of its variants close to the original's whole hash. */
function plant(copy: Photo, original: Photo, slot: number, bits: number): void {
  copy.variants[slot] = near(original.phash, bits);
}

const indexed = (photos: Photo[]): IndexedPhoto[] => photos.map((p) => ({ base: p.base, phash: p.phash, variantHashes: () => variantHashesOf(hashesToBytes(p.variants)) }));
const options = { minCosine: 0.95, phashMaxDistance: 10, rotatedMaxDistance: 10, cropMaxDistance: 6 };
const sorted = (pairs: Array<[number, number]>) => pairs.map(([a, b]) => `${a} ${b}`).sort();

test('turned and cropped hashes read from the catalog\'s bytes equal those made from the hashes, for every layout', () => {
  for (const count of [65, 7, 7 + 10 + 4]) {
    const variants = Array.from({ length: count }, random64);
    const { rotations, windows } = splitVariants(variants);
    const bytes = hashesToBytes(variants);
    assert.deepEqual(variantWords(variantHashesOf(bytes)), { rotations: hashWords(rotations), windows: hashWords(windows) });
    assert.deepEqual(variantHashesOf(bytes), { bytes, turned: rotations.length, cropped: windows.length });
    assert.deepEqual(hashesFromBytes(bytes), variants);
    // A view into a larger buffer (as the catalog file's reader hands them out) reads the same.
    const inside = Buffer.concat([Buffer.from([1, 2, 3]), bytes, Buffer.from([4])]).subarray(3, 3 + bytes.length);
    assert.deepEqual(variantWords(variantHashesOf(inside)), variantWords(variantHashesOf(bytes)));
    assert.deepEqual(hashesFromBytes(inside), variants);
  }
  // The bytes are the hex digits of formats 0-3, in the same order (migrating is Buffer.from(hex, 'hex')).
  assert.equal(hashesToBytes([0x0123456789abcdefn, 0xfedcba9876543210n]).toString('hex'), '0123456789abcdeffedcba9876543210');
});

const dir = await tempDir('candidates-');
after(() => removeDir(dir));
let opened = 0;
const fresh = () => CandidateIndex.open(join(dir, `index-${opened++}`), DIM, 1, 0, () => {});

test('after photos are added and removed, the last pairs and the updated ones equal a new search', async () => {
  const photos = Array.from({ length: 400 }, (_, i) => makePhoto(i));
  for (let i = 0; i < 40; i++) plant(photos[i + 40], photos[i], i % 7, 1 + (i % 9)); // turns
  for (let i = 0; i < 40; i++) plant(photos[i + 120], photos[i + 80], 7 + (i % 54), i % 6); // crops
  for (let i = 0; i < 20; i++) photos[i + 300].vector = closeTo(photos[i + 340].vector); // close embeddings
  const byBase = new Map(photos.map((p) => [p.base, p]));
  const readVector = (row: number) => byBase.get(row)!.vector;

  const index = fresh();
  index.sync(indexed(photos), readVector);
  assert.equal(index.unsavedChanges, 400, 'the engine saves the index once enough changed');
  const first = await index.pairs(options);
  assert.equal(first.changed, null, 'the first search is a full one');
  assert.ok(first.pairs.length >= 100, `the planted pairs are found (${first.pairs.length})`);

  // Remove some originals and copies; add photos matching old ones both ways, and each other.
  const removed = new Set([3, 45, 81, 125, 200, 201]);
  const added = Array.from({ length: 30 }, (_, i) => makePhoto(1000 + i));
  for (let i = 0; i < 10; i++) plant(added[i], photos[200 + i], i % 7, 2 + (i % 8)); // a new photo's turn is an old photo
  for (let i = 10; i < 20; i++) added[i].phash = near(photos[300 + i].variants[7 + i], i % 6); // a new photo is a crop of an old one
  for (let i = 20; i < 25; i++) added[i].phash = near(photos[300 + i].variants[i % 7], 2 + i % 8); // a new photo is an old one turned
  plant(added[26], added[25], 3, 4); // new and new
  for (let i = 0; i < 5; i++) added[i].vector = closeTo(photos[360 + i].vector); // close embeddings: new and old
  added[28].vector = closeTo(added[27].vector); // and new and new
  for (let i = 5; i < 10; i++) added[i].phash = near(photos[370 + i].phash, 6 + i - 5); // close whole hashes (6-10 bits)
  for (let i = 10; i < 20; i++) plant(photos[220 + i], added[i], 7 + i, i % 6); // a changed photo is a crop of a new one
  const library = [...photos.filter((p) => !removed.has(p.base)), ...added];
  for (const p of added) byBase.set(p.base, p);
  // The old photos whose variants were planted above changed too: in the app a changed file gets
  // new vector rows, i.e. it is removed and added. Model that the same way.
  const changedOld = photos.slice(230, 240).map((p) => ({ ...p, base: 2000 + p.base }));
  for (const p of changedOld) byBase.set(p.base, p);
  const final = [...library.filter((p) => p.base < 230 || p.base >= 240), ...changedOld];

  index.save(join(dir, 'saved'));
  assert.equal(index.unsavedChanges, 0);
  index.sync(indexed(final), readVector);
  assert.equal(index.unsavedChanges, removed.size + added.length + 2 * changedOld.length);
  const updated = await index.pairs(options);
  assert.ok(updated.changed !== null, 'few photos changed: the last search was updated');
  const changed = updated.changed;
  for (const base of [...removed, ...added.map((p) => p.base), ...changedOld.map((p) => p.base)]) assert.ok(changed.has(base), `${base} is told as changed`);
  assert.ok(updated.pairs.every(([a, b]) => changed.has(a) || changed.has(b)), 'only pairs with a changed photo are searched');
  const kept = first.pairs.filter(([a, b]) => !changed.has(a) && !changed.has(b));

  const reference = fresh();
  reference.sync(indexed(final), readVector);
  const searched = await reference.pairs(options);
  assert.equal(searched.changed, null);
  assert.deepEqual(sorted([...kept, ...updated.pairs]), sorted(searched.pairs));
  const involving = (pairs: Array<[number, number]>, bases: Set<number>) => pairs.filter(([a, b]) => bases.has(a) || bases.has(b)).length;
  assert.ok(involving(searched.pairs, new Set(added.map((p) => p.base))) >= 30, 'new photos pair with old and new ones, both ways');
  assert.ok(involving(searched.pairs, new Set(changedOld.map((p) => p.base))) >= 10, 'old photos that are crops of new ones are found');
  const embeddingPairs = (pairs: Array<[number, number]>) => pairs.filter(([a, b]) => (a >= 360 && a < 365 && b >= 1000 && b < 1005) || (a === 1027 && b === 1028)).length;
  assert.equal(embeddingPairs(updated.pairs), 6, 'the close embeddings of new photos are found by the update');
  const hashPairs = updated.pairs.filter(([a, b]) => a >= 375 && a < 380 && b === a - 375 + 1005).length;
  assert.equal(hashPairs, 5, 'the close whole hashes of new photos are found by the update');

  // Nothing changed: an update with no pairs to add. Stricter options are covered by the last
  // search (an update); looser ones in any respect need a new search.
  const found = async (search: typeof options | Record<string, unknown>) => {
    const { pairs, changed } = await index.pairs(search as typeof options);
    return { pairs, changed };
  };
  assert.deepEqual(await found(options), { pairs: [], changed: new Set() });
  assert.deepEqual(await found({ ...options, cropMaxDistance: 4, minCosine: 0.97, rotatedMaxDistance: null }), { pairs: [], changed: new Set() });
  for (const looser of [{ cropMaxDistance: 6 }, { minCosine: 0.95 }, { rotatedMaxDistance: 10 }, { phashMaxDistance: 12 }]) {
    const last = { ...options, cropMaxDistance: 4, minCosine: 0.97, rotatedMaxDistance: null, phashMaxDistance: 10 };
    index.forgetPairs();
    await index.pairs(last);
    assert.equal((await index.pairs({ ...last, ...looser })).changed, null, `looser: ${JSON.stringify(looser)}`);
  }
  index.forgetPairs();
  assert.equal((await index.pairs({ ...options, cropMaxDistance: 4 })).changed, null, 'forgetPairs() makes the next search a full one');
});

test('update() with the photos that came and went leaves the index as sync() with the whole library does; it declines where sync() must do it', async () => {
  const photos = Array.from({ length: 2000 }, (_, i) => makePhoto(i));
  for (let i = 0; i < 30; i++) plant(photos[i + 100], photos[i], i % 7, 1 + (i % 9));
  const byBase = new Map(photos.map((p) => [p.base, p]));
  const readVector = (row: number) => byBase.get(row)!.vector;
  const viaUpdate = fresh();
  const viaSync = fresh();
  assert.equal(viaUpdate.update(indexed(photos), [], readVector), false, 'an empty index: its centre is fitted by sync()');
  for (const index of [viaUpdate, viaSync]) {
    index.sync(indexed(photos), readVector);
    await index.pairs(options);
  }
  // Gone: a few photos, one of them an original with a planted copy. New: photos matching old ones
  // both ways and each other. Replaced: a base whose row now holds another photo (a new hash).
  const removed = [5, 106, 700, 701];
  const added = Array.from({ length: 8 }, (_, i) => makePhoto(5000 + i));
  plant(added[0], photos[40], 2, 3);
  added[1].phash = near(photos[300].variants[9], 2);
  added[2].vector = closeTo(photos[500].vector);
  plant(added[4], added[3], 5, 1);
  const replaced = { ...makePhoto(900), vector: closeTo(photos[901].vector) };
  plant(replaced, photos[902], 8, 2);
  for (const p of [...added, replaced]) byBase.set(p.base, p);
  const final = [...photos.filter((p) => !removed.includes(p.base) && p.base !== 900), ...added, replaced];
  const unchangedAlso = indexed([photos[10], photos[11]]); // handed over again with nothing new: no change
  assert.equal(viaUpdate.update([...indexed([...added, replaced]), ...unchangedAlso], removed, readVector), true);
  viaSync.sync(indexed(final), readVector);
  assert.equal(viaUpdate.size, viaSync.size);
  assert.equal(viaUpdate.unsavedChanges, viaSync.unsavedChanges);
  const [a, b] = [await viaUpdate.pairs(options), await viaSync.pairs(options)];
  assert.deepEqual([...a.changed!].sort(), [...b.changed!].sort());
  assert.deepEqual([...a.changed!].sort((x, y) => x - y), [...removed, ...added.map((p) => p.base), 900].sort((x, y) => x - y));
  assert.deepEqual(sorted(a.pairs), sorted(b.pairs));
  assert.ok(a.pairs.length >= 5, `the new photos' pairs are found (${a.pairs.length})`);
  // The library moves away from where the centre was fitted (photos removed, others unlike them
  // added, a few at a time): once enough came since the last check, the centre is checked, and once
  // it is off, update() declines and sync() refits it.
  let library = final;
  let declinedAt = -1;
  for (let step = 0; step < 300 && declinedAt < 0; step++) {
    const gone = library.slice(0, 10);
    const come = Array.from({ length: 10 }, (_, i) => ({ ...makePhoto(10_000 + step * 10 + i), vector: Float32Array.from({ length: DIM }, () => 3 + rand()) }));
    for (const p of come) byBase.set(p.base, p);
    const size = viaUpdate.size;
    if (viaUpdate.update(indexed(come), gone.map((p) => p.base), readVector)) library = [...library.slice(10), ...come];
    else {
      declinedAt = step;
      assert.equal(viaUpdate.size, size, 'declining changes nothing');
    }
  }
  assert.ok(declinedAt > 5, `declined once the centre drifted (step ${declinedAt})`);
});

test('the photos added since the LSH centre was checked are saved with the index: the first new photo after opening does not check it again', async () => {
  // The check reads every stored vector (half a second at a million photos). It is made once a
  // hundredth of the library came since the last one: 20 photos here.
  const photos = Array.from({ length: 2000 }, (_, i) => makePhoto(i));
  const byBase = new Map(photos.map((p) => [p.base, p]));
  const readVector = (row: number) => byBase.get(row)!.vector;
  const newPhotos = (from: number, count: number) => {
    const made = Array.from({ length: count }, (_, i) => makePhoto(from + i));
    for (const p of made) byBase.set(p.base, p);
    return indexed(made);
  };
  const path = join(dir, 'drift-count');
  const first = CandidateIndex.open(path, DIM, 1, 0, () => {});
  first.sync(indexed(photos), readVector); // checked: none added since
  assert.equal(first.update(newPhotos(5000, 5), [], readVector), true);
  first.save(path);

  const checks = (index: CandidateIndex) => {
    const lsh = (index as unknown as { lsh: LshIndex }).lsh;
    let count = 0;
    const meanDrift = lsh.meanDrift.bind(lsh);
    lsh.meanDrift = () => (count++, meanDrift());
    return () => count;
  };
  const reopened = CandidateIndex.open(path, DIM, 1, 0, () => {});
  const checked = checks(reopened);
  assert.equal(reopened.update(newPhotos(6000, 1), [], readVector), true);
  assert.equal(checked(), 0, '5 + 1 came since the check: not checked');
  assert.equal(reopened.update(newPhotos(6100, 15), [], readVector), true);
  assert.equal(checked(), 1, '5 + 1 + 15 came since the check (a hundredth of 2,021): checked');

  // A file saved before the count was kept (0 in its place) has the centre checked at the first new photo.
  const bytes = readFileSync(path);
  bytes.writeUInt32LE(0, 36);
  bytes.writeBigUInt64LE(xxh3.xxh64(Buffer.concat([bytes.subarray(0, 24), bytes.subarray(32)])), 24);
  await writeFile(path, bytes);
  const older = CandidateIndex.open(path, DIM, 1, 0, () => {});
  const olderChecked = checks(older);
  assert.equal(older.size, 2005, 'the older file opened');
  assert.equal(older.update(newPhotos(7000, 1), [], readVector), true);
  assert.equal(olderChecked(), 1);
});

test('the last search and its verdicts are saved with the index; reopened, the photos changed since count as changed', async () => {
  const photos = Array.from({ length: 200 }, (_, i) => makePhoto(i));
  const byBase = new Map(photos.map((p) => [p.base, p]));
  const readVector = (row: number) => byBase.get(row)!.vector;
  const path = join(dir, 'with-search');
  const index = CandidateIndex.open(path, DIM, 1, 0, () => {});
  index.sync(indexed(photos), readVector);
  assert.equal((await index.pairs(options)).changed, null);
  assert.equal(index.lastVerdicts, null, 'a search drops the verdicts until the caller keeps new ones');
  const verdicts = {
    settingsKey: '[0.87,0.8,10,true]',
    pairs: [
      { a: 4, b: 9, verdict: { tier: 'near' as const, score: 0.75, related: true } },
      { a: 10, b: 199, verdict: { tier: 'similar' as const, score: 0.5, related: false } },
    ],
  };
  index.keepVerdicts(verdicts);
  // Changed before the save (the saved file says so) and after it (the reopened index finds out).
  const before = makePhoto(500);
  const afterSave = makePhoto(501);
  byBase.set(before.base, before).set(afterSave.base, afterSave);
  index.sync(indexed([...photos.slice(1), before]), readVector);
  index.saveIfDue(path); // 2 changes: not due
  index.saveIfDue(path, true);

  const logged: string[] = [];
  const reopened = CandidateIndex.open(path, DIM, 1, 0, (message) => logged.push(message));
  assert.deepEqual(logged, []);
  assert.deepEqual(reopened.lastVerdicts, verdicts);
  reopened.sync(indexed([...photos.slice(2), before, afterSave]), readVector);
  const update = await reopened.pairs(options);
  assert.deepEqual(update.changed && [...update.changed].sort((x, y) => x - y), [0, 1, 500, 501]);

  // Without kept verdicts (a search cut short) the next search after opening is a full one.
  reopened.save(path);
  const again = CandidateIndex.open(path, DIM, 1, 0, () => {});
  assert.equal(again.lastVerdicts, null);
  again.sync(indexed([...photos.slice(2), before, afterSave]), readVector);
  assert.equal((await again.pairs(options)).changed, null);
});

test('lists trained by a query are saved on close, even when nothing else changed', async () => {
  const photos = Array.from({ length: 200 }, (_, i) => makePhoto(i));
  const byBase = new Map(photos.map((p) => [p.base, p]));
  const path = join(dir, 'with-lists');
  const index = CandidateIndex.open(path, DIM, 1, 0, () => {});
  index.sync(indexed(photos), (row) => byBase.get(row)!.vector);
  index.saveIfDue(path, true);
  const withoutLists = readFileSync(path);
  const lshOf = (candidates: CandidateIndex) => (candidates as unknown as { lsh: LshIndex }).lsh;
  assert.ok(lshOf(CandidateIndex.open(path, DIM, 1, 0, () => {})).listsNeedTraining, 'saved before any query: no lists');

  await index.prepareQuery();
  index.query({ vectors: [photos[3].vector], phash: photos[3].phash, phashVariants: null }, { k: 5, phashMaxDistance: 10 });
  index.saveIfDue(path, true); // what the engine's close() does
  assert.ok(!readFileSync(path).equals(withoutLists), 'saved again');
  const reopened = CandidateIndex.open(path, DIM, 1, 0, () => {});
  assert.ok(!lshOf(reopened).listsNeedTraining, 'the lists came back with the file');
  const inode = statSync(path).ino;
  reopened.saveIfDue(path, true);
  assert.equal(statSync(path).ino, inode, 'nothing new to save: the file was not written again (a save renames a new file over it)');
});

test('prepareQuery while a training runs waits for that one: the lists are trained once', async () => {
  const photos = Array.from({ length: 300 }, (_, i) => makePhoto(i));
  const byBase = new Map(photos.map((p) => [p.base, p]));
  const index = CandidateIndex.open(join(dir, 'shared-training'), DIM, 1, 0, () => {});
  index.sync(indexed(photos), (row) => byBase.get(row)!.vector);
  const lsh = (index as unknown as { lsh: LshIndex }).lsh;
  const logged: string[] = [];
  configureParallelPairs({ threads: 2, minItems: 0 });
  try {
    assert.ok(index.queryNeedsPreparation);
    const background = index.prepareQuery((m) => logged.push(m));
    assert.ok(!index.queryNeedsPreparation, 'under way');
    const query = index.prepareQuery((m) => logged.push(m));
    assert.equal(query, background);
    assert.equal(await query, true);
    assert.equal(lsh.listTrainings, 1);
    assert.deepEqual(logged, []);
    assert.ok(!index.queryNeedsPreparation);
  } finally {
    configureParallelPairs({ threads: undefined, minItems: undefined });
    await closeParallelPairs();
  }
  // Small libraries leave the lists to query() (they cost little there): nothing is trained ahead.
  const small = CandidateIndex.open(join(dir, 'small-training'), DIM, 1, 0, () => {});
  small.sync(indexed(photos), (row) => byBase.get(row)!.vector);
  assert.equal(await small.prepareQuery(), false);
});

test('an index saved in format 2 (no last search) still opens; a damaged last search is found', async () => {
  const photos = Array.from({ length: 50 }, (_, i) => makePhoto(i));
  const readVector = (row: number) => photos[row].vector;
  const path = join(dir, 'format-2');
  const index = CandidateIndex.open(path, DIM, 1, 0, () => {});
  index.sync(indexed(photos), readVector);
  await index.pairs(options);
  index.keepVerdicts({ settingsKey: 'k', pairs: [] });
  index.save(path);
  const v3 = await readFile(path);

  // Format 2: a 32-byte header (no section length) and no last-search section.
  const searchLength = v3.readUInt32LE(32);
  const v2 = Buffer.concat([v3.subarray(0, 32), v3.subarray(40, v3.length - searchLength)]);
  v2.write('PDDCAND2', 0, 'latin1');
  v2.writeBigUInt64LE(xxh3.xxh64(Buffer.concat([v2.subarray(0, 24), v2.subarray(32)])), 24);
  await writeFile(path, v2);
  const logged: string[] = [];
  const old = CandidateIndex.open(path, DIM, 1, 0, (message) => logged.push(message));
  assert.equal(logged.length, 0, logged.join('\n'));
  assert.equal(old.size, 50);
  assert.equal(old.lastVerdicts, null);

  const damaged = Buffer.from(v3);
  damaged[damaged.length - 5] ^= 1; // inside the pHash index
  await writeFile(path, damaged);
  const rebuilt = CandidateIndex.open(path, DIM, 1, 0, (message) => logged.push(message));
  assert.equal(rebuilt.size, 0);
  assert.match(logged.join('\n'), /checksum mismatch/);
});

test('the last search is saved in a small file of its own; one damaged, or older than the index, is not used', async () => {
  const photos = Array.from({ length: 60 }, (_, i) => makePhoto(i));
  const readVector = (row: number) => photos[row].vector;
  const path = join(dir, 'search-file');
  const verdicts = { settingsKey: 'k', pairs: [{ a: 1, b: 2, verdict: { tier: 'near' as const, score: 0.75, related: true } }] };
  const index = CandidateIndex.open(path, DIM, 1, 0, () => {});
  index.sync(indexed(photos), readVector);
  await index.pairs(options);
  index.keepVerdicts(verdicts);
  index.saveIfDue(path, true);
  assert.equal(readFileSync(path).readUInt32LE(32), 0, 'no search section in the index file');

  // A regrouping with nothing else changed: only the search file is written.
  const indexInode = statSync(path).ino;
  const searchBefore = readFileSync(`${path}.search`);
  await index.pairs(options);
  const next = { ...verdicts, settingsKey: 'k2' };
  index.keepVerdicts(next);
  index.saveIfDue(path, true);
  assert.equal(statSync(path).ino, indexInode, 'the index file was not written again');
  assert.ok(!readFileSync(`${path}.search`).equals(searchBefore), 'the search file was');
  const logged: string[] = [];
  assert.deepEqual(CandidateIndex.open(path, DIM, 1, 0, (m) => logged.push(m)).lastVerdicts, next);
  assert.equal(logged.length, 0, logged.join('\n'));

  // The index saved again, and the app stopped before the search was: that older search is not used.
  const olderSearch = readFileSync(`${path}.search`);
  const grown = CandidateIndex.open(path, DIM, 1, 0, () => {});
  const more = [...photos, makePhoto(60)];
  grown.sync(indexed(more), (row) => more[row].vector);
  grown.save(path);
  await writeFile(`${path}.search`, olderSearch);
  const stale = CandidateIndex.open(path, DIM, 1, 0, (m) => logged.push(m));
  assert.equal(stale.size, 61);
  assert.equal(stale.lastVerdicts, null);
  assert.equal(logged.length, 0, 'a search file left by a crash is normal, not an error');

  // A damaged search file: the index still opens; the next grouping searches in full.
  grown.save(path);
  const damaged = readFileSync(`${path}.search`);
  damaged[damaged.length - 3] ^= 1;
  await writeFile(`${path}.search`, damaged);
  const withDamage = CandidateIndex.open(path, DIM, 1, 0, (m) => logged.push(m));
  assert.equal(withDamage.size, 61);
  assert.equal(withDamage.lastVerdicts, null);
  assert.match(logged.join('\n'), /the saved last search is damaged/);
});

test('an index file saved with the search inside (before it had a file of its own) still gives its search back', async () => {
  const photos = Array.from({ length: 40 }, (_, i) => makePhoto(i));
  const path = join(dir, 'inline-search');
  const verdicts = { settingsKey: 'inline', pairs: [{ a: 3, b: 4, verdict: { tier: 'similar' as const, score: 0.5, related: true } }] };
  const index = CandidateIndex.open(path, DIM, 1, 0, () => {});
  index.sync(indexed(photos), (row) => photos[row].vector);
  await index.pairs(options);
  index.keepVerdicts(verdicts);
  index.save(path);
  // The same bytes as the earlier format 3 wrote: the search section appended to the index file.
  const section = readFileSync(`${path}.search`).subarray(24);
  const inline = Buffer.concat([readFileSync(path), section]);
  inline.writeUInt32LE(section.length, 32);
  inline.writeBigUInt64LE(xxh3.xxh64(Buffer.concat([inline.subarray(0, 24), inline.subarray(32)])), 24);
  await writeFile(path, inline);
  await writeFile(`${path}.search`, Buffer.alloc(0)); // whatever is beside it is not read
  const logged: string[] = [];
  const reopened = CandidateIndex.open(path, DIM, 1, 0, (m) => logged.push(m));
  assert.deepEqual(reopened.lastVerdicts, verdicts);
  assert.equal(logged.length, 0, logged.join('\n'));
  // Its next saved search rewrites the index without the section, and comes back.
  await reopened.pairs(options);
  reopened.keepVerdicts({ ...verdicts, settingsKey: 'after' });
  reopened.saveIfDue(path, true);
  assert.equal(readFileSync(path).readUInt32LE(32), 0);
  assert.equal(CandidateIndex.open(path, DIM, 1, 0, () => {}).lastVerdicts?.settingsKey, 'after');
});
