// The engine: one object that scans folders into the catalog, finds duplicate groups and answers
// similarity queries. It imports nothing from Electron: the CLI, the app's utility process and the
// tests all use it the same way (see types.ts for the API).
import { constants as fsConstants, existsSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { open, realpath, stat } from 'node:fs/promises';
import { createHash } from 'node:crypto';
import { basename, dirname, extname, relative, resolve, sep } from 'node:path';
import { catalogSaveDue, openCatalog, type CatalogData, type CatalogEntry } from './catalog.ts';
import { PhotoLibrary } from './photo-library.ts';
import { contentHash } from './content-hash.ts';
import { DecodeError, decodeImage, SIGNALS_VERSION, variantHashesOf, type DecodedImage } from './decode.ts';
import { DEFAULT_SETTINGS, MODEL_VIEWS } from './defaults.ts';
import { CandidateIndex } from './candidates.ts';
import { clusterPhotos, type JudgedPair } from './group.ts';
import { KeptGrouping, type KeptComponent } from './kept-grouping.ts';
import { comparePhotos, judge, MATCH_LIMITS, normalise, ROTATED_PHASH_MAX, settingsAreStricter, type PhotoSignature } from './match.ts';
import { DEFAULT_MODEL_DIR, EmbeddingModel, loadManifest } from './model.ts';
import { hashesFromBytes, hashesToBytes, phashFromHex, phashToHex } from './phash.ts';
import { ProgressReporter } from './progress.ts';
import { CANDIDATE_EXTENSIONS } from './sniff.ts';
import { VectorStore } from './vectors.ts';
import { describe, isHiddenName, listImages, type ListedFile } from './walk.ts';
import type {
  DuplicateGroup,
  Engine,
  EngineSettings,
  FolderInfo,
  GroupsResult,
  MatchSettings,
  PhotoFacts,
  ProviderInfo,
  QueryHit,
  ScanOptions,
  ScanProblem,
  ScanSummary,
} from './types.ts';

export type * from './types.ts';
export { DEFAULT_SETTINGS, MODEL_VIEWS } from './defaults.ts';

export interface OpenEngineOptions {
  /** The catalog file (JSON); the vectors live next to it in `<catalog>.vectors`. */
  catalogPath: string;
  modelDir?: string;
  /** Overrides for this session (e.g. CLI flags); persisted settings apply underneath. */
  settings?: Partial<EngineSettings>;
  log?: (message: string) => void;
  /** Files decoded at once; default: the number of cores, at least 2. */
  concurrency?: number;
  /** Images per model call. */
  batchSize?: number;
  /**
   * Folders never scanned nor catalogued, besides the catalog's own (e.g. the app's thumbnail cache,
   * which a scan of the home folder would otherwise take for photos).
   */
  exclude?: string[];
  /** Most bytes of catalog journal before a save writes the catalog whole (default: catalog-file.ts; tests make it small). */
  journalLimit?: number;
  /**
   * After each regrouping, ready the index for queries in the background (train its coarse lists,
   * some 20 s at a million photos, when due) instead of in the first query. The app does; the CLI,
   * which exits after one command, does not. close() cancels a training under way.
   */
  prepareQueriesAhead?: boolean;
}

export async function openEngine(options: OpenEngineOptions): Promise<Engine> {
  const catalogPath = resolve(options.catalogPath);
  const { db, file, recovered, migrated } = await openCatalog(catalogPath, { journalLimit: options.journalLimit });
  const log = options.log ?? (() => {});
  if (recovered) log(recovered);
  if (migrated) log(migrated);
  const engine = new DedupEngine(catalogPath, db, file, options, log, migrated !== null || !existsSync(catalogPath));
  await engine.init();
  return engine;
}

interface PendingEmbedding {
  entry: CatalogEntry;
  inputs: Float32Array[];
}

class DedupEngine implements Engine {
  private readonly entries = new Map<string, CatalogEntry>();
  private vectors!: VectorStore;
  private candidates!: CandidateIndex;
  private model: EmbeddingModel | null = null;
  private modelOpening: Promise<EmbeddingModel> | null = null;
  private busy: Promise<unknown> = Promise.resolve(); // scans and updates run one at a time
  private version = 0; // bumped on every catalog change: invalidates the cached groups
  private cachedGroups: { version: number; result: GroupsResult; settingsKey: string } | null = null;
  private lastRegroupSummary = 'no grouping yet';
  /** The last grouping's components of matches and groups, for the next one to update (in memory only: the first grouping after a restart clusters every component). */
  private keptGrouping: KeptGrouping | null = null;
  private lastSaveEnd = 0; // when the last catalog save ended, and how long it took (catalogSaveDue)
  private lastSaveMs = 0;
  /**
   * Edits to the catalog document since it was last written; save() takes away those it wrote. A
   * whole-catalog write takes seconds at 100,000 photos, so opening and closing write only when
   * there is something to write.
   */
  private unsavedEdits = 0;
  /**
   * Paths whose entries were added, changed or removed since the last save: a save appends just
   * those to the catalog's journal (catalog-journal.ts) instead of writing a million entries.
   */
  private changedPaths = new Set<string>();
  /** Paths of the files that could not be read or decoded (what groups() lists as errors), kept by put() and remove(). */
  private readonly problemPaths = new Set<string>();
  private readonly sessionSettings: Partial<EngineSettings>;

  constructor(
    readonly catalogPath: string,
    private readonly db: Awaited<ReturnType<typeof openCatalog>>['db'],
    private readonly file: Awaited<ReturnType<typeof openCatalog>>['file'],
    private readonly options: OpenEngineOptions,
    private readonly log: (message: string) => void,
    /** The document on disk differs from the one opened (a migrated format, a damaged file set aside): write it. */
    openedChanged: boolean,
  ) {
    this.sessionSettings = options.settings ?? {};
    if (openedChanged) this.edited();
  }

  private get data(): CatalogData {
    return this.db.data;
  }

  async init(): Promise<void> {
    for (const entry of this.data.files) {
      this.entries.set(entry.path, entry);
      if (entry.status !== 'ok') this.problemPaths.add(entry.path);
    }
    const manifest = await loadManifest(this.options.modelDir ?? DEFAULT_MODEL_DIR);
    const embedding = { model: manifest.name, sha256: manifest.sha256, dimension: manifest.output.dimension, views: MODEL_VIEWS, signals: SIGNALS_VERSION };
    const current = this.data.embedding;
    const sameEmbedding = current && current.sha256 === embedding.sha256 && current.views.join() === embedding.views.join() && (current.signals ?? 1) === SIGNALS_VERSION;
    if (!sameEmbedding) {
      // Another model, view set or way of computing the signals: every file is decoded and embedded again on the next scan.
      if (current) this.log(`embedding model, views or signals changed (${current.model} → ${embedding.model}, signals ${current.signals ?? 1} → ${SIGNALS_VERSION}); photos will be embedded again`);
      for (const entry of this.entries.values()) this.invalidate(entry);
      this.data.vectorRows = 0;
      this.data.vectorGeneration = (this.data.vectorGeneration ?? 0) + 1;
      this.data.embedding = embedding;
      this.edited();
    }
    this.vectors = VectorStore.open(`${this.catalogPath}.vectors`, embedding.dimension, this.data.vectorRows);
    const views = MODEL_VIEWS.length;
    this.vectors.truncate(this.vectors.rowCount - (this.vectors.rowCount % views)); // whole photos only
    if (this.vectors.rowCount < this.data.vectorRows) {
      this.log(`vector file holds ${this.vectors.rowCount} of ${this.data.vectorRows} rows; the missing photos will be embedded again`);
      this.data.vectorGeneration = (this.data.vectorGeneration ?? 0) + 1; // rows will be reused
    }
    if (this.data.vectorRows !== this.vectors.rowCount) this.edited();
    this.data.vectorRows = this.vectors.rowCount;
    this.candidates = CandidateIndex.open(this.indexPath, embedding.dimension, views, this.data.vectorGeneration ?? 0, this.log);
    // Every photo's rows must be there and hold what was written (their checksum): damaged ones are
    // embedded again. Entries from before checksums (format 1) get theirs now. The rows are read in
    // file order, in large chunks (one read per photo took 8 s at a million photos).
    const embedded: CatalogEntry[] = [];
    for (const entry of this.entries.values()) {
      if (entry.vectorRow === null) continue;
      if (entry.vectorRow + views > this.vectors.rowCount) this.invalidate(entry);
      else embedded.push(entry);
    }
    embedded.sort((a, b) => a.vectorRow! - b.vectorRow!);
    const hashes = this.vectors.hashRowRuns(embedded.map((entry) => entry.vectorRow!), views);
    let damaged = 0;
    for (const [i, entry] of embedded.entries()) {
      const hash = hashes[i];
      if (entry.vectorHash === null) {
        entry.vectorHash = hash;
        this.edited(entry.path);
      } else if (entry.vectorHash !== hash) {
        this.invalidate(entry);
        damaged++;
      }
    }
    if (damaged > 0) this.log(`the vector file holds damaged embeddings for ${damaged} photo(s); they will be embedded again`);
    if (this.unsavedEdits > 0) await this.save();
  }

  private get indexPath(): string {
    return `${this.catalogPath}.index`;
  }

  private invalidate(entry: CatalogEntry): void {
    this.edited(entry.path);
    this.photoLibrary = null; // changed in place: made again when next needed
    entry.vectorRow = null;
    entry.vectorHash = null;
    // A zero mtime never matches the file again, so the next scan re-reads it.
    if (entry.status === 'ok') entry.mtimeMs = 0;
  }

  // ---------------------------------------------------------------- settings

  settings(): EngineSettings {
    return { ...DEFAULT_SETTINGS, ...this.data.settings, ...this.sessionSettings };
  }

  async updateSettings(patch: Partial<EngineSettings>): Promise<EngineSettings> {
    const previous = this.settings();
    Object.assign(this.data.settings, patch);
    this.edited();
    for (const key of Object.keys(patch) as (keyof EngineSettings)[]) delete this.sessionSettings[key];
    await this.save();
    if (patch.executionProvider && patch.executionProvider !== previous.executionProvider && this.model) {
      const old = this.model;
      this.model = null;
      this.modelOpening = null;
      await old.release();
    }
    return this.settings();
  }

  async providerInfo(): Promise<ProviderInfo> {
    return (await this.openModel()).provider;
  }

  private openModel(): Promise<EmbeddingModel> {
    if (this.model) return Promise.resolve(this.model);
    this.modelOpening ??= EmbeddingModel.open({ modelDir: this.options.modelDir, provider: this.settings().executionProvider, log: this.log }).then(
      (model) => (this.model = model),
      (error) => {
        this.modelOpening = null;
        throw error;
      },
    );
    return this.modelOpening;
  }

  // ---------------------------------------------------------------- folders and facts

  folders(): FolderInfo[] {
    return this.data.folders.map((folder) => ({
      path: folder.path,
      lastScanAt: folder.lastScanAt,
      fileCount: [...this.entries.keys()].filter((path) => isInside(path, folder.path)).length,
    }));
  }

  async removeFolder(path: string): Promise<void> {
    await this.exclusive(async () => {
      const folder = resolve(path);
      this.data.folders = this.data.folders.filter((f) => f.path !== folder);
      for (const entryPath of [...this.entries.keys()]) {
        if (isInside(entryPath, folder) && !this.data.folders.some((f) => isInside(entryPath, f.path))) this.remove(entryPath);
      }
      this.changed();
      await this.save();
    });
  }

  fileFacts(path: string): PhotoFacts | null {
    const entry = this.entries.get(resolve(path));
    return entry ? factsOf(entry) : null;
  }

  async markNotDuplicates(paths: string[]): Promise<void> {
    // A decision is about two catalogued files at least (one hash for a group of byte copies): one
    // photo among unknown paths says nothing, and must not hide that photo's copies for good.
    const known = [...new Set(paths.map((p) => resolve(p)))].map((p) => this.entries.get(p)).filter((e) => e?.contentHash);
    if (known.length < 2) return;
    const hashes = [...new Set(known.map((entry) => entry!.contentHash!))].sort();
    this.data.notDuplicates.push(hashes);
    this.changed();
    await this.save();
  }

  // ---------------------------------------------------------------- scanning

  scan(folders?: string[], options: ScanOptions = {}): Promise<ScanSummary> {
    return this.exclusive(async () => {
      const started = Date.now();
      const requested = (folders && folders.length > 0 ? folders : this.data.folders.map((f) => f.path)).map((f) => resolve(f));
      for (const folder of requested) {
        if (!this.data.folders.some((f) => f.path === folder)) this.data.folders.push({ path: folder, lastScanAt: null });
        this.edited(); // a new folder, and lastScanAt below
      }
      const problems: ScanProblem[] = [];
      const progress = new ProgressReporter(options.onProgress);
      progress.start('listing', 0);
      const settings = this.settings();
      const listed = new Map<string, ListedFile>();
      const incomplete: string[] = []; // folders we could not list fully: their catalogued files are kept
      const excluded = await this.excludedFolders();
      for (const folder of requested) {
        const folderProblems: ScanProblem[] = [];
        const files = await listImages(folder, {
          includeHidden: settings.includeHidden,
          exclude: excluded,
          onProblem: (problem) => folderProblems.push(problem),
          signal: options.signal,
        });
        for (const file of files) listed.set(file.path, file);
        for (const problem of folderProblems) if (/^folder /.test(problem.message)) incomplete.push(problem.path);
        problems.push(...folderProblems);
      }
      const missing = [...this.entries.values()].filter(
        (entry) => requested.some((folder) => isInside(entry.path, folder)) && !listed.has(entry.path) && !incomplete.some((folder) => isInside(entry.path, folder)),
      );
      const summary = await this.process([...listed.values()], missing, problems, progress, options.signal);
      if (!options.signal?.aborted) {
        const now = new Date().toISOString();
        for (const folder of this.data.folders) if (requested.includes(folder.path)) folder.lastScanAt = now;
      }
      await this.save();
      const total = [...this.entries.keys()].filter((path) => requested.some((folder) => isInside(path, folder))).length;
      progress.start('done', 0);
      return { ...summary, folders: requested, total, durationMs: Date.now() - started, cancelled: !!options.signal?.aborted };
    });
  }

  updatePaths(paths: string[], options: ScanOptions = {}): Promise<ScanSummary> {
    return this.exclusive(async () => {
      const started = Date.now();
      const settings = this.settings();
      const problems: ScanProblem[] = [];
      const present: ListedFile[] = [];
      const missing: CatalogEntry[] = [];
      const excluded = await this.excludedFolders();
      const gone = new Set<string>(); // paths that no longer exist, files or folders
      for (const raw of new Set(paths.map((p) => resolve(p)))) {
        if ([...excluded].some((folder) => isInside(raw, folder))) continue;
        const folder = this.data.folders.find((f) => isInside(raw, f.path));
        const inFolder = folder !== undefined;
        // Hidden below the scanned folder, as a scan sees it: the folder itself may sit inside a hidden one.
        const hidden = inFolder && relative(folder.path, raw).split(sep).some(isHiddenName);
        try {
          const info = await stat(raw);
          if (info.isFile() && inFolder && (settings.includeHidden || !hidden) && CANDIDATE_EXTENSIONS.has(extname(raw).toLowerCase())) {
            present.push({ path: raw, size: info.size, mtimeMs: info.mtimeMs });
          } else if (info.isDirectory() && inFolder) {
            // A folder appeared (or was moved in): list it.
            present.push(...(await listImages(raw, { includeHidden: settings.includeHidden, exclude: excluded, onProblem: (p) => problems.push(p) })));
          }
        } catch {
          const entry = this.entries.get(raw);
          if (entry) missing.push(entry);
          else gone.add(raw);
        }
      }
      // A folder that vanished: forget what was inside it. One pass over the catalog for all of
      // them (a deleted folder sends an event per file: one pass each would be quadratic).
      if (gone.size > 0) {
        const insideGone = new Map<string, boolean>(); // by folder: photos share few folders
        const vanished = (folder: string): boolean => {
          let known = insideGone.get(folder);
          if (known === undefined) {
            const parent = dirname(folder);
            known = gone.has(folder) || (parent !== folder && vanished(parent));
            insideGone.set(folder, known);
          }
          return known;
        };
        for (const [path, entry] of this.entries) if (vanished(dirname(path))) missing.push(entry);
      }
      const summary = await this.process(present, missing, problems, new ProgressReporter(options.onProgress), options.signal);
      await this.save();
      return { ...summary, folders: [], total: present.length, durationMs: Date.now() - started, cancelled: !!options.signal?.aborted };
    });
  }

  /**
   * The shared core of scan and updatePaths: files present now, catalogued files gone missing.
   * Unchanged files (same path, size, mtime) are skipped; a missing file whose bytes show up under a
   * new path is a move (its facts and embeddings are kept); new byte-copies reuse their twin's embeddings.
   */
  private async process(
    present: ListedFile[],
    missing: CatalogEntry[],
    problems: ScanProblem[],
    progress: ProgressReporter,
    signal: AbortSignal | undefined,
  ): Promise<Omit<ScanSummary, 'folders' | 'total' | 'durationMs' | 'cancelled'>> {
    const counts = { added: 0, changed: 0, moved: 0, removed: 0, unchanged: 0 };
    const work: ListedFile[] = [];
    for (const file of present) {
      const entry = this.entries.get(file.path);
      // A file that could not be read (no content hash: permissions, I/O) is tried again every time;
      // a decode error belongs to the bytes and is remembered until they change.
      const unreadable = entry?.status === 'error' && entry.contentHash === null;
      if (entry && entry.size === file.size && entry.mtimeMs === file.mtimeMs && !unreadable) {
        counts.unchanged++;
        if (entry.status !== 'ok' && entry.error) problems.push({ path: entry.path, message: entry.error });
      } else work.push(file);
    }
    work.sort((a, b) => a.path.localeCompare(b.path));
    const missingByHash = new Map<string, CatalogEntry[]>();
    for (const entry of missing) {
      if (entry.contentHash && entry.status === 'ok') missingByHash.set(entry.contentHash, [...(missingByHash.get(entry.contentHash) ?? []), entry]);
    }
    const stillMissing = new Set(missing);
    // An embedded entry with the same bytes: new byte-copies reuse its signals
    // (the library's files of that hash: kept up to date by put(), new embeddings included).
    const library = work.length > 0 ? this.library() : null;
    const settings = this.settings();
    progress.start('reading', work.length);

    const pending: PendingEmbedding[] = [];
    const batchSize = this.options.batchSize ?? 16;
    let flushing: Promise<void> = Promise.resolve();
    const flush = (): Promise<void> => {
      const batch = pending.splice(0, pending.length);
      flushing = flushing.then(() => this.embedBatch(batch));
      return flushing;
    };

    const handleFile = async (file: ListedFile): Promise<void> => {
      const previous = this.entries.get(file.path);
      let bytes: Buffer;
      try {
        bytes = await readRegularFile(file.path);
      } catch (error) {
        const code = (error as NodeJS.ErrnoException).code;
        if (code === 'ENOENT') {
          problems.push({ path: file.path, message: 'the file vanished during the scan' });
          if (previous) stillMissing.add(previous);
        } else {
          const message = `cannot be read: ${describe(error)}`;
          problems.push({ path: file.path, message });
          this.put({ ...blankEntry(file), status: 'error', error: message });
        }
        progress.advance(file.path);
        return;
      }
      const size = bytes.length;
      const hash = contentHash(bytes);
      const counter = previous ? 'changed' : 'added';

      // Moved: the same bytes vanished from another catalogued path.
      const movedFrom = missingByHash.get(hash)?.find((entry) => stillMissing.has(entry));
      if (movedFrom) {
        stillMissing.delete(movedFrom);
        this.remove(movedFrom.path);
        this.put({ ...movedFrom, path: file.path, size, mtimeMs: file.mtimeMs });
        counts.moved++;
        progress.advance(file.path);
        return;
      }
      // A byte-identical twin is already embedded: reuse its signals.
      const twin = library?.files(hash)?.[0];
      if (twin) {
        this.put({ ...twin, path: file.path, size, mtimeMs: file.mtimeMs });
        counts[counter]++;
        progress.advance(file.path);
        return;
      }
      let decoded: DecodedImage;
      try {
        decoded = await decodeImage(bytes, basename(file.path), {
          inputSize: (await this.openModel()).manifest.input.width,
          views: MODEL_VIEWS,
          maxMegapixels: settings.maxMegapixels,
          rotationVariants: true,
        });
      } catch (error) {
        const unsupported = error instanceof DecodeError && error.unsupported;
        const message = error instanceof DecodeError ? error.message : `could not be decoded: ${(error as Error).message}`;
        problems.push({ path: file.path, message });
        this.put({ ...blankEntry(file), size, contentHash: hash, status: unsupported ? 'unsupported' : 'error', error: message });
        counts[counter]++;
        progress.advance(file.path);
        return;
      }
      counts[counter]++;
      const entry: CatalogEntry = {
        ...blankEntry(file),
        size,
        contentHash: hash,
        format: decoded.format,
        width: decoded.width,
        height: decoded.height,
        content: decoded.content.width !== decoded.width || decoded.content.height !== decoded.height ? decoded.content : null,
        takenAt: decoded.takenAt,
        phash: phashToHex(decoded.phash),
        phashVariants: decoded.phashVariants ? hashesToBytes(decoded.phashVariants) : null,
      };
      pending.push({ entry, inputs: decoded.modelInputs });
      progress.advance(file.path);
      if (pending.length >= batchSize) await flush();
    };

    // Decode several files at once (sharp works on libuv's threads); the model runs a batch at a time.
    const concurrency = this.options.concurrency ?? Math.max(2, availableParallelism());
    let next = 0;
    const workers = Array.from({ length: Math.min(concurrency, work.length) }, async () => {
      while (next < work.length && !signal?.aborted) {
        const file = work[next++];
        await handleFile(file);
        await this.saveIfDue();
      }
    });
    await Promise.all(workers);
    await flush();
    await flushing;

    if (!signal?.aborted) {
      // A catalogued folder that is gone now (an unplugged drive) keeps its files, as when it cannot be listed.
      const offline = await this.offlineFolders();
      for (const entry of stillMissing) {
        if (offline.some((folder) => isInside(entry.path, folder))) continue;
        if (this.entries.get(entry.path) === entry) {
          this.remove(entry.path);
          counts.removed++;
        }
      }
    }
    this.changed();
    problems.sort((a, b) => a.path.localeCompare(b.path));
    return { ...counts, errors: problems };
  }

  /** The catalog's own folder and the excluded ones, as given and with links resolved. */
  private async excludedFolders(): Promise<Set<string>> {
    const folders = [dirname(this.catalogPath), ...(this.options.exclude ?? []).map((folder) => resolve(folder))];
    const real = await Promise.all(folders.map((folder) => realpath(folder).catch(() => folder)));
    return new Set([...folders, ...real]);
  }

  /** Catalogued folders that no longer exist. */
  private async offlineFolders(): Promise<string[]> {
    const gone = await Promise.all(this.data.folders.map((folder) => stat(folder.path).then(() => false, () => true)));
    return this.data.folders.filter((_, i) => gone[i]).map((folder) => folder.path);
  }

  private async embedBatch(batch: PendingEmbedding[]): Promise<void> {
    if (batch.length === 0) return;
    const model = await this.openModel();
    const embeddings = await model.embed(batch.flatMap((item) => item.inputs));
    // Vectors are on disk (fsynced) before any catalog entry points at them.
    const first = this.vectors.append(embeddings);
    batch.forEach((item, i) => {
      const vectorRow = first + i * MODEL_VIEWS.length;
      const vectorHash = this.vectors.hashRows(vectorRow, MODEL_VIEWS.length);
      const entry: CatalogEntry = { ...item.entry, vectorRow, vectorHash, status: 'ok', error: null };
      this.put(entry);
    });
    this.data.vectorRows = this.vectors.rowCount;
  }

  private put(entry: CatalogEntry): void {
    this.photoLibrary?.change(this.entries.get(entry.path), entry);
    this.entries.set(entry.path, entry);
    if (entry.status !== 'ok') this.problemPaths.add(entry.path);
    else this.problemPaths.delete(entry.path);
    this.changedPaths.add(entry.path);
    this.changed();
  }

  private remove(path: string): void {
    this.photoLibrary?.change(this.entries.get(path), undefined);
    this.entries.delete(path);
    this.problemPaths.delete(path);
    this.changedPaths.add(path);
    this.changed();
  }

  /** The library changed (files, their facts or decisions): cached groups and the index are out of date, and the catalog unsaved. */
  private changed(): void {
    this.version++;
    this.edited();
  }

  /** The catalog document changed (any field; an entry in place: its path): the next save() or close() writes it. */
  private edited(path?: string): void {
    this.unsavedEdits++;
    if (path !== undefined) this.changedPaths.add(path);
  }

  // ---------------------------------------------------------------- groups and queries

  /** The photos as the indexes and grouping see them, kept up to date by put() and remove(); made on first use. */
  private photoLibrary: PhotoLibrary | null = null;
  /** The indexes must be brought in line with every photo (the library was made anew), not only with its changes. */
  private indexNeedsFullSync = true;
  /** Normalised embeddings and hashes by first vector row; rows never change, so entries never go stale. */
  private readonly signatureCache = new Map<number, PhotoSignature>();
  private indexedVersion = -1;

  /** The distinct photos (one per content hash, sorted) with the files that hold each. */
  private library(): PhotoLibrary {
    if (!this.photoLibrary) {
      this.photoLibrary = new PhotoLibrary(this.entries.values());
      this.indexNeedsFullSync = true;
    }
    return this.photoLibrary;
  }

  /** The file whose signals stand for a photo (node): the first of its files by path. */
  private representative(library: PhotoLibrary, node: number): CatalogEntry {
    return library.files(library.keys[node])![0];
  }

  private signatureOf(entry: CatalogEntry): PhotoSignature {
    const base = entry.vectorRow!;
    let signature = this.signatureCache.get(base);
    if (!signature) {
      signature = {
        vectors: MODEL_VIEWS.map((_, v) => normalise(this.vectors.read(base + v))),
        phash: phashFromHex(entry.phash!),
        phashVariants: entry.phashVariants ? hashesFromBytes(entry.phashVariants) : null,
        // The crop and detail rules want the size of the picture itself, borders cut off.
        dimensions: entry.content ?? (entry.width && entry.height ? { width: entry.width, height: entry.height } : null),
      };
      if (this.signatureCache.size > 50_000) this.signatureCache.clear(); // bounded memory on huge libraries
      this.signatureCache.set(base, signature);
    }
    return signature;
  }

  /** Brings the LSH and pHash indexes in line with the catalog (incrementally) and saves them when due. */
  private syncIndex(): void {
    if (this.indexedVersion === this.version) return;
    const library = this.library();
    const indexed = (entry: CatalogEntry) => ({
      base: entry.vectorRow!,
      phash: phashFromHex(entry.phash!),
      variantHashes: () => (entry.phashVariants ? variantHashesOf(entry.phashVariants) : null),
    });
    // The index sees normalised vectors, like every comparison in the engine.
    const readVector = (row: number) => normalise(this.vectors.read(row));
    // Only the photos that came and went since the last time, when the index can take them so.
    const { removed, added } = library.takeBaseChanges();
    const addedPhotos = added.map((base) => indexed(this.representative(library, library.nodeOfBase(base))));
    if (this.indexNeedsFullSync || !this.candidates.update(addedPhotos, removed, readVector)) {
      this.candidates.sync(Array.from(library.representatives(), indexed), readVector);
      this.indexNeedsFullSync = false;
    }
    this.indexedVersion = this.version;
    this.candidates.saveIfDue(this.indexPath);
  }

  async groups(): Promise<GroupsResult> {
    const settings = this.settings();
    const matchKey = matchSettingsKey(settings);
    const settingsKey = `${matchKey} ${this.data.notDuplicates.length}`;
    if (this.cachedGroups && this.cachedGroups.version === this.version && this.cachedGroups.settingsKey === settingsKey) return this.cachedGroups.result;
    // The pairs (by base) the last grouping judged near or similar, and the match settings it judged
    // with: a grouping with those settings judges only the pairs of photos changed since. Kept by
    // the candidate index with its last search (and saved with it, so this holds after a restart);
    // pairs() drops them and they are put back only once this grouping is done: if it fails
    // half-way, the next searches in full.
    // Settings made stricter (higher cosines, fewer hash bits, turns no longer matched) only take
    // matches away: the last matches are judged again instead of searching in full.
    const previous = this.candidates.lastVerdicts;
    const settingsChanged = previous?.settingsKey !== matchKey;
    const stricter = previous !== null && settingsChanged && settingsAreStricter(matchSettingsOfKey(previous.settingsKey), settings);
    if (settingsChanged && !stricter) this.candidates.forgetPairs();
    this.syncIndex();
    const library = this.library();
    const { keys, bases: baseOf } = library;
    const nodeOfBase = (base: number) => library.nodeOfBase(base);
    const filesOf = (node: number) => library.files(keys[node])!;
    const found = await this.candidates.pairs(
      {
        minCosine: Math.min(settings.similarCosine, settings.nearCosine),
        phashMaxDistance: settings.phashMaxDistance,
        rotatedMaxDistance: settings.rotationInvariant ? Math.min(ROTATED_PHASH_MAX, settings.phashMaxDistance) : null,
        cropMaxDistance: MATCH_LIMITS.cropPhashMax,
      },
      this.log,
    );
    const candidatePairs = found.pairs.map(([a, b]): [number, number] => [nodeOfBase(a), nodeOfBase(b)]);
    const decisions = this.data.notDuplicates.length;
    const last = this.keptGrouping;
    this.keptGrouping = null; // put back once this grouping is done
    // Photos whose files changed (one added, moved or gone) need their groups made again.
    const filesChanged = library
      .takeFileChanges()
      .map((key) => library.nodeOfKey(key))
      .filter((node) => node >= 0)
      .map((node) => baseOf[node]);
    // After a search that was only updated, with the same settings and decisions as the last
    // grouping, only the components of matches the changes touch are clustered again: those of the
    // changed photos, of either photo of a new candidate pair, and of photos whose files changed.
    // The others keep their clusters and groups (kept-grouping.ts).
    const updating = found.changed !== null && !stricter && last?.settingsKey === matchKey && last.decisions === decisions && last.library === library;
    const grouping = updating ? last! : new KeptGrouping(matchKey, decisions, library);
    const touched = updating ? last!.holding([...found.changed!, ...found.pairs.flat(), ...filesChanged]) : new Set<KeptComponent>();
    // Otherwise the pairs of unchanged photos keep their verdicts, or are judged again when the
    // settings became stricter, and every component is clustered.
    const isUnchanged = (pair: { a: number; b: number }) => !found.changed!.has(pair.a) && !found.changed!.has(pair.b);
    const keptVerdicts = found.changed !== null ? previous!.pairs.filter(isUnchanged) : [];
    const kept: JudgedPair[] = [];
    let judgedAgain = 0;
    if (updating) {
      for (const component of touched) for (const { a, b, verdict } of component.matches) if (isUnchanged({ a, b })) kept.push({ a: nodeOfBase(a), b: nodeOfBase(b), verdict });
    } else {
      for (const { a, b, verdict } of keptVerdicts) {
        if (stricter) {
          candidatePairs.push([nodeOfBase(a), nodeOfBase(b)]);
          judgedAgain++;
        } else kept.push({ a: nodeOfBase(a), b: nodeOfBase(b), verdict });
      }
    }
    // A photo's signature (its vectors and hashes) is read only when one of its pairs is compared:
    // the kept verdicts' photos (160,000 at a million photos, 8 s to read) mostly never are.
    const isDismissed = this.dismissals(library);
    const clustering = clusterPhotos(new Array<PhotoSignature | undefined>(keys.length), candidatePairs, {
      settings,
      isDismissed,
      judged: kept,
      signatureOf: (node) => this.signatureOf(this.representative(library, node)),
    });
    const toBases = ({ a, b, verdict }: JudgedPair) => ({ a: baseOf[a], b: baseOf[b], verdict });
    // The verdicts to keep: in an update, the last ones of unchanged photos and the new candidates'.
    const verdicts = updating ? [...keptVerdicts, ...clustering.judged.map(toBases).filter((pair) => !isUnchanged(pair))] : clustering.judged.map(toBases);
    this.candidates.keepVerdicts({ settingsKey: matchKey, pairs: verdicts });
    this.lastRegroupSummary =
      found.changed === null
        ? `searched in full: ${candidatePairs.length.toLocaleString('en')} candidate pairs judged`
        : `updated for ${found.changed.size.toLocaleString('en')} changed photo${found.changed.size === 1 ? '' : 's'}: ${(candidatePairs.length - judgedAgain).toLocaleString('en')} new candidate pairs judged, ` +
          (stricter ? `${judgedAgain.toLocaleString('en')} earlier matches judged again under stricter settings` : `${keptVerdicts.length.toLocaleString('en')} matches kept`) +
          (updating ? `, the clusters of ${(grouping.size - touched.size).toLocaleString('en')} of ${grouping.size.toLocaleString('en')} components of matches kept` : '');
    const { vectors, hashes, variants } = found.timings;
    this.lastRegroupSummary += ` (searches: embeddings ${(vectors / 1000).toFixed(2)} s, whole hashes ${(hashes / 1000).toFixed(2)} s, turned and cropped hashes ${(variants / 1000).toFixed(2)} s)`;
    // The groups of each component clustered now.
    const made = clustering.components.map((component): KeptComponent => {
      const nearClustered = new Set<number>();
      for (const cluster of component.near) for (const node of cluster.members) nearClustered.add(baseOf[node]);
      const groups = [
        ...component.near.map((cluster) => makeGroup('near', cluster.score, cluster.members.flatMap(filesOf))),
        // One representative per near-duplicate cluster: the similar tier is about distinct shots.
        ...component.similar.map((cluster) => makeGroup('similar', cluster.score, cluster.members.map((node) => bestOf(filesOf(node))))),
      ];
      return { members: component.members.map((node) => baseOf[node]), matches: component.matches.map(toBases), nearClustered, groups };
    });
    // Byte-identical copies that no near group shows, made again each time: asked for once the new
    // components are in, for which photos are in a near cluster.
    const exactGroups = () => {
      const exact: DuplicateGroup[] = [];
      for (const key of library.copied()) {
        const node = library.nodeOfKey(key);
        if (!grouping.isNearClustered(baseOf[node]) && !isDismissed(node, node)) exact.push(makeGroup('exact', 1, library.files(key)!));
      }
      return exact;
    };
    const groups = grouping.replace(touched, made, exactGroups, inDisplayOrder);
    const errors = [...this.problemPaths]
      .map((path) => this.entries.get(path)!)
      .map((entry) => ({ path: entry.path, message: entry.error ?? entry.status }))
      .sort((a, b) => a.path.localeCompare(b.path));
    const result = { groups, errors };
    this.cachedGroups = { version: this.version, result, settingsKey };
    this.keptGrouping = grouping;
    if (this.options.prepareQueriesAhead) this.prepareQueriesInBackground();
    return result;
  }

  /** The background training of the coarse lists (prepareQueriesAhead), and what cancels it on close. */
  private queryPreparation: Promise<void> | null = null;
  private readonly closing = new AbortController();

  private prepareQueriesInBackground(): void {
    if (this.queryPreparation || this.closing.signal.aborted || !this.candidates.queryNeedsPreparation) return;
    const started = Date.now();
    this.queryPreparation = this.candidates
      .prepareQuery(this.log, this.closing.signal)
      .then(
        (trained) => {
          if (trained) this.log(`the index was readied for queries in ${((Date.now() - started) / 1000).toFixed(1)} s`);
        },
        (error: unknown) => {
          if (!this.closing.signal.aborted) this.log(`readying the index for queries failed (the first query will do it): ${describe(error)}`);
        },
      )
      .finally(() => (this.queryPreparation = null));
  }

  /** How the last grouping went: searched in full, or updated for the photos changed since the one before. */
  lastRegroup(): string {
    return this.lastRegroupSummary;
  }

  /** Makes the next groups() search and judge the whole library again (the benchmark and tests compare both ways). */
  forgetJudgedPairs(): void {
    this.candidates.forgetPairs();
    this.keptGrouping = null;
    this.cachedGroups = null;
  }

  /**
   * Whether the user dismissed the pair of photos (nodes: indexes into the sorted `keys`) a < b, or
   * a = b: a dismissed exact group. Keyed by number, not by content-hash string: clustering asks
   * for every pair it looks at.
   */
  private dismissals(library: PhotoLibrary): (a: number, b: number) => boolean {
    const n = library.keys.length;
    const pairs = new Set<number>();
    for (const decision of this.data.notDuplicates) {
      const members = decision
        .map((hash) => library.nodeOfKey(hash))
        .filter((node) => node >= 0)
        .sort((x, y) => x - y);
      if (members.length === 1) pairs.add(members[0] * n + members[0]);
      for (let i = 0; i < members.length; i++) for (let j = i + 1; j < members.length; j++) pairs.add(members[i] * n + members[j]);
    }
    return (a, b) => pairs.size > 0 && pairs.has(a * n + b);
  }

  async query(imagePath: string, options: { top?: number } = {}): Promise<QueryHit[]> {
    const path = resolve(imagePath);
    const bytes = await readRegularFile(path).catch((error) => {
      throw new Error(`${path} cannot be read: ${describe(error)}`);
    });
    const model = await this.openModel();
    const decoded = await decodeImage(bytes, basename(path), {
      inputSize: model.manifest.input.width,
      views: MODEL_VIEWS,
      maxMegapixels: this.settings().maxMegapixels,
      rotationVariants: true,
    });
    const embeddings = await model.embed(decoded.modelInputs);
    const probe: PhotoSignature = {
      vectors: embeddings.map(normalise),
      phash: decoded.phash,
      phashVariants: decoded.phashVariants,
      dimensions: decoded.content,
    };
    const settings = this.settings();
    this.syncIndex();
    await this.candidates.prepareQuery(this.log);
    this.syncIndex(); // the library may have changed while the lists trained
    const library = this.library();
    const top = options.top ?? 10;
    let candidates = this.candidates.query(probe, { k: top, phashMaxDistance: Math.max(settings.phashMaxDistance, ROTATED_PHASH_MAX) });
    if (candidates.length < top) candidates = [...new Set([...candidates, ...this.nearestExactly(probe.vectors[0], library.bases, top * 4)])];
    const scored = candidates
      .map((base) => {
        const entry = this.representative(library, library.nodeOfBase(base));
        return { entry, score: judge(comparePhotos(probe, this.signatureOf(entry), settings.rotationInvariant), settings).score };
      })
      .sort((a, b) => b.score - a.score);
    const hits: QueryHit[] = [];
    for (const { entry, score } of scored) {
      for (const file of library.files(entry.contentHash!)!) {
        if (hits.length >= top) return hits;
        hits.push({ path: file.path, score, file: factsOf(file) });
      }
    }
    return hits;
  }

  /** Exact nearest photos by whole-image cosine, straight from the vector store (when the index finds too few). */
  private nearestExactly(vector: Float32Array, bases: readonly number[], count: number): number[] {
    return bases
      .map((base) => {
        const { dot, norm } = this.vectors.dotAndNorm(base, vector);
        return { base, cosine: dot / (norm || 1) };
      })
      .sort((a, b) => b.cosine - a.cosine)
      .slice(0, count)
      .map((hit) => hit.base);
  }

  // ---------------------------------------------------------------- persistence

  private async saveIfDue(): Promise<void> {
    if (catalogSaveDue(Date.now(), this.lastSaveEnd, this.lastSaveMs)) await this.save();
  }

  private async save(): Promise<void> {
    const started = Date.now();
    // The document is serialised when the write starts: edits made while it is written stay unsaved.
    const edits = this.unsavedEdits;
    const changedPaths = this.changedPaths;
    this.changedPaths = new Set();
    this.data.vectorRows = this.vectors ? this.vectors.rowCount : this.data.vectorRows;
    const put: CatalogEntry[] = [];
    const removed: string[] = [];
    for (const path of changedPaths) {
      const entry = this.entries.get(path);
      if (entry) put.push(entry);
      else removed.push(path);
    }
    try {
      // The journal when it can (milliseconds), the whole catalog when it has grown (catalog-file.ts).
      await this.file.save(this.data, () => (this.data.files = [...this.entries.values()]), { put, removed });
    } catch (error) {
      for (const path of changedPaths) this.changedPaths.add(path); // still unsaved
      throw error;
    }
    this.unsavedEdits -= edits;
    this.lastSaveEnd = Date.now();
    this.lastSaveMs = this.lastSaveEnd - started;
  }

  private exclusive<T>(task: () => Promise<T>): Promise<T> {
    const run = this.busy.then(task, task);
    this.busy = run.catch(() => {});
    return run;
  }

  async close(): Promise<void> {
    this.closing.abort();
    await this.queryPreparation;
    await this.busy;
    if (this.unsavedEdits > 0) await this.save();
    this.syncIndex();
    this.candidates.saveIfDue(this.indexPath, true);
    this.vectors.close();
    await this.model?.release();
    this.model = null;
  }
}

/**
 * Reads a whole regular file. The listing saw a file, but by now something else may have its name:
 * opened without blocking and checked, a named pipe or a device is an error instead of a read that
 * never returns.
 */
async function readRegularFile(path: string): Promise<Buffer> {
  const handle = await open(path, fsConstants.O_RDONLY | (fsConstants.O_NONBLOCK ?? 0));
  try {
    if (!(await handle.stat()).isFile()) throw new Error('not a regular file');
    return await handle.readFile();
  } finally {
    await handle.close();
  }
}

/** The match settings as the kept verdicts record them (SearchVerdicts.settingsKey). */
function matchSettingsKey(settings: MatchSettings): string {
  return JSON.stringify([settings.nearCosine, settings.similarCosine, settings.phashMaxDistance, settings.rotationInvariant]);
}

function matchSettingsOfKey(key: string): MatchSettings {
  const [nearCosine, similarCosine, phashMaxDistance, rotationInvariant] = JSON.parse(key) as [number, number, number, boolean];
  return { nearCosine, similarCosine, phashMaxDistance, rotationInvariant };
}

function blankEntry(file: ListedFile): CatalogEntry {
  return {
    path: file.path,
    size: file.size,
    mtimeMs: file.mtimeMs,
    contentHash: null,
    format: null,
    width: null,
    height: null,
    takenAt: null,
    phash: null,
    phashVariants: null,
    vectorRow: null,
    vectorHash: null,
    status: 'ok',
    error: null,
  };
}

function factsOf(entry: CatalogEntry): PhotoFacts {
  return {
    path: entry.path,
    folder: dirname(entry.path),
    size: entry.size,
    mtimeMs: entry.mtimeMs,
    format: entry.format,
    width: entry.width,
    height: entry.height,
    takenAt: entry.takenAt,
    contentHash: entry.contentHash,
  };
}

function bestOf(entries: readonly CatalogEntry[]): CatalogEntry {
  return [...entries].sort((a, b) => (b.width ?? 0) * (b.height ?? 0) - (a.width ?? 0) * (a.height ?? 0) || b.size - a.size || a.path.localeCompare(b.path))[0];
}

/** The order groups are shown in: exact, then near, then similar; larger first; then by their first file's path. */
function inDisplayOrder(a: DuplicateGroup, b: DuplicateGroup): number {
  return DISPLAY_ORDER[a.kind] - DISPLAY_ORDER[b.kind] || b.files.length - a.files.length || a.files[0].path.localeCompare(b.files[0].path);
}
const DISPLAY_ORDER = { exact: 0, near: 1, similar: 2 };

function makeGroup(kind: DuplicateGroup['kind'], score: number, entries: readonly CatalogEntry[]): DuplicateGroup {
  const files = [...entries].sort((a, b) => a.path.localeCompare(b.path)).map(factsOf);
  const id = createHash('sha1').update(kind).update(files.map((f) => `${f.contentHash}:${f.path}`).join('\n')).digest('hex').slice(0, 16);
  return { id, kind, score: Math.round(score * 10000) / 10000, files };
}

function isInside(path: string, folder: string): boolean {
  return path === folder || path.startsWith(folder.endsWith(sep) ? folder : folder + sep);
}
