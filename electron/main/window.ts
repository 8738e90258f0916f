// The one app window, locked down: isolated and sandboxed renderer, no Node, web security on, no
// navigation on file drops; it shows our pages only (app://bundle in the packaged app, the Vite dev
// server in development).
import { BrowserWindow } from 'electron';
import { APP_ORIGIN } from './security.ts';

export interface WindowOptions {
  preloadPath: string;
  /** The dev server URL in development; null for the packaged renderer. */
  devServerUrl: string | null;
  title: string;
}

export function createMainWindow(options: WindowOptions): BrowserWindow {
  const window = new BrowserWindow({
    width: 1280,
    height: 860,
    minWidth: 800,
    minHeight: 560,
    title: options.title,
    show: false,
    backgroundColor: '#1e1e1e',
    webPreferences: {
      preload: options.preloadPath,
      contextIsolation: true,
      sandbox: true,
      nodeIntegration: false,
      nodeIntegrationInWorker: false,
      nodeIntegrationInSubFrames: false,
      webSecurity: true,
      allowRunningInsecureContent: false,
      experimentalFeatures: false,
      webviewTag: false,
      navigateOnDragDrop: false,
      spellcheck: false,
    },
  });
  window.once('ready-to-show', () => window.show());
  void window.loadURL(options.devServerUrl ?? `${APP_ORIGIN}/index.html`);
  return window;
}
