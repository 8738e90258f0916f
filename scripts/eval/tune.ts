// Choosing thresholds on the curve: the pairwise decision of match.ts (nearReason) over every pair
// of the tune half, a coordinate search over a grid of each threshold, keeping the highest recall
// whose precision stays at or above the target. The test half is never looked at here.
import { MATCH_LIMITS, nearReason, type MatchLimits, type PairEvidence } from '../../electron/engine/match.ts';
import type { MatchSettings } from '../../electron/engine/types.ts';
import { DUP, ARGUABLE, SIMILAR, pairIndex, score, type Labels, type Score, type Subset } from './metrics.ts';
import { evidenceAtIndex, type EvidenceTable } from './pairs.ts';

export interface Thresholds {
  settings: MatchSettings;
  limits: MatchLimits;
}

/** The values each threshold may take in the search (and the loosest of each bounds the candidates). */
export const GRID = {
  phashMaxDistance: [4, 6, 8, 10, 12, 14],
  detailMax: [16, 20, 24, 28, 32, 36, 40, 44, 48, 56, 64],
  cropPhashMax: [0, 2, 4, 6, 8, 10],
  cropMinCosine: [0.6, 0.7, 0.75, 0.8, 0.85, 0.88, 0.9, 0.92, 0.94],
  relatedCosine: [0.3, 0.4, 0.5, 0.6, 0.7],
  rotatedPhashMax: [0, 2, 4, 6, 8, 10],
  nearCosine: [0.9, 0.92, 0.94, 0.95, 0.96, 0.97, 0.98, 0.985, 0.99, 1.01],
  cnnDetailMax: [16, 20, 24, 28, 32, 40, 48, 56, 64, 255],
};

/**
 * Values the search may not pick although the sweeps show them: a crop-window bar above 7 bits
 * makes the candidate index look in 137 instead of 17 buckets per chunk for each of the 54 windows
 * of every photo (phash-index.ts), about 8 times the work for a whole library.
 */
export const SEARCH_MAX: Partial<Record<keyof typeof GRID, number>> = { cropPhashMax: 7 };

/** Pairs that some grid point could call near: everything else is "not near" everywhere. */
export interface Candidates {
  evidence: PairEvidence[];
  /** Relation code of each candidate (metrics.ts RELATIONS). */
  relation: Uint8Array;
  /** Positives (dup pairs) and "similar" pairs (other shots) in the subset, candidates or not. */
  positives: number;
  similars: number;
}

/** A pairwise score, and how many "similar" pairs (bursts, frames, stereo) it calls near-duplicates. */
export interface TuneScore extends Score {
  similarNear: number;
  similarShare: number;
}

export function candidatesOf(table: EvidenceTable, labels: Labels, subset: Subset): Candidates {
  const { n, relation, half } = labels;
  const loosest = {
    phash: Math.max(...GRID.phashMaxDistance),
    crop: Math.max(...GRID.cropPhashMax),
    rotated: Math.max(...GRID.rotatedPhashMax),
    cosine: Math.min(...GRID.nearCosine),
  };
  const evidence: PairEvidence[] = [];
  const codes: number[] = [];
  let positives = 0;
  let similars = 0;
  for (let i = 0; i < n; i++) {
    for (let j = i + 1; j < n; j++) {
      if (subset !== 'all' && (half[i] !== subset || half[j] !== subset)) continue;
      const k = pairIndex(n, i, j);
      const code = relation[k];
      if (code === ARGUABLE) continue;
      if (code === DUP) positives++;
      if (code === SIMILAR) similars++;
      if (table.phash[k] > loosest.phash && table.cropPhash[k] > loosest.crop && table.rotatedPhash[k] > loosest.rotated && table.cosine[k] < loosest.cosine) continue;
      evidence.push(evidenceAtIndex(table, k));
      codes.push(code);
    }
  }
  return { evidence, relation: Uint8Array.from(codes), positives, similars };
}

export function pairwiseScore(candidates: Candidates, thresholds: Thresholds): TuneScore {
  let tp = 0;
  let fp = 0;
  let similarNear = 0;
  candidates.evidence.forEach((evidence, i) => {
    if (nearReason(evidence, thresholds.settings, thresholds.limits) === null) return;
    const code = candidates.relation[i];
    if (code === DUP) tp++;
    else fp++;
    if (code === SIMILAR) similarNear++;
  });
  return { ...score(tp, fp, candidates.positives - tp), similarNear, similarShare: candidates.similars ? similarNear / candidates.similars : 0 };
}

export type Knob = keyof typeof GRID;

function withValue(t: Thresholds, knob: Knob, value: number): Thresholds {
  const settings = { ...t.settings };
  const limits = { ...t.limits };
  if (knob === 'phashMaxDistance' || knob === 'nearCosine') settings[knob] = value;
  else limits[knob] = value;
  return { settings, limits };
}

function valueOf(t: Thresholds, knob: Knob): number {
  return knob === 'phashMaxDistance' || knob === 'nearCosine' ? t.settings[knob] : t.limits[knob];
}

/** What a choice must meet: pairwise precision, and the share of "similar" pairs it may call near. */
export interface Target {
  minPrecision: number;
  maxSimilarShare: number;
}

/** Is `a` better than `b` for the target: meeting it first, then recall, then F1. */
function better(a: TuneScore, b: TuneScore, target: Target): boolean {
  const okA = a.precision >= target.minPrecision && a.similarShare <= target.maxSimilarShare;
  const okB = b.precision >= target.minPrecision && b.similarShare <= target.maxSimilarShare;
  if (okA !== okB) return okA;
  if (!okA) return a.precision - a.similarShare > b.precision - b.similarShare;
  if (a.recall !== b.recall) return a.recall > b.recall;
  return a.f1 > b.f1;
}

/**
 * Coordinate search: each threshold in turn to its best grid value, until nothing improves.
 * `evaluate` scores a choice on the tune half (pairwise decisions, or the groups they make).
 */
export function tune(evaluate: (t: Thresholds) => TuneScore, start: Thresholds, target: Target): { thresholds: Thresholds; score: TuneScore; steps: string[] } {
  let best = start;
  let bestScore = evaluate(best);
  const steps: string[] = [];
  for (let round = 0; round < 3; round++) {
    let changed = false;
    for (const knob of Object.keys(GRID) as Knob[]) {
      for (const value of GRID[knob]) {
        if (value === valueOf(best, knob) || value > (SEARCH_MAX[knob] ?? Infinity)) continue;
        const trial = withValue(best, knob, value);
        const trialScore = evaluate(trial);
        if (better(trialScore, bestScore, target)) {
          steps.push(`${knob} ${valueOf(best, knob)} → ${value}: P ${trialScore.precision.toFixed(4)} R ${trialScore.recall.toFixed(4)}`);
          best = trial;
          bestScore = trialScore;
          changed = true;
        }
      }
    }
    if (!changed) break;
  }
  return { thresholds: best, score: bestScore, steps };
}

/** A curve: one threshold swept with the others held, as (recall, precision) points. */
export function sweep(candidates: Candidates, base: Thresholds, knob: Knob, values: number[]): { value: number; score: TuneScore }[] {
  return values.map((value) => {
    const t = withValue(base, knob, value);
    return { value, score: pairwiseScore(candidates, t) };
  });
}

export const DEFAULT_THRESHOLDS = (settings: MatchSettings): Thresholds => ({ settings, limits: { ...MATCH_LIMITS } });
