// The preload script: exposes exactly the DedupApi (electron/shared/api.ts) to the page as
// `window.dedup`, and nothing else: no ipcRenderer, no Node. Every call goes through the typed helpers
// of the IPC contract; main validates the payloads and checks the sender. Runs sandboxed (bundled to
// one CommonJS file that requires only 'electron').
import { contextBridge, ipcRenderer, webUtils } from 'electron';
import { createDedupApi } from './api.ts';

contextBridge.exposeInMainWorld('dedup', createDedupApi(ipcRenderer, (file) => webUtils.getPathForFile(file)));
