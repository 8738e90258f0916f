// The engine's grouping (group.ts clusterPhotos, the same code) over the eval's evidence table, for
// any thresholds, without re-comparing photos: how the thresholds chosen pairwise behave as groups.
import { clusterPhotos } from '../../electron/engine/group.ts';
import type { PairEvidence, PhotoSignature } from '../../electron/engine/match.ts';
import { pairIndex } from './metrics.ts';
import { evidenceAt, type EvidenceTable } from './pairs.ts';
import type { Thresholds } from './tune.ts';

export interface SimulatedGroups {
  /** Each file's near-duplicate group, or -1. */
  nearOf: Int32Array;
  /** The similar group each file's near group (or the file) belongs to, or -1. */
  similarOf: Int32Array;
}

export function simulateGroups(table: EvidenceTable, thresholds: Thresholds, nearLinkage: 'hub' | 'complete' = 'hub'): SimulatedGroups {
  const { n } = table;
  const { settings, limits } = thresholds;
  const evidence = (a: number, b: number): PairEvidence => {
    const e = evidenceAt(table, a, b);
    return settings.rotationInvariant ? e : { ...e, rotatedPhashDistance: 64 };
  };
  // Candidate pairs: every pair some rule could accept (the engine gets them from its indexes).
  const candidates: [number, number][] = [];
  const minCosine = Math.min(settings.similarCosine, settings.nearCosine);
  for (let i = 0; i < n; i++) {
    for (let j = i + 1; j < n; j++) {
      const k = pairIndex(n, i, j);
      if (table.cosine[k] >= minCosine || table.phash[k] <= settings.phashMaxDistance || table.cropPhash[k] <= limits.cropPhashMax || table.rotatedPhash[k] <= limits.rotatedPhashMax) candidates.push([i, j]);
    }
  }
  const nodes = new Array<PhotoSignature>(n); // never read: the evidence comes from the table
  const clustering = clusterPhotos(nodes, candidates, { settings, limits, isDismissed: () => false, evidence, nearLinkage });
  const nearOf = new Int32Array(n).fill(-1);
  clustering.near.forEach((cluster, g) => cluster.members.forEach((m) => (nearOf[m] = g)));
  const similarOf = new Int32Array(n).fill(-1);
  clustering.similar.forEach((cluster, g) => {
    // Similar clusters list one node per near cluster: the rest of that near cluster goes along.
    for (const m of cluster.members) {
      similarOf[m] = g;
      if (nearOf[m] >= 0) nearOf.forEach((group, i) => group === nearOf[m] && (similarOf[i] = g));
    }
  });
  return { nearOf, similarOf };
}
