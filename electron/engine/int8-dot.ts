// The vector index's compact copy (lsh.ts, coarse-lists.ts): unit vectors in int8, and the inner loop
// of every search over them.

/** unit . codes[offset .. offset + length), four accumulators (about twice as fast in V8). */
export function dotFloatInt8(unit: Float64Array, codes: Int8Array, offset: number, length: number): number {
  let s0 = 0;
  let s1 = 0;
  let s2 = 0;
  let s3 = 0;
  let j = 0;
  for (; j + 3 < length; j += 4) {
    s0 += unit[j] * codes[offset + j];
    s1 += unit[j + 1] * codes[offset + j + 1];
    s2 += unit[j + 2] * codes[offset + j + 2];
    s3 += unit[j + 3] * codes[offset + j + 3];
  }
  for (; j < length; j++) s0 += unit[j] * codes[offset + j];
  return s0 + s1 + s2 + s3;
}

/** Writes `unit` in int8 (scaled so its largest coordinate is 127) at out[offset ..]; returns 1 / |int8 vector|. */
export function quantise(unit: ArrayLike<number>, out: Int8Array, offset: number): number {
  let maxAbs = 0;
  for (let j = 0; j < unit.length; j++) maxAbs = Math.max(maxAbs, Math.abs(unit[j]));
  const scale = maxAbs > 0 ? 127 / maxAbs : 0;
  let sq = 0;
  for (let j = 0; j < unit.length; j++) {
    const q = Math.round(unit[j] * scale);
    out[offset + j] = q;
    sq += q * q;
  }
  return sq > 0 ? 1 / Math.sqrt(sq) : 0;
}
