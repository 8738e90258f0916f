// Deciding whether two photos are the same photo (near-duplicates), another shot of one scene
// (similar), or unrelated, from the signals decode.ts and the model make (docs/MATCHING.md has the
// measurements behind every rule and threshold):
// - the 64-bit DCT pHash (structure at 32×32): survives resizing to thumbnails, re-encoding, colour
//   edits and blur, where the CNN is weak; but another frame of a video or burst has it too;
// - the 256-bit detail hash (structure at 64×64): kept by those same edits, broken by a small move
//   of camera or subject: it tells a copy from the next frame;
// - pHashes of crop windows and of the rotations/mirrors: a cropped or turned copy's whole-image
//   hash is one of them;
// - the CNN embedding (semantics), by cosine: the "similar" tier (same scene), and copies whose
//   pixels changed too much for the hashes (large watermark, strong colour changes).
import { hashWords, popcount32 } from './bits.ts';
import { splitVariants, type ModelView } from './decode.ts';
import { MODEL_VIEWS } from './defaults.ts';
import type { MatchSettings } from './types.ts';

/** What matching needs of one distinct photo (one per content hash). */
export interface PhotoSignature {
  /** L2-normalised embeddings, one per model view (MODEL_VIEWS order; [0] is the whole image). */
  vectors: Float32Array[];
  phash: bigint;
  /** decode.ts's variant hashes: 7 rotations/mirrors, crop windows, detail words; or null. */
  phashVariants: bigint[] | null;
  /** Pixel size as displayed (EXIF orientation applied), when known: the crop and detail rules use it. */
  dimensions?: { width: number; height: number } | null;
}

/**
 * Below this many pixels on its short side a photo has no structure at the detail hash's 64×64 scale
 * (re-encoding a 64-pixel icon moves a quarter of its bits): pairs with such a photo are judged
 * without the detail hash, by the pHash alone, as before the detail hash existed.
 */
export const DETAIL_MIN_SIDE = 96;

/**
 * A photo counts as a crop of another only when it has fewer pixels: at most this share of the
 * other's (a 95 % window keeps 90 % of them). Consecutive frames of a video or burst have the same
 * size, and the next frame of a panning camera looks like a slightly shifted crop of this one.
 */
export const CROP_MAX_AREA_RATIO = 0.97;

export interface PairEvidence {
  /** CNN, whole image against whole image. */
  cosine: number;
  /** Best CNN whole-image-against-crop-view cosine, either way round; 0 without crop views. */
  cropCosine: number;
  phashDistance: number;
  /** Bits (of 255) apart in the detail hash; null when either photo has none (catalogued before it existed). */
  detailDistance: number | null;
  /** Smallest distance between one photo's whole-image pHash and a crop window of the other (one with more pixels, when sizes are known); 64 if none. */
  cropPhashDistance: number;
  /** Smallest distance between one photo and a rotation/mirror of the other; 64 if not computed. */
  rotatedPhashDistance: number;
  /**
   * Detail-hash distance between one photo and the other turned the way its rotation variant matched
   * (the best over variants within MatchLimits.rotatedPhashMax); null when not computed or unknown.
   */
  rotatedDetailDistance: number | null;
}

export type MatchTier = 'near' | 'similar';

export interface MatchVerdict {
  tier: MatchTier | null;
  /** In [0, 1]; higher is more alike. */
  score: number;
  /** Not clearly unrelated (see RELATED): what two copies of one photo in a group must at least be. */
  related: boolean;
}

/**
 * Thresholds that are not user settings, measured with npm run eval (docs/QUALITY.md); the user-facing
 * ones (near/similar cosine, pHash distance, rotation) are in MatchSettings.
 */
export interface MatchLimits {
  /** Detail-hash distance up to which a pHash match is a copy, not another frame. */
  detailMax: number;
  /** Detail-hash distance up to which a CNN match is a copy (its pixels may have changed more). */
  cnnDetailMax: number;
  /** A crop window's pHash against the other photo's whole pHash: many comparisons, so a strict bar. */
  cropPhashMax: number;
  /** The CNN must agree with a crop-window match at least this much (whole against crop view, or whole). */
  cropMinCosine: number;
  /** A rotation/mirror's pHash against the other photo's: 7 comparisons, so a stricter bar than phashMaxDistance. */
  rotatedPhashMax: number;
  /** CNN cosine (whole or crop view) from which two photos count as related (see isRelated). */
  relatedCosine: number;
}

export const MATCH_LIMITS: MatchLimits = {
  detailMax: 28,
  cnnDetailMax: 28,
  cropPhashMax: 6,
  cropMinCosine: 0.6,
  rotatedPhashMax: 10,
  relatedCosine: 0.3,
};

/**
 * Loose versions of the hash rules: two photos that meet none of them, nor MatchLimits.relatedCosine,
 * are clearly unrelated. Two copies of one photo nearly always meet one (a cropped and a rotated copy
 * are rarely near-duplicates of each other, but their CNN cosine stays above the bar); measured in
 * docs/QUALITY.md.
 */
export const RELATED = { phash: 16, cropPhash: 10, rotatedPhash: 10 };

/** The rotation rule's bar, for candidate searches over the rotation variants (candidates.ts). */
export const ROTATED_PHASH_MAX = MATCH_LIMITS.rotatedPhashMax;

export function dot(a: Float32Array, b: Float32Array): number {
  // Four partial sums: about twice as fast in V8 as one, and this runs for every candidate pair.
  let s0 = 0;
  let s1 = 0;
  let s2 = 0;
  let s3 = 0;
  const n = a.length - (a.length % 4);
  for (let i = 0; i < n; i += 4) {
    s0 += a[i] * b[i];
    s1 += a[i + 1] * b[i + 1];
    s2 += a[i + 2] * b[i + 2];
    s3 += a[i + 3] * b[i + 3];
  }
  for (let i = n; i < a.length; i++) s0 += a[i] * b[i];
  return s0 + s1 + s2 + s3;
}

export function normalise(vector: Float32Array): Float32Array {
  const norm = Math.sqrt(dot(vector, vector)) || 1;
  const out = new Float32Array(vector.length);
  for (let i = 0; i < vector.length; i++) out[i] = vector[i] / norm;
  return out;
}

/** Which model views are crops of the whole (compared against the other photo's whole image). */
const CROP_VIEWS = new Set<ModelView>(['center90', 'center80', 'center70', 'center60', 'topLeft75', 'topRight75', 'bottomLeft75', 'bottomRight75']);

/** A signature's hashes as 32-bit halves, made once per signature: BigInt arithmetic is slow. */
interface HashWords {
  phash: Uint32Array; // [lo, hi]
  rotations: Uint32Array | null; // 7 × [lo, hi]
  windows: Uint32Array; // n × [lo, hi]
  detail: Uint32Array | null; // DETAIL_WORDS × [lo, hi]
  /** The detail hash under each of the 7 rotations/mirrors (variant order), made when first needed. */
  turnedDetail: Uint32Array[] | null;
}

const wordsCache = new WeakMap<PhotoSignature, HashWords>();

function wordsOf(signature: PhotoSignature): HashWords {
  let words = wordsCache.get(signature);
  if (!words) {
    // Catalogued before the crop windows and detail hash existed: only the 7 rotations.
    const parts = signature.phashVariants ? splitVariants(signature.phashVariants) : null;
    words = {
      phash: hashWords([signature.phash]),
      rotations: parts ? hashWords(parts.rotations) : null,
      windows: parts ? hashWords(parts.windows) : new Uint32Array(0),
      detail: parts?.detail ? hashWords(parts.detail) : null,
      turnedDetail: null,
    };
    wordsCache.set(signature, words);
  }
  return words;
}

// ---- The detail hash of a turned photo, without decoding it again ----
// The detail hash is the signs of the DCT coefficients C(u, v) (u across, v down; bit v·16 + u).
// Turning or mirroring the image only moves and negates coefficients: mirroring left-right gives
// (-1)^u·C(u, v), upside down (-1)^v·C(u, v), transposing C(v, u); the rotations are products of
// those. So each variant's detail hash is a fixed permutation of bits, some of them inverted.

const DETAIL_SIDE = 16;

/** Turns whose pHash is this close get their detail distance measured (above any rotation bar in use). */
const TURNED_DETAIL_SEARCH = 16;

/** Per variant (decode.ts order: 90°, 180°, 270°, mirror ←→, mirror ↕, transpose, anti-transpose): whether it transposes, and the sign rule. */
const TURNS: { transpose: boolean; sign: (u: number, v: number) => number }[] = [
  { transpose: true, sign: (u) => u }, // rotate 90° clockwise: (-1)^u·C(v, u)
  { transpose: false, sign: (u, v) => u + v }, // rotate 180°
  { transpose: true, sign: (_, v) => v }, // rotate 270° clockwise: (-1)^v·C(v, u)
  { transpose: false, sign: (u) => u }, // mirror left-right
  { transpose: false, sign: (_, v) => v }, // mirror top-bottom
  { transpose: true, sign: () => 0 }, // transpose
  { transpose: true, sign: (u, v) => u + v }, // anti-transpose
];

/** The detail hash (DETAIL_WORDS × [lo, hi] words) of the image turned by variant `turn`. */
export function turnDetail(detail: Uint32Array, turn: number): Uint32Array {
  const { transpose, sign } = TURNS[turn];
  const out = new Uint32Array(detail.length);
  for (let v = 0; v < DETAIL_SIDE; v++) {
    for (let u = 0; u < DETAIL_SIDE; u++) {
      if (u === 0 && v === 0) continue; // DC: not in the hash
      const from = transpose ? u * DETAIL_SIDE + v : v * DETAIL_SIDE + u;
      let bit = (detail[from >> 5] >>> (from & 31)) & 1;
      if (sign(u, v) & 1) bit ^= 1;
      const to = v * DETAIL_SIDE + u;
      if (bit) out[to >> 5] |= 1 << (to & 31);
    }
  }
  return out;
}

function detailDistanceOf(a: Uint32Array, b: Uint32Array): number {
  let sum = 0;
  for (let w = 0; w < a.length; w++) sum += popcount32(a[w] ^ b[w]);
  return sum;
}

/** Whether `crop` may be a crop of `whole`: true unless both sizes are known and `crop` is not the smaller. */
function mayBeCropOf(crop: PhotoSignature, whole: PhotoSignature): boolean {
  if (!crop.dimensions || !whole.dimensions) return true;
  return crop.dimensions.width * crop.dimensions.height <= CROP_MAX_AREA_RATIO * whole.dimensions.width * whole.dimensions.height;
}

function hasDetailScale(signature: PhotoSignature): boolean {
  return !signature.dimensions || Math.min(signature.dimensions.width, signature.dimensions.height) >= DETAIL_MIN_SIDE;
}

/** Hamming distance between hash `i` of `a` and hash `j` of `b` (each two 32-bit words). */
function distance(a: Uint32Array, i: number, b: Uint32Array, j: number): number {
  return popcount32(a[2 * i] ^ b[2 * j]) + popcount32(a[2 * i + 1] ^ b[2 * j + 1]);
}

function smallestDistance(hash: Uint32Array, others: Uint32Array): number {
  let best = 64;
  for (let j = 0; j < others.length / 2; j++) best = Math.min(best, distance(hash, 0, others, j));
  return best;
}

/**
 * All the evidence about a pair. `views` names the entries of each signature's `vectors` (the
 * engine's MODEL_VIEWS unless the eval says otherwise).
 */
export function comparePhotos(a: PhotoSignature, b: PhotoSignature, withRotations: boolean, views: readonly ModelView[] = MODEL_VIEWS): PairEvidence {
  const cosine = dot(a.vectors[0], b.vectors[0]);
  let cropCosine = 0;
  for (let v = 1; v < Math.min(a.vectors.length, b.vectors.length, views.length); v++) {
    if (CROP_VIEWS.has(views[v])) cropCosine = Math.max(cropCosine, dot(a.vectors[0], b.vectors[v]), dot(a.vectors[v], b.vectors[0]));
  }
  const wa = wordsOf(a);
  const wb = wordsOf(b);
  const phashDistance = distance(wa.phash, 0, wb.phash, 0);
  // Both have a detail hash, and enough pixels for it to mean something.
  const detailComparable = wa.detail !== null && wb.detail !== null && hasDetailScale(a) && hasDetailScale(b);
  const detailDistance = detailComparable ? detailDistanceOf(wa.detail!, wb.detail!) : null;
  const cropPhashDistance = Math.min(mayBeCropOf(a, b) ? smallestDistance(wa.phash, wb.windows) : 64, mayBeCropOf(b, a) ? smallestDistance(wb.phash, wa.windows) : 64);
  let rotatedPhashDistance = 64;
  let rotatedDetailDistance: number | null = null;
  if (withRotations && wb.rotations) {
    for (let turn = 0; turn < wb.rotations.length / 2; turn++) {
      const d = distance(wa.phash, 0, wb.rotations, turn);
      rotatedPhashDistance = Math.min(rotatedPhashDistance, d);
      // Only turns that could pass the rotation rule need their detail distance.
      if (d > TURNED_DETAIL_SEARCH || !detailComparable) continue;
      wb.turnedDetail ??= TURNS.map((_, t) => turnDetail(wb.detail!, t));
      const turned = detailDistanceOf(wa.detail!, wb.turnedDetail[turn]);
      rotatedDetailDistance = rotatedDetailDistance === null ? turned : Math.min(rotatedDetailDistance, turned);
    }
  }
  return { cosine, cropCosine, phashDistance, detailDistance, cropPhashDistance, rotatedPhashDistance, rotatedDetailDistance };
}

/** pHash distance as a similarity in [0, 1] (0 bits apart → 1). */
export function phashSimilarity(distance: number): number {
  return 1 - distance / 64;
}

/** Which rule made a pair near-duplicates (for the eval and for explaining a group). */
export type NearReason = 'hash' | 'crop' | 'rotation' | 'cnn';

/** The rule that makes this pair near-duplicates, or null. */
export function nearReason(evidence: PairEvidence, settings: MatchSettings, limits: MatchLimits = MATCH_LIMITS): NearReason | null {
  const detail = evidence.detailDistance;
  // Same structure at 32×32 and at 64×64: a resized, re-encoded or recoloured copy. Without a
  // detail hash (older catalog entries) the pHash alone decides, as it used to.
  if (evidence.phashDistance <= settings.phashMaxDistance && (detail === null || detail <= limits.detailMax)) return 'hash';
  // The whole of one is a crop window of the other, and the CNN does not object.
  if (evidence.cropPhashDistance <= limits.cropPhashMax && Math.max(evidence.cosine, evidence.cropCosine) >= limits.cropMinCosine) return 'crop';
  // A turned copy: like the hash rule, on the other photo turned (its detail hash turned with it).
  const turnedDetail = evidence.rotatedDetailDistance;
  if (
    settings.rotationInvariant &&
    evidence.rotatedPhashDistance <= Math.min(limits.rotatedPhashMax, settings.phashMaxDistance) &&
    (turnedDetail === null || turnedDetail <= limits.detailMax)
  )
    return 'rotation';
  // The CNN is sure and the fine structure roughly agrees: a copy with heavier pixel edits.
  if (evidence.cosine >= settings.nearCosine && (detail === null || detail <= limits.cnnDetailMax)) return 'cnn';
  return null;
}

export function isRelated(evidence: PairEvidence, limits: MatchLimits = MATCH_LIMITS): boolean {
  return (
    Math.max(evidence.cosine, evidence.cropCosine) >= limits.relatedCosine ||
    evidence.phashDistance <= RELATED.phash ||
    evidence.cropPhashDistance <= RELATED.cropPhash ||
    evidence.rotatedPhashDistance <= RELATED.rotatedPhash
  );
}

/**
 * Whether `next` matches no pair that `last` did not: no lower cosine bars, no more pHash bits, and
 * turns matched only if they were. judge() and nearReason() only ever compare evidence with these
 * settings one way (at least the cosine, at most the distance), so a pair that neither tier took
 * under `last` is taken by neither under `next`, and a regrouping may judge just the last matches again.
 */
export function settingsAreStricter(last: MatchSettings, next: MatchSettings): boolean {
  return (
    next.nearCosine >= last.nearCosine &&
    next.similarCosine >= last.similarCosine &&
    next.phashMaxDistance <= last.phashMaxDistance &&
    (last.rotationInvariant || !next.rotationInvariant)
  );
}

export function judge(evidence: PairEvidence, settings: MatchSettings, limits: MatchLimits = MATCH_LIMITS): MatchVerdict {
  const score = Math.max(evidence.cosine, evidence.cropCosine, phashSimilarity(evidence.phashDistance), phashSimilarity(evidence.rotatedPhashDistance));
  if (nearReason(evidence, settings, limits)) return { tier: 'near', score, related: true };
  if (evidence.cosine >= settings.similarCosine) return { tier: 'similar', score: evidence.cosine, related: true };
  return { tier: null, score, related: isRelated(evidence, limits) };
}
