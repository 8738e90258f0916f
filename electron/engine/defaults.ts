// Matching defaults and the model views, in one place: chosen from measurements (npm run eval,
// docs/QUALITY.md), not by feel. Changing MODEL_VIEWS makes every catalog re-embed its photos.
import type { ModelView } from './decode.ts';
import type { EngineSettings } from './types.ts';

/**
 * Defaults measured on the dev photos (docs/MATCHING.md has the figures): the CNN cosine alone is
 * precise at 0.87 but misses thumbnails, which the perceptual hash catches at distance ≤ 10.
 */
export const DEFAULT_SETTINGS: EngineSettings = {
  nearCosine: 0.96,
  similarCosine: 0.8,
  phashMaxDistance: 10,
  rotationInvariant: true,
  executionProvider: 'auto',
  includeHidden: false,
  maxMegapixels: 200,
};

/** The regions of each photo the model embeds: the whole and two centred crops (finds cropped copies). */
export const MODEL_VIEWS: ModelView[] = ['full', 'center80', 'center60'];

