// The folder watcher with the real engine and real photos: copies, deletions, renames, hidden files,
// the catalog's own folder, and a folder that disappears and comes back.
import assert from 'node:assert/strict';
import { copyFile, cp, mkdir, mkdtemp, rename, rm, unlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { after, before, test } from 'node:test';
import { openEngine } from '../electron/engine/index.ts';
import type { Engine } from '../electron/engine/types.ts';
import { FolderWatcher, type WatchEvent, type WatchedEngine } from '../electron/engine/watch.ts';

const PHOTOS = resolve(import.meta.dirname, '..', '..', 'shared', 'photos');

async function waitFor(what: string, check: () => boolean | Promise<boolean>, timeoutMs = 8000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for: ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

let dir: string;
let photos: string;
let engine: Engine;
let watcher: FolderWatcher;
const events: WatchEvent[] = [];
const updateCalls: string[][] = [];

async function groupOf(path: string): Promise<string[] | null> {
  const group = (await engine.groups()).groups.find((g) => g.files.some((f) => f.path === path));
  return group ? group.files.map((f) => f.path).sort() : null;
}

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'app-watch-'));
  photos = join(dir, 'photos');
  await mkdir(join(photos, 'sub'), { recursive: true });
  await copyFile(join(PHOTOS, 'opencv-doc/fruits.jpg'), join(photos, 'fruits.jpg'));
  await copyFile(join(PHOTOS, 'opencv-doc/baboon.jpg'), join(photos, 'baboon.jpg'));
  await copyFile(join(PHOTOS, 'opencv-doc/orange.jpg'), join(photos, 'sub', 'orange.jpg'));
  // The catalog lives inside the watched folder here, to check that its own writes are ignored.
  engine = await openEngine({ catalogPath: join(photos, 'catalog-data', 'catalog.json') });
  await engine.scan([photos]);
  // Records what the watcher hands to the engine.
  const recorded: WatchedEngine = {
    catalogPath: engine.catalogPath,
    folders: () => engine.folders(),
    settings: () => engine.settings(),
    updatePaths: (paths) => {
      updateCalls.push(paths);
      return engine.updatePaths(paths);
    },
    scan: (folders) => engine.scan(folders),
  };
  watcher = new FolderWatcher(recorded, { debounceMs: 150, pollMs: 200, writeSettleMs: 100, onEvent: (event) => events.push(event) });
  await watcher.sync();
  await watcher.ready();
});

after(async () => {
  await watcher?.close();
  await engine?.close();
  await rm(dir, { recursive: true, force: true });
});

test('a new copy appears in a group, and "groups changed" is announced', async () => {
  const copy = join(photos, 'fruits copy.jpg');
  await copyFile(join(photos, 'fruits.jpg'), copy);
  await waitFor('the copy to be grouped', async () => (await groupOf(copy)) !== null);
  assert.deepEqual(await groupOf(copy), [copy, join(photos, 'fruits.jpg')].sort());
  await waitFor('a groups-changed event', () => events.some((e) => e.type === 'groups-changed' && e.reason === 'watcher'));
});

test('a rename into a subfolder is a move: still grouped, not re-read', async () => {
  const from = join(photos, 'fruits copy.jpg');
  const to = join(photos, 'sub', 'fruits moved.jpg');
  const before = events.length;
  await rename(from, to);
  await waitFor('the moved copy to be grouped', async () => (await groupOf(to)) !== null);
  assert.deepEqual(await groupOf(to), [to, join(photos, 'fruits.jpg')].sort());
  assert.equal(engine.fileFacts(from), null);
  // Unlink and add came in one batch, so the engine saw a move.
  await waitFor('the move to be reported', () =>
    events.slice(before).some((e) => e.type === 'groups-changed' && e.summary.moved === 1 && e.summary.added === 0),
  );
});

test('a deleted copy leaves its group', async () => {
  const moved = join(photos, 'sub', 'fruits moved.jpg');
  await unlink(moved);
  await waitFor('the copy to leave the catalog', () => engine.fileFacts(moved) === null);
  assert.equal(await groupOf(join(photos, 'fruits.jpg')), null);
});

test('hidden files and the catalog folder are never handed to the engine', async () => {
  const hidden = join(photos, '.hidden copy.jpg');
  await copyFile(join(photos, 'baboon.jpg'), hidden);
  await mkdir(join(photos, '.cache'), { recursive: true });
  await copyFile(join(photos, 'baboon.jpg'), join(photos, '.cache', 'baboon.jpg'));
  // A visible change after them: once it is handled, the hidden ones would have been too.
  const visible = join(photos, 'baboon again.jpg');
  await copyFile(join(photos, 'baboon.jpg'), visible);
  await waitFor('the visible copy to be grouped', async () => (await groupOf(visible)) !== null);
  await watcher.idle();
  const handed = updateCalls.flat();
  assert.ok(handed.includes(visible));
  assert.ok(!handed.some((path) => path.split('/').some((part) => part.startsWith('.'))), `hidden path handed over: ${handed.join(', ')}`);
  assert.ok(!handed.some((path) => path.startsWith(join(photos, 'catalog-data'))), 'catalog file handed over');
  assert.equal(engine.fileFacts(hidden), null);
});

test('a folder that disappears is kept while offline and rescanned when it returns', async () => {
  const away = `${photos}.away`;
  const fruits = join(photos, 'fruits.jpg');
  await rename(photos, away);
  await waitFor('the folder to go offline', () => events.some((e) => e.type === 'folder-offline' && e.path === photos));
  await watcher.idle();
  // Offline is not deleted: the catalog still knows the files.
  assert.notEqual(engine.fileFacts(fruits), null);
  assert.deepEqual(watcher.status(), [{ path: photos, online: false }]);

  // While it is away, a new copy lands in it; then it comes back.
  await copyFile(join(away, 'fruits.jpg'), join(away, 'fruits while away.jpg'));
  await rename(away, photos);
  await waitFor('the folder to come back', () => events.some((e) => e.type === 'folder-online' && e.path === photos));
  const added = join(photos, 'fruits while away.jpg');
  await waitFor('the copy made while away to be grouped', async () => (await groupOf(added)) !== null);
  assert.deepEqual(await groupOf(added), [fruits, added].sort());
  assert.ok(events.some((e) => e.type === 'groups-changed' && e.reason === 'folder-returned'));

  // And it is watched again.
  await watcher.ready();
  const later = join(photos, 'fruits later.jpg');
  await copyFile(fruits, later);
  await waitFor('a copy after the return to be grouped', async () => (await groupOf(later)) !== null);
});

test('a folder deleted file by file (events first, then the folder) is offline, not forgotten', async () => {
  // A second catalogued folder (the first one holds the catalog).
  const more = join(dir, 'more');
  await mkdir(join(more, 'sub'), { recursive: true });
  await copyFile(join(PHOTOS, 'opencv-doc/home.jpg'), join(more, 'home.jpg'));
  await copyFile(join(PHOTOS, 'opencv-doc/home.jpg'), join(more, 'sub', 'home copy.jpg'));
  await engine.scan([more]);
  await watcher.sync();
  await watcher.ready();
  assert.deepEqual(await groupOf(join(more, 'home.jpg')), [join(more, 'home.jpg'), join(more, 'sub', 'home copy.jpg')]);

  const backup = join(dir, 'more backup');
  await cp(more, backup, { recursive: true, preserveTimestamps: true });
  const offlineBefore = events.filter((e) => e.type === 'folder-offline').length;
  await rm(more, { recursive: true, force: true });
  await waitFor('the folder to go offline', () => events.filter((e) => e.type === 'folder-offline').length > offlineBefore);
  await watcher.idle();
  assert.notEqual(engine.fileFacts(join(more, 'home.jpg')), null, 'the unlink events were passed on');
  assert.notEqual(engine.fileFacts(join(more, 'sub', 'home copy.jpg')), null);

  const onlineBefore = events.filter((e) => e.type === 'folder-online').length;
  await cp(backup, more, { recursive: true, preserveTimestamps: true });
  await waitFor('the folder to come back', () => events.filter((e) => e.type === 'folder-online').length > onlineBefore);
  await watcher.ready();
  assert.ok(watcher.status().some((folder) => folder.path === more && folder.online));
  assert.deepEqual(await groupOf(join(more, 'home.jpg')), [join(more, 'home.jpg'), join(more, 'sub', 'home copy.jpg')]);
  await engine.removeFolder(more);
});

test('sync follows the catalog: a removed folder is no longer watched', async () => {
  await engine.removeFolder(photos);
  await watcher.sync();
  assert.deepEqual(watcher.status(), []);
  await writeFile(join(photos, 'note.txt'), 'not watched');
  await copyFile(join(photos, 'baboon.jpg'), join(photos, 'baboon unwatched.jpg'));
  const calls = updateCalls.length;
  await new Promise((r) => setTimeout(r, 500));
  await watcher.idle();
  assert.equal(updateCalls.length, calls);
});
