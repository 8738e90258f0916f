// Tests of the WebAssembly int8 dot products (electron/engine/int8-dots.ts) against plain
// JavaScript, and that the committed module is the one its source compiles to.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { Int8Rows } from '../electron/engine/int8-dots.ts';
import { mulberry32 } from '../electron/engine/lsh.ts';
import { int8DotsModuleSource } from '../scripts/build-wasm.ts';

function jsDot(a: ArrayLike<number>, b: ArrayLike<number>, bOffset: number, dim: number): number {
  let sum = 0;
  for (let j = 0; j < dim; j++) sum += a[j] * b[bOffset + j];
  return sum;
}

test('dots() equals the JavaScript dot product, extremes and a padded width included', () => {
  for (const dim of [256, 100, 16]) {
    const rand = mulberry32(dim);
    const rows = new Int8Rows(dim);
    assert.equal(rows.stride, Math.ceil(dim / 16) * 16);
    const count = 5000;
    rows.reserve(count);
    const plain = new Int8Array(count * dim);
    for (let i = 0; i < count; i++)
      for (let j = 0; j < dim; j++) {
        // Row 0 holds -128 everywhere: the largest sum the products can reach.
        const value = i === 0 ? -128 : Math.floor(rand() * 256) - 128;
        plain[i * dim + j] = value;
        rows.rows[i * rows.stride + j] = value;
      }
    const query = Int8Array.from({ length: dim }, (_, j) => (j % 3 === 0 ? -128 : Math.floor(rand() * 256) - 128));
    rows.setQuery(query);
    for (const [first, n] of [[0, Int8Rows.RUN], [Int8Rows.RUN, count - Int8Rows.RUN], [17, 3]]) {
      const got = Array.from(rows.dots(first, n));
      const want = Array.from({ length: n }, (_, i) => jsDot(query, plain, (first + i) * dim, dim));
      assert.deepEqual(got, want, `dim ${dim}, rows ${first}..${first + n}`);
    }
  }
});

test('above() and aboveAt() pass on exactly the rows whose float32 score beats the bar, with their dot products', () => {
  const dim = 100;
  const rand = mulberry32(5);
  const rows = new Int8Rows(dim, true);
  assert.equal(rows.stride, 112 + 16);
  const count = 3000;
  rows.reserve(count);
  const plain = new Int8Array(count * dim);
  const floats: number[][] = [];
  for (let i = 0; i < count; i++) {
    for (let j = 0; j < dim; j++) plain[i * dim + j] = rows.rows[i * rows.stride + j] = Math.floor(rand() * 256) - 128;
    floats.push([rand(), rand() - 0.5, rand() - 0.5].map(Math.fround));
    rows.setRowFloats(i, floats[i][0], floats[i][1], floats[i][2]);
  }
  const query = Int8Array.from({ length: dim }, () => Math.floor(rand() * 256) - 128);
  rows.setQuery(query);
  const [scale, offset] = [Math.fround(1e-5), Math.fround(0.7)];
  const f = Math.fround;
  const score = (i: number, dot: number) => f(f(f(f(f(dot) * scale) * floats[i][0]) + f(offset * floats[i][1])) + floats[i][2]);
  const bar = 0.4;
  const want = (ids: number[]) => ids.map((row, i) => ({ i, dot: jsDot(query, plain, row * dim, dim), row })).filter(({ row, dot }) => score(row, dot) > bar);
  const pairsOf = (n: number) => Array.from({ length: n }, (_, p) => ({ i: rows.found[2 * p], dot: rows.found[2 * p + 1] }));

  const first = 100;
  const n = rows.above(first, 2000, scale, offset, bar);
  const expected = want(Array.from({ length: 2000 }, (_, i) => first + i));
  assert.ok(expected.length > 100 && expected.length < 1900, `${expected.length} pass: the bar should split the rows`);
  assert.deepEqual(pairsOf(n), expected.map(({ i, dot }) => ({ i, dot })));

  const at = Uint32Array.from({ length: 1500 }, () => Math.floor(rand() * count));
  const m = rows.aboveAt(at, at.length, scale, offset, bar);
  assert.deepEqual(pairsOf(m), want(Array.from(at)).map(({ i, dot }) => ({ i, dot })));
  assert.equal(rows.aboveAt(at, 10, scale, offset, -Infinity), 10);

  assert.throws(() => rows.aboveAt(Uint32Array.of(count), 1, scale, offset, bar), /out of range/);
  assert.throws(() => new Int8Rows(dim).above(0, 1, scale, offset, bar), /without floats/);
  assert.throws(() => rows.setRowFloats(count, 0, 0, 0), /no floats/);
});

test('nearestRows() picks the row of highest float32 dot * weight for each vector, the first of equals', () => {
  for (const dim of [256, 100]) {
    const rand = mulberry32(dim + 1);
    const rowCount = 37;
    const rows = new Int8Rows(dim);
    rows.reserve(rowCount);
    const plainRows = new Int8Array(rowCount * dim);
    for (let r = 0; r < rowCount; r++) for (let j = 0; j < dim; j++) plainRows[r * dim + j] = rows.rows[r * rows.stride + j] = Math.floor(rand() * 256) - 128;
    const weights = Float32Array.from({ length: rowCount }, () => 0.5 + rand());
    // Rows 20 and 31 are copies of row 5, with its weight: a tie that row 5 must win.
    for (const copy of [20, 31]) {
      for (let j = 0; j < dim; j++) plainRows[copy * dim + j] = rows.rows[copy * rows.stride + j] = plainRows[5 * dim + j];
      weights[copy] = weights[5];
    }
    const want = (vectors: Int8Array, v: number) => {
      let best = 0;
      let bestScore = -Infinity;
      for (let r = 0; r < rowCount; r++) {
        let dot = 0;
        for (let j = 0; j < dim; j++) dot += vectors[v * dim + j] * plainRows[r * dim + j];
        const score = Math.fround(dot * weights[r]);
        if (score > bestScore) [best, bestScore] = [r, score];
      }
      return best;
    };
    // More than one call's worth of vectors, and counts that leave 1, 2 or 3 of a block of four.
    for (const count of [Int8Rows.RUN + 3, 1, 2, 7]) {
      const vectors = Int8Array.from({ length: count * dim }, () => Math.floor(rand() * 256) - 128);
      vectors.set(plainRows.subarray(5 * dim, 6 * dim), 0); // vector 0 is row 5 itself
      const got = new Int32Array(count);
      rows.nearestRows(vectors, weights, got);
      assert.deepEqual(Array.from(got), Array.from({ length: count }, (_, v) => want(vectors, v)), `dim ${dim}, ${count} vectors`);
      assert.equal(got[0], 5, 'a row with equal copies: the first');
    }
    assert.throws(() => rows.nearestRows(new Int8Array(dim), weights.subarray(1), new Int32Array(1)), /expected 1 vectors/);
    assert.throws(() => rows.nearestRows(new Int8Array(dim + 1), weights, new Int32Array(1)), /expected 1 vectors/);
  }
});

test('reserve() keeps the rows when the memory grows; out-of-range calls are refused', () => {
  const rows = new Int8Rows(32);
  rows.reserve(10);
  rows.rows.fill(3);
  rows.setQuery(new Int8Array(32).fill(2));
  rows.reserve(200_000); // 6 MB: the module's memory grows
  assert.equal(rows.rows.length, 200_000 * 32);
  assert.deepEqual(Array.from(rows.dots(0, 10)), new Array(10).fill(32 * 6));
  assert.deepEqual(Array.from(rows.dots(10, 2)), [0, 0]);
  assert.throws(() => rows.dots(199_999, 2), /out of range/);
  assert.throws(() => rows.dots(0, Int8Rows.RUN + 1), /out of range/);
  assert.throws(() => rows.setQuery(new Int8Array(31)), /expected 32 numbers/);
});

test('the committed module is what int8-dots.wat compiles to', async () => {
  const committed = readFileSync(new URL('../electron/engine/int8-dots-wasm.ts', import.meta.url), 'utf8');
  assert.equal(committed, await int8DotsModuleSource(), 'run npm run build:wasm');
});
