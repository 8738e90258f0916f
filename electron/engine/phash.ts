// 64-bit DCT perceptual hash (the classic "pHash"): 32×32 grey → 2-D DCT → the 8×8 lowest
// frequencies → one bit per coefficient, set when above their median. Robust to resizing,
// re-compression, colour edits and mild blur; complementary to the CNN, which is blur-sensitive.

export const PHASH_INPUT_SIZE = 32;
const LOW = 8;

// cos((2x+1)·u·π / 2N) for the 8 lowest u, precomputed once.
const COS_TABLE = (() => {
  const n = PHASH_INPUT_SIZE;
  const table = new Float64Array(LOW * n);
  for (let u = 0; u < LOW; u++) for (let x = 0; x < n; x++) table[u * n + x] = Math.cos(((2 * x + 1) * u * Math.PI) / (2 * n));
  return table;
})();

/** pHash of a 32×32 single-channel image (row-major, any numeric range). */
export function phashFromGrey(grey: ArrayLike<number>): bigint {
  const n = PHASH_INPUT_SIZE;
  if (grey.length !== n * n) throw new Error(`phash needs ${n}×${n} pixels, got ${grey.length}`);
  // Separable DCT, computing only the 8×8 low-frequency block: rows first, then columns.
  const rows = new Float64Array(n * LOW); // [y][u]
  for (let y = 0; y < n; y++) {
    for (let u = 0; u < LOW; u++) {
      let sum = 0;
      for (let x = 0; x < n; x++) sum += grey[y * n + x] * COS_TABLE[u * n + x];
      rows[y * LOW + u] = sum;
    }
  }
  const coefficients = new Float64Array(LOW * LOW); // [v][u]
  for (let v = 0; v < LOW; v++) {
    for (let u = 0; u < LOW; u++) {
      let sum = 0;
      for (let y = 0; y < n; y++) sum += rows[y * LOW + u] * COS_TABLE[v * n + y];
      coefficients[v * LOW + u] = sum;
    }
  }
  // The DC term (overall brightness) is left out of the median so a brightness change cannot flip many bits.
  const sorted = Array.from(coefficients.subarray(1)).sort((a, b) => a - b);
  const median = (sorted[31] + sorted[32]) / 2;
  let hash = 0n;
  for (let i = 0; i < LOW * LOW; i++) if (coefficients[i] > median) hash |= 1n << BigInt(i);
  return hash;
}

/** The 8 rotations/mirrors of a square grey image (identity first). */
export function dihedralVariants(grey: ArrayLike<number>, size = PHASH_INPUT_SIZE): Float64Array[] {
  const at = (x: number, y: number) => grey[y * size + x];
  const transforms: ((x: number, y: number) => number)[] = [
    (x, y) => at(x, y), // identity
    (x, y) => at(y, size - 1 - x), // rotate 90° clockwise
    (x, y) => at(size - 1 - x, size - 1 - y), // rotate 180°
    (x, y) => at(size - 1 - y, x), // rotate 270° clockwise
    (x, y) => at(size - 1 - x, y), // mirror left-right
    (x, y) => at(x, size - 1 - y), // mirror top-bottom
    (x, y) => at(y, x), // transpose
    (x, y) => at(size - 1 - y, size - 1 - x), // anti-transpose
  ];
  return transforms.map((read) => {
    const out = new Float64Array(size * size);
    for (let y = 0; y < size; y++) for (let x = 0; x < size; x++) out[y * size + x] = read(x, y);
    return out;
  });
}

/** Hashes of the image under the 7 non-identity rotations/mirrors, for rotation-invariant matching. */
export function phashVariants(grey: ArrayLike<number>): bigint[] {
  return dihedralVariants(grey).slice(1).map(phashFromGrey);
}

export function hammingDistance(a: bigint, b: bigint): number {
  let x = a ^ b;
  let count = 0;
  while (x) {
    x &= x - 1n;
    count++;
  }
  return count;
}

export function phashToHex(hash: bigint): string {
  return hash.toString(16).padStart(16, '0');
}

export function phashFromHex(hex: string): bigint {
  return BigInt('0x' + hex);
}
