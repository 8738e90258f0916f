// What each part of matching is worth, on the same set: single-signal curves (CNN alone, pHash
// alone), the engine without each of its parts (CNN crop views, crop windows, detail hash, border
// trim), CNN rotation views against the pHash rotation variants, and the cost per image of each.
import { readFile } from 'node:fs/promises';
import { basename } from 'node:path';
import { CROP_WINDOWS, decodeImage, type ModelView } from '../../electron/engine/decode.ts';
import { DEFAULT_SETTINGS, MODEL_VIEWS } from '../../electron/engine/defaults.ts';
import { dot, MATCH_LIMITS } from '../../electron/engine/match.ts';
import { EmbeddingModel } from '../../electron/engine/model.ts';
import type { EvalSet } from './dataset.ts';
import { ARGUABLE, DUP, SIMILAR, editRecall, pairIndex, score, scorePartition, scoreSimilar, type Labels, type Score } from './metrics.ts';
import { computeEvidence, type EvidenceTable } from './pairs.ts';
import { computeSignals, signatureOf, ALL_WINDOWS, type FileSignals } from './signals.ts';
import { simulateGroups } from './simulate.ts';
import { EDITS } from './edits.ts';
import type { Thresholds } from './tune.ts';

export interface CurvePoint {
  value: number;
  score: Score;
}

/** Pairwise curves of one signal alone over every pair: CNN whole-image cosine, and pHash distance. */
export function singleSignalCurves(table: EvidenceTable, labels: Labels): { cosine: CurvePoint[]; phash: CurvePoint[] } {
  const cosineBins = 201; // 0.000 .. 1.000 by 0.005
  const dupByCosine = new Float64Array(cosineBins);
  const otherByCosine = new Float64Array(cosineBins);
  const dupByPhash = new Float64Array(65);
  const otherByPhash = new Float64Array(65);
  let positives = 0;
  for (let k = 0; k < labels.relation.length; k++) {
    const code = labels.relation[k];
    if (code === ARGUABLE) continue;
    const bin = Math.max(0, Math.min(cosineBins - 1, Math.floor(table.cosine[k] * 200 + 1e-9)));
    if (code === DUP) {
      positives++;
      dupByCosine[bin]++;
      dupByPhash[table.phash[k]]++;
    } else {
      otherByCosine[bin]++;
      otherByPhash[table.phash[k]]++;
    }
  }
  const cosine: CurvePoint[] = [];
  for (let threshold = 0.8; threshold <= 1.0001; threshold += 0.01) {
    let tp = 0;
    let fp = 0;
    for (let bin = Math.round(threshold * 200); bin < cosineBins; bin++) {
      tp += dupByCosine[bin];
      fp += otherByCosine[bin];
    }
    cosine.push({ value: Math.round(threshold * 100) / 100, score: score(tp, fp, positives - tp) });
  }
  const phash: CurvePoint[] = [];
  for (let threshold = 0; threshold <= 20; threshold += 2) {
    let tp = 0;
    let fp = 0;
    for (let d = 0; d <= threshold; d++) {
      tp += dupByPhash[d];
      fp += otherByPhash[d];
    }
    phash.push({ value: threshold, score: score(tp, fp, positives - tp) });
  }
  return { cosine, phash };
}

export interface Variant {
  name: string;
  what: string;
  all: Score;
  mild: number;
  strong: number;
  crops: number;
  letterbox: number;
  similarInNear: number;
  similarTotal: number;
}

export interface AblationResults {
  variants: Variant[];
  /** CNN rotation views: best threshold without false pairs, and the rotated copies it finds. */
  cnnRotation: { threshold: number; found: number; total: number; falsePairs: number; similarPairs: number; hashFound: number };
}

const mildEdits = EDITS.filter((e) => e.level === 'mild').map((e) => e.name);
const strongEdits = EDITS.filter((e) => e.level === 'strong').map((e) => e.name);

function variantOf(name: string, what: string, set: EvalSet, labels: Labels, table: EvidenceTable, thresholds: Thresholds, linkage: 'hub' | 'complete' = 'hub'): Variant {
  const groups = simulateGroups(table, thresholds, linkage);
  const report = scorePartition(set, labels, groups.nearOf);
  const similar = scoreSimilar(set, labels, groups.nearOf, groups.similarOf);
  return {
    name,
    what,
    all: report.overall,
    mild: editRecall(report, mildEdits).recall,
    strong: editRecall(report, strongEdits).recall,
    crops: editRecall(report, ['crop-mild', 'crop-strong', 'offcrop-mild', 'offcrop-strong']).recall,
    letterbox: editRecall(report, ['letterbox-mild', 'letterbox-strong']).recall,
    similarInNear: similar.inNear,
    similarTotal: similar.total,
  };
}

export async function ablations(set: EvalSet, labels: Labels, signals: FileSignals[], workDir: string): Promise<AblationResults> {
  const defaults: Thresholds = { settings: { ...DEFAULT_SETTINGS }, limits: { ...MATCH_LIMITS } };
  const engineTable = computeEvidence(signals.map((s) => signatureOf(s, MODEL_VIEWS, CROP_WINDOWS)), MODEL_VIEWS);
  const variants: Variant[] = [variantOf('engine', `defaults, views ${MODEL_VIEWS.join(' + ')}, ${CROP_WINDOWS.length} crop windows`, set, labels, engineTable, defaults)];
  variants.push(variantOf('complete linkage', 'near clusters merge only when every cross pair is at least similar (the previous rule), instead of hub + related', set, labels, engineTable, defaults, 'complete'));
  variants.push(variantOf('no detail hash', 'pHash matches without the detail check', set, labels, engineTable, { ...defaults, limits: { ...defaults.limits, detailMax: 255, cnnDetailMax: 255 } }));
  variants.push(variantOf('no crop windows', 'crop-window hashes not used', set, labels, engineTable, { ...defaults, limits: { ...defaults.limits, cropPhashMax: -1 } }));
  const withCrops: ModelView[] = ['full', 'center80', 'center60'];
  const cropTable = computeEvidence(signals.map((s) => signatureOf(s, withCrops, CROP_WINDOWS)), withCrops);
  variants.push(variantOf('+ centred crop views', 'the CNN also embeds the centred 80 % and 60 % crops (the previous views; 3× the model time)', set, labels, cropTable, defaults));
  const denseTable = computeEvidence(signals.map((s) => signatureOf(s, MODEL_VIEWS, ALL_WINDOWS)), MODEL_VIEWS);
  variants.push(variantOf(`${ALL_WINDOWS.length} crop windows`, '8 sizes (0.95 … 0.6) on the 3×3 grid', set, labels, denseTable, defaults));
  const untrimmed = await computeSignals(set.files, { cacheDir: workDir, trimBorders: false, embeddings: false, log: () => {} });
  {
    // Hashes without the border trim; the embeddings are the trimmed ones (a second embedding pass
    // costs a quarter of an hour), so this shows the trim's effect on the hashes only.
    const mixed = untrimmed.map((s, i) => ({ ...s, vectors: signals[i].vectors }));
    const table = computeEvidence(mixed.map((s) => signatureOf(s, MODEL_VIEWS, CROP_WINDOWS)), MODEL_VIEWS);
    variants.push(variantOf('no border trim', 'hashes of the untrimmed image (embeddings still trimmed)', set, labels, table, defaults));
  }
  return { variants, cnnRotation: cnnRotationViews(set, labels, signals, engineTable) };
}

/** CNN rotated/mirrored views: whole against rotated view, either way, as a rotation rule of its own. */
function cnnRotationViews(set: EvalSet, labels: Labels, signals: FileSignals[], table: EvidenceTable): AblationResults['cnnRotation'] {
  const turned: ModelView[] = ['rotate90', 'rotate180', 'rotate270', 'mirror'];
  const n = set.files.length;
  const rotatedCopy = new Set(['rot90', 'rot180', 'rot270', 'exif6', 'exif3', 'mirror']);
  let negativeMax = -1;
  const similars: number[] = [];
  const copies: number[] = [];
  const hashFoundOf: boolean[] = [];
  for (let i = 0; i < n; i++) {
    const a = signals[i].vectors;
    for (let j = i + 1; j < n; j++) {
      const k = pairIndex(n, i, j);
      const code = labels.relation[k];
      if (code === ARGUABLE) continue;
      const isCopy = code === DUP && labels.sourceIndex[j] === i && rotatedCopy.has(set.files[j].edit?.name ?? '');
      if (code === DUP && !isCopy) continue;
      const b = signals[j].vectors;
      let best = -1;
      for (const view of turned) best = Math.max(best, dot(a.get('full')!, b.get(view)!), dot(a.get(view)!, b.get('full')!));
      if (isCopy) {
        copies.push(best);
        hashFoundOf.push(table.rotatedPhash[k] <= MATCH_LIMITS.rotatedPhashMax);
      } else if (code === SIMILAR) similars.push(best);
      else negativeMax = Math.max(negativeMax, best);
    }
  }
  const threshold = negativeMax + 0.0005; // the lowest bar that lets no unrelated pair through
  return {
    threshold,
    found: copies.filter((c) => c >= threshold).length,
    total: copies.length,
    falsePairs: 0,
    similarPairs: similars.filter((c) => c >= threshold).length,
    hashFound: hashFoundOf.filter(Boolean).length,
  };
}

export interface Cost {
  images: number;
  /** Milliseconds per image: decode (with the hashes) + model, for each configuration. */
  engine: number;
  withCnnRotations: number;
  withCropViews: number;
  decodeWithVariants: number;
  decodeWithoutVariants: number;
}

/** Times decode + embedding per image on `count` files of the set (the machine may be shared: rough). */
export async function costPerImage(set: EvalSet, count: number): Promise<Cost> {
  const files = set.files.filter((f) => !f.edit).slice(0, count);
  const model = await EmbeddingModel.open({ provider: 'cpu' });
  const bytes = await Promise.all(files.map((f) => readFile(f.path)));
  const run = async (views: ModelView[], rotationVariants: boolean, embed: boolean) => {
    const started = performance.now();
    for (let i = 0; i < files.length; i++) {
      const decoded = await decodeImage(bytes[i], basename(files[i].path), { inputSize: model.manifest.input.width, views, maxMegapixels: 200, rotationVariants });
      if (embed) await model.embed(decoded.modelInputs);
    }
    return (performance.now() - started) / files.length;
  };
  await run(MODEL_VIEWS, true, true); // warm-up
  const cost: Cost = {
    images: files.length,
    engine: await run(MODEL_VIEWS, true, true),
    withCnnRotations: await run([...MODEL_VIEWS, 'rotate90', 'rotate180', 'rotate270', 'mirror'], true, true),
    withCropViews: await run(['full', 'center80', 'center60'], true, true),
    decodeWithVariants: await run([], true, false),
    decodeWithoutVariants: await run([], false, false),
  };
  await model.release();
  return cost;
}
