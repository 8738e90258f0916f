// Bit arithmetic shared by the hash indexes and the matcher: 64-bit hashes are handled as two 32-bit
// halves, because BigInt arithmetic is slow in the loops that compare millions of them.

/** Set bits of a 32-bit integer. */
export function popcount32(x: number): number {
  x = x - ((x >>> 1) & 0x55555555);
  x = (x & 0x33333333) + ((x >>> 2) & 0x33333333);
  x = (x + (x >>> 4)) & 0x0f0f0f0f;
  return Math.imul(x, 0x01010101) >>> 24;
}

/**
 * Hashes first .. end - 1 of 8-byte big-endian hashes end to end (the catalog's form, phash.ts
 * hashesToBytes), as hashWords() lays them out, without making BigInts: the first search of a
 * library of a million photos reads 61 million.
 */
export function bytesWords(bytes: Uint8Array, first: number, end: number): Uint32Array {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const out = new Uint32Array((end - first) * 2);
  for (let i = first; i < end; i++) {
    out[2 * (i - first)] = view.getUint32(i * 8 + 4);
    out[2 * (i - first) + 1] = view.getUint32(i * 8);
  }
  return out;
}

/** 64-bit hashes as [lo, hi] 32-bit halves, one after another. */
export function hashWords(hashes: bigint[]): Uint32Array {
  const out = new Uint32Array(hashes.length * 2);
  hashes.forEach((hash, i) => {
    out[2 * i] = Number(hash & 0xffffffffn);
    out[2 * i + 1] = Number((hash >> 32n) & 0xffffffffn);
  });
  return out;
}
