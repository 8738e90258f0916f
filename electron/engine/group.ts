// Turning pairwise matches into groups without chaining. Plain connected components would put A and C
// together because A≈B and B≈C even when A and C are unrelated, and one false match would join two
// whole groups. Here, strongest matches first:
// - near-duplicate clusters merge only when the merged cluster has a "hub", a member that is a direct
//   near-duplicate of every other member (the original, or the copy nearest to it), and no two members
//   are clearly unrelated (match.ts RELATED). Copies need not be near-duplicates of each other (a
//   rotated and a cropped copy of one photo rarely are), but A≈B≈C does not join A and C when they
//   are unrelated, and a false match between two clusters cannot join them: no hub matches both;
// - similar clusters (of near clusters, each represented by its hub) merge only when every hub of one
//   is at least similar to every hub of the other (complete linkage).
import type { ModelView } from './decode.ts';
import { comparePhotos, judge, type MatchLimits, type MatchVerdict, type PairEvidence, type PhotoSignature } from './match.ts';
import type { MatchSettings } from './types.ts';

export interface ClusterOptions {
  settings: MatchSettings;
  /** True when the user said these two distinct photos are not duplicates. */
  isDismissed: (a: number, b: number) => boolean;
  /** Internal thresholds (default MATCH_LIMITS) and the views of the signatures (default MODEL_VIEWS): for the eval. */
  limits?: MatchLimits;
  views?: readonly ModelView[];
  /** Evidence of a pair when already known (the eval's table); otherwise compared here. */
  evidence?: (a: number, b: number) => PairEvidence;
  /**
   * The signature of a node that `nodes` leaves out (it may be sparse), read when the node is first
   * compared: the engine passes none and reads each photo only if a pair of it is compared (with
   * `judged` verdicts kept, most of a large library's matched photos never are).
   */
  signatureOf?: (node: number) => PhotoSignature;
  /** 'complete': the previous rule (every cross pair at least similar), kept for the eval's comparison. */
  nearLinkage?: 'hub' | 'complete';
  /**
   * Pairs an earlier grouping judged near or similar, with the same settings, between photos that
   * have not changed since (Clustering.judged of that grouping): taken as candidates and not
   * compared again. Dismissals are still applied to them here.
   */
  judged?: Iterable<JudgedPair>;
}

/** A pair's verdict before dismissals. */
export interface JudgedPair {
  a: number;
  b: number;
  verdict: MatchVerdict;
}

export interface Cluster {
  members: number[]; // node indexes, strongest-first order is not guaranteed
  /** Weakest direct match that joined the cluster, in [0, 1]. */
  score: number;
}

export interface Clustering {
  near: Cluster[]; // clusters of ≥ 2 distinct photos that are near-duplicates
  similar: Cluster[]; // clusters of ≥ 2 near-clusters/singletons that are merely similar
  /** Every candidate (and `judged`) pair that is near or similar before dismissals: what the next grouping can pass as `judged`. */
  judged: JudgedPair[];
  /**
   * The connected components of the matches (near and similar pairs, not dismissed), each with its
   * clusters. The clusters of a component depend on nothing outside it: clustered again with the
   * same matches (and settings and dismissals), it gives the same clusters.
   */
  components: MatchComponent[];
}

export interface MatchComponent {
  /** Its photos (nodes), ascending. */
  members: number[];
  /** Its matches (judged pairs, not dismissed). */
  matches: JudgedPair[];
  near: Cluster[];
  similar: Cluster[];
}

const DISMISSED: MatchVerdict = { tier: null, score: 0, related: false };

/** A memo of pair verdicts: each pair is compared at most once. */
class PairJudge {
  private readonly cache = new Map<number, MatchVerdict>(); // before dismissals
  constructor(private readonly nodes: Array<PhotoSignature | undefined>, private readonly options: ClusterOptions) {}

  private key(a: number, b: number): number {
    return Math.min(a, b) * this.nodes.length + Math.max(a, b);
  }

  /** Takes a verdict made earlier instead of comparing the pair. */
  know({ a, b, verdict }: JudgedPair): void {
    this.cache.set(this.key(a, b), verdict);
  }

  /** The verdict before dismissals. */
  undismissed(a: number, b: number): MatchVerdict {
    const key = this.key(a, b);
    let verdict = this.cache.get(key);
    if (!verdict) {
      const { settings, limits, views, evidence } = this.options;
      const [lo, hi] = a < b ? [a, b] : [b, a];
      verdict = judge(evidence ? evidence(lo, hi) : comparePhotos(this.signature(lo), this.signature(hi), settings.rotationInvariant, views), settings, limits);
      this.cache.set(key, verdict);
    }
    return verdict;
  }

  verdict(a: number, b: number): MatchVerdict {
    return this.options.isDismissed(Math.min(a, b), Math.max(a, b)) ? DISMISSED : this.undismissed(a, b);
  }

  private signature(node: number): PhotoSignature {
    let signature = this.nodes[node];
    if (signature === undefined) {
      if (!this.options.signatureOf) throw new Error(`clusterPhotos: no signature for node ${node}`);
      signature = this.nodes[node] = this.options.signatureOf(node);
    }
    return signature;
  }
}

/**
 * Clusters distinct photos (nodes) given candidate pairs (from the LSH and pHash indexes, or all pairs
 * for small sets). Every candidate is verified exactly here.
 */
export function clusterPhotos(nodes: Array<PhotoSignature | undefined>, candidates: Iterable<[number, number]>, options: ClusterOptions): Clustering {
  const judgeOf = new PairJudge(nodes, options);
  const edges: Edge[] = [];
  const judged: JudgedPair[] = [];
  /** Notes a verdict: a near or similar pair is judged, and a match unless dismissed. */
  const consider = (x: number, y: number, verdict: MatchVerdict) => {
    if (verdict.tier === null) return;
    // Each pair once, lower node first: the order of equal-score pairs then never depends on how a pair came.
    const pair = x < y ? { a: x, b: y, verdict } : { a: y, b: x, verdict };
    judged.push(pair);
    if (!options.isDismissed(pair.a, pair.b)) edges.push({ a: pair.a, b: pair.b, score: verdict.score, near: verdict.tier === 'near', pair });
  };
  for (const pair of options.judged ?? []) {
    judgeOf.know(pair);
    consider(pair.a, pair.b, pair.verdict);
  }
  for (const [a, b] of candidates) if (a !== b) consider(a, b, judgeOf.undismissed(a, b));
  edges.sort(strongestFirst);
  const { near, similar } = clusterEdges(edges, judgeOf, options);
  return { near, similar, judged, components: componentsOf(edges, nodes.length, near, similar) };
}

/** Near and similar clusters made from the given matches (strongest first). */
function clusterEdges(edges: Edge[], judgeOf: PairJudge, options: ClusterOptions): { near: Cluster[]; similar: Cluster[] } {
  // Near tier: merge when every cross pair is related (a dismissed pair is not) and one member of the
  // merged cluster is a near-duplicate of all the others.
  const isNear = (x: number, y: number) => judgeOf.verdict(x, y).tier === 'near';
  const hasHub = (members: number[]) => members.some((hub) => members.every((m) => m === hub || isNear(hub, m)));
  const nearEdges = edges.filter((edge) => edge.near);
  const near =
    options.nearLinkage === 'complete'
      ? agglomerate(nearEdges, (left, right) => left.every((x) => right.every((y) => judgeOf.verdict(x, y).tier !== null)))
      : agglomerate(nearEdges, (left, right) => left.every((x) => right.every((y) => judgeOf.verdict(x, y).related)) && hasHub(left.concat(right)));

  // Similar tier: the units are the near clusters (and single photos); they merge on similar (or near)
  // edges between them. Near-duplicates never appear as "similar" to each other.
  // By node, only for the photos in a near cluster (a million photos are mostly alone).
  const unitOfMember = new Map<number, number>();
  const units = new Map<number, number[]>();
  for (const cluster of near) {
    const unit = cluster.members[0];
    for (const member of cluster.members) unitOfMember.set(member, unit);
    units.set(unit, cluster.members);
  }
  const unitOf = (node: number) => unitOfMember.get(node) ?? node;
  const membersOfUnit = (unit: number) => units.get(unit) ?? [unit];
  const unitEdges: Edge[] = [];
  for (const edge of edges) {
    const ua = unitOf(edge.a);
    const ub = unitOf(edge.b);
    if (ua !== ub) unitEdges.push({ a: Math.min(ua, ub), b: Math.max(ua, ub), score: edge.score, near: false, pair: edge.pair });
  }
  // A near cluster is represented by its hub (the member near-duplicate to most others: the original,
  // as a rule): its turned and cropped copies are like nothing else and must not veto the original's
  // resemblance to another shot. Units merge only when every pair of their hubs is at least similar.
  const hubOf = (unit: number) => {
    const members = membersOfUnit(unit);
    let best = members[0];
    let bestCount = -1;
    for (const m of members) {
      const count = members.filter((other) => other !== m && isNear(m, other)).length;
      if (count > bestCount) [best, bestCount] = [m, count];
    }
    return best;
  };
  const hubs = new Map<number, number>();
  const hub = (unit: number) => hubs.get(unit) ?? hubs.set(unit, hubOf(unit)).get(unit)!;
  const allSimilar = (left: number[], right: number[]) => left.every((ua) => right.every((ub) => judgeOf.verdict(hub(ua), hub(ub)).tier !== null));
  const similar = agglomerate(unitEdges.sort(strongestFirst), allSimilar);
  return { near, similar };
}

/** The connected components of the matches: each one's members (ascending), matches and clusters (each cluster lies within one). */
function componentsOf(edges: readonly Edge[], nodeCount: number, near: readonly Cluster[], similar: readonly Cluster[]): MatchComponent[] {
  const parent = new Int32Array(nodeCount).fill(-1);
  const root = (node: number): number => {
    while (parent[node] >= 0) {
      if (parent[parent[node]] >= 0) parent[node] = parent[parent[node]]; // path halving
      node = parent[node];
    }
    return node;
  };
  for (const { a, b } of edges) {
    const ra = root(a);
    const rb = root(b);
    if (ra !== rb) parent[Math.max(ra, rb)] = Math.min(ra, rb);
  }
  const byRoot = new Map<number, MatchComponent>();
  const listed = new Uint8Array(nodeCount);
  for (const edge of edges) {
    const r = root(edge.a);
    let component = byRoot.get(r);
    if (!component) byRoot.set(r, (component = { members: [], matches: [], near: [], similar: [] }));
    component.matches.push(edge.pair);
    if (!listed[edge.a]) component.members.push(edge.a);
    if (!listed[edge.b]) component.members.push(edge.b);
    listed[edge.a] = listed[edge.b] = 1;
  }
  for (const cluster of near) byRoot.get(root(cluster.members[0]))!.near.push(cluster);
  for (const cluster of similar) byRoot.get(root(cluster.members[0]))!.similar.push(cluster);
  const components = [...byRoot.values()];
  for (const component of components) component.members.sort((x, y) => x - y);
  return components;
}

/** A match between two photos (a < b), near or merely similar. */
interface Edge {
  a: number;
  b: number;
  score: number;
  near: boolean;
  /** The verdict it came from. */
  pair: JudgedPair;
}

/** Strongest first; ties by node, so that the order is the same from any starting order. */
function strongestFirst(x: Edge, y: Edge): number {
  return y.score - x.score || x.a - y.a || x.b - y.b;
}

/** Agglomeration over the given edges (strongestFirst order); two clusters merge when `canMerge` allows. */
function agglomerate(edges: readonly Edge[], canMerge: (left: number[], right: number[]) => boolean): Cluster[] {
  // Only nodes merged into another's cluster are in the map: the rest are their own.
  const clusterOfNode = new Map<number, number>();
  const clusterOf = (node: number) => clusterOfNode.get(node) ?? node;
  const members = new Map<number, number[]>();
  const scores = new Map<number, number>();
  const membersOf = (c: number) => members.get(c) ?? [c];
  for (const { a, b, score } of edges) {
    const ca = clusterOf(a);
    const cb = clusterOf(b);
    if (ca === cb) continue;
    const left = membersOf(ca);
    const right = membersOf(cb);
    if (!canMerge(left, right)) continue;
    const merged = left.concat(right);
    for (const m of right) clusterOfNode.set(m, ca);
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
