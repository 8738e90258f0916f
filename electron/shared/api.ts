// The API the preload script exposes to the renderer as `window.dedup` (and that the browser tests bind
// to the real engine in its place). Types only: the IPC channels that carry it, with their runtime
// validation, are declared once in electron/shared/ipc-contract.ts.
import type {
  DuplicateGroup,
  EngineSettings,
  FolderInfo,
  GroupsResult,
  PhotoFacts,
  ProviderInfo,
  QueryHit,
  RemoveRequest,
  RemoveRequestItem,
  RemoveResult,
  ScanProgress,
  ScanSummary,
  UndoResult,
} from '../engine/types.ts';

export type {
  DuplicateGroup,
  EngineSettings,
  FolderInfo,
  GroupsResult,
  PhotoFacts,
  ProviderInfo,
  QueryHit,
  RemoveRequest,
  RemoveRequestItem,
  RemoveResult,
  ScanProgress,
  ScanSummary,
  UndoResult,
};

export type Language = 'en' | 'zh-CN';

export interface AppSettings extends EngineSettings {
  language: Language;
}

export type Unsubscribe = () => void;

export interface DedupApi {
  folders: {
    list(): Promise<FolderInfo[]>;
    /** Opens the folder dialog; resolves to the chosen folders (already added and being scanned) or []. */
    pick(): Promise<string[]>;
    add(paths: string[]): Promise<FolderInfo[]>;
    remove(path: string): Promise<FolderInfo[]>;
  };
  scan: {
    /** Scans the given folders, or all remembered ones. Progress arrives through onProgress. */
    start(folders?: string[]): Promise<ScanSummary>;
    cancel(): Promise<void>;
    onProgress(listener: (progress: ScanProgress) => void): Unsubscribe;
  };
  groups: {
    list(): Promise<GroupsResult>;
    /** Fired when the groups change without the renderer asking (watcher updates, scans). */
    onChanged(listener: (result: GroupsResult) => void): Unsubscribe;
    notDuplicates(paths: string[]): Promise<void>;
  };
  files: {
    remove(request: RemoveRequest): Promise<RemoveResult>;
    undo(): Promise<UndoResult>;
    canUndo(): Promise<boolean>;
    open(path: string): Promise<void>;
    reveal(path: string): Promise<void>;
    /** A folder dialog for "move to folder"; null when cancelled. */
    pickDestination(): Promise<string | null>;
    /** URL of a thumbnail (custom protocol, catalogued files only). */
    thumbnailUrl(path: string, size: 'small' | 'large'): string;
    /** Absolute path of a File dropped on the page (Electron's webUtils.getPathForFile). */
    pathForFile(file: File): string;
  };
  query: {
    byPath(path: string, top?: number): Promise<QueryHit[]>;
    /** Opens an image dialog and queries with the chosen file; [] when cancelled. */
    pick(top?: number): Promise<{ path: string | null; hits: QueryHit[] }>;
  };
  settings: {
    get(): Promise<AppSettings>;
    update(patch: Partial<AppSettings>): Promise<AppSettings>;
    provider(): Promise<ProviderInfo>;
  };
}

declare global {
  interface Window {
    dedup: DedupApi;
  }
}
