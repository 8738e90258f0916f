// The candidate index (candidates.ts) keeps the variant-hash pairs of a regrouping and, when few
// photos changed, updates them instead of searching again: the pairs must be exactly those of a new
// search over the same photos (synthetic hashes with planted turned and cropped matches both ways).
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { CandidateIndex, type IndexedPhoto } from '../electron/engine/candidates.ts';
import { mulberry32 } from '../electron/engine/lsh.ts';
import { removeDir, tempDir } from './helpers/photos.ts';

const DIM = 32;
const rand = mulberry32(9);
const random64 = () => (BigInt(Math.floor(rand() * 2 ** 32)) << 32n) | BigInt(Math.floor(rand() * 2 ** 32));
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

const indexed = (photos: Photo[]): IndexedPhoto[] => photos.map((p) => ({ base: p.base, phash: p.phash, phashVariants: () => p.variants }));
const options = { minCosine: 0.95, phashMaxDistance: 10, rotatedMaxDistance: 10, cropMaxDistance: 6 };
const sorted = (pairs: Array<[number, number]>) => pairs.map(([a, b]) => `${a} ${b}`).sort();

const dir = await tempDir('candidates-');
after(() => removeDir(dir));
let opened = 0;
const fresh = () => CandidateIndex.open(join(dir, `index-${opened++}`), DIM, 1, 0, () => {});

test('after photos are added and removed, the kept and updated variant pairs equal a new search', async () => {
  const photos = Array.from({ length: 400 }, (_, i) => makePhoto(i));
  for (let i = 0; i < 40; i++) plant(photos[i + 40], photos[i], i % 7, 1 + (i % 9)); // turns
  for (let i = 0; i < 40; i++) plant(photos[i + 120], photos[i + 80], 7 + (i % 54), i % 6); // crops
  const byBase = new Map(photos.map((p) => [p.base, p]));
  const readVector = (row: number) => byBase.get(row)!.vector;

  const index = fresh();
  index.sync(indexed(photos), readVector);
  const first = await index.pairs(options);
  assert.equal(index.lastVariantSearch, 'new');
  assert.ok(first.length >= 80, `the planted pairs are found (${first.length})`);

  // Remove some originals and copies; add photos matching old ones both ways, and each other.
  const removed = new Set([3, 45, 81, 125, 200, 201]);
  const added = Array.from({ length: 30 }, (_, i) => makePhoto(1000 + i));
  for (let i = 0; i < 10; i++) plant(added[i], photos[200 + i], i % 7, 2 + (i % 8)); // a new photo's turn is an old photo
  for (let i = 10; i < 20; i++) added[i].phash = near(photos[300 + i].variants[7 + i], i % 6); // a new photo is a crop of an old one
  for (let i = 20; i < 25; i++) added[i].phash = near(photos[300 + i].variants[i % 7], 2 + i % 8); // a new photo is an old one turned
  plant(added[26], added[25], 3, 4); // new and new
  for (let i = 10; i < 20; i++) plant(photos[220 + i], added[i], 7 + i, i % 6); // a changed photo is a crop of a new one
  const library = [...photos.filter((p) => !removed.has(p.base)), ...added];
  for (const p of added) byBase.set(p.base, p);
  // The old photos whose variants were planted above changed too: in the app a changed file gets
  // new vector rows, i.e. it is removed and added. Model that the same way.
  const changedOld = photos.slice(230, 240).map((p) => ({ ...p, base: 2000 + p.base }));
  for (const p of changedOld) byBase.set(p.base, p);
  const final = [...library.filter((p) => p.base < 230 || p.base >= 240), ...changedOld];

  index.sync(indexed(final), readVector);
  const updated = await index.pairs(options);
  assert.equal(index.lastVariantSearch, 'updated', 'few photos changed: the last pairs were updated');

  const reference = fresh();
  reference.sync(indexed(final), readVector);
  const searched = await reference.pairs(options);
  assert.equal(reference.lastVariantSearch, 'new');
  assert.deepEqual(sorted(updated), sorted(searched));
  const involving = (pairs: Array<[number, number]>, bases: Set<number>) => pairs.filter(([a, b]) => bases.has(a) || bases.has(b)).length;
  assert.ok(involving(searched, new Set(added.map((p) => p.base))) >= 26, 'new photos pair with old and new ones, both ways');
  assert.ok(involving(searched, new Set(changedOld.map((p) => p.base))) >= 10, 'old photos that are crops of new ones are found');
  assert.equal(involving(updated, removed), 0, 'no pair of a removed photo is kept');

  // Other distances: a new search.
  await index.pairs({ ...options, cropMaxDistance: 4 });
  assert.equal(index.lastVariantSearch, 'new');
});
