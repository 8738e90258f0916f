// The preload script: exposes exactly the DedupApi (electron/shared/api.ts) to the page as
// `window.dedup`, and nothing else. Every call goes through the typed helpers of the IPC contract;
// main validates the payloads and checks the sender. Runs sandboxed (bundled to one CommonJS file).
import { contextBridge, ipcRenderer, webUtils } from 'electron';
import type { DedupApi } from '../shared/api.ts';
import { createInvoker, subscribe, thumbnailUrl } from '../shared/ipc-contract.ts';

const invoke = createInvoker(ipcRenderer);

const api: DedupApi = {
  folders: {
    list: () => invoke('folders:list'),
    pick: () => invoke('folders:pick'),
    add: (paths) => invoke('folders:add', paths),
    remove: (path) => invoke('folders:remove', path),
  },
  scan: {
    start: (folders) => invoke('scan:start', folders),
    cancel: () => invoke('scan:cancel'),
    onProgress: (listener) => subscribe(ipcRenderer, 'scan:progress', listener),
  },
  groups: {
    list: () => invoke('groups:list'),
    onChanged: (listener) => subscribe(ipcRenderer, 'groups:changed', listener),
    notDuplicates: (paths) => invoke('groups:not-duplicates', paths),
  },
  files: {
    remove: (request) => invoke('files:remove', request),
    undo: () => invoke('files:undo'),
    canUndo: () => invoke('files:can-undo'),
    open: (path) => invoke('files:open', path),
    reveal: (path) => invoke('files:reveal', path),
    pickDestination: () => invoke('files:pick-destination'),
    thumbnailUrl: (path, size) => thumbnailUrl(path, size),
    pathForFile: (file) => webUtils.getPathForFile(file),
  },
  query: {
    byPath: (path, top) => invoke('query:by-path', { path, top }),
    pick: (top) => invoke('query:pick', { top }),
  },
  settings: {
    get: () => invoke('settings:get'),
    update: (patch) => invoke('settings:update', patch),
    provider: () => invoke('settings:provider'),
  },
};

contextBridge.exposeInMainWorld('dedup', api);
