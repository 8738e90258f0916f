// window.dedup end to end, without the Electron binary: the preload's API object, over a stand-in for
// Electron's IPC (structured-clone copies both ways, like the real one), into main's contract
// validation, sender check and handlers, with the real engine and real photos behind them.
import assert from 'node:assert/strict';
import { copyFile, mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { after, before, test } from 'node:test';
import { openEngine } from '../electron/engine/index.ts';
import { ThumbnailCache, parseThumbnailUrl } from '../electron/engine/thumbnail-cache.ts';
import { DeleteJournal, FolderTrash } from '../electron/engine/trash.ts';
import type { Engine } from '../electron/engine/types.ts';
import { AppSettingsStore } from '../electron/main/app-settings.ts';
import { createInvokeHandlers } from '../electron/main/ipc-handlers.ts';
import { ScanRunner } from '../electron/main/scans.ts';
import { createDedupApi } from '../electron/preload/api.ts';
import type { DedupApi, GroupsResult, ScanProgress } from '../electron/shared/api.ts';
import { inProcessEngine } from '../electron/shared/engine-protocol.ts';
import { registerInvokeHandlers, sendEvent, type SenderInfo } from '../electron/shared/ipc-contract.ts';

const PHOTOS = resolve(import.meta.dirname, '..', '..', 'shared', 'photos');
const OUR_WINDOW = 1;

interface FakeEvent {
  sender: SenderInfo;
}

/** ipcMain, ipcRenderer and webContents.send joined the way Electron joins them. */
function fakeElectronIpc() {
  const handlers = new Map<string, (event: FakeEvent, ...args: unknown[]) => unknown>();
  const listeners = new Map<string, Set<(event: unknown, ...args: unknown[]) => void>>();
  let sender: SenderInfo = { webContentsId: OUR_WINDOW, frameUrl: 'app://bundle/index.html', isMainFrame: true };
  return {
    ipcMain: {
      handle: (channel: string, listener: (event: FakeEvent, ...args: unknown[]) => unknown) => void handlers.set(channel, listener),
      removeHandler: (channel: string) => void handlers.delete(channel),
    },
    ipcRenderer: {
      async invoke(channel: string, ...args: unknown[]) {
        const handler = handlers.get(channel);
        if (!handler) throw new Error(`No handler registered for '${channel}'`);
        try {
          return structuredClone(await handler({ sender }, ...structuredClone(args)));
        } catch (error) {
          throw new Error(`Error invoking remote method '${channel}': ${error}`);
        }
      },
      on(channel: string, listener: (event: unknown, ...args: unknown[]) => void) {
        if (!listeners.has(channel)) listeners.set(channel, new Set());
        listeners.get(channel)!.add(listener);
      },
      removeListener(channel: string, listener: (event: unknown, ...args: unknown[]) => void) {
        listeners.get(channel)?.delete(listener);
      },
    },
    webContents: {
      send(channel: string, ...args: unknown[]) {
        for (const listener of listeners.get(channel) ?? []) listener({}, ...structuredClone(args));
      },
    },
    setSender(next: SenderInfo) {
      sender = next;
    },
  };
}

let dir: string;
let photos: string;
let engine: Engine;
let thumbnails: ThumbnailCache;
let ipc: ReturnType<typeof fakeElectronIpc>;
let dedup: DedupApi;

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'app-preload-'));
  photos = join(dir, 'photos');
  await mkdir(photos);
  await copyFile(join(PHOTOS, 'opencv-doc/fruits.jpg'), join(photos, 'fruits.jpg'));
  await copyFile(join(PHOTOS, 'opencv-doc/fruits.jpg'), join(photos, 'fruits copy.jpg'));
  await copyFile(join(PHOTOS, 'opencv-doc/baboon.jpg'), join(photos, 'baboon.jpg'));
  engine = await openEngine({ catalogPath: join(dir, 'data', 'catalog.json') });
  thumbnails = new ThumbnailCache(join(dir, 'thumbs'), engine);
  const remote = inProcessEngine(engine, (path, size) => thumbnails.get(path, size));
  ipc = fakeElectronIpc();
  const scans = new ScanRunner(remote, {
    progress: (progress) => sendEvent(ipc.webContents, 'scan:progress', progress),
    groupsChanged: (result) => sendEvent(ipc.webContents, 'groups:changed', result),
    failed: (error) => assert.fail(error),
  });
  const handlers = createInvokeHandlers({
    engine: remote,
    journal: await DeleteJournal.open({ journalPath: join(dir, 'data', 'journal.json'), catalog: remote, trash: new FolderTrash(join(dir, 'trash')) }),
    scans,
    desktop: {
      pickFolders: async () => [],
      pickDestination: async () => null,
      pickImage: async () => null,
      openPath: async () => '',
      showItemInFolder: () => undefined,
    },
    appSettings: await AppSettingsStore.open(join(dir, 'data', 'app-settings.json'), { language: 'en' }),
    onLanguageChanged: () => undefined,
    onUndoChanged: () => undefined,
  });
  registerInvokeHandlers(ipc.ipcMain, handlers, {
    senderOf: (event) => event.sender,
    trust: () => ({ webContentsId: OUR_WINDOW, origins: ['app://bundle'] }),
  });
  dedup = createDedupApi(ipc.ipcRenderer, () => '/dropped/file.jpg');
});

after(async () => {
  await engine?.close();
  await rm(dir, { recursive: true, force: true });
});

test('window.dedup has exactly the DedupApi members', () => {
  const shape = Object.fromEntries(Object.entries(dedup).map(([name, group]) => [name, Object.keys(group).sort()]));
  assert.deepEqual(shape, {
    folders: ['add', 'list', 'pick', 'remove'],
    scan: ['cancel', 'onProgress', 'start'],
    groups: ['list', 'notDuplicates', 'onChanged'],
    files: ['canUndo', 'open', 'pathForFile', 'pickDestination', 'remove', 'reveal', 'thumbnailUrl', 'undo'],
    query: ['byPath', 'pick'],
    settings: ['get', 'provider', 'update'],
  });
});

test('scan with progress events, then groups', async () => {
  const progress: ScanProgress[] = [];
  const changed: GroupsResult[] = [];
  const stopProgress = dedup.scan.onProgress((p) => progress.push(p));
  const stopChanged = dedup.groups.onChanged((g) => changed.push(g));
  const summary = await dedup.scan.start([photos]);
  stopProgress();
  stopChanged();
  assert.equal(summary.added, 3);
  assert.ok(progress.some((p) => p.phase === 'done'));
  assert.equal(changed.length, 1);
  const { groups } = await dedup.groups.list();
  assert.deepEqual(groups.map((g) => g.files.map((f) => f.path)), [[join(photos, 'fruits copy.jpg'), join(photos, 'fruits.jpg')]]);
  assert.deepEqual((await dedup.folders.list()).map((f) => f.path), [photos]);
});

test('remove and undo through window.dedup', async () => {
  const [group] = (await dedup.groups.list()).groups;
  const file = group.files[0];
  const removed = await dedup.files.remove({ groupId: group.id, items: [{ path: file.path, size: file.size, mtimeMs: file.mtimeMs }], destination: { kind: 'trash' } });
  assert.deepEqual(removed.done.map((d) => d.path), [file.path]);
  assert.equal(await dedup.files.canUndo(), true);
  // The page asks for the remaining copy too, with the group it showed: main refuses (that group
  // no longer exists, and its last copy would go).
  const last = group.files[1];
  const refused = await dedup.files.remove({ groupId: group.id, items: [{ path: last.path, size: last.size, mtimeMs: last.mtimeMs }], destination: { kind: 'trash' } });
  assert.equal(refused.done.length, 0);
  assert.match(refused.refused[0].reason, /group changed/);
  assert.deepEqual(await dedup.files.undo(), { restored: [file.path], failed: [] });
  assert.equal((await dedup.groups.list()).groups[0].files.length, 2);
});

test('thumbnail URLs from the page lead main to a cached JPEG of a catalogued file', async () => {
  const url = dedup.files.thumbnailUrl(join(photos, 'baboon.jpg'), 'small');
  const parsed = parseThumbnailUrl(url);
  assert.ok(parsed.ok);
  const file = await thumbnails.get(parsed.value.path, parsed.value.size);
  assert.ok(file.endsWith('.jpg'));
  assert.equal(dedup.files.pathForFile({} as File), '/dropped/file.jpg');
});

test('bad payloads and other senders are refused before reaching the engine', async () => {
  await assert.rejects(dedup.files.open('photos/baboon.jpg'), /invalid payload/);
  await assert.rejects(dedup.folders.add([]), /invalid payload/);
  await assert.rejects(dedup.query.byPath('/photos/a.jpg', 0), /invalid payload/);
  await assert.rejects(dedup.settings.update({ nearCosine: 5 }), /invalid payload/);
  ipc.setSender({ webContentsId: 99, frameUrl: 'app://bundle/index.html', isMainFrame: true });
  await assert.rejects(dedup.groups.list(), /untrusted sender/);
  ipc.setSender({ webContentsId: OUR_WINDOW, frameUrl: 'https://evil.example/', isMainFrame: true });
  await assert.rejects(dedup.groups.list(), /untrusted sender/);
  ipc.setSender({ webContentsId: OUR_WINDOW, frameUrl: 'app://bundle/index.html', isMainFrame: true });
  assert.equal((await dedup.groups.list()).groups.length, 1);
});
