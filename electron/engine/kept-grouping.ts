// What a regrouping keeps for the next one: the connected components of the matches (group.ts
// MatchComponent), by base rather than by node (new photos shift the nodes after them), each with
// its matches and the groups made of its clusters, and every group in display order.
//
// The clusters of a component depend on nothing outside it. So after a few photos changed, with the
// same match settings and "not a duplicate" decisions, only the components those changes touch are
// clustered again (the engine passes their matches and the new candidate pairs to clusterPhotos),
// and the others keep their groups: at a million photos that is 1 of some 45,000 components after
// one new photo, instead of clustering and making groups from all 80,000 matches each time.
import type { MatchVerdict } from './match.ts';
import type { PhotoLibrary } from './photo-library.ts';
import type { DuplicateGroup } from './types.ts';

export interface KeptComponent {
  /** Its photos, by base. */
  members: number[];
  /** Its matches, by base. */
  matches: Array<{ a: number; b: number; verdict: MatchVerdict }>;
  /** The photos (bases) of its near clusters: a byte copy among them needs no exact group of its own. */
  nearClustered: Set<number>;
  /** The near and similar groups made of its clusters. */
  groups: DuplicateGroup[];
}

export class KeptGrouping {
  private readonly componentOfBase = new Map<number, KeptComponent>();
  private componentCount = 0;
  /** Every group (exact ones included), in display order. */
  private order: DuplicateGroup[] = [];

  /**
   * @param settingsKey the match settings the components were clustered with
   * @param decisions how many "not a duplicate" decisions there were then (they are only ever added)
   * @param library the photo library the groups were made from (one made anew holds other lists of files)
   */
  constructor(
    readonly settingsKey: string,
    readonly decisions: number,
    readonly library: PhotoLibrary,
  ) {}

  get size(): number {
    return this.componentCount;
  }

  /** The components holding any of these photos (bases). */
  holding(bases: Iterable<number>): Set<KeptComponent> {
    const found = new Set<KeptComponent>();
    for (const base of bases) {
      const component = this.componentOfBase.get(base);
      if (component) found.add(component);
    }
    return found;
  }

  /** Whether a photo (base) is in a near cluster. */
  isNearClustered(base: number): boolean {
    return this.componentOfBase.get(base)?.nearClustered.has(base) ?? false;
  }

  /**
   * Takes out the `gone` components and their groups, and every exact group, then puts in the `made`
   * components and the exact groups `exactGroups()` makes once they are in (those depend on which
   * photos are in a near cluster). Returns every group in display order: the kept ones stay in
   * theirs, and only the new ones are sorted and placed among them.
   */
  replace(gone: ReadonlySet<KeptComponent>, made: readonly KeptComponent[], exactGroups: () => DuplicateGroup[], compare: (a: DuplicateGroup, b: DuplicateGroup) => number): DuplicateGroup[] {
    const goneGroups = new Set<DuplicateGroup>();
    for (const component of gone) {
      for (const base of component.members) if (this.componentOfBase.get(base) === component) this.componentOfBase.delete(base);
      for (const group of component.groups) goneGroups.add(group);
      this.componentCount--;
    }
    const newGroups: DuplicateGroup[] = [];
    for (const component of made) {
      for (const base of component.members) this.componentOfBase.set(base, component);
      newGroups.push(...component.groups);
      this.componentCount++;
    }
    newGroups.push(...exactGroups());
    const stay = this.order.filter((group) => group.kind !== 'exact' && !goneGroups.has(group));
    this.order = mergeInOrder(stay, newGroups.sort(compare), compare);
    return this.order;
  }
}

/**
 * Two lists sorted by `compare`, merged into one. Each item of `right` (the few) is placed by binary
 * search: compared with about log2(left.length) items, not walked past all those before it.
 */
function mergeInOrder<T>(left: readonly T[], right: readonly T[], compare: (a: T, b: T) => number): T[] {
  const merged: T[] = [];
  let from = 0;
  for (const item of right) {
    let low = from;
    let high = left.length;
    while (low < high) {
      const middle = (low + high) >>> 1;
      if (compare(left[middle], item) <= 0) low = middle + 1;
      else high = middle;
    }
    for (let i = from; i < low; i++) merged.push(left[i]);
    merged.push(item);
    from = low;
  }
  for (let i = from; i < left.length; i++) merged.push(left[i]);
  return merged;
}
