// Candidate pairs for grouping and candidates for queries, from two indexes kept in step with the
// catalog: LSH over every model view's embedding (lsh.ts) and multi-index hashing over pHashes
// (phash-index.ts). Items are identified by vector rows; a photo's views occupy `views` consecutive
// rows from its first row (its "base"), so any row maps back to its photo. The indexes are saved
// beside the catalog and brought up to date incrementally (add new photos, remove gone ones).
import { existsSync, readFileSync } from 'node:fs';
import { xxh3 } from '@node-rs/xxhash';
import { removeLeftoverTemps, writeFileAtomicSync } from './atomic-file.ts';
import { splitVariants, variantWords, type VariantHashes } from './decode.ts';
import { FewHashes } from './few-hashes.ts';
import type { JudgedPair } from './group.ts';
import { LshIndex } from './lsh.ts';
import { forEachCandidatePairParallel, forEachHashHitParallel, forEachHashPairParallel, trainListsParallel, type HashSearch } from './candidate-workers.ts';
import { PhashIndex, PHASH_MAX_DISTANCE } from './phash-index.ts';

const MAGIC = 'PDDCAND3';
/** Format 2: the same without the last search (its files load; the first grouping then searches in full). */
const MAGIC_2 = 'PDDCAND2';
/**
 * magic, views, LSH length, pHash-index length, vector generation, a checksum (xxHash3-64) of
 * everything else, and (format 3) the last-search section's length and the photos added since the
 * LSH centre was last checked, plus one (0: not known, as in files saved before it was kept: the
 * first photo added after opening has the centre checked), then the LSH index, the pHash
 * index and the last search (see encodeLastSearch). A flipped bit anywhere is found on open (the
 * indexes' own checksums cover their data, not every field of their headers). The last search is now
 * saved in a file of its own beside the index (SEARCH_MAGIC), so that a grouping costs a small
 * write, not the whole index (half a GB at a million photos); files saved with the section still open.
 */
const HEADER_BYTES = 40;
const HEADER_BYTES_2 = 32;
const CHECKSUM_AT = 24;

function checksum(file: Buffer): bigint {
  // Streamed over the two parts: the same value as over the joined bytes, without copying half a GB at a million photos.
  return xxh3.Xxh3.withSeed().update(file.subarray(0, CHECKSUM_AT)).update(file.subarray(CHECKSUM_AT + 8)).digest();
}

/**
 * The last-search file (`<index>.search`): magic, the checksum of the index file it belongs to, a
 * checksum (xxHash3-64) of what follows, then the last search (encodeLastSearch). One whose index
 * checksum differs (the index was saved again after it, and the app stopped before the search was)
 * is not used: the next grouping then searches in full.
 */
const SEARCH_MAGIC = 'PDDSRCH1';
const SEARCH_HEADER_BYTES = 24;
const searchPathOf = (indexPath: string) => `${indexPath}.search`;

/** Margin under the similar threshold for LSH's estimated cosine (int8 + projection error, measured ≤ 0.02). */
const ESTIMATE_MARGIN = 0.05;

export interface PairSearchOptions {
  minCosine: number;
  phashMaxDistance: number;
  rotatedMaxDistance: number | null;
  cropMaxDistance: number | null;
}

/**
 * Whether a search with options `last` found every pair one with `next` finds: `next` asks for no
 * lower cosine and no more distant hashes. (Up to the LSH estimate: a pair whose estimated cosine
 * fell between the two bars is found only by the looser search.) The engine then judges the last
 * search's matches again under its stricter settings instead of searching in full.
 */
export function searchCovers(last: PairSearchOptions, next: PairSearchOptions): boolean {
  const within = (bound: number | null, wanted: number | null) => wanted === null || (bound !== null && wanted <= bound);
  return next.minCosine >= last.minCosine && next.phashMaxDistance <= last.phashMaxDistance && within(last.rotatedMaxDistance, next.rotatedMaxDistance) && within(last.cropMaxDistance, next.cropMaxDistance);
}

export interface IndexedPhoto {
  base: number; // first vector row
  phash: bigint;
  /** Where its rotation and crop-window hashes lie (decode.ts variantHashesOf), or null; asked for by the first search that needs them. */
  variantHashes: () => VariantHashes | null;
}

/**
 * Most hash checks (FewHashes: table reads and comparisons, about 7 ns each) for updating the last
 * search instead of searching again: a third of what a new search of the turned and cropped hashes
 * costs, which grows as the square of the library (about 0.18 n^2 checks' time: 50 s at 200,000
 * photos, some 16 minutes at 1,000,000 on 2 cores; bench/candidates-bench.ts), and never under 1e9
 * (about 7 s). At 1,000,000 photos that is some 20,000 new photos. The other two searches cost far
 * less per changed photo (an LSH bucket walk and a pHash-index query each).
 */
function incrementalCheckLimit(photos: number): number {
  return Math.max(1e9, (0.18 / 3) * photos * photos);
}

/** The added photos' whole hashes, for looking up turned hashes and cropped ones (null: that search is off). */
interface AddedHashes {
  rotations: FewHashes | null;
  windows: FewHashes | null;
}

/** What pairs() found. */
export interface CandidatePairs {
  /** Pairs of photos (bases, a < b) worth verifying. */
  pairs: Array<[number, number]>;
  /**
   * null: the library was searched in full and `pairs` are all its candidate pairs. Otherwise the
   * last search was updated: these photos were added, replaced or removed since, `pairs` holds only
   * the pairs with one of them, and every other pair is as the last search found it (that search
   * may have had looser options: searchCovers).
   */
  changed: ReadonlySet<number> | null;
  /** Milliseconds each search took: embeddings (LSH), whole hashes, turned and cropped hashes; and deciding between an update and a full search. */
  timings: { vectors: number; hashes: number; variants: number; deciding: number };
}

/** The verdicts the caller drew from the last search: pairs of photos (bases) judged near or similar, and the settings they were judged with. */
export interface SearchVerdicts {
  settingsKey: string;
  pairs: JudgedPair[];
}

export class CandidateIndex {
  /** The options of the last search (null: none yet, or its pairs no longer hold): the next one may update it. */
  private lastSearchKey: string | null = null;
  /** Photos added, removed or replaced since that search. */
  private readonly changedSinceSearch = new Set<number>();
  /**
   * What the caller concluded from the last search (keepVerdicts), saved with it so that the first
   * grouping after a restart is an update too; null while a search is under way or none was kept.
   */
  private verdicts: SearchVerdicts | null = null;
  /** How many times the LSH index had trained its lists when it was last saved or opened. */
  private savedListTrainings = 0;
  /** Checksum of the index file as last saved or opened (null: none yet); the last-search file names it. */
  private savedIndexChecksum: bigint | null = null;
  /** The last search or its verdicts changed since the index was saved. */
  private searchUnsaved = false;
  /** Photos added or removed since the index was saved or opened: the saved file is a cache, brought up to date by sync() on open. */
  unsavedChanges = 0;
  /**
   * Photos whose turned and cropped hashes were not looked up yet: only a pair search that adds
   * photos needs them (not a query, nor a close after a restart, nor an update with nothing new).
   */
  private readonly unreadVariants = new Map<number, () => VariantHashes | null>();
  /** How many turned and cropped hashes the photos in `variants` have (summing them over a million photos took most of a second). */
  private readonly variantTotals = { rotations: 0, windows: 0 };
  /** The coarse-list training under way (prepareQuery), and the LSH index it is for (sync() may replace it). */
  private listTraining: { lsh: LshIndex; done: Promise<boolean> } | null = null;
  /** Photos added since the LSH centre was last checked (that check reads every stored vector). */
  private addedSinceDriftCheck = Infinity;

  private constructor(
    private lsh: LshIndex,
    private readonly phashes: PhashIndex,
    private readonly variants: Map<number, VariantHashes>,
    readonly views: number,
    private readonly generation: number,
  ) {}

  /** Loads the saved index, or starts an empty one when there is none or it is damaged or stale. */
  static open(path: string, dim: number, views: number, generation: number, log: (message: string) => void): CandidateIndex {
    for (const file of [path, searchPathOf(path)]) removeLeftoverTemps(file);
    if (existsSync(path)) {
      try {
        const bytes = readFileSync(path);
        const magic = bytes.toString('latin1', 0, 8);
        const headerBytes = magic === MAGIC ? HEADER_BYTES : HEADER_BYTES_2;
        if (bytes.length < headerBytes || (magic !== MAGIC && magic !== MAGIC_2)) throw new Error('not a candidate index file, or an older format');
        if (bytes.readBigUInt64LE(CHECKSUM_AT) !== checksum(bytes)) throw new Error('checksum mismatch: the file is damaged');
        const savedViews = bytes.readUInt32LE(8);
        const savedGeneration = bytes.readUInt32LE(20);
        const lshLength = bytes.readUInt32LE(12);
        const phashLength = bytes.readUInt32LE(16);
        const searchLength = magic === MAGIC ? bytes.readUInt32LE(32) : 0;
        if (headerBytes + lshLength + phashLength + searchLength !== bytes.length) throw new Error('inconsistent section lengths');
        const lsh = LshIndex.deserialize(bytes.subarray(headerBytes, headerBytes + lshLength));
        const phashes = PhashIndex.deserialize(bytes.subarray(headerBytes + lshLength, headerBytes + lshLength + phashLength));
        if (savedViews === views && lsh.options.dim === dim && savedGeneration === generation) {
          const index = new CandidateIndex(lsh, phashes, new Map(), views, generation);
          // Known since this field was kept: the first new photo after opening need not read every vector (0.5 s at a million).
          const driftCount = magic === MAGIC ? bytes.readUInt32LE(36) : 0;
          if (driftCount > 0) index.addedSinceDriftCheck = driftCount - 1;
          if (searchLength > 0) {
            // Saved with the search inside (before it had a file of its own): the next save of the
            // search rewrites the index without it (savedIndexChecksum stays null).
            index.restoreLastSearch(decodeLastSearch(bytes.subarray(bytes.length - searchLength)));
          } else {
            index.savedIndexChecksum = bytes.readBigUInt64LE(CHECKSUM_AT);
            index.openLastSearch(path, log);
          }
          return index;
        }
        log('the saved similarity index no longer matches the stored embeddings; rebuilding it');
      } catch (error) {
        log(`the saved similarity index cannot be used (${(error as Error).message}); rebuilding it`);
      }
    }
    return new CandidateIndex(new LshIndex({ dim }), new PhashIndex(), new Map(), views, generation);
  }

  get size(): number {
    return this.phashes.size;
  }

  /**
   * Makes the indexes hold exactly these photos: removes the others, adds the missing (reading
   * their vectors). Refits the LSH centre from scratch when it no longer fits the library.
   */
  sync(photos: IndexedPhoto[], readVector: (row: number) => Float32Array): { added: number; removed: number } {
    // Bases are vector rows (small integers): a flag per row, not a Map of a million photos.
    let rows = 0;
    for (const photo of photos) rows = Math.max(rows, photo.base + 1);
    const wantedFlags = new Uint8Array(rows);
    for (const photo of photos) wantedFlags[photo.base] = 1;
    const wanted = { has: (base: number) => base < rows && wantedFlags[base] === 1 };
    const gone: number[] = [];
    for (const base of this.phashes.ids()) if (!wanted.has(base)) gone.push(base);
    for (const base of gone) this.removePhoto(base);
    const removed = gone.length;
    const missing = photos.filter((photo) => !this.holds(photo));
    if (this.lsh.size === 0 && missing.length > 0) {
      // The centre: the mean of (up to 5000) whole-image embeddings of the library.
      const sample = missing.filter((_, i) => i % Math.max(1, Math.floor(missing.length / 5000)) === 0);
      this.lsh = new LshIndex({ ...this.lsh.options, mean: LshIndex.fitMean(sample.map((photo) => readVector(photo.base))) });
      this.lastSearchKey = null;
    }
    for (const photo of missing) this.addPhoto(photo, readVector);
    this.awaitVariants(photos);
    this.unsavedChanges += missing.length + removed;
    this.addedSinceDriftCheck += missing.length;
    // The centre can only drift once the library grew by a good share.
    if (missing.length > 0 && this.addedSinceDriftCheck >= this.lsh.size / 100) {
      this.addedSinceDriftCheck = 0;
      if (this.lsh.needsRefit()) {
        // The library changed a lot since the centre was fitted: rebuild the LSH once with a new one.
        const all = photos.filter((_, i) => i % Math.max(1, Math.floor(photos.length / 5000)) === 0);
        this.lsh = new LshIndex({ ...this.lsh.options, mean: LshIndex.fitMean(all.map((photo) => readVector(photo.base))) });
        for (const photo of photos) for (let v = 0; v < this.views; v++) this.lsh.add(photo.base + v, readVector(photo.base + v));
        this.lastSearchKey = null; // every LSH pair may differ now
        this.unsavedChanges += photos.length;
      }
    }
    return { added: missing.length, removed };
  }

  /**
   * What sync() does, for a few photos only: `removed` bases are gone, `added` photos are new (or
   * their base holds another photo now). sync() checks every photo of the library (half a second at
   * a million photos, for one new photo). Returns false, changing nothing, where sync() must do it:
   * an empty index (its centre is fitted from the first photos), or one whose centre no longer fits
   * (checked once enough photos came since the last check, and after opening).
   */
  update(added: IndexedPhoto[], removed: number[], readVector: (row: number) => Float32Array): boolean {
    if (this.lsh.size === 0) return false;
    if (this.addedSinceDriftCheck + added.length >= this.lsh.size / 100) {
      if (this.lsh.needsRefit()) return false;
      this.addedSinceDriftCheck = 0;
    }
    let removedCount = 0;
    for (const base of removed) {
      if (!this.phashes.has(base)) continue;
      this.removePhoto(base);
      removedCount++;
    }
    const missing = added.filter((photo) => !this.holds(photo));
    for (const photo of missing) this.addPhoto(photo, readVector);
    this.awaitVariants(added);
    this.unsavedChanges += missing.length + removedCount;
    this.addedSinceDriftCheck += missing.length;
    return true;
  }

  /** Whether the indexes hold this photo. A stored hash that differs means its row now holds another photo: it is indexed again. */
  private holds(photo: IndexedPhoto): boolean {
    return this.phashes.get(photo.base) === photo.phash && this.lsh.has(photo.base);
  }

  private removePhoto(base: number): void {
    this.phashes.remove(base);
    for (let v = 0; v < this.views; v++) this.lsh.remove(base + v);
    this.changedSinceSearch.add(base);
    this.forgetVariants(base);
  }

  /** Indexes a new photo, or one that now holds a row another photo held (what was known of that one's turned and cropped hashes goes). */
  private addPhoto(photo: IndexedPhoto, readVector: (row: number) => Float32Array): void {
    this.changedSinceSearch.add(photo.base);
    this.forgetVariants(photo.base);
    this.phashes.add(photo.base, photo.phash);
    for (let v = 0; v < this.views; v++) this.lsh.add(photo.base + v, readVector(photo.base + v));
  }

  /** Turned and cropped hashes: kept for photos already known, looked up by the next search for the others. */
  private awaitVariants(photos: IndexedPhoto[]): void {
    for (const photo of photos) if (!this.variants.has(photo.base)) this.unreadVariants.set(photo.base, photo.variantHashes);
  }

  /** Drops what is known of a base's turned and cropped hashes (its photo is gone, or another one holds its row now). */
  private forgetVariants(base: number): void {
    const hashes = this.variants.get(base);
    if (hashes) this.countVariants(hashes, -1);
    this.variants.delete(base);
    this.unreadVariants.delete(base);
  }

  /**
   * Pairs of photos (bases, a < b) worth verifying: close embeddings (any views), close pHashes, and
   * (when asked) a rotation/mirror or a crop window of one close to the other's whole-image pHash.
   * The variant layout is decode.ts's: rotations first, then one hash per crop window (detail words last, unused here).
   *
   * A full search grows as the square of the library (the variant search most: 61 hashes a photo),
   * so when few photos changed since the last search with the same options (or looser ones, see
   * searchCovers), only the pairs with a
   * changed photo are looked for (see CandidatePairs.changed): the changed photos' embeddings are
   * checked against the LSH buckets they fall in, their hashes are looked up in the pHash index, and
   * every other photo's turned and cropped hashes are compared with their whole hashes one by one.
   * Those are exactly the pairs with a changed photo that a full search finds.
   */
  async pairs(options: PairSearchOptions, log: (message: string) => void = () => {}): Promise<CandidatePairs> {
    const key = JSON.stringify(options);
    // The caller takes the last verdicts first (lastVerdicts) and keeps new ones when it is done.
    this.verdicts = null;
    this.searchUnsaved = true;
    let started = performance.now();
    const lap = () => {
      const now = performance.now();
      const elapsed = now - started;
      started = now;
      return elapsed;
    };
    const changed = new Set(this.changedSinceSearch);
    const added = [...changed].filter((base) => this.phashes.has(base));
    // The added photos' whole hashes, made ready once for both the cost estimate and the update.
    const against = this.lastSearchKey !== null && searchCovers(JSON.parse(this.lastSearchKey), options) ? this.addedHashes(added, options) : null;
    // With no photo added (none, or only removed), an update searches nothing: the photos' turned
    // and cropped hashes are not even looked at.
    const update = against !== null && (added.length === 0 || this.updateChecks(changed, against) <= incrementalCheckLimit(this.phashes.size));
    const deciding = lap();

    const pairs: Array<[number, number]> = [];
    const addPair = this.eachPairOnce((a, b) => pairs.push([a, b]));
    const minCosine = options.minCosine - ESTIMATE_MARGIN;
    const phashRadius = Math.min(options.phashMaxDistance, PHASH_MAX_DISTANCE);
    const addRows = (rowA: number, rowB: number) => addPair(this.baseOf(rowA), this.baseOf(rowB));
    if (!update) await forEachCandidatePairParallel(this.lsh, { minCosine }, addRows, log);
    else if (added.length > 0) this.lsh.forEachPairOf(added.flatMap((base) => Array.from({ length: this.views }, (_, v) => base + v)), { minCosine }, addRows); // (it readies the bucket tables first: a second at a million photos)
    const vectors = lap();
    if (!update) await forEachHashPairParallel(this.phashes, phashRadius, addPair, log);
    else for (const base of added) for (const hit of this.phashes.query(this.phashes.get(base)!, phashRadius)) addPair(base, hit.id);
    const hashes = lap();
    await this.searchVariantPairs(options, update ? { added, against: against! } : null, addPair, log);
    const variants = lap();
    this.changedSinceSearch.clear();
    this.lastSearchKey = key;
    // The order depends on how the LSH search was split over threads; group.ts sorts its edges, so
    // the groups do not.
    return { pairs, changed: update ? changed : null, timings: { vectors, hashes, variants, deciding } };
  }

  /**
   * About how many hash checks an update would make: every turned and cropped hash of the photos
   * not in `changed` looked up among the added photos' whole hashes (FewHashes).
   */
  private updateChecks(changed: ReadonlySet<number>, { rotations: rotatedAgainst, windows: croppedAgainst }: AddedHashes): number {
    const variants = this.allVariants();
    let { rotations, windows } = this.variantTotals;
    for (const base of changed) {
      const hashes = variants.get(base);
      if (!hashes) continue;
      rotations -= hashes.turned;
      windows -= hashes.cropped;
    }
    return rotations * (rotatedAgainst?.checksPerLookup ?? 0) + windows * (croppedAgainst?.checksPerLookup ?? 0);
  }

  /** Adds (sign 1) or takes away (-1) a photo's turned and cropped hashes from variantTotals. */
  private countVariants(hashes: VariantHashes, sign: 1 | -1): void {
    this.variantTotals.rotations += sign * hashes.turned;
    this.variantTotals.windows += sign * hashes.cropped;
  }

  /** Every photo's turned and cropped hashes, found now where they were not yet. */
  private allVariants(): Map<number, VariantHashes> {
    for (const [base, read] of this.unreadVariants) {
      const hashes = read();
      if (hashes && !this.variants.has(base)) {
        this.variants.set(base, hashes);
        this.countVariants(hashes, 1);
      }
    }
    this.unreadVariants.clear();
    return this.variants;
  }

  /** Makes the next pairs() search in full (the caller no longer has what the last one found). */
  forgetPairs(): void {
    this.lastSearchKey = null;
    this.verdicts = null;
    this.searchUnsaved = true;
  }

  /** The verdicts kept after the last search (null: none; the next search is then a full one for the caller). */
  get lastVerdicts(): SearchVerdicts | null {
    return this.verdicts;
  }

  /** Keeps what the caller concluded from the search pairs() just returned, to be saved with it. */
  keepVerdicts(verdicts: SearchVerdicts): void {
    this.verdicts = verdicts;
    this.searchUnsaved = true;
  }

  private restoreLastSearch(saved: LastSearch): void {
    // Without verdicts an update would have nothing to add its pairs to.
    if (saved.key === null || saved.verdicts === null) return;
    this.lastSearchKey = saved.key;
    for (const base of saved.changed) this.changedSinceSearch.add(base);
    this.verdicts = saved.verdicts;
  }

  /**
   * The pairs where a turned or cropped hash of one photo is close to the other's whole-image hash:
   * of the whole library, or (`update` given) only those with one of its added photos, whose whole
   * hashes are in `against`.
   */
  private async searchVariantPairs(options: PairSearchOptions, update: { added: number[]; against: AddedHashes } | null, record: (a: number, b: number) => void, log: (message: string) => void): Promise<void> {
    const { rotatedMaxDistance, cropMaxDistance } = options;
    if (update?.added.length === 0) return;
    const variants = this.allVariants();
    // The words are copied out of the catalog's bytes as the search goes (a few seconds of a full
    // search's minutes at a million photos), not kept.
    const searchesOf = (bases: Iterable<number>): Iterable<HashSearch> => ({
      [Symbol.iterator]: function* (this: void): Generator<HashSearch> {
        for (const base of bases) {
          const hashes = variants.get(base);
          if (!hashes) continue;
          const { rotations, windows } = variantWords(hashes);
          if (rotatedMaxDistance !== null) yield { base, words: rotations, maxDistance: rotatedMaxDistance };
          if (cropMaxDistance !== null) yield { base, words: windows, maxDistance: cropMaxDistance };
        }
      },
    });
    if (update === null) {
      await forEachHashHitParallel(this.phashes, searchesOf(variants.keys()), variants.size, record, log);
      return;
    }
    const { added, against: { rotations: rotatedAgainst, windows: croppedAgainst } } = update;
    // The added photos' turned and cropped hashes against every whole hash (theirs included).
    await forEachHashHitParallel(this.phashes, searchesOf(added), added.length, record, log);
    // Every other photo's turned and cropped hashes against the added photos' whole hashes.
    // A million photos here: one visit function and no entry arrays, not two of each per photo.
    const addedSet = new Set(added);
    let current = 0;
    const visit = (k: number) => record(current, added[k]);
    variants.forEach(({ bytes, turned, cropped }, base) => {
      if (addedSet.has(base)) return;
      current = base;
      rotatedAgainst?.forEachWithinBytes(bytes, 0, turned, visit);
      croppedAgainst?.forEachWithinBytes(bytes, turned, turned + cropped, visit);
    });
  }

  /** The added photos' whole hashes, ready to be compared with turned hashes and with cropped ones (null: not searched). */
  private addedHashes(added: number[], options: PairSearchOptions): AddedHashes {
    const lo = new Int32Array(added.length);
    const hi = new Int32Array(added.length);
    added.forEach((base, k) => {
      const hash = this.phashes.get(base)!;
      lo[k] = Number(hash & 0xffffffffn) | 0;
      hi[k] = Number(hash >> 32n) | 0;
    });
    const against = (maxDistance: number | null) => (maxDistance === null ? null : new FewHashes(lo, hi, maxDistance));
    return { rotations: against(options.rotatedMaxDistance), windows: against(options.cropMaxDistance) };
  }

  /**
   * Readies query() for a large library: the vector index's coarse lists, when they need training
   * (the first query, or the library doubled), are trained on worker threads rather than in query().
   * A call while a training of this index runs (the engine starts one in the background after a
   * regrouping) waits for that one. `signal` cancels the training it starts. Resolves with whether
   * the lists are ready now (small libraries leave them to query(), where they cost little).
   */
  prepareQuery(log: (message: string) => void = () => {}, signal?: AbortSignal): Promise<boolean> {
    if (this.listTraining?.lsh !== this.lsh) {
      const lsh = this.lsh;
      const training = {
        lsh,
        done: trainListsParallel(lsh, log, signal)
          .then(() => !lsh.listsNeedTraining)
          .finally(() => {
            if (this.listTraining === training) this.listTraining = null;
          }),
      };
      this.listTraining = training;
    }
    return this.listTraining!.done;
  }

  /** Whether query() would train the coarse lists first (prepareQuery trains them ahead). */
  get queryNeedsPreparation(): boolean {
    return this.lsh.listsNeedTraining && this.listTraining?.lsh !== this.lsh;
  }

  /** Photos (bases) that may match a probe: LSH neighbours of each of its views, and close pHashes. */
  query(probe: { vectors: Float32Array[]; phash: bigint; phashVariants: bigint[] | null }, options: { k: number; phashMaxDistance: number }): number[] {
    const bases = new Set<number>();
    for (const vector of probe.vectors) for (const hit of this.lsh.query(vector, { k: options.k * this.views * 4 })) bases.add(this.baseOf(hit.id));
    const radius = Math.min(options.phashMaxDistance, PHASH_MAX_DISTANCE);
    const { rotations, windows } = splitVariants(probe.phashVariants ?? []);
    const shapes = [...rotations, ...windows];
    for (const hash of [probe.phash, ...shapes]) for (const hit of this.phashes.query(hash, radius)) bases.add(hit.id);
    return [...bases];
  }

  /**
   * Saves the index once 1 % of the library (at least 1,000 photos) changed since the last save, or
   * whenever anything did when `always` (on close). Writing the whole index for every new photo cost
   * 0.25 s at 100,000 photos; a saved index that lags behind only means those photos are indexed
   * again by sync() on the next start (and count as changed since the saved search). The last
   * search alone is saved only when `always`, in its own small file when the index itself is saved
   * already (a regrouping of a million photos then closes in a moment, not in the 10-20 s of
   * writing the whole index).
   */
  saveIfDue(path: string, always = false): void {
    // Lists trained since the save count on close: at a million photos they take half a minute. (A
    // new LSH index, refitted by sync(), always comes with unsaved changes: every photo added again.)
    const indexUnsaved = this.unsavedChanges > 0 || this.lsh.listTrainings !== this.savedListTrainings;
    if (!always) {
      if (this.unsavedChanges >= Math.max(1000, this.size / 100)) this.save(path);
    } else if (indexUnsaved || (this.searchUnsaved && this.savedIndexChecksum === null)) {
      this.save(path);
    } else if (this.searchUnsaved) {
      this.saveLastSearch(path); // a small file, not the whole index
    }
  }

  /** Saves both indexes (temp file + rename), then the last search beside them. */
  save(path: string): void {
    const lsh = this.lsh.serialize();
    const phashes = this.phashes.serialize();
    const header = Buffer.alloc(HEADER_BYTES);
    header.write(MAGIC, 0, 'latin1');
    header.writeUInt32LE(this.views, 8);
    header.writeUInt32LE(lsh.length, 12);
    header.writeUInt32LE(phashes.length, 16);
    header.writeUInt32LE(this.generation, 20);
    header.writeUInt32LE(0, 32); // the last search is in its own file
    header.writeUInt32LE(Number.isFinite(this.addedSinceDriftCheck) ? Math.min(this.addedSinceDriftCheck + 1, 0xffffffff) : 0, 36);
    const file = Buffer.concat([header, lsh, phashes]);
    const sum = checksum(file);
    file.writeBigUInt64LE(sum, CHECKSUM_AT);
    writeFileAtomicSync(path, file);
    this.unsavedChanges = 0;
    this.savedListTrainings = this.lsh.listTrainings;
    this.savedIndexChecksum = sum;
    this.saveLastSearch(path);
  }

  /** Saves the last search alone, for the index file as last saved or opened (which must hold the indexes as they are). */
  private saveLastSearch(path: string): void {
    const search = encodeLastSearch({ key: this.lastSearchKey, changed: [...this.changedSinceSearch], verdicts: this.verdicts });
    const header = Buffer.alloc(SEARCH_HEADER_BYTES);
    header.write(SEARCH_MAGIC, 0, 'latin1');
    header.writeBigUInt64LE(this.savedIndexChecksum!, 8);
    header.writeBigUInt64LE(xxh3.xxh64(search), 16);
    writeFileAtomicSync(searchPathOf(path), Buffer.concat([header, search]));
    this.searchUnsaved = false;
  }

  /** Restores the last search saved beside the index file whose checksum is savedIndexChecksum, if there is one. */
  private openLastSearch(path: string, log: (message: string) => void): void {
    let bytes: Buffer;
    try {
      bytes = readFileSync(searchPathOf(path));
    } catch {
      return; // none saved: the first grouping searches in full
    }
    if (bytes.length < SEARCH_HEADER_BYTES || bytes.toString('latin1', 0, 8) !== SEARCH_MAGIC || bytes.readBigUInt64LE(16) !== xxh3.xxh64(bytes.subarray(SEARCH_HEADER_BYTES))) {
      log('the saved last search is damaged; the next grouping searches in full');
      return;
    }
    if (bytes.readBigUInt64LE(8) !== this.savedIndexChecksum) return; // it belongs to an older save of the index
    try {
      this.restoreLastSearch(decodeLastSearch(bytes.subarray(SEARCH_HEADER_BYTES)));
    } catch (error) {
      log(`the saved last search cannot be used (${(error as Error).message}); the next grouping searches in full`);
    }
  }

  /**
   * A function passing each pair of two different photos on to `add` once, as (a, b) with a < b,
   * whichever way round and however often it comes. Pairs are keyed by one number (a·stride + b),
   * not a string: there can be millions of them.
   */
  private eachPairOnce(add: (a: number, b: number) => void): (x: number, y: number) => void {
    let stride = 1;
    for (const base of this.phashes.ids()) stride = Math.max(stride, base + 1);
    const seen = new Set<number>();
    return (x, y) => {
      const a = Math.min(x, y);
      const b = Math.max(x, y);
      const key = a * stride + b;
      if (a === b || seen.has(key)) return;
      seen.add(key);
      add(a, b);
    };
  }

  private baseOf(row: number): number {
    return row - (row % this.views);
  }
}

/** The last pair search as saved: its options key, the photos changed since, and the caller's verdicts. */
interface LastSearch {
  key: string | null;
  changed: number[];
  verdicts: SearchVerdicts | null;
}

const TIERS = [null, 'near', 'similar'] as const;

/**
 * u32 length + UTF-8 of the search key (length 0: none); u32 count + u32 bases changed since; u32
 * length + UTF-8 of the verdicts' settings (0: no verdicts), u32 pair count, then per pair: u32 a,
 * u32 b, f32 score, u8 tier (TIERS index) + 4 when related. 13 bytes a pair: a library with
 * millions of matching pairs saves them in tens of MB.
 */
function encodeLastSearch({ key, changed, verdicts }: LastSearch): Buffer {
  const keyBytes = Buffer.from(key ?? '', 'utf8');
  const settingsBytes = Buffer.from(verdicts?.settingsKey ?? '', 'utf8');
  const pairs = verdicts?.pairs ?? [];
  const out = Buffer.alloc(4 + keyBytes.length + 4 + 4 * changed.length + 4 + settingsBytes.length + 4 + 13 * pairs.length);
  let at = out.writeUInt32LE(keyBytes.length, 0);
  at += keyBytes.copy(out, at);
  at = out.writeUInt32LE(changed.length, at);
  for (const base of changed) at = out.writeUInt32LE(base, at);
  at = out.writeUInt32LE(verdicts ? settingsBytes.length : 0, at);
  at += settingsBytes.copy(out, at);
  at = out.writeUInt32LE(pairs.length, at);
  for (const { a, b, verdict } of pairs) {
    at = out.writeUInt32LE(a, at);
    at = out.writeUInt32LE(b, at);
    at = out.writeFloatLE(verdict.score, at);
    at = out.writeUInt8(TIERS.indexOf(verdict.tier) + (verdict.related ? 4 : 0), at);
  }
  return out;
}

function decodeLastSearch(bytes: Buffer): LastSearch {
  let at = 0;
  const need = (count: number) => {
    if (at + count > bytes.length) throw new Error('the last-search section is truncated');
  };
  const u32 = () => {
    need(4);
    const value = bytes.readUInt32LE(at);
    at += 4;
    return value;
  };
  const text = () => {
    const length = u32();
    need(length);
    const value = bytes.toString('utf8', at, at + length);
    at += length;
    return value;
  };
  const key = text() || null;
  const changedCount = u32();
  need(4 * changedCount);
  const changed = Array.from({ length: changedCount }, u32);
  const settingsKey = text();
  const count = u32();
  need(13 * count);
  const pairs: JudgedPair[] = [];
  for (let i = 0; i < count; i++, at += 13) {
    const flags = bytes.readUInt8(at + 12);
    const tier = TIERS[flags & 3];
    if (tier === undefined) throw new Error('the last-search section holds an unknown verdict');
    pairs.push({ a: bytes.readUInt32LE(at), b: bytes.readUInt32LE(at + 4), verdict: { tier, score: bytes.readFloatLE(at + 8), related: (flags & 4) !== 0 } });
  }
  if (at !== bytes.length) throw new Error('the last-search section has trailing bytes');
  return { key, changed, verdicts: settingsKey ? { settingsKey, pairs } : null };
}
