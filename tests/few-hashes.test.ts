// FewHashes (few-hashes.ts) finds, among a few 64-bit hashes, exactly those within d bits of a given
// one: checked against one-by-one comparison for every distance the engine uses and beyond, with
// hashes planted at every distance up to d + 2, whether it uses its tables or compares one by one.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { popcount32 } from '../electron/engine/bits.ts';
import { FewHashes } from '../electron/engine/few-hashes.ts';
import { mulberry32 } from '../electron/engine/lsh.ts';

const rand = mulberry32(5);
const word = () => Math.floor(rand() * 2 ** 32) | 0;
/** (lo, hi) with `bits` distinct bits of (lo, hi) flipped. */
function flipped(lo: number, hi: number, bits: number): [number, number] {
  const positions = new Set<number>();
  while (positions.size < bits) positions.add(Math.floor(rand() * 64));
  for (const p of positions) {
    if (p < 32) lo ^= 1 << p;
    else hi ^= 1 << (p - 32);
  }
  return [lo | 0, hi | 0];
}
/** (lo, hi) with `bits` bits flipped, evenly spaced from a fraction `phase` of the spacing on. */
function spread(lo: number, hi: number, bits: number, phase: number): [number, number] {
  for (let i = 0; i < bits; i++) {
    const p = Math.floor(((i + phase) * 64) / bits);
    if (p < 32) lo ^= 1 << p;
    else hi ^= 1 << (p - 32);
  }
  return [lo | 0, hi | 0];
}
/** 8-byte big-endian hashes (phash.ts hashesToBytes) at offset 5 of a buffer: three (lo, hi) `other`, then (lo, hi), then two more `other`. */
function bytesAround(lo: number, hi: number, otherLo: number, otherHi: number): Uint8Array {
  const buffer = Buffer.alloc(5 + 6 * 8 + 3);
  [[otherLo, otherHi], [otherLo, otherHi], [otherLo, otherHi], [lo, hi], [otherLo, otherHi], [otherLo, otherHi]].forEach(([l, h], i) => {
    buffer.writeUInt32BE(h >>> 0, 5 + 8 * i);
    buffer.writeUInt32BE(l >>> 0, 5 + 8 * i + 4);
  });
  return buffer.subarray(5, 5 + 6 * 8);
}
const distance = (aLo: number, aHi: number, bLo: number, bHi: number) => popcount32(aLo ^ bLo) + popcount32(aHi ^ bHi);

test('the hashes within d bits are exactly those a one-by-one comparison finds, for few hashes and many, and every d', () => {
  for (const count of [1, 5, 40, 300, 2000]) {
    for (const maxDistance of [0, 1, 3, 6, 10, 15, 24]) {
      const lo = Int32Array.from({ length: count }, word);
      const hi = Int32Array.from({ length: count }, word);
      const few = new FewHashes(lo, hi, maxDistance);
      let within = 0;
      for (let q = 0; q < 400; q++) {
        // Half the looked-up hashes are near one of the few, at 0..d+2 bits (a quarter with the flips
        // spread evenly over the 64 bits, the hardest case for the chunks); half are random.
        const [qLo, qHi] = q % 4 === 0 ? spread(lo[q % count], hi[q % count], q % (maxDistance + 3), (q % 7) / 7) : q % 2 === 0 ? flipped(lo[q % count], hi[q % count], q % (maxDistance + 3)) : [word(), word()];
        const expected: number[] = [];
        for (let k = 0; k < count; k++) if (distance(qLo, qHi, lo[k], hi[k]) <= maxDistance) expected.push(k);
        const found = new Set<number>();
        // Looked up where it lies in catalog-style bytes: big-endian, at an odd offset, between
        // hashes equal to one of the few (outside the range asked for: never visited).
        few.forEachWithinBytes(bytesAround(qLo, qHi, lo[0], hi[0]), 3, 4, (k) => found.add(k));
        assert.deepEqual([...found].sort((a, b) => a - b), expected, `count ${count}, d ${maxDistance}, look-up ${q}`);
        within += expected.length;
      }
      assert.ok(within >= 60, `enough hashes within d (${within}) for count ${count}, d ${maxDistance}`);
      assert.ok(few.checksPerLookup <= count, 'never estimated dearer than one by one');
    }
  }
});

test('the tables are worth it from some twenty hashes on at the crop distance, some forty at the turned one, and refuse a distance past 63', () => {
  // Measured over 6 million hashes: at 6 bits the tables cost 36 ns a hash with 20 hashes, one by one 40 (35 and 21 with 10);
  // at 10 bits (11 chunks) 131 and 74 with 30 hashes, 223 and 244 with 100.
  const hashes = (count: number) => [Int32Array.from({ length: count }, word), Int32Array.from({ length: count }, word)] as const;
  assert.equal(new FewHashes(...hashes(1), 6).checksPerLookup, 1);
  assert.equal(new FewHashes(...hashes(10), 6).checksPerLookup, 10, 'one by one');
  assert.ok(new FewHashes(...hashes(20), 6).checksPerLookup < 20, 'the tables');
  assert.equal(new FewHashes(...hashes(30), 10).checksPerLookup, 30, 'one by one');
  assert.ok(new FewHashes(...hashes(100), 10).checksPerLookup < 100, 'the tables');
  assert.throws(() => new FewHashes(...hashes(3), 64), /maxDistance must be 0\.\.63/);
  assert.throws(() => new FewHashes(new Int32Array(2), new Int32Array(3), 6), /as many/);
});
