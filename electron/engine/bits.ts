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
 * Hashes first .. end - 1 of a string of 16-hex-digit hashes (the catalog's form), as hashWords()
 * lays them out, without making BigInts: opening a library of 100,000 photos reads 6 million.
 */
export function hexWords(hex: string, first: number, end: number): Uint32Array {
  const out = new Uint32Array((end - first) * 2);
  for (let i = first; i < end; i++) {
    out[2 * (i - first)] = parseInt(hex.slice(i * 16 + 8, i * 16 + 16), 16);
    out[2 * (i - first) + 1] = parseInt(hex.slice(i * 16, i * 16 + 8), 16);
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
