// Scoring: pairwise precision / recall of the near-duplicate groups against the ground truth, recall
// per edit, the false groups, and the "similar" tier. Pairs are pairs of files of the set; "arguable"
// pairs (heavy artistic filters) count neither way.
import type { EvalFile, EvalSet } from './dataset.ts';
import { relationOf } from './dataset.ts';
import type { Relation } from './truth.ts';

export const RELATIONS: Relation[] = ['dup', 'similar', 'arguable', 'subject', 'none'];
const CODE = new Map(RELATIONS.map((r, i) => [r, i]));
export const DUP = 0;
export const SIMILAR = 1;
export const ARGUABLE = 2;

/** Index of pair (i, j), i < j, in a triangular array of n(n-1)/2. */
export function pairIndex(n: number, i: number, j: number): number {
  return i * n - (i * (i + 1)) / 2 + (j - i - 1);
}

export interface Labels {
  n: number;
  /** Relation code (RELATIONS index) per pair. */
  relation: Uint8Array;
  /** Index of each file's source photo in the set (the original for an edit). */
  sourceIndex: Int32Array;
  /** 'tune' / 'test' half of each file (by its source). */
  half: ('tune' | 'test')[];
}

export function labelPairs(set: EvalSet): Labels {
  const n = set.files.length;
  const relation = new Uint8Array((n * (n - 1)) / 2);
  // Relations depend only on the sources: compute once per pair of sources.
  const memo = new Map<string, number>();
  for (let i = 0; i < n; i++) {
    for (let j = i + 1; j < n; j++) {
      const a = set.files[i];
      const b = set.files[j];
      const key = a.source < b.source ? `${a.source}\t${b.source}` : `${b.source}\t${a.source}`;
      let code = memo.get(key);
      if (code === undefined) memo.set(key, (code = CODE.get(relationOf(set, a, b))!));
      relation[pairIndex(n, i, j)] = code;
    }
  }
  const indexOf = new Map(set.files.map((f, i) => [f.name, i]));
  const sourceIndex = Int32Array.from(set.files, (f) => indexOf.get(f.source) ?? -1);
  const half = set.files.map((f) => set.half.get(f.source)!);
  return { n, relation, sourceIndex, half };
}

export interface Score {
  tp: number;
  fp: number;
  fn: number;
  precision: number;
  recall: number;
  f1: number;
}

export function score(tp: number, fp: number, fn: number): Score {
  const precision = tp + fp === 0 ? 1 : tp / (tp + fp);
  const recall = tp + fn === 0 ? 1 : tp / (tp + fn);
  const f1 = precision + recall === 0 ? 0 : (2 * precision * recall) / (precision + recall);
  return { tp, fp, fn, precision, recall, f1 };
}

/** Which pairs count: all, or only pairs whose two files are both in one half of the split. */
export type Subset = 'all' | 'tune' | 'test';

function inSubset(labels: Labels, subset: Subset, i: number, j: number): boolean {
  return subset === 'all' || (labels.half[i] === subset && labels.half[j] === subset);
}

export interface PartitionReport {
  overall: Score;
  /** Original ↔ edited copy pairs, by edit name: found / total. */
  perEdit: Map<string, { found: number; total: number }>;
  /** Ready-made duplicate pairs of the source folder (manifest look-alikes that are the same photo). */
  readyMade: { found: number; total: number };
  /** Pairs in one near group that are not the same photo, by relation. */
  falseByRelation: Map<Relation, number>;
  /** Groups that hold photos of more than one same-photo cluster (file names). */
  falseGroups: string[][];
  /** Labelled "similar" pairs (another shot) put in one near group. */
  similarInNear: number;
  similarTotal: number;
}

/**
 * Scores a partition of the files into near-duplicate groups: `groupOf[i]` is file i's group, or -1
 * when it is in none.
 */
export function scorePartition(set: EvalSet, labels: Labels, groupOf: Int32Array, subset: Subset = 'all', countable: (file: EvalFile) => boolean = () => true): PartitionReport {
  const { n, relation } = labels;
  let tp = 0;
  let fp = 0;
  let positives = 0;
  let similarInNear = 0;
  let similarTotal = 0;
  const falseByRelation = new Map<Relation, number>();
  const readyMade = { found: 0, total: 0 };
  for (let i = 0; i < n; i++) {
    if (!countable(set.files[i])) continue;
    for (let j = i + 1; j < n; j++) {
      if (!countable(set.files[j]) || !inSubset(labels, subset, i, j)) continue;
      const code = relation[pairIndex(n, i, j)];
      if (code === ARGUABLE) continue;
      const together = groupOf[i] >= 0 && groupOf[i] === groupOf[j];
      if (code === DUP) {
        positives++;
        if (together) tp++;
        if (!set.files[i].edit && !set.files[j].edit) {
          readyMade.total++;
          if (together) readyMade.found++;
        }
      } else {
        if (code === SIMILAR) {
          similarTotal++;
          if (together) similarInNear++;
        }
        if (together) {
          fp++;
          falseByRelation.set(RELATIONS[code], (falseByRelation.get(RELATIONS[code]) ?? 0) + 1);
        }
      }
    }
  }
  const perEdit = new Map<string, { found: number; total: number }>();
  set.files.forEach((file, j) => {
    if (!file.edit || !countable(file)) return;
    const i = labels.sourceIndex[j];
    if (!inSubset(labels, subset, i, j)) return;
    const entry = perEdit.get(file.edit.name) ?? { found: 0, total: 0 };
    entry.total++;
    if (groupOf[i] >= 0 && groupOf[i] === groupOf[j]) entry.found++;
    perEdit.set(file.edit.name, entry);
  });
  // A false group mixes same-photo clusters (arguable pairs aside).
  const members = new Map<number, number[]>();
  groupOf.forEach((g, i) => {
    if (g >= 0 && countable(set.files[i]) && (subset === 'all' || labels.half[i] === subset)) members.set(g, [...(members.get(g) ?? []), i]);
  });
  const falseGroups: string[][] = [];
  for (const list of members.values()) {
    const mixed = list.some((a, x) => list.slice(x + 1).some((b) => relation[pairIndex(n, Math.min(a, b), Math.max(a, b))] > ARGUABLE || relation[pairIndex(n, Math.min(a, b), Math.max(a, b))] === SIMILAR));
    if (mixed) falseGroups.push(list.map((i) => set.files[i].name));
  }
  return { overall: score(tp, fp, positives - tp), perEdit, readyMade, falseByRelation, falseGroups, similarInNear, similarTotal };
}

/** Recall over a set of edits (e.g. all mild ones): found / total of original ↔ copy pairs. */
export function editRecall(report: PartitionReport, names: string[]): { found: number; total: number; recall: number } {
  let found = 0;
  let total = 0;
  for (const name of names) {
    const entry = report.perEdit.get(name);
    if (!entry) continue;
    found += entry.found;
    total += entry.total;
  }
  return { found, total, recall: total === 0 ? 1 : found / total };
}

export interface SimilarReport {
  /** Labelled "similar" pairs (bursts, frames, stereo) by where they ended up. */
  inSimilar: number;
  inNear: number;
  inNone: number;
  total: number;
  /** Pairs shown together in a similar group whose photos are unrelated. */
  unrelatedInSimilar: number;
  pairsInSimilar: number;
}

/**
 * The "similar" tier: `nearOf` is each file's near/exact group (or -1), `similarOf` the similar group
 * its near group (or itself) belongs to (or -1).
 */
export function scoreSimilar(set: EvalSet, labels: Labels, nearOf: Int32Array, similarOf: Int32Array, subset: Subset = 'all'): SimilarReport {
  const { n, relation } = labels;
  const report: SimilarReport = { inSimilar: 0, inNear: 0, inNone: 0, total: 0, unrelatedInSimilar: 0, pairsInSimilar: 0 };
  for (let i = 0; i < n; i++) {
    for (let j = i + 1; j < n; j++) {
      if (!inSubset(labels, subset, i, j)) continue;
      const code = relation[pairIndex(n, i, j)];
      const near = nearOf[i] >= 0 && nearOf[i] === nearOf[j];
      const similar = !near && similarOf[i] >= 0 && similarOf[i] === similarOf[j];
      if (similar) {
        report.pairsInSimilar++;
        if (RELATIONS[code] === 'none') report.unrelatedInSimilar++;
      }
      if (code !== SIMILAR) continue;
      report.total++;
      if (near) report.inNear++;
      else if (similar) report.inSimilar++;
      else report.inNone++;
    }
  }
  return report;
}
