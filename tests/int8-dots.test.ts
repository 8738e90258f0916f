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
