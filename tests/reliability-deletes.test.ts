// Deleting safely, beyond tests/app-trash.test.ts: content changed behind an unchanged size and mtime,
// paths that only resolve to a member, moves across file systems, 255-byte names, and the states a
// crash can leave inside a single move (a second hard link) or inside an undo.
import assert from 'node:assert/strict';
import { copyFile, link, lstat, mkdir, mkdtemp, readdir, readFile, rm, symlink, utimes, writeFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { afterEach, test } from 'node:test';
import { openEngine } from '../electron/engine/index.ts';
import { DeleteJournal, FolderTrash, restoreFromTrashDir } from '../electron/engine/trash.ts';
import type { Engine } from '../electron/engine/types.ts';
import { photo, tempDir } from './helpers/photos.ts';

interface Fixture {
  dir: string;
  photos: string;
  engine: Engine;
  trash: FolderTrash;
  journalPath: string;
  journal: DeleteJournal;
  /** Byte-identical copies of one photo, each with its own mtime. */
  copies: string[];
}

const fixtures: Fixture[] = [];
const extraDirs: string[] = [];

afterEach(async () => {
  for (const f of fixtures.splice(0)) {
    await f.engine.close();
    await rm(f.dir, { recursive: true, force: true });
  }
  for (const dir of extraDirs.splice(0)) await rm(dir, { recursive: true, force: true });
});

async function setup(names = ['a.jpg', 'b.jpg', 'c.jpg']): Promise<Fixture> {
  const dir = await tempDir('reliability-deletes-');
  const photos = join(dir, 'photos');
  await mkdir(photos);
  const copies: string[] = [];
  for (const [i, name] of names.entries()) {
    const path = join(photos, name);
    await copyFile(photo('opencv-doc/fruits.jpg'), path);
    await utimes(path, new Date(), 1_650_000_000 + i + 0.123456); // sub-millisecond, as real files have
    copies.push(path);
  }
  await copyFile(photo('opencv-doc/baboon.jpg'), join(photos, 'other.jpg'));
  const engine = await openEngine({ catalogPath: join(dir, 'data', 'catalog.json'), settings: { executionProvider: 'cpu' } });
  await engine.scan([photos]);
  const trash = new FolderTrash(join(dir, 'trash'));
  const journalPath = join(dir, 'data', 'delete-journal.json');
  const journal = await DeleteJournal.open({ journalPath, catalog: engine, trash });
  const fixture = { dir, photos, engine, trash, journalPath, journal, copies };
  fixtures.push(fixture);
  return fixture;
}

async function groupOf(engine: Engine, path: string) {
  const group = (await engine.groups()).groups.find((g) => g.files.some((f) => f.path === path));
  assert.ok(group, `no group holds ${path}`);
  return group;
}

function itemsFor(engine: Engine, paths: string[]) {
  return paths.map((path) => {
    const facts = engine.fileFacts(path);
    assert.ok(facts, `${path} is not catalogued`);
    return { path, size: facts.size, mtimeMs: facts.mtimeMs };
  });
}

async function state(path: string) {
  const info = await lstat(path);
  return { bytes: await readFile(path), mtimeMs: info.mtimeMs, ino: info.ino };
}

/** Overwrites a file with other bytes of the same length and puts its mtime back. */
async function changeContentKeepIdentity(path: string): Promise<void> {
  const before = await lstat(path);
  const bytes = await readFile(path);
  bytes[bytes.length - 100] ^= 0xff; // inside the JPEG data: another photo as far as bytes go
  await writeFile(path, bytes);
  await utimes(path, before.atime, before.mtimeMs / 1000);
  const after = await lstat(path);
  assert.equal(after.size, before.size);
  assert.equal(after.mtimeMs, before.mtimeMs, 'the test could not restore the mtime');
}

test('a file whose bytes changed behind the same size and mtime is not deleted', async () => {
  const f = await setup();
  const group = await groupOf(f.engine, f.copies[0]);
  const items = itemsFor(f.engine, [f.copies[1]]);
  await changeContentKeepIdentity(f.copies[1]);
  const result = await f.journal.remove({ groupId: group.id, items, destination: { kind: 'trash' } });
  assert.deepEqual(result.done, []);
  assert.deepEqual(result.refused, [{ path: f.copies[1], reason: 'the file changed since it was shown' }]);
  await lstat(f.copies[1]);
});

test('a remaining copy whose bytes changed behind the same size and mtime does not count', async () => {
  const f = await setup(['a.jpg', 'b.jpg']);
  const group = await groupOf(f.engine, f.copies[0]);
  const items = itemsFor(f.engine, [f.copies[0]]);
  await changeContentKeepIdentity(f.copies[1]); // the only other copy is no longer the photo
  const result = await f.journal.remove({ groupId: group.id, items, destination: { kind: 'trash' } });
  assert.deepEqual(result.done, []);
  assert.match(result.refused[0]?.reason ?? '', /last remaining copy/);
  await lstat(f.copies[0]);
});

test('never a file outside the catalog: other paths to a member, and look-alikes elsewhere, are refused', async () => {
  const f = await setup();
  const group = await groupOf(f.engine, f.copies[0]);
  const [member] = itemsFor(f.engine, [f.copies[1]]);
  const name = basename(member.path);
  const outside = join(f.dir, 'outside');
  await mkdir(outside);
  const lookAlike = join(outside, name);
  await copyFile(member.path, lookAlike);
  await utimes(lookAlike, new Date(), member.mtimeMs / 1000);
  await symlink(outside, join(f.photos, 'linked'));
  const candidates = [
    `${f.photos}/./${name}`,
    `${f.photos}//${name}`,
    `${f.photos}/../photos/${name}`,
    join(f.photos, 'linked', name), // through a symbolic link to a folder outside
    lookAlike,
  ];
  const result = await f.journal.remove({
    groupId: group.id,
    items: candidates.map((path) => ({ path, size: member.size, mtimeMs: member.mtimeMs })),
    destination: { kind: 'trash' },
  });
  assert.deepEqual(result.done, []);
  assert.deepEqual(result.refused.map((r) => r.reason), candidates.map(() => 'not a member of this group'));
  for (const path of [member.path, lookAlike]) await lstat(path);
  assert.deepEqual(await readdir(f.dir).then((names) => names.includes('trash')), false);
});

test('move to a folder on another file system and undo: exact path, bytes and mtime', async (t) => {
  const shm = await lstat('/dev/shm').catch(() => null);
  if (!shm?.isDirectory() || shm.dev === (await lstat(tmpdirOf())).dev) {
    t.skip('no second file system (/dev/shm) to move to');
    return;
  }
  const f = await setup();
  const target = await mkdtemp('/dev/shm/reliability-deletes-');
  extraDirs.push(target);
  const before = await state(f.copies[1]);
  const group = await groupOf(f.engine, f.copies[1]);
  const result = await f.journal.remove({ groupId: group.id, items: itemsFor(f.engine, [f.copies[1]]), destination: { kind: 'folder', path: target } });
  assert.deepEqual(result.done, [{ path: f.copies[1], to: join(target, 'b.jpg') }]);
  const moved = await state(join(target, 'b.jpg'));
  assert.deepEqual(moved.bytes, before.bytes);
  // A copy's mtime is set through utimes (seconds as a double): exact to about a microsecond.
  assert.ok(Math.abs(moved.mtimeMs - before.mtimeMs) < 0.001, `mtime ${moved.mtimeMs}, was ${before.mtimeMs}`);
  const undone = await f.journal.undo();
  assert.deepEqual(undone, { restored: [f.copies[1]], failed: [] });
  const after = await state(f.copies[1]);
  assert.deepEqual(after.bytes, before.bytes);
  assert.ok(Math.abs(after.mtimeMs - before.mtimeMs) < 0.001, `mtime ${after.mtimeMs}, was ${before.mtimeMs}`);
  assert.deepEqual(await readdir(target), []);
});

function tmpdirOf(): string {
  return dirname(fixtures[0]?.dir ?? '/tmp');
}

test('255-byte file names go to the trash and to a folder (where the name is taken) and come back', async () => {
  const long = `${'é'.repeat(125)}.jpg`; // 254 bytes
  assert.equal(Buffer.byteLength(long), 254);
  const f = await setup(['a.jpg', long, `${'x'.repeat(251)}.jpg`]);
  const group = await groupOf(f.engine, f.copies[0]);
  const trashed = await f.journal.remove({ groupId: group.id, items: itemsFor(f.engine, [f.copies[1]]), destination: { kind: 'trash' } });
  assert.deepEqual(trashed.refused, []);
  assert.equal(trashed.done.length, 1);
  const target = join(f.dir, 'set aside');
  await mkdir(target);
  await writeFile(join(target, basename(f.copies[2])), 'somebody else has this name');
  const group2 = await groupOf(f.engine, f.copies[0]);
  const moved = await f.journal.remove({ groupId: group2.id, items: itemsFor(f.engine, [f.copies[2]]), destination: { kind: 'folder', path: target } });
  assert.deepEqual(moved.refused, []);
  assert.equal(moved.done.length, 1);
  assert.ok(Buffer.byteLength(basename(moved.done[0].to!)) <= 255);
  assert.equal(await readFile(join(target, basename(f.copies[2])), 'utf8'), 'somebody else has this name');
  assert.deepEqual((await f.journal.undo()).restored, [f.copies[2]]);
  assert.deepEqual((await f.journal.undo()).restored, [f.copies[1]]);
  for (const path of f.copies) await lstat(path);
});

test('a crash inside a move to a folder (linked, not yet unlinked) leaves one name after recovery', async () => {
  const f = await setup();
  const target = join(f.dir, 'set aside');
  await mkdir(target);
  const victim = f.copies[1];
  const before = await state(victim);
  // What the journal holds before the batch, and what the crash left: a second name in the target.
  const [item] = itemsFor(f.engine, [victim]);
  await writeJournal(f.journalPath, 'folder', target, [{ ...item, contentHash: f.engine.fileFacts(victim)!.contentHash }]);
  await link(victim, join(target, 'b.jpg'));
  const reopened = await DeleteJournal.open({ journalPath: f.journalPath, catalog: f.engine, trash: f.trash });
  assert.deepEqual(reopened.recovery?.kept, [victim]);
  assert.deepEqual(await readdir(target), [], 'the half-made move is taken back');
  assert.deepEqual(await state(victim), before);
});

test('a crash inside a move to the folder trash (linked, not yet unlinked) leaves one name after recovery', async () => {
  const f = await setup();
  const victim = f.copies[1];
  const before = await state(victim);
  const [item] = itemsFor(f.engine, [victim]);
  await writeJournal(f.journalPath, 'trash', null, [{ ...item, contentHash: f.engine.fileFacts(victim)!.contentHash }]);
  await mkdir(join(f.trash.dir, 'files'), { recursive: true });
  await mkdir(join(f.trash.dir, 'info'), { recursive: true });
  await writeFile(join(f.trash.dir, 'info', 'b.jpg.trashinfo'), `[Trash Info]\nPath=${encodeURI(victim)}\nDeletionDate=${new Date().toISOString().slice(0, 19)}\n`);
  await link(victim, join(f.trash.dir, 'files', 'b.jpg'));
  const reopened = await DeleteJournal.open({ journalPath: f.journalPath, catalog: f.engine, trash: new FolderTrash(f.trash.dir) });
  assert.deepEqual(reopened.recovery?.kept, [victim]);
  assert.deepEqual(await readdir(join(f.trash.dir, 'files')), [], 'the half-made move is taken back');
  assert.deepEqual(await readdir(join(f.trash.dir, 'info')), []);
  assert.deepEqual(await state(victim), before);
});

test('a crash in the middle of an undo: the next start sees what came back, undo finishes the rest', async () => {
  const f = await setup(['a.jpg', 'b.jpg', 'c.jpg', 'd.jpg']);
  const group = await groupOf(f.engine, f.copies[0]);
  const victims = f.copies.slice(1);
  const before = await Promise.all(victims.map(state));
  const removed = await f.journal.remove({ groupId: group.id, items: itemsFor(f.engine, victims), destination: { kind: 'trash' } });
  assert.equal(removed.done.length, 3);
  // The undo put the last file back (undo goes in reverse order), then the process died.
  const journalBeforeUndo = await readFile(f.journalPath, 'utf8');
  const action = JSON.parse(journalBeforeUndo).actions.at(-1);
  action.state = 'undoing';
  await writeFile(f.journalPath, JSON.stringify({ version: 1, actions: [action] }));
  await restoreFromTrashDir(removed.done[2].to!, victims[2]);

  const reopened = await DeleteJournal.open({ journalPath: f.journalPath, catalog: f.engine, trash: new FolderTrash(f.trash.dir) });
  const items = reopened.actions().at(-1)!.items;
  assert.deepEqual(items.map((i) => i.state), ['removed', 'removed', 'restored']);
  assert.equal(reopened.canUndo(), true);
  assert.deepEqual(await reopened.undo(), { restored: victims.slice(0, 2), failed: [] });
  assert.equal(reopened.canUndo(), false);
  for (const [i, path] of victims.entries()) assert.deepEqual(await state(path), before[i]);
});

/** The journal as `remove` writes it before a batch (one action, in progress, items pending). */
async function writeJournal(
  path: string,
  kind: 'trash' | 'folder',
  folder: string | null,
  items: { path: string; size: number; mtimeMs: number; contentHash: string | null }[],
): Promise<void> {
  const action = {
    id: 'crashed-action',
    startedAt: new Date(Date.now() - 1000).toISOString(),
    finishedAt: null,
    state: 'in-progress',
    destination: kind === 'trash' ? { kind } : { kind, path: folder },
    items: items.map((item) => ({ ...item, to: null, state: 'pending', error: null })),
  };
  await writeFile(path, JSON.stringify({ version: 1, actions: [action] }));
}
