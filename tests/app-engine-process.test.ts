// The engine process as the app runs it, but under plain Node: the real entry file
// (electron/engine-process/index.ts) started with child_process.fork, the real engine inside, the
// protocol and the supervisor main uses. Only the transport differs from the app (process.send
// instead of Electron's parentPort).
import assert from 'node:assert/strict';
import { fork, type ChildProcess } from 'node:child_process';
import { copyFile, mkdir, mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { after, before, test } from 'node:test';
import { DeleteJournal, FolderTrash } from '../electron/engine/trash.ts';
import { EngineSupervisor, type SpawnedProcess } from '../electron/main/engine-supervisor.ts';
import { RemoteError, type EngineEvent, type EngineProcessOptions } from '../electron/shared/engine-protocol.ts';
import { validateResult } from '../electron/shared/ipc-contract.ts';

const ROOT = resolve(import.meta.dirname, '..');
const ENTRY = join(ROOT, 'electron', 'engine-process', 'index.ts');
const PHOTOS = resolve(ROOT, '..', 'shared', 'photos');

let dir: string;
let photos: string;
let options: EngineProcessOptions;
let supervisor: EngineSupervisor;
const children: ChildProcess[] = [];
const events: EngineEvent[] = [];
const crashes: number[] = [];

function spawnChild(): SpawnedProcess {
  const child = fork(ENTRY, [], { execArgv: ['--import', 'tsx'], serialization: 'advanced', stdio: ['ignore', 'ignore', 'inherit', 'ipc'] });
  children.push(child);
  return {
    channel: {
      post: (message) => child.send(message as object),
      listen(listener) {
        child.on('message', listener);
        return () => child.off('message', listener);
      },
    },
    onExit: (listener) => child.once('exit', (code) => listener(code ?? 1)),
    kill: () => child.kill(),
  };
}

async function waitFor(what: string, check: () => boolean | Promise<boolean>, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for: ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'app-engine-process-'));
  photos = join(dir, 'photos');
  await mkdir(photos);
  for (const name of ['fruits', 'baboon', 'orange', 'home', 'board']) await copyFile(join(PHOTOS, `opencv-doc/${name}.jpg`), join(photos, `${name}.jpg`));
  await copyFile(join(photos, 'fruits.jpg'), join(photos, 'fruits copy.jpg'));
  options = {
    catalogPath: join(dir, 'data', 'catalog.json'),
    thumbnailDir: join(dir, 'thumbs'),
    watch: true,
    watchDebounceMs: 150,
    watchPollMs: 300,
    settings: { executionProvider: 'cpu' },
  };
  supervisor = new EngineSupervisor({ spawn: spawnChild, open: options, onEvent: (event) => events.push(event), onCrash: (code) => crashes.push(code) });
});

after(async () => {
  await supervisor?.stop();
  for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  await rm(dir, { recursive: true, force: true });
});

test('scan with progress, then every read call answers with what the IPC contract promises', async () => {
  const progress: string[] = [];
  const summary = await supervisor.engine.scan([photos], { onProgress: (p) => progress.push(p.phase) });
  assert.equal(validateResult('scan:start', summary).ok, true);
  assert.equal(summary.added, 6);
  assert.ok(progress.includes('reading') && progress.includes('done'), progress.join());

  const groups = await supervisor.engine.groups();
  assert.equal(validateResult('groups:list', groups).ok, true);
  assert.deepEqual(groups.groups.map((g) => g.files.map((f) => f.path)), [[join(photos, 'fruits copy.jpg'), join(photos, 'fruits.jpg')]]);
  const folders = await supervisor.engine.folders();
  assert.equal(validateResult('folders:list', folders).ok, true);
  assert.deepEqual(folders.map((f) => [f.path, f.fileCount]), [[photos, 6]]);
  assert.equal((await supervisor.engine.fileFacts(join(photos, 'orange.jpg')))?.format, 'jpeg');
  assert.equal(await supervisor.engine.fileFacts(join(dir, 'nothing.jpg')), null);
  const settings = await supervisor.engine.settings();
  assert.equal(settings.executionProvider, 'cpu');
  const provider = await supervisor.engine.providerInfo();
  assert.equal(validateResult('settings:provider', provider).ok, true);
  assert.equal(provider.active, 'cpu');
  const hits = await supervisor.engine.query(join(PHOTOS, 'opencv-doc/fruits.jpg'), { top: 3 });
  assert.equal(validateResult('query:by-path', hits).ok, true);
  // The two byte copies of the query photo come first (how many weaker hits follow is the engine's business).
  assert.ok(hits.length >= 2 && hits.length <= 3, `${hits.length} hits`);
  assert.deepEqual(hits.slice(0, 2).map((hit) => hit.path).sort(), [join(photos, 'fruits copy.jpg'), join(photos, 'fruits.jpg')]);
});

test('thumbnails are made in the engine process; refusals come back as errors', async () => {
  const file = await supervisor.engine.thumbnail(join(photos, 'home.jpg'), 'small');
  assert.ok(file.startsWith(options.thumbnailDir));
  assert.ok((await stat(file)).size > 1000);
  await assert.rejects(supervisor.engine.thumbnail(join(dir, 'elsewhere.jpg'), 'small'), (error: unknown) => {
    assert.ok(error instanceof RemoteError);
    assert.equal(error.remoteName, 'ThumbnailRefused');
    assert.match(error.message, /not in the catalog/);
    return true;
  });
});

test('the watcher in the engine process announces changes', async () => {
  const before = events.length;
  await copyFile(join(photos, 'orange.jpg'), join(photos, 'orange copy.jpg'));
  await waitFor('groups-changed', () => events.slice(before).some((e) => e.type === 'groups-changed'));
  const groups = await supervisor.engine.groups();
  assert.ok(groups.groups.some((g) => g.files.some((f) => f.path === join(photos, 'orange copy.jpg'))));
});

test('a cancelled scan stops and says so', async () => {
  const controller = new AbortController();
  controller.abort();
  const summary = await supervisor.engine.scan([photos], { signal: controller.signal });
  assert.equal(summary.cancelled, true);
});

test('main-side removal through the remote engine: the journal checks and the engine process follows', async () => {
  const journal = await DeleteJournal.open({
    journalPath: join(dir, 'data', 'journal.json'),
    catalog: supervisor.engine,
    trash: new FolderTrash(join(dir, 'trash')),
  });
  const copy = join(photos, 'fruits copy.jpg');
  const group = (await supervisor.engine.groups()).groups.find((g) => g.files.some((f) => f.path === copy))!;
  const facts = (await supervisor.engine.fileFacts(copy))!;
  const result = await journal.remove({ groupId: group.id, items: [{ path: copy, size: facts.size, mtimeMs: facts.mtimeMs }], destination: { kind: 'trash' } });
  assert.equal(result.done.length, 1);
  assert.equal(await supervisor.engine.fileFacts(copy), null);
  assert.deepEqual((await journal.undo()).restored, [copy]);
  assert.notEqual(await supervisor.engine.fileFacts(copy), null);
});

test('a crashed engine process fails its pending calls and is started again on the next call', async () => {
  const victim = children.at(-1)!;
  const pending = supervisor.engine.scan([photos]);
  victim.kill('SIGKILL');
  await assert.rejects(pending, /engine process stopped/);
  await waitFor('the crash to be reported', () => crashes.length === 1);
  // The next call starts a new process on the same catalog: nothing was lost.
  const folders = await supervisor.engine.folders();
  assert.equal(children.length, 2);
  assert.deepEqual(folders.map((f) => f.path), [photos]);
  assert.ok((await supervisor.engine.groups()).groups.length >= 1);
});

test('stop closes the engine and ends the process', async () => {
  const child = children.at(-1)!;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  await supervisor.stop();
  await exited;
  await assert.rejects(supervisor.engine.groups(), /stopping/);
  assert.equal(crashes.length, 1);
});
