// The vector store (vectors.ts): float16 rows in a file, read from it when asked for (a million
// photos' rows would take 3.5 GB of memory), kept across reopening, cut back to what the catalog
// vouches for, and clear about rows it does not have.
import assert from 'node:assert/strict';
import { truncate, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { mulberry32 } from '../electron/engine/lsh.ts';
import { fromHalf, toHalf, VectorStore } from '../electron/engine/vectors.ts';
import { removeDir, tempDir } from './helpers/photos.ts';

const DIM = 1792; // the model's
const rand = mulberry32(9);
const randomVector = () => Float32Array.from({ length: DIM }, () => rand() * 4 - 1);
/** The vector as float16 keeps it. */
const asStored = (vector: Float32Array) => vector.map((value) => fromHalf(toHalf(value)));

let dir: string;
before(async () => {
  dir = await tempDir('vectors-');
});
after(async () => {
  await removeDir(dir);
});

test('rows read back as float16 keeps them, after reopening too; dotAndNorm agrees with read', () => {
  const path = join(dir, 'round.vectors');
  const vectors = Array.from({ length: 50 }, randomVector);
  let store = VectorStore.open(path, DIM, 0);
  assert.equal(store.append(vectors.slice(0, 20)), 0);
  assert.equal(store.append(vectors.slice(20)), 20);
  assert.equal(store.append([]), 50);
  assert.equal(store.rowCount, 50);
  const hashes = vectors.map((_, row) => store.hashRows(row, 1));
  store.close();

  store = VectorStore.open(path, DIM, 50);
  try {
    assert.equal(store.rowCount, 50);
    for (const [row, vector] of vectors.entries()) {
      const read = store.read(row);
      assert.deepEqual(read, asStored(vector), `row ${row}`);
      assert.ok(read.every((value, j) => Math.abs(value - vector[j]) <= 1e-3 * Math.max(1, Math.abs(vector[j]))));
      const probe = vectors[(row + 7) % vectors.length];
      let dot = 0;
      let norm = 0;
      for (let j = 0; j < DIM; j++) {
        dot += read[j] * probe[j];
        norm += read[j] * read[j];
      }
      const got = store.dotAndNorm(row, probe);
      assert.ok(Math.abs(got.dot - dot) < 1e-6 * Math.max(1, Math.abs(dot)) && Math.abs(got.norm - Math.sqrt(norm)) < 1e-6 * Math.sqrt(norm), `row ${row}`);
      assert.equal(store.hashRows(row, 1), hashes[row], 'the checksum is of the stored bytes');
    }
    assert.notEqual(store.hashRows(0, 2), store.hashRows(1, 2));
    assert.match(store.hashRows(0, 50), /^[0-9a-f]{16}$/);
  } finally {
    store.close();
  }
});

test('rows the catalog does not vouch for are cut off; a shorter file gives the rows it has; another dimension starts empty', async () => {
  const path = join(dir, 'committed.vectors');
  const vectors = Array.from({ length: 10 }, randomVector);
  let store = VectorStore.open(path, DIM, 0);
  store.append(vectors);
  store.close();

  store = VectorStore.open(path, DIM, 6); // a crash after rows 6-9 were written, before the catalog said so
  assert.equal(store.rowCount, 6);
  assert.deepEqual(store.read(5), asStored(vectors[5]));
  assert.throws(() => store.read(6), /out of range/);
  store.append([vectors[9]]);
  assert.deepEqual(store.read(6), asStored(vectors[9]), 'the next row goes where the cut ones were');
  store.close();

  // Half a row lost at the end (a torn write): whole rows only.
  await truncate(path, 32 + 6 * DIM * 2 + 100);
  store = VectorStore.open(path, DIM, 7);
  assert.equal(store.rowCount, 6);
  store.close();

  store = VectorStore.open(path, DIM + 1, 6);
  assert.equal(store.rowCount, 0, 'rows of another model are not read as this one');
  store.close();

  await writeFile(path, 'not a vector file at all');
  store = VectorStore.open(path, DIM, 3);
  assert.equal(store.rowCount, 0);
  store.append([vectors[0]]);
  assert.deepEqual(store.read(0), asStored(vectors[0]));
  store.close();
});

test('rows out of range, or a file cut while open, are refused with a clear error', async () => {
  const path = join(dir, 'refused.vectors');
  const store = VectorStore.open(path, DIM, 0);
  try {
    store.append([randomVector(), randomVector()]);
    for (const row of [-1, 2, 1.5]) assert.throws(() => store.read(row), /out of range/, String(row));
    assert.throws(() => store.hashRows(1, 2), /out of range/);
    assert.throws(() => store.append([new Float32Array(3)]), /3 values, expected 1792/);
    store.truncate(1);
    assert.equal(store.rowCount, 1);
    assert.throws(() => store.read(1), /out of range/);
    await truncate(path, 32 + 100); // another program cuts the file
    assert.throws(() => store.read(0), /vector file ends before byte/);
  } finally {
    store.close();
  }
});

test('the rows stay in the file: opening and reading a large store does not hold them in memory', () => {
  const path = join(dir, 'large.vectors');
  const rows = 12_000; // 43 MB of rows
  let store = VectorStore.open(path, DIM, 0);
  const some = Array.from({ length: 1000 }, randomVector);
  for (let first = 0; first < rows; first += some.length) store.append(some);
  store.close();
  // Buffers held, after a full collection (the rows read are garbage once looked at).
  setFlagsFromString('--expose-gc');
  const collectGarbage = runInNewContext('gc') as () => void;
  const held = () => {
    collectGarbage();
    collectGarbage(); // the second frees the backing stores of the arrays the first collected
    return process.memoryUsage().arrayBuffers;
  };
  const before = held();
  store = VectorStore.open(path, DIM, rows);
  try {
    let sum = 0;
    for (let row = 0; row < rows; row += 7) sum += store.read(row)[0];
    assert.ok(Number.isFinite(sum));
    assert.deepEqual(store.read(rows - 1), asStored(some[some.length - 1]));
    const grown = held() - before;
    assert.ok(grown < 4 * 2 ** 20, `the store holds ${(grown / 2 ** 20).toFixed(1)} MiB of buffers after opening ${((rows * DIM * 2) / 2 ** 20).toFixed(0)} MiB of rows`);
  } finally {
    store.close();
  }
});

test('hashRowRuns gives what hashRows gives for each run, across its 8 MiB chunks, with copies and gaps; out of order or range is refused', () => {
  const path = join(dir, 'runs.vectors');
  const store = VectorStore.open(path, DIM, 0);
  try {
    // 6,000 rows of 3.5 KiB: 21 MiB, three chunks of 2,340 rows.
    for (let first = 0; first < 6000; first += 500) store.append(Array.from({ length: 500 }, randomVector));
    for (const count of [1, 3]) {
      const firsts: number[] = [];
      for (let row = 0; row + count <= 6000; row += 1 + Math.floor(rand() * 4 * count)) {
        firsts.push(row);
        if (rand() < 0.1) firsts.push(row); // byte copies share their rows
      }
      firsts.push(2339 - count + 2, 2340, 6000 - count); // a run across a chunk's end, one at its start, the last
      firsts.sort((a, b) => a - b);
      const runs = store.hashRowRuns(firsts, count);
      assert.deepEqual(runs, firsts.map((first) => store.hashRows(first, count)), `${count} rows each`);
    }
    assert.deepEqual(store.hashRowRuns([], 1), []);
    assert.throws(() => store.hashRowRuns([5, 4], 1), /out of order/);
    assert.throws(() => store.hashRowRuns([5999], 2), /out of range/);
  } finally {
    store.close();
  }
});
