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

/**
 * The 8×8 lowest DCT coefficients of a 32×32 grey image, as [v][u] (v: vertical frequency, u:
 * horizontal). Separable: rows first, then columns.
 */
export function lowFrequencies(grey: ArrayLike<number>): Float64Array {
  const n = PHASH_INPUT_SIZE;
  if (grey.length !== n * n) throw new Error(`phash needs ${n}×${n} pixels, got ${grey.length}`);
  const rows = new Float64Array(n * LOW); // [y][u]
  for (let y = 0; y < n; y++) {
    for (let u = 0; u < LOW; u++) {
      let sum = 0;
      for (let x = 0, p = y * n, c = u * n; x < n; x++) sum += grey[p + x] * COS_TABLE[c + x];
      rows[y * LOW + u] = sum;
    }
  }
  const coefficients = new Float64Array(LOW * LOW);
  for (let v = 0; v < LOW; v++) {
    for (let u = 0; u < LOW; u++) {
      let sum = 0;
      for (let y = 0, c = v * n; y < n; y++) sum += rows[y * LOW + u] * COS_TABLE[c + y];
      coefficients[v * LOW + u] = sum;
    }
  }
  return coefficients;
}

/** The hash of an 8×8 coefficient block: bit v·8+u set when that coefficient is above the median. */
export function hashFromCoefficients(coefficients: Float64Array): bigint {
  // The DC term (overall brightness) is left out of the median so a brightness change cannot flip many bits.
  const sorted = coefficients.slice(1).sort(); // a typed array sorts numerically
  const median = (sorted[31] + sorted[32]) / 2;
  let low = 0;
  let high = 0;
  for (let i = 0; i < 32; i++) if (coefficients[i] > median) low |= 1 << i;
  for (let i = 32; i < 64; i++) if (coefficients[i] > median) high |= 1 << (i - 32);
  return (BigInt(high >>> 0) << 32n) | BigInt(low >>> 0);
}

/** pHash of a 32×32 single-channel image (row-major, any numeric range). */
export function phashFromGrey(grey: ArrayLike<number>): bigint {
  return hashFromCoefficients(lowFrequencies(grey));
}

/**
 * The 7 non-identity rotations/mirrors, as what each does to the DCT coefficients: mirroring a
 * side flips the sign of its odd frequencies (cos of the mirrored position is (-1)^u times the
 * original's), and a transpose swaps the two frequencies. So the turned images' hashes come from the
 * one block of coefficients, without turning and transforming the pixels 7 more times.
 * Each entry: transpose (read [u][v]), flip the sign of odd u, of odd v.
 */
const TURNS: { transpose: boolean; oddU: boolean; oddV: boolean }[] = [
  { transpose: true, oddU: true, oddV: false }, // rotate 90° clockwise: out(x, y) = in(y, N-1-x)
  { transpose: false, oddU: true, oddV: true }, // rotate 180°
  { transpose: true, oddU: false, oddV: true }, // rotate 270° clockwise: out(x, y) = in(N-1-y, x)
  { transpose: false, oddU: true, oddV: false }, // mirror left-right
  { transpose: false, oddU: false, oddV: true }, // mirror top-bottom
  { transpose: true, oddU: false, oddV: false }, // transpose
  { transpose: true, oddU: true, oddV: true }, // anti-transpose
];

/** The 8×8 coefficients of the image turned or mirrored as `turn` says. */
function turnedCoefficients(coefficients: Float64Array, turn: (typeof TURNS)[number]): Float64Array {
  const out = new Float64Array(LOW * LOW);
  for (let v = 0; v < LOW; v++) {
    for (let u = 0; u < LOW; u++) {
      const value = turn.transpose ? coefficients[u * LOW + v] : coefficients[v * LOW + u];
      const negate = ((turn.oddU ? u : 0) + (turn.oddV ? v : 0)) & 1;
      out[v * LOW + u] = negate ? -value : value;
    }
  }
  return out;
}

/** The whole image's hash, then its hashes under the 7 non-identity rotations/mirrors (rotation-invariant matching). */
export function phashWithTurns(grey: ArrayLike<number>): { phash: bigint; turns: bigint[] } {
  const coefficients = lowFrequencies(grey);
  return { phash: hashFromCoefficients(coefficients), turns: TURNS.map((turn) => hashFromCoefficients(turnedCoefficients(coefficients, turn))) };
}

export function phashToHex(hash: bigint): string {
  return hash.toString(16).padStart(16, '0');
}

export function phashFromHex(hex: string): bigint {
  return BigInt('0x' + hex);
}

/**
 * A list of 64-bit hashes as bytes, 8 each, big-endian (the order of their hex digits), end to end:
 * the catalog's form of the variants, in memory and on disk (half the bytes of hex, and in memory
 * one object per photo, not a string of 976 characters).
 */
export function hashesToBytes(hashes: bigint[]): Buffer {
  const bytes = Buffer.allocUnsafe(hashes.length * 8);
  hashes.forEach((hash, i) => bytes.writeBigUInt64BE(hash, i * 8));
  return bytes;
}

/** 16-digit lowercase hex words end to end. A loop, not a regular expression: 61 million digits at 100,000 photos, checked on every open. */
export function isHexWords(text: string): boolean {
  if (text.length % 16 !== 0) return false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (!((c >= 48 && c <= 57) || (c >= 97 && c <= 102))) return false; // 0-9, a-f
  }
  return true;
}

/**
 * Hex digits as bytes (formats 0-3 of the catalog kept the variant hashes as hex). Not
 * Buffer.from(hex, 'hex'): for 61 hashes that holds 910 bytes of its shared pool, not 488 (measured).
 */
export function bytesFromHex(hex: string): Buffer {
  const bytes = Buffer.allocUnsafe(hex.length >> 1);
  bytes.write(hex, 'hex');
  return bytes;
}

export function hashesFromBytes(bytes: Uint8Array): bigint[] {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const hashes = new Array<bigint>(bytes.length >> 3);
  for (let i = 0; i < hashes.length; i++) hashes[i] = view.getBigUint64(i * 8);
  return hashes;
}
