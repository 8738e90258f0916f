// The Electron main process: one locked-down window, the engine in a utility process, the IPC
// handlers, the thumbnail and app protocols, menus, dialogs and the trash. The heavy work never runs
// here: scanning, embedding, grouping and thumbnails happen in the engine process. See docs/APP.md.
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { app, dialog, ipcMain, Menu, protocol, shell, type BrowserWindow } from 'electron';
import { CANDIDATE_EXTENSIONS } from '../engine/sniff.ts';
import { DeleteJournal } from '../engine/trash.ts';
import type { Language } from '../shared/api.ts';
import { registerInvokeHandlers, sendEvent, type EventChannel, type EventDataOf } from '../shared/ipc-contract.ts';
import { registerAppProtocol } from './app-protocol.ts';
import { AppSettingsStore, defaultLanguage } from './app-settings.ts';
import { createEngineHost } from './engine-host.ts';
import { createInvokeHandlers, type Desktop } from './ipc-handlers.ts';
import { buildMenu, labelsFor } from './menu.ts';
import { osTrash } from './os-trash.ts';
import { ScanRunner } from './scans.ts';
import { APP_ORIGIN, contentSecurityPolicy, hardenSession, hardenWebContents, registerPrivilegedSchemes, senderInfo } from './security.ts';
import { registerThumbnailProtocol } from './thumbnails.ts';
import { createMainWindow } from './window.ts';

// Must happen before the app is ready.
registerPrivilegedSchemes(protocol);

const here = dirname(fileURLToPath(import.meta.url)); // out/main when built
const devServerUrl = !app.isPackaged && process.env.ELECTRON_RENDERER_URL ? process.env.ELECTRON_RENDERER_URL : null;
const devServerOrigin = devServerUrl ? new URL(devServerUrl).origin : null;
const isMac = process.platform === 'darwin';

function appPaths() {
  const data = app.getPath('userData');
  return {
    data,
    catalog: join(data, 'catalog', 'catalog.json'),
    thumbnails: join(data, 'thumbnails'),
    journal: join(data, 'delete-journal.json'),
    appSettings: join(data, 'app-settings.json'),
    models: app.isPackaged ? join(process.resourcesPath, 'models') : join(app.getAppPath(), 'models'),
    preload: join(here, '..', 'preload', 'index.cjs'),
    renderer: join(here, '..', 'renderer'),
    engineProcess: join(here, 'engine-process.js'),
  };
}

let window: BrowserWindow | null = null;
/** Set once the engine has been closed; quitting then goes ahead. */
let readyToQuit = false;
let stopEngine: () => Promise<void> = async () => undefined;

async function start(): Promise<void> {
  hardenSession(devServerOrigin);
  hardenWebContents(devServerOrigin);
  const paths = appPaths();
  const appSettings = await AppSettingsStore.open(paths.appSettings, { language: defaultLanguage(app.getLocale()) });
  const language = (): Language => appSettings.get().language;

  function send<C extends EventChannel>(channel: C, data: EventDataOf<C>): void {
    if (window && !window.isDestroyed()) sendEvent(window.webContents, channel, data);
  }

  // Watcher news arrive in bursts: the groups are sent once per burst.
  let groupsTimer: NodeJS.Timeout | null = null;
  function announceGroups(): void {
    if (groupsTimer) return;
    groupsTimer = setTimeout(() => {
      groupsTimer = null;
      host.engine.groups().then(
        (result) => send('groups:changed', result),
        (error: unknown) => console.error('groups after a change:', error),
      );
    }, 100);
  }

  const host = createEngineHost({
    entry: paths.engineProcess,
    open: { catalogPath: paths.catalog, modelDir: paths.models, thumbnailDir: paths.thumbnails, watch: true },
    onEvent(event) {
      if (event.type === 'groups-changed') announceGroups();
      else if (event.type === 'log') console.info(`engine: ${event.message}`);
      else console.info(`engine: ${event.type} ${event.path}`);
    },
    onCrash(code) {
      console.error(`the engine process stopped (exit code ${code}); it starts again on the next request`);
    },
  });
  stopEngine = () => host.stop();
  const engine = host.engine;
  host.start().catch((error: unknown) => dialog.showErrorBox(labelsFor(language()).engineFailed, String(error)));

  const scans = new ScanRunner(engine, {
    progress: (progress) => send('scan:progress', progress),
    groupsChanged: (result) => send('groups:changed', result),
    failed: (error) => console.error('scan failed:', error),
  });
  const journal = await DeleteJournal.open({ journalPath: paths.journal, catalog: engine, trash: osTrash() });
  if (journal.recovery) console.warn('an interrupted delete was repaired:', journal.recovery);

  const imageExtensions = [...CANDIDATE_EXTENSIONS].map((extension) => extension.slice(1));
  const desktop: Desktop = {
    async pickFolders() {
      const options = { title: labelsFor(language()).chooseFolders, properties: ['openDirectory', 'multiSelections'] as ('openDirectory' | 'multiSelections')[] };
      const result = window ? await dialog.showOpenDialog(window, options) : await dialog.showOpenDialog(options);
      return result.canceled ? [] : result.filePaths;
    },
    async pickDestination() {
      const options = { title: labelsFor(language()).chooseDestination, properties: ['openDirectory', 'createDirectory'] as ('openDirectory' | 'createDirectory')[] };
      const result = window ? await dialog.showOpenDialog(window, options) : await dialog.showOpenDialog(options);
      return result.canceled ? null : (result.filePaths[0] ?? null);
    },
    async pickImage() {
      const t = labelsFor(language());
      const options = { title: t.chooseImage, properties: ['openFile'] as 'openFile'[], filters: [{ name: t.images, extensions: imageExtensions }] };
      const result = window ? await dialog.showOpenDialog(window, options) : await dialog.showOpenDialog(options);
      return result.canceled ? null : (result.filePaths[0] ?? null);
    },
    openPath: (path) => shell.openPath(path),
    showItemInFolder: (path) => shell.showItemInFolder(path),
  };

  const menuActions = {
    addFolder: () => void Promise.resolve(handlers['folders:pick'](undefined, null)).catch((error: unknown) => console.error(error)),
    rescan: () => scans.start(),
    undoDelete: () => void undoFromMenu(),
    openDataFolder: () => void shell.openPath(paths.data),
    about: () =>
      void dialog.showMessageBox({ title: labelsFor(language()).about, message: `Photo Dedup ${app.getVersion()}`, detail: labelsFor(language()).aboutDetail }),
  };
  function refreshMenu(): void {
    Menu.setApplicationMenu(buildMenu(language(), menuActions, { isDev: devServerUrl !== null, isMac, canUndo: journal.canUndo() }));
  }
  async function undoFromMenu(): Promise<void> {
    const result = await handlers['files:undo'](undefined, null);
    announceGroups(); // the renderer did not ask: tell it
    if (result.failed.length > 0) {
      await dialog.showMessageBox({
        type: 'warning',
        message: labelsFor(language()).undoFailed,
        detail: result.failed.map((failure) => `${failure.path}: ${failure.reason}`).join('\n'),
      });
    }
  }

  const handlers = createInvokeHandlers({
    engine,
    journal,
    scans,
    desktop,
    appSettings,
    onLanguageChanged: () => refreshMenu(),
    onUndoChanged: () => refreshMenu(),
  });
  registerInvokeHandlers(ipcMain, handlers, {
    senderOf: senderInfo,
    trust: () => ({
      webContentsId: window && !window.isDestroyed() ? window.webContents.id : null,
      origins: [devServerOrigin ?? APP_ORIGIN],
    }),
    onRefused: (channel, reason) => console.warn(`IPC ${channel} refused: ${reason}`),
  });

  if (!devServerUrl) registerAppProtocol(paths.renderer, contentSecurityPolicy(null));
  registerThumbnailProtocol(engine, paths.thumbnails);

  refreshMenu();
  window = createMainWindow({ preloadPath: paths.preload, devServerUrl, title: 'Photo Dedup' });
  window.on('closed', () => (window = null));
}

// One instance at a time: two would write the same catalog.
if (!app.requestSingleInstanceLock()) {
  app.quit();
} else {
  app.on('second-instance', () => {
    if (!window) return;
    if (window.isMinimized()) window.restore();
    window.focus();
  });
  app.on('window-all-closed', () => app.quit());
  app.on('before-quit', (event) => {
    if (readyToQuit) return;
    // Let the engine save and close first, then quit for real.
    event.preventDefault();
    void stopEngine()
      .catch((error: unknown) => console.error('closing the engine:', error))
      .finally(() => {
        readyToQuit = true;
        app.quit();
      });
  });
  app.whenReady().then(start, (error: unknown) => console.error(error)).catch((error: unknown) => {
    dialog.showErrorBox('Photo Dedup', `The app could not start: ${String(error)}`);
    readyToQuit = true;
    app.quit();
  });
}
