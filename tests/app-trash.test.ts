// The delete journal with the real engine, a real folder trash and real photo files: removal rules,
// undo (exact path, bytes and mtime), move to a folder without overwriting, and crash recovery.
import assert from 'node:assert/strict';
import { copyFile, lstat, mkdir, mkdtemp, readFile, readdir, rm, stat, symlink, utimes, writeFile } from 'node:fs/promises';
import { homedir, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterEach, test } from 'node:test';
import { openEngine } from '../electron/engine/index.ts';
import {
  DeleteJournal,
  FolderTrash,
  findInTrashDir,
  linuxTrashDirsFor,
  parseTrashInfo,
  type TrashAdapter,
} from '../electron/engine/trash.ts';
import type { Engine } from '../electron/engine/types.ts';

const PHOTOS = resolve(import.meta.dirname, '..', '..', 'shared', 'photos');

interface Fixture {
  dir: string;
  photos: string;
  engine: Engine;
  trash: FolderTrash;
  journalPath: string;
  journal: DeleteJournal;
  /** fruits.jpg and its byte copies "fruits 2.jpg" ... */
  fruits: string[];
  baboon: string;
}

const open: Fixture[] = [];

/** A folder with `copies` byte-identical copies of one photo and one other photo, scanned. */
async function setup(copies = 3): Promise<Fixture> {
  const dir = await mkdtemp(join(tmpdir(), 'app-trash-'));
  const photos = join(dir, 'photos');
  await mkdir(join(photos, 'sub'), { recursive: true });
  const fruits = [join(photos, 'fruits.jpg')];
  await copyFile(join(PHOTOS, 'opencv-doc/fruits.jpg'), fruits[0]);
  for (let i = 2; i <= copies; i++) {
    const copy = join(photos, i % 2 === 0 ? 'sub' : '', `fruits ${i}.jpg`);
    await copyFile(fruits[0], copy);
    fruits.push(copy);
  }
  const baboon = join(photos, 'baboon.jpg');
  await copyFile(join(PHOTOS, 'opencv-doc/baboon.jpg'), baboon);
  const engine = await openEngine({ catalogPath: join(dir, 'data', 'catalog.json') });
  await engine.scan([photos]);
  const trash = new FolderTrash(join(dir, 'trash'));
  const journalPath = join(dir, 'data', 'delete-journal.json');
  const journal = await DeleteJournal.open({ journalPath, catalog: engine, trash });
  const fixture = { dir, photos, engine, trash, journalPath, journal, fruits, baboon };
  open.push(fixture);
  return fixture;
}

afterEach(async () => {
  for (const fixture of open.splice(0)) {
    await fixture.engine.close();
    await rm(fixture.dir, { recursive: true, force: true });
  }
});

async function groupWith(engine: Engine, path: string) {
  const group = (await engine.groups()).groups.find((g) => g.files.some((f) => f.path === path));
  assert.ok(group, `no group holds ${path}`);
  return group;
}

/** What the renderer would send for these files of the group. */
async function itemsFor(engine: Engine, paths: string[]) {
  return paths.map((path) => {
    const facts = engine.fileFacts(path);
    assert.ok(facts, `${path} is not catalogued`);
    return { path, size: facts.size, mtimeMs: facts.mtimeMs };
  });
}

async function snapshot(path: string) {
  const info = await lstat(path);
  return { bytes: await readFile(path), mtimeMs: info.mtimeMs, size: info.size };
}

test('to the trash and back: exact path, bytes and mtime; the engine follows', async () => {
  const f = await setup(3);
  const victim = f.fruits[1];
  const before = await snapshot(victim);
  const group = await groupWith(f.engine, victim);

  const result = await f.journal.remove({ groupId: group.id, items: await itemsFor(f.engine, [victim]), destination: { kind: 'trash' } });
  assert.deepEqual(result.refused, []);
  assert.equal(result.done.length, 1);
  const trashed = result.done[0].to!;
  assert.equal(trashed, join(f.dir, 'trash', 'files', 'fruits 2.jpg'));
  assert.deepEqual(await readFile(trashed), before.bytes);
  await assert.rejects(lstat(victim), { code: 'ENOENT' });
  const info = parseTrashInfo(await readFile(join(f.dir, 'trash', 'info', 'fruits 2.jpg.trashinfo'), 'utf8'));
  assert.equal(info?.originalPath, victim);
  // The engine was told: the file left the catalog and its group.
  assert.equal(f.engine.fileFacts(victim), null);
  assert.equal((await groupWith(f.engine, f.fruits[0])).files.length, 2);
  // The journal on disk says what happened.
  const journal = JSON.parse(await readFile(f.journalPath, 'utf8'));
  assert.equal(journal.actions[0].state, 'done');
  assert.deepEqual(
    { path: journal.actions[0].items[0].path, to: journal.actions[0].items[0].to, state: journal.actions[0].items[0].state },
    { path: victim, to: trashed, state: 'removed' },
  );
  assert.equal(journal.actions[0].items[0].contentHash, group.files.find((file) => file.path === victim)!.contentHash);
  assert.equal(f.journal.canUndo(), true);

  const undone = await f.journal.undo();
  assert.deepEqual(undone, { restored: [victim], failed: [] });
  const after = await snapshot(victim);
  assert.deepEqual(after.bytes, before.bytes);
  assert.equal(after.mtimeMs, before.mtimeMs);
  assert.deepEqual(await readdir(join(f.dir, 'trash', 'files')), []);
  assert.deepEqual(await readdir(join(f.dir, 'trash', 'info')), []);
  assert.notEqual(f.engine.fileFacts(victim), null);
  assert.equal((await groupWith(f.engine, f.fruits[0])).files.length, 3);
  assert.equal(f.journal.canUndo(), false);
  assert.deepEqual(await f.journal.undo(), { restored: [], failed: [] });
});

test('never the last remaining copy', async () => {
  const f = await setup(2);
  const group = await groupWith(f.engine, f.fruits[0]);
  const result = await f.journal.remove({ groupId: group.id, items: await itemsFor(f.engine, f.fruits), destination: { kind: 'trash' } });
  assert.equal(result.done.length, 0);
  assert.equal(result.actionId, null);
  assert.deepEqual(result.refused.map((r) => r.reason), ['it would remove the last remaining copy in this group', 'it would remove the last remaining copy in this group']);
  for (const path of f.fruits) await lstat(path); // both still there
  assert.equal(f.journal.canUndo(), false);
});

test('a copy that changed on disk does not count as the remaining copy', async () => {
  const f = await setup(3);
  const group = await groupWith(f.engine, f.fruits[0]);
  const items = await itemsFor(f.engine, [f.fruits[0], f.fruits[1]]);
  // The third copy is edited after the group was shown (the catalog has not seen it yet).
  await writeFile(f.fruits[2], 'edited');
  const result = await f.journal.remove({ groupId: group.id, items, destination: { kind: 'trash' } });
  assert.equal(result.done.length, 0);
  assert.equal(result.refused.length, 2);
  assert.match(result.refused[0].reason, /last remaining copy/);
});

test('files changed since shown, outside the group or in an unknown group are refused', async () => {
  const f = await setup(4);
  const group = await groupWith(f.engine, f.fruits[0]);
  const [a, b, c] = await itemsFor(f.engine, [f.fruits[1], f.fruits[2], f.fruits[3]]);
  // b: its mtime moved on since it was shown; c: the renderer's size is wrong.
  await utimes(b.path, new Date(), new Date(b.mtimeMs + 5000));
  const stranger = join(f.photos, 'not catalogued.jpg');
  await copyFile(f.fruits[0], stranger);
  const [baboon] = await itemsFor(f.engine, [f.baboon]);
  const result = await f.journal.remove({
    groupId: group.id,
    items: [a, b, { ...c, size: c.size + 1 }, { path: stranger, size: a.size, mtimeMs: a.mtimeMs }, baboon],
    destination: { kind: 'trash' },
  });
  assert.deepEqual(result.done.map((d) => d.path), [a.path]);
  assert.deepEqual(
    Object.fromEntries(result.refused.map((r) => [r.path, r.reason])),
    {
      [b.path]: 'the file changed since it was shown',
      [c.path]: 'the file changed since it was shown',
      [stranger]: 'not a member of this group',
      [f.baboon]: 'not a member of this group',
    },
  );
  await lstat(b.path);
  await lstat(c.path);
  await lstat(stranger);

  const unknown = await f.journal.remove({ groupId: 'no-such-group', items: [c], destination: { kind: 'trash' } });
  assert.deepEqual(unknown.refused, [{ path: c.path, reason: 'the group changed since it was shown; look at it again' }]);
});

test('a symbolic link is neither removed nor counted as a remaining copy', async () => {
  const f = await setup(2);
  const link = join(f.photos, 'link.jpg');
  await symlink(f.fruits[0], link);
  await f.engine.updatePaths([link]); // the engine catalogues linked files too
  const group = await groupWith(f.engine, link);
  assert.equal(group.files.length, 3);
  const [linkItem] = await itemsFor(f.engine, [link]);
  const viaLink = await f.journal.remove({ groupId: group.id, items: [linkItem], destination: { kind: 'trash' } });
  assert.deepEqual(viaLink.refused, [{ path: link, reason: 'a symbolic link, not a copy: remove it in your file manager' }]);
  // Removing both real files would leave only the link (pointing at nothing): refused.
  const both = await f.journal.remove({ groupId: group.id, items: await itemsFor(f.engine, f.fruits), destination: { kind: 'trash' } });
  assert.equal(both.done.length, 0);
  assert.ok(both.refused.every((r) => /last remaining copy/.test(r.reason)));
  for (const path of f.fruits) await lstat(path);
});

test('move to a folder never overwrites, and undo moves back exactly', async () => {
  const f = await setup(3);
  const target = join(f.dir, 'set aside');
  await mkdir(target);
  // Something already has the name there.
  await writeFile(join(target, 'fruits 2.jpg'), 'somebody else');
  const victim = f.fruits[1];
  const before = await snapshot(victim);
  const group = await groupWith(f.engine, victim);
  const result = await f.journal.remove({ groupId: group.id, items: await itemsFor(f.engine, [victim]), destination: { kind: 'folder', path: target } });
  assert.deepEqual(result.done, [{ path: victim, to: join(target, 'fruits 2 (2).jpg') }]);
  assert.equal(await readFile(join(target, 'fruits 2.jpg'), 'utf8'), 'somebody else');
  assert.equal((await snapshot(join(target, 'fruits 2 (2).jpg'))).mtimeMs, before.mtimeMs);

  const refused = await f.journal.remove({ groupId: (await groupWith(f.engine, f.fruits[0])).id, items: await itemsFor(f.engine, [f.fruits[0]]), destination: { kind: 'folder', path: join(f.dir, 'missing') } });
  assert.deepEqual(refused.refused, [{ path: f.fruits[0], reason: 'the destination folder does not exist' }]);

  const undone = await f.journal.undo();
  assert.deepEqual(undone.restored, [victim]);
  const after = await snapshot(victim);
  assert.deepEqual(after.bytes, before.bytes);
  assert.equal(after.mtimeMs, before.mtimeMs);
  assert.deepEqual((await readdir(target)).sort(), ['fruits 2.jpg']);
});

test('undo never overwrites a file that took the original name', async () => {
  const f = await setup(3);
  const victim = f.fruits[1];
  const group = await groupWith(f.engine, victim);
  const result = await f.journal.remove({ groupId: group.id, items: await itemsFor(f.engine, [victim]), destination: { kind: 'trash' } });
  await writeFile(victim, 'a new file with the same name');
  const undone = await f.journal.undo();
  assert.deepEqual(undone, { restored: [], failed: [{ path: victim, reason: 'another file now has its name' }] });
  assert.equal(await readFile(victim, 'utf8'), 'a new file with the same name');
  await lstat(result.done[0].to!); // still safe in the trash
});

test('undo goes back one action at a time', async () => {
  const f = await setup(4);
  const first = await f.journal.remove({ groupId: (await groupWith(f.engine, f.fruits[0])).id, items: await itemsFor(f.engine, [f.fruits[1]]), destination: { kind: 'trash' } });
  const second = await f.journal.remove({ groupId: (await groupWith(f.engine, f.fruits[0])).id, items: await itemsFor(f.engine, [f.fruits[2]]), destination: { kind: 'trash' } });
  assert.equal(first.done.length + second.done.length, 2);
  assert.deepEqual((await f.journal.undo()).restored, [f.fruits[2]]);
  assert.deepEqual((await f.journal.undo()).restored, [f.fruits[1]]);
  assert.equal(f.journal.canUndo(), false);
});

test('a crash in the middle of a batch is repaired on the next open, and undo still works', async () => {
  const f = await setup(5);
  const group = await groupWith(f.engine, f.fruits[0]);
  const victims = [f.fruits[1], f.fruits[2], f.fruits[3]];
  const snapshots = await Promise.all(victims.map(snapshot));
  // A trash that "crashes" on its second file: the file is moved, then the process never returns.
  let calls = 0;
  const crashing: TrashAdapter = {
    trash: async (path) => {
      calls++;
      const to = await f.trash.trash(path);
      if (calls === 2) return new Promise<string>(() => {}); // the process died here
      return to;
    },
  };
  const doomed = await DeleteJournal.open({ journalPath: f.journalPath, catalog: f.engine, trash: crashing });
  void doomed.remove({ groupId: group.id, items: await itemsFor(f.engine, victims), destination: { kind: 'trash' } });
  const deadline = Date.now() + 5000;
  while (calls < 2 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
  assert.equal(calls, 2);

  // What the crash left: the journal says "in progress", two files are in the trash, one untouched.
  const onDisk = JSON.parse(await readFile(f.journalPath, 'utf8'));
  assert.equal(onDisk.actions.at(-1).state, 'in-progress');
  assert.deepEqual(onDisk.actions.at(-1).items.map((item: { state: string }) => item.state), ['pending', 'pending', 'pending']);

  // The next start opens the journal again (a fresh adapter, the same trash folder).
  const reopened = await DeleteJournal.open({ journalPath: f.journalPath, catalog: f.engine, trash: new FolderTrash(f.trash.dir) });
  assert.deepEqual(reopened.recovery, { actionId: onDisk.actions.at(-1).id, removed: [victims[0], victims[1]], kept: [victims[2]] });
  const action = reopened.actions().at(-1)!;
  assert.equal(action.state, 'done');
  assert.deepEqual(action.items.map((item) => [item.state, item.to]), [
    ['removed', join(f.trash.dir, 'files', 'fruits 2.jpg')],
    ['removed', join(f.trash.dir, 'files', 'fruits 3.jpg')],
    ['failed', null],
  ]);
  // The engine was told about the removed files.
  assert.equal(f.engine.fileFacts(victims[0]), null);
  assert.equal(f.engine.fileFacts(victims[1]), null);
  assert.notEqual(f.engine.fileFacts(victims[2]), null);

  const undone = await reopened.undo();
  assert.deepEqual(undone, { restored: [victims[0], victims[1]], failed: [] });
  for (const [i, path] of victims.entries()) {
    const now = await snapshot(path);
    assert.deepEqual(now.bytes, snapshots[i].bytes);
    assert.equal(now.mtimeMs, snapshots[i].mtimeMs);
  }
});

test('a trash that does not say where files went: removal works, undo says why it cannot', async () => {
  const f = await setup(3);
  const osLike: TrashAdapter = { trash: async (path) => (await f.trash.trash(path), null) };
  const journal = await DeleteJournal.open({ journalPath: join(f.dir, 'other-journal.json'), catalog: f.engine, trash: osLike });
  const group = await groupWith(f.engine, f.fruits[1]);
  const result = await journal.remove({ groupId: group.id, items: await itemsFor(f.engine, [f.fruits[1]]), destination: { kind: 'trash' } });
  assert.deepEqual(result.done, [{ path: f.fruits[1], to: null }]);
  const undone = await journal.undo();
  assert.deepEqual(undone.restored, []);
  assert.match(undone.failed[0].reason, /system trash/);
  assert.equal(journal.canUndo(), false);
});

test('findInTrashDir reads the trash format the desktop writes (GIO style names and escapes)', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'app-trashdir-'));
  try {
    await mkdir(join(dir, 'files'));
    await mkdir(join(dir, 'info'));
    const original = '/home/me/Pictures/été 2024/IMG 1.jpg';
    const bytes = await readFile(join(PHOTOS, 'opencv-doc/orange.jpg'));
    for (const [name, date] of [['IMG 1.jpg', '2020-01-01T10:00:00'], ['IMG 1.2.jpg', '2099-01-01T10:00:00']] as const) {
      await writeFile(join(dir, 'files', name), bytes);
      await utimes(join(dir, 'files', name), new Date(), new Date(1_600_000_000_000));
      await writeFile(join(dir, 'info', `${name}.trashinfo`), `[Trash Info]\nPath=/home/me/Pictures/%C3%A9t%C3%A9%202024/IMG%201.jpg\nDeletionDate=${date}\n`);
    }
    const identity = { size: bytes.length, mtimeMs: 1_600_000_000_000 };
    assert.equal(await findInTrashDir(dir, original, identity, Date.parse('2021-01-01T00:00:00')), join(dir, 'files', 'IMG 1.2.jpg'));
    assert.equal(await findInTrashDir(dir, original, { ...identity, size: 1 }, 0), null);
    assert.equal(await findInTrashDir(dir, '/elsewhere/IMG 1.jpg', identity, 0), null);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('linuxTrashDirsFor: the home trash first (XDG_DATA_HOME when absolute), then the mount\'s own', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'app-trashdirs-'));
  try {
    const file = join(dir, 'a.jpg');
    await writeFile(file, 'x');
    const dataHome = join(dir, 'data');
    await mkdir(dataHome);
    const dirs = await linuxTrashDirsFor(file, { XDG_DATA_HOME: dataHome });
    // Same file system as the data home: only the home trash.
    assert.deepEqual(dirs, [join(dataHome, 'Trash')]);
    const relative = await linuxTrashDirsFor(file, { XDG_DATA_HOME: 'relative/data' });
    assert.equal(relative[0], join(homedir(), '.local', 'share', 'Trash'));
    // A file on another file system (here /dev/shm, a tmpfs, when it is one): its mount's trashes too.
    const shm = await stat('/dev/shm').catch(() => null);
    if (shm && shm.dev !== (await stat(dataHome)).dev) {
      const other = await mkdtemp('/dev/shm/app-trashdirs-');
      try {
        await writeFile(join(other, 'b.jpg'), 'x');
        const uid = process.getuid!();
        assert.deepEqual(await linuxTrashDirsFor(join(other, 'b.jpg'), { XDG_DATA_HOME: dataHome }), [
          join(dataHome, 'Trash'),
          `/dev/shm/.Trash/${uid}`,
          `/dev/shm/.Trash-${uid}`,
        ]);
      } finally {
        await rm(other, { recursive: true, force: true });
      }
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
