// What main does for each IPC channel (the payloads arrive already validated by the contract, from
// our own window). Policies that protect the user's files live here and in trash.ts: only catalogued
// photos are opened or revealed, only existing folders are added. Dialogs and the shell are injected
// (`Desktop`), so this file does not import Electron and is tested under plain Node.
import { stat } from 'node:fs/promises';
import { resolve } from 'node:path';
import type { DeleteJournal } from '../engine/trash.ts';
import type { FolderInfo } from '../engine/types.ts';
import type { Language } from '../shared/api.ts';
import type { RemoteEngine } from '../shared/engine-protocol.ts';
import type { InvokeHandlers } from '../shared/ipc-contract.ts';
import type { AppSettingsStore } from './app-settings.ts';
import type { ScanRunner } from './scans.ts';

/** The desktop services main uses (Electron's dialog and shell in the app). */
export interface Desktop {
  /** Folder dialog (several allowed); [] when cancelled. */
  pickFolders(): Promise<string[]>;
  /** Folder dialog for "move to folder"; null when cancelled. */
  pickDestination(): Promise<string | null>;
  /** Image file dialog; null when cancelled. */
  pickImage(): Promise<string | null>;
  /** Opens a file with its default application; resolves to an error message, or '' on success. */
  openPath(path: string): Promise<string>;
  showItemInFolder(path: string): void;
}

export interface HandlerDeps {
  engine: RemoteEngine;
  journal: Pick<DeleteJournal, 'remove' | 'undo' | 'canUndo'>;
  scans: Pick<ScanRunner, 'run' | 'start' | 'cancelAll'>;
  desktop: Desktop;
  appSettings: Pick<AppSettingsStore, 'get' | 'update'>;
  onLanguageChanged(language: Language): void;
  onUndoChanged(canUndo: boolean): void;
}

async function requireFolder(path: string): Promise<string> {
  const info = await stat(path).catch(() => null);
  if (!info?.isDirectory()) throw new Error(`not a folder: ${path}`);
  return resolve(path);
}

/** The engine's folders, plus the ones just added whose scan has not registered them yet. */
export function withPendingFolders(folders: FolderInfo[], added: string[]): FolderInfo[] {
  const known = new Set(folders.map((folder) => folder.path));
  return [...folders, ...added.filter((path) => !known.has(path)).map((path) => ({ path, lastScanAt: null, fileCount: 0 }))];
}

export function createInvokeHandlers(deps: HandlerDeps): InvokeHandlers<unknown> {
  const { engine, journal, scans, desktop, appSettings } = deps;

  async function addFolders(paths: string[]): Promise<FolderInfo[]> {
    const folders = await Promise.all(paths.map(requireFolder));
    scans.start(folders); // scanning registers them; progress and "groups changed" follow as events
    return withPendingFolders(await engine.folders(), folders);
  }

  async function requireCatalogued(path: string) {
    const facts = await engine.fileFacts(path);
    if (!facts) throw new Error(`not in the catalog: ${path}`);
    return facts;
  }

  async function queryFile(path: string, top: number | undefined) {
    const info = await stat(path).catch(() => null);
    if (!info?.isFile()) throw new Error(`not a file: ${path}`);
    return engine.query(path, { top });
  }

  return {
    'folders:list': () => engine.folders(),
    async 'folders:pick'() {
      const picked = await desktop.pickFolders();
      if (picked.length > 0) await addFolders(picked);
      return picked;
    },
    'folders:add': (paths) => addFolders(paths),
    async 'folders:remove'(path) {
      await engine.removeFolder(path);
      return engine.folders();
    },

    'scan:start': (folders) => scans.run(folders),
    'scan:cancel': () => scans.cancelAll(),

    'groups:list': () => engine.groups(),
    'groups:not-duplicates': (paths) => engine.markNotDuplicates(paths),

    async 'files:remove'(request) {
      const result = await journal.remove(request);
      deps.onUndoChanged(journal.canUndo());
      return result;
    },
    async 'files:undo'() {
      const result = await journal.undo();
      deps.onUndoChanged(journal.canUndo());
      return result;
    },
    'files:can-undo': () => journal.canUndo(),
    async 'files:open'(path) {
      const facts = await requireCatalogued(path);
      // Only files the engine could read as images: never hand an arbitrary file to the OS to "open".
      if (facts.format === null) throw new Error(`not a readable image: ${path}`);
      const problem = await desktop.openPath(path);
      if (problem) throw new Error(problem);
    },
    async 'files:reveal'(path) {
      await requireCatalogued(path);
      desktop.showItemInFolder(path);
    },
    'files:pick-destination': () => desktop.pickDestination(),

    'query:by-path': ({ path, top }) => queryFile(path, top),
    async 'query:pick'({ top }) {
      const path = await desktop.pickImage();
      if (!path) return { path: null, hits: [] };
      return { path, hits: await queryFile(path, top) };
    },

    async 'settings:get'() {
      return { ...(await engine.settings()), language: appSettings.get().language };
    },
    async 'settings:update'(patch) {
      const { language, ...enginePatch } = patch;
      const engineSettings = Object.keys(enginePatch).length > 0 ? await engine.updateSettings(enginePatch) : await engine.settings();
      if (language !== undefined && language !== appSettings.get().language) {
        await appSettings.update({ language });
        deps.onLanguageChanged(language);
      }
      return { ...engineSettings, language: appSettings.get().language };
    },
    'settings:provider': () => engine.providerInfo(),
  };
}
