// Main-process logic that does not need the Electron binary: the security policy (CSP, allowed
// requests, app:// file mapping), the app settings file, and the IPC handlers' policies driven with
// the real engine (Electron's dialogs and shell replaced by a recording stand-in).
import assert from 'node:assert/strict';
import { copyFile, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { openEngine } from '../electron/engine/index.ts';
import { DeleteJournal, FolderTrash } from '../electron/engine/trash.ts';
import type { Engine } from '../electron/engine/types.ts';
import { appFileFor, mimeTypeOf } from '../electron/main/app-files.ts';
import { AppSettingsStore, defaultLanguage } from '../electron/main/app-settings.ts';
import { createInvokeHandlers, withPendingFolders, type Desktop } from '../electron/main/ipc-handlers.ts';
import { APP_ORIGIN, contentSecurityPolicy, isAllowedRequest, isAppUrl } from '../electron/main/policy.ts';
import { ScanRunner } from '../electron/main/scans.ts';
import type { GroupsResult } from '../electron/shared/api.ts';
import { inProcessEngine } from '../electron/shared/engine-protocol.ts';
import { validateResult } from '../electron/shared/ipc-contract.ts';

const PHOTOS = resolve(import.meta.dirname, '..', '..', 'shared', 'photos');

describe('security policy', () => {
  test('the CSP allows our origin, thumbnails and blob: images, and no inline or remote script', () => {
    const csp = contentSecurityPolicy(null);
    const directives = Object.fromEntries(csp.split('; ').map((d) => [d.split(' ')[0], d.split(' ').slice(1)]));
    assert.deepEqual(directives['script-src'], ["'self'"]);
    assert.deepEqual(directives['default-src'], ["'self'"]);
    assert.deepEqual(directives['img-src'], ["'self'", 'blob:', 'dedup-thumb:']);
    assert.deepEqual(directives['object-src'], ["'none'"]);
    assert.deepEqual(directives['connect-src'], ["'self'"]);
    assert.doesNotMatch(csp, /https?:|\*/);
    assert.deepEqual(
      contentSecurityPolicy('http://localhost:5173').split('; ').find((d) => d.startsWith('connect-src')),
      "connect-src 'self' ws://localhost:5173",
    );
  });

  test('only our schemes, local URLs and (in development) the dev server may be requested', () => {
    for (const url of ['app://bundle/index.html', 'dedup-thumb://local/small?path=%2Fa.jpg', 'blob:app://bundle/1234', 'devtools://devtools/x']) {
      assert.equal(isAllowedRequest(url, null), true, url);
    }
    for (const url of ['https://example.com/x.js', 'http://localhost:5173/', 'file:///etc/passwd', 'ws://evil.example/', 'nonsense']) {
      assert.equal(isAllowedRequest(url, null), false, url);
    }
    assert.equal(isAllowedRequest('http://localhost:5173/src/main.ts', 'http://localhost:5173'), true);
    assert.equal(isAllowedRequest('ws://localhost:5173/', 'http://localhost:5173'), true);
    assert.equal(isAllowedRequest('http://localhost:5174/', 'http://localhost:5173'), false);
    assert.equal(isAllowedRequest('http://localhost:5173.evil.example/', 'http://localhost:5173'), false);
  });

  test('navigation stays on our pages', () => {
    assert.equal(isAppUrl(`${APP_ORIGIN}/index.html#/settings`, null), true);
    assert.equal(isAppUrl('https://example.com/', null), false);
    assert.equal(isAppUrl('file:///tmp/index.html', null), false);
    assert.equal(isAppUrl('http://localhost:5173/', 'http://localhost:5173'), true);
  });

  test('app:// URLs map to files inside the renderer folder only', () => {
    const root = '/app/out/renderer';
    assert.equal(appFileFor('app://bundle/', root, 'bundle'), '/app/out/renderer/index.html');
    assert.equal(appFileFor('app://bundle/assets/index-1.js', root, 'bundle'), '/app/out/renderer/assets/index-1.js');
    // The URL parser removes dot segments (encoded or not) at the root: the result stays inside.
    assert.equal(appFileFor('app://bundle/%2e%2e/%2e%2e/main/index.js', root, 'bundle'), '/app/out/renderer/main/index.js');
    // Encoded slashes survive the parser; decoded, they would leave the folder: refused.
    assert.equal(appFileFor('app://bundle/..%2f..%2fmain%2findex.js', root, 'bundle'), null);
    assert.equal(appFileFor('app://bundle/a%00.js', root, 'bundle'), null);
    assert.equal(appFileFor('app://other/index.html', root, 'bundle'), null);
    assert.equal(appFileFor('app://bundle/%E0%A4%A', root, 'bundle'), null);
    assert.equal(mimeTypeOf('x/index-1.js'), 'text/javascript; charset=utf-8');
    assert.equal(mimeTypeOf('x/unknown.bin'), 'application/octet-stream');
  });
});

describe('app settings file', () => {
  test('defaults from the system language, persisted, and an invalid file falls back to defaults', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'app-settings-'));
    try {
      assert.equal(defaultLanguage('zh-CN'), 'zh-CN');
      assert.equal(defaultLanguage('zh-TW'), 'zh-CN');
      assert.equal(defaultLanguage('de-DE'), 'en');
      const path = join(dir, 'app-settings.json');
      const store = await AppSettingsStore.open(path, { language: 'en' });
      await store.update({ language: 'zh-CN' });
      assert.equal((await AppSettingsStore.open(path, { language: 'en' })).get().language, 'zh-CN');
      await assert.rejects(store.update({ language: 'fr' as 'en' }));
      await writeFile(path, '{"language": "klingon"}');
      assert.equal((await AppSettingsStore.open(path, { language: 'en' })).get().language, 'en');
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  test('pending folders are listed until the scan registers them', () => {
    const listed = withPendingFolders([{ path: '/a', lastScanAt: 'x', fileCount: 3 }], ['/a', '/b']);
    assert.deepEqual(listed, [
      { path: '/a', lastScanAt: 'x', fileCount: 3 },
      { path: '/b', lastScanAt: null, fileCount: 0 },
    ]);
  });
});

describe('IPC handlers with the real engine', () => {
  let dir: string;
  let photos: string;
  let engine: Engine;
  let handlers: ReturnType<typeof createInvokeHandlers>;
  const opened: string[] = [];
  const revealed: string[] = [];
  const groupEvents: GroupsResult[] = [];
  const languages: string[] = [];
  const undoStates: boolean[] = [];
  let openPathAnswer = '';

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'app-main-'));
    photos = join(dir, 'photos');
    await mkdir(photos);
    await copyFile(join(PHOTOS, 'opencv-doc/fruits.jpg'), join(photos, 'fruits.jpg'));
    await copyFile(join(PHOTOS, 'opencv-doc/fruits.jpg'), join(photos, 'fruits copy.jpg'));
    await copyFile(join(PHOTOS, 'opencv-doc/baboon.jpg'), join(photos, 'baboon.jpg'));
    await writeFile(join(photos, 'notes.txt'), 'not a photo');
    engine = await openEngine({ catalogPath: join(dir, 'data', 'catalog.json') });
    // The engine in this process, with the asynchronous face main sees across the process boundary.
    const remote = inProcessEngine(engine, async () => {
      throw new Error('not used here');
    });
    const desktop: Desktop = {
      pickFolders: async () => [photos],
      pickDestination: async () => null,
      pickImage: async () => join(photos, 'baboon.jpg'),
      openPath: async (path) => {
        opened.push(path);
        return openPathAnswer;
      },
      showItemInFolder: (path) => revealed.push(path),
    };
    const scans = new ScanRunner(remote, { progress: () => undefined, groupsChanged: (result) => groupEvents.push(result), failed: (error) => assert.fail(error) });
    handlers = createInvokeHandlers({
      engine: remote,
      journal: await DeleteJournal.open({ journalPath: join(dir, 'data', 'journal.json'), catalog: remote, trash: new FolderTrash(join(dir, 'trash')) }),
      scans,
      desktop,
      appSettings: await AppSettingsStore.open(join(dir, 'data', 'app-settings.json'), { language: 'en' }),
      onLanguageChanged: (language) => languages.push(language),
      onUndoChanged: (canUndo) => undoStates.push(canUndo),
    });
  });

  after(async () => {
    await engine?.close();
    await rm(dir, { recursive: true, force: true });
  });

  test('folders:add refuses files and missing folders, adds real ones and scans them', async () => {
    await assert.rejects(Promise.resolve(handlers['folders:add']([join(photos, 'baboon.jpg')], null)), /not a folder/);
    await assert.rejects(Promise.resolve(handlers['folders:add']([join(dir, 'missing')], null)), /not a folder/);
    const listed = await handlers['folders:add']([photos], null);
    assert.deepEqual(listed.map((folder) => folder.path), [photos]);
    const deadline = Date.now() + 15_000;
    while (groupEvents.length === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    assert.equal(groupEvents.length, 1, 'the background scan announced the new groups');
    assert.equal(validateResult('groups:list', groupEvents[0]).ok, true);
    assert.equal(groupEvents[0].groups.length, 1);
  });

  test('files:open and files:reveal only for catalogued photos', async () => {
    await assert.rejects(Promise.resolve(handlers['files:open'](join(photos, 'notes.txt'), null)), /not in the catalog/);
    await assert.rejects(Promise.resolve(handlers['files:reveal']('/etc/passwd', null)), /not in the catalog/);
    assert.deepEqual(opened, []);
    assert.deepEqual(revealed, []);
    await handlers['files:open'](join(photos, 'baboon.jpg'), null);
    await handlers['files:reveal'](join(photos, 'baboon.jpg'), null);
    assert.deepEqual(opened, [join(photos, 'baboon.jpg')]);
    assert.deepEqual(revealed, [join(photos, 'baboon.jpg')]);
    openPathAnswer = 'No application knows how to open this file';
    await assert.rejects(Promise.resolve(handlers['files:open'](join(photos, 'baboon.jpg'), null)), /No application/);
  });

  test('queries need a file; the picker answers with the path and hits', async () => {
    await assert.rejects(Promise.resolve(handlers['query:by-path']({ path: photos }, null)), /not a file/);
    const picked = await handlers['query:pick']({ top: 2 }, null);
    assert.equal(picked.path, join(photos, 'baboon.jpg'));
    assert.equal(picked.hits[0]?.path, join(photos, 'baboon.jpg'));
    assert.equal(validateResult('query:pick', picked).ok, true);
  });

  test('settings:update splits engine settings from the language and persists both', async () => {
    const updated = await handlers['settings:update']({ language: 'zh-CN', nearCosine: 0.9 }, null);
    assert.equal(updated.language, 'zh-CN');
    assert.equal(updated.nearCosine, 0.9);
    assert.equal(validateResult('settings:get', updated).ok, true);
    assert.equal(engine.settings().nearCosine, 0.9);
    assert.deepEqual(JSON.parse(await readFile(join(dir, 'data', 'app-settings.json'), 'utf8')), { language: 'zh-CN' });
    await handlers['settings:update']({ nearCosine: 0.87 }, null);
    assert.deepEqual(languages, ['zh-CN']);
  });

  test('files:remove goes through the journal and updates the undo state', async () => {
    const group = (await engine.groups()).groups[0];
    const victim = group.files[0];
    const result = await handlers['files:remove']({ groupId: group.id, items: [{ path: victim.path, size: victim.size, mtimeMs: victim.mtimeMs }], destination: { kind: 'trash' } }, null);
    assert.equal(result.done.length, 1);
    assert.equal(await handlers['files:can-undo'](undefined, null), true);
    const undone = await handlers['files:undo'](undefined, null);
    assert.deepEqual(undone.restored, [victim.path]);
    assert.deepEqual(undoStates, [true, false]);
  });
});
