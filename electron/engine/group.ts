// Turning pairwise matches into groups without chaining. Plain connected components would put A and C
// together because A≈B and B≈C even when A and C are unrelated; here two clusters merge only when
// every photo of one is at least "similar" to every photo of the other (complete linkage), strongest
// matches first.
import { comparePhotos, judge, type MatchTier, type PhotoSignature } from './match.ts';
import type { MatchSettings } from './types.ts';

export interface ClusterOptions {
  settings: MatchSettings;
  /** True when the user said these two distinct photos are not duplicates. */
  isDismissed: (a: number, b: number) => boolean;
}

export interface Cluster {
  members: number[]; // node indexes, strongest-first order is not guaranteed
  /** Weakest direct match that joined the cluster, in [0, 1]. */
  score: number;
}

export interface Clustering {
  near: Cluster[]; // clusters of ≥ 2 distinct photos that are near-duplicates
  similar: Cluster[]; // clusters of ≥ 2 near-clusters/singletons that are merely similar
}

/** A memo of pair verdicts: each pair is judged at most once. */
class PairJudge {
  private readonly cache = new Map<number, { tier: MatchTier | null; score: number }>();
  constructor(private readonly nodes: PhotoSignature[], private readonly options: ClusterOptions) {}

  verdict(a: number, b: number) {
    const [lo, hi] = a < b ? [a, b] : [b, a];
    const key = lo * this.nodes.length + hi;
    let verdict = this.cache.get(key);
    if (!verdict) {
      if (this.options.isDismissed(lo, hi)) verdict = { tier: null, score: 0 };
      else verdict = judge(comparePhotos(this.nodes[lo], this.nodes[hi], this.options.settings.rotationInvariant), this.options.settings);
      this.cache.set(key, verdict);
    }
    return verdict;
  }
}

/**
 * Clusters distinct photos (nodes) given candidate pairs (from the LSH and pHash indexes, or all pairs
 * for small sets). Every candidate is verified exactly here.
 */
export function clusterPhotos(nodes: PhotoSignature[], candidates: Iterable<[number, number]>, options: ClusterOptions): Clustering {
  const judgeOf = new PairJudge(nodes, options);
  const nearEdges: Edge[] = [];
  const similarEdges: Edge[] = [];
  for (const [a, b] of candidates) {
    if (a === b) continue;
    const { tier, score } = judgeOf.verdict(a, b);
    if (tier === 'near') nearEdges.push({ a, b, score });
    else if (tier === 'similar') similarEdges.push({ a, b, score });
  }

  // Near tier: merge when every cross pair is at least similar (so no unrelated photos share a group).
  const near = agglomerate(nodes.length, nearEdges, (x, y) => judgeOf.verdict(x, y).tier !== null);

  // Similar tier: the units are the near clusters (and single photos); they merge on similar (or near)
  // edges when every cross pair is at least similar. Near-duplicates never appear as "similar" to each other.
  const unitOf = new Int32Array(nodes.length).map((_, i) => i);
  const units: number[][] = nodes.map((_, i) => [i]);
  for (const cluster of near) {
    const unit = cluster.members[0];
    for (const member of cluster.members) unitOf[member] = unit;
    units[unit] = cluster.members;
  }
  const unitEdges: Edge[] = [];
  for (const edge of [...similarEdges, ...nearEdges]) {
    const ua = unitOf[edge.a];
    const ub = unitOf[edge.b];
    if (ua !== ub) unitEdges.push({ a: ua, b: ub, score: edge.score });
  }
  const allSimilar = (ua: number, ub: number) => units[ua].every((x) => units[ub].every((y) => judgeOf.verdict(x, y).tier !== null));
  const similarUnits = agglomerate(nodes.length, unitEdges, allSimilar);
  const similar = similarUnits.map((cluster) => ({ members: cluster.members, score: cluster.score }));
  return { near, similar };
}

interface Edge {
  a: number;
  b: number;
  score: number;
}

/** Complete-linkage agglomeration over the given edges, strongest first. */
function agglomerate(size: number, edges: Edge[], compatible: (a: number, b: number) => boolean): Cluster[] {
  edges.sort((x, y) => y.score - x.score || x.a - y.a || x.b - y.b); // deterministic
  const clusterOf = new Int32Array(size).map((_, i) => i);
  const members = new Map<number, number[]>();
  const scores = new Map<number, number>();
  const membersOf = (c: number) => members.get(c) ?? [c];
  for (const { a, b, score } of edges) {
    const ca = clusterOf[a];
    const cb = clusterOf[b];
    if (ca === cb) continue;
    const left = membersOf(ca);
    const right = membersOf(cb);
    if (!left.every((x) => right.every((y) => (x === a && y === b) || compatible(x, y)))) continue;
    const merged = left.concat(right);
    for (const m of right) clusterOf[m] = ca;
    members.set(ca, merged);
    members.delete(cb);
    scores.set(ca, Math.min(scores.get(ca) ?? 1, scores.get(cb) ?? 1, score));
    scores.delete(cb);
  }
  return [...members.entries()].map(([c, list]) => ({ members: list.sort((x, y) => x - y), score: scores.get(c) ?? 1 }));
}

/** Every pair of nodes: the candidate source for small libraries and for tests. */
export function* allPairs(count: number): Iterable<[number, number]> {
  for (let a = 0; a < count; a++) for (let b = a + 1; b < count; b++) yield [a, b];
}
