// Public types of the engine. The CLI, the Electron main process (through IPC) and the tests all speak
// these; nothing here depends on Electron.

/** exact: same bytes. near: the same photo edited (resized, re-encoded, cropped...). similar: same scene. */
export type GroupKind = 'exact' | 'near' | 'similar';

/** What the app and the CLI show about one photo. */
export interface PhotoFacts {
  path: string; // absolute
  folder: string; // absolute folder that holds the file
  size: number; // bytes
  mtimeMs: number;
  format: string | null; // 'jpeg' | 'png' | 'webp' | 'avif' | 'tiff' | 'gif' | 'heic' | ...
  width: number | null; // after EXIF orientation
  height: number | null;
  takenAt: string | null; // capture date from EXIF (ISO 8601, local time as recorded), if present
  contentHash: string | null;
}

export interface DuplicateGroup {
  /** Stable for the same member set: a hash of the members' content hashes / paths. */
  id: string;
  kind: GroupKind;
  /** Confidence in [0, 1]: the weakest direct match inside the group (1 for exact copies). */
  score: number;
  files: PhotoFacts[];
}

export interface ScanProblem {
  path: string;
  message: string;
}

export type ScanPhase = 'listing' | 'reading' | 'embedding' | 'grouping' | 'done';

export interface ScanProgress {
  phase: ScanPhase;
  done: number;
  total: number;
  ratePerSecond: number;
  etaSeconds: number | null;
  currentPath: string | null;
}

export interface ScanSummary {
  folders: string[];
  /** Image files now in the catalog under these folders (errors included). */
  total: number;
  added: number;
  changed: number;
  moved: number;
  removed: number;
  unchanged: number;
  errors: ScanProblem[];
  durationMs: number;
  cancelled: boolean;
}

export interface QueryHit {
  path: string;
  score: number;
  file: PhotoFacts;
}

export type ExecutionProviderName = 'tensorrt' | 'cuda' | 'webgpu' | 'cpu';
export type ExecutionProviderChoice = 'auto' | ExecutionProviderName;

export interface ProviderAttempt {
  provider: ExecutionProviderName;
  ok: boolean;
  reason: string | null;
}

export interface ProviderInfo {
  requested: ExecutionProviderChoice;
  active: ExecutionProviderName;
  attempts: ProviderAttempt[];
}

export interface MatchSettings {
  /** Cosine (of L2-normalised embeddings) at or above which two photos are near-duplicates. */
  nearCosine: number;
  /** Cosine at or above which two photos are "similar" (bursts, same scene), a weaker tier. */
  similarCosine: number;
  /** 64-bit DCT perceptual hash: Hamming distance at or below which two photos are near-duplicates. */
  phashMaxDistance: number;
  /** Also match 90/180/270-degree rotations and mirror images. */
  rotationInvariant: boolean;
}

export interface EngineSettings extends MatchSettings {
  executionProvider: ExecutionProviderChoice;
  /** Scan hidden files and folders (names starting with '.'); off by default. */
  includeHidden: boolean;
  /** Largest image accepted, in megapixels (guards against decompression bombs). */
  maxMegapixels: number;
}

export interface FolderInfo {
  path: string;
  lastScanAt: string | null; // ISO time
  fileCount: number;
}

export interface ScanOptions {
  signal?: AbortSignal;
  onProgress?: (progress: ScanProgress) => void;
}

export interface GroupsResult {
  groups: DuplicateGroup[];
  errors: ScanProblem[];
}

/** The one API that the CLI, the Electron utility process and the tests use. */
export interface Engine {
  readonly catalogPath: string;
  /** Scans (incrementally) these folders, remembering them; with none, rescans the remembered ones. */
  scan(folders?: string[], options?: ScanOptions): Promise<ScanSummary>;
  /** Re-examines individual paths (added, changed or removed), e.g. from a file watcher. */
  updatePaths(paths: string[], options?: ScanOptions): Promise<ScanSummary>;
  /**
   * The duplicate groups. After the first, a grouping with the same match settings searches and
   * judges only the pairs of photos changed since the last one (see lastRegroup()).
   */
  groups(): Promise<GroupsResult>;
  /** How the last grouping went, in words: searched in full, or updated for the photos changed since. */
  lastRegroup(): string;
  /** Makes the next groups() search and judge the whole library again (benchmarks and tests compare both ways). */
  forgetJudgedPairs(): void;
  /** The k most similar catalogued photos to an image file (which need not be catalogued). */
  query(imagePath: string, options?: { top?: number }): Promise<QueryHit[]>;
  folders(): FolderInfo[];
  /** Forgets a folder and its files (never touches the files themselves). */
  removeFolder(path: string): Promise<void>;
  /** Remembers that these photos are not duplicates of each other; they are never grouped again. */
  markNotDuplicates(paths: string[]): Promise<void>;
  /** Facts of a catalogued file, or null when the path is not in the catalog. */
  fileFacts(path: string): PhotoFacts | null;
  settings(): EngineSettings;
  updateSettings(patch: Partial<EngineSettings>): Promise<EngineSettings>;
  providerInfo(): Promise<ProviderInfo>;
  close(): Promise<void>;
}

// ---- Removing files (trash.ts; the app's IPC carries the same shapes) ----

/** What the renderer knows of a file when it asks to remove it: lets main refuse files changed since shown. */
export interface RemoveRequestItem {
  path: string;
  size: number;
  mtimeMs: number;
}

export type RemoveDestination = { kind: 'trash' } | { kind: 'folder'; path: string };

export interface RemoveRequest {
  /** The group the files were chosen from: main refuses to remove every remaining copy of it. */
  groupId: string;
  items: RemoveRequestItem[];
  /** Where to: the OS trash, or a folder the user chose. */
  destination: RemoveDestination;
}

/** Result of sending files to the trash (or moving them to a folder). */
export interface RemoveResult {
  /** Files that were removed, with where they went (trash or target folder). */
  done: { path: string; to: string | null }[];
  /** Files that were not touched, each with the reason (last copy of a group, changed since shown, ...). */
  refused: { path: string; reason: string }[];
  /** An id for undo, or null when nothing was done. */
  actionId: string | null;
}

export interface UndoResult {
  restored: string[];
  failed: { path: string; reason: string }[];
}
