// The DedupApi object the preload exposes as `window.dedup`, built on the typed IPC helpers. Kept
// apart from index.ts (which only wires Electron in) so the tests can build it over a stand-in ipc.
import type { DedupApi } from '../shared/api.ts';
import { createInvoker, subscribe, thumbnailUrl, type IpcRendererLike } from '../shared/ipc-contract.ts';

export function createDedupApi(ipc: IpcRendererLike, getPathForFile: (file: File) => string): DedupApi {
  const invoke = createInvoker(ipc);
  return {
    folders: {
      list: () => invoke('folders:list'),
      pick: () => invoke('folders:pick'),
      add: (paths) => invoke('folders:add', paths),
      remove: (path) => invoke('folders:remove', path),
    },
    scan: {
      start: (folders) => invoke('scan:start', folders),
      cancel: () => invoke('scan:cancel'),
      onProgress: (listener) => subscribe(ipc, 'scan:progress', listener),
    },
    groups: {
      list: () => invoke('groups:list'),
      onChanged: (listener) => subscribe(ipc, 'groups:changed', listener),
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
      pathForFile: (file) => getPathForFile(file),
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
}
