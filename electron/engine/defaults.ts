// Matching defaults and the model views, in one place: chosen from measurements (npm run eval,
// docs/QUALITY.md; the reasons in docs/MATCHING.md), not by feel. The internal thresholds are
// match.ts MATCH_LIMITS. Changing MODEL_VIEWS makes every catalog re-embed its photos.
import type { ModelView } from './decode.ts';
import type { EngineSettings } from './types.ts';

/**
 * - phashMaxDistance 10: resized, re-encoded and recoloured copies (with the detail hash agreeing);
 * - nearCosine 0.96: the CNN alone calls a pair near-duplicates only when nearly sure (and the detail
 *   hash agrees); below that it mistakes the next frame of a video for a copy;
 * - similarCosine 0.85: the lowest bar at which unrelated photos stay under 1 % of the pairs shown in
 *   similar groups (tune half);
 * - rotationInvariant: the pHash rotation/mirror variants find turned copies at no cost in precision.
 */
export const DEFAULT_SETTINGS: EngineSettings = {
  nearCosine: 0.96,
  similarCosine: 0.85,
  phashMaxDistance: 10,
  rotationInvariant: true,
  executionProvider: 'auto',
  includeHidden: false,
  maxMegapixels: 200,
};

/**
 * The regions of each photo the model embeds: the whole image only. Cropped copies are found by the
 * crop-window hashes; centred crop views added nothing measurable on top of them and cost half the
 * model time (docs/QUALITY.md, "What each part is worth").
 */
export const MODEL_VIEWS: ModelView[] = ['full'];
