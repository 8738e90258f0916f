// The evidence of every pair of files, from the engine's own comparePhotos, kept in typed arrays so
// that threshold sweeps and the grouping simulation do not compare photos again.
import type { ModelView } from '../../electron/engine/decode.ts';
import { comparePhotos, type PairEvidence, type PhotoSignature } from '../../electron/engine/match.ts';
import { pairIndex } from './metrics.ts';

export interface EvidenceTable {
  n: number;
  cosine: Float32Array;
  cropCosine: Float32Array;
  phash: Uint8Array;
  /** 255 when unknown. */
  detail: Uint8Array;
  cropPhash: Uint8Array;
  rotatedPhash: Uint8Array;
  /** 255 when unknown. */
  rotatedDetail: Uint8Array;
}

export function computeEvidence(signatures: PhotoSignature[], views: readonly ModelView[]): EvidenceTable {
  const n = signatures.length;
  const size = (n * (n - 1)) / 2;
  const table: EvidenceTable = {
    n,
    cosine: new Float32Array(size),
    cropCosine: new Float32Array(size),
    phash: new Uint8Array(size),
    detail: new Uint8Array(size),
    cropPhash: new Uint8Array(size),
    rotatedPhash: new Uint8Array(size),
    rotatedDetail: new Uint8Array(size),
  };
  for (let i = 0; i < n; i++) {
    for (let j = i + 1; j < n; j++) {
      const e = comparePhotos(signatures[i], signatures[j], true, views);
      const k = pairIndex(n, i, j);
      table.cosine[k] = e.cosine;
      table.cropCosine[k] = e.cropCosine;
      table.phash[k] = e.phashDistance;
      table.detail[k] = e.detailDistance ?? 255;
      table.cropPhash[k] = e.cropPhashDistance;
      table.rotatedPhash[k] = e.rotatedPhashDistance;
      table.rotatedDetail[k] = e.rotatedDetailDistance ?? 255;
    }
  }
  return table;
}

/** The evidence of one pair back as the engine's PairEvidence. */
export function evidenceAt(table: EvidenceTable, i: number, j: number): PairEvidence {
  return evidenceAtIndex(table, i < j ? pairIndex(table.n, i, j) : pairIndex(table.n, j, i));
}

/** The same, by the pair's index in the table (metrics.ts pairIndex). */
export function evidenceAtIndex(table: EvidenceTable, k: number): PairEvidence {
  return {
    cosine: table.cosine[k],
    cropCosine: table.cropCosine[k],
    phashDistance: table.phash[k],
    detailDistance: table.detail[k] === 255 ? null : table.detail[k],
    cropPhashDistance: table.cropPhash[k],
    rotatedPhashDistance: table.rotatedPhash[k],
    rotatedDetailDistance: table.rotatedDetail[k] === 255 ? null : table.rotatedDetail[k],
  };
}
