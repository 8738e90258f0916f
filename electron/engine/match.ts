// Deciding whether two photos are duplicates, from two independent signals:
// - the CNN embedding (semantic: survives crops, colour edits, re-encoding), compared by cosine;
// - the 64-bit DCT perceptual hash (structural: survives resizing to thumbnails and blur, where the
//   CNN is weak), compared by Hamming distance.
// Either signal alone can say "near-duplicate"; the CNN alone at a lower bar says "similar" (same scene).
import { hammingDistance } from './phash.ts';
import type { MatchSettings } from './types.ts';

/** What matching needs of one distinct photo (one per content hash). */
export interface PhotoSignature {
  /** L2-normalised embeddings, one per model view; [0] is the whole image, the rest centred crops. */
  vectors: Float32Array[];
  phash: bigint;
  /** Hashes of the 7 rotated/mirrored variants, or null. */
  phashVariants: bigint[] | null;
}

export interface PairEvidence {
  /** Whole image against whole image. */
  cosine: number;
  /** Best whole-image-against-centred-crop cosine, either way round (finds cropped copies); 0 if no crops. */
  cropCosine: number;
  phashDistance: number;
  /** Smallest distance between one photo and a rotation/mirror of the other; 64 if not computed. */
  rotatedPhashDistance: number;
}

export type MatchTier = 'near' | 'similar';

export interface MatchVerdict {
  tier: MatchTier | null;
  /** In [0, 1]; higher is more alike. */
  score: number;
}

/** Thresholds that are not user settings: derived from the user-facing ones, documented in docs/MATCHING.md. */
export const CROP_COSINE_MARGIN = 0.03; // crops against wholes need a little more agreement
export const ROTATED_PHASH_MAX = 6; // 7 extra comparisons per pair: a stricter bar keeps false matches out

export function dot(a: Float32Array, b: Float32Array): number {
  let sum = 0;
  for (let i = 0; i < a.length; i++) sum += a[i] * b[i];
  return sum;
}

export function normalise(vector: Float32Array): Float32Array {
  const norm = Math.sqrt(dot(vector, vector)) || 1;
  const out = new Float32Array(vector.length);
  for (let i = 0; i < vector.length; i++) out[i] = vector[i] / norm;
  return out;
}

export function comparePhotos(a: PhotoSignature, b: PhotoSignature, withRotations: boolean): PairEvidence {
  const cosine = dot(a.vectors[0], b.vectors[0]);
  let cropCosine = 0;
  for (let v = 1; v < Math.min(a.vectors.length, b.vectors.length); v++) {
    cropCosine = Math.max(cropCosine, dot(a.vectors[0], b.vectors[v]), dot(a.vectors[v], b.vectors[0]));
  }
  const phashDistance = hammingDistance(a.phash, b.phash);
  let rotatedPhashDistance = 64;
  if (withRotations && b.phashVariants) {
    for (const variant of b.phashVariants) rotatedPhashDistance = Math.min(rotatedPhashDistance, hammingDistance(a.phash, variant));
  }
  return { cosine, cropCosine, phashDistance, rotatedPhashDistance };
}

/** pHash distance as a similarity in [0, 1] (0 bits apart → 1). */
export function phashSimilarity(distance: number): number {
  return 1 - distance / 64;
}

export function judge(evidence: PairEvidence, settings: MatchSettings): MatchVerdict {
  const score = Math.max(evidence.cosine, evidence.cropCosine, phashSimilarity(evidence.phashDistance), phashSimilarity(evidence.rotatedPhashDistance));
  const near =
    evidence.cosine >= settings.nearCosine ||
    evidence.phashDistance <= settings.phashMaxDistance ||
    evidence.cropCosine >= settings.nearCosine + CROP_COSINE_MARGIN ||
    (settings.rotationInvariant && evidence.rotatedPhashDistance <= Math.min(ROTATED_PHASH_MAX, settings.phashMaxDistance));
  if (near) return { tier: 'near', score };
  if (evidence.cosine >= settings.similarCosine) return { tier: 'similar', score: evidence.cosine };
  return { tier: null, score };
}
