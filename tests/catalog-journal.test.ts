// The catalog's journal (catalog-journal.ts, CatalogFile.save in catalog-file.ts): saves between
// whole writes append what changed, and the catalog reads back as if it had been written whole; the
// journal is written whole into the catalog once it has grown; a torn last line (a crash mid-append)
// drops only that save; damage in the middle is told; a journal left from before a whole write, or
// one whose records do not make a catalog, is not applied.
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { copyFile, readdir, readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { CATALOG_FORMAT_VERSION, openCatalog, type CatalogData, type CatalogEntry } from '../electron/engine/catalog.ts';
import { CatalogFile, readCatalogDocument } from '../electron/engine/catalog-file.ts';
import { applyJournal, readJournal } from '../electron/engine/catalog-journal.ts';
import { removeDir, tempDir } from './helpers/photos.ts';

let dir: string;
let made = 0;
before(async () => {
  dir = await tempDir('catalog-journal-');
});
after(async () => {
  await removeDir(dir);
});

function entry(i: number, size = 1000 + i): CatalogEntry {
  return {
    path: `/photos/folder ${i % 7}/photo\n${i}.jpg`, // a line break too: one record is still one line
    size,
    mtimeMs: 1_700_000_000_000 + i,
    contentHash: `${i}`.padStart(32, '0'),
    format: 'jpeg',
    width: 640,
    height: 480,
    takenAt: null,
    phash: 'f0e1d2c3b4a59687',
    phashVariants: i % 4 === 3 ? null : Buffer.from(Array.from({ length: 488 }, (_, k) => (i * 7 + k) % 256)),
    vectorRow: i * 3,
    vectorHash: '0123456789abcdef',
    status: 'ok',
    error: null,
  };
}

function catalogOf(count: number): CatalogData {
  return {
    formatVersion: CATALOG_FORMAT_VERSION,
    embedding: { model: 'm', sha256: 'abc', dimension: 1792, views: ['whole', 'centre', 'mirrored'], signals: 2 },
    vectorRows: count * 3,
    vectorGeneration: 1,
    folders: [{ path: '/photos', lastScanAt: null }],
    files: Array.from({ length: count }, (_, i) => entry(i)),
    notDuplicates: [],
    settings: {},
  };
}

/** A new folder with a catalog written whole; returns its path and the file (as the engine holds it). */
async function wholeCatalog(count: number, journalLimit: number | null = null) {
  const path = join(dir, `c${made++}`, 'catalog.json');
  const opened = await openCatalog(path, journalLimit === null ? {} : { journalLimit });
  const document = catalogOf(count);
  assert.equal(await opened.file.save(document, () => document.files, { put: document.files, removed: [] }), 'whole', 'a new catalog is written whole');
  return { path, file: opened.file, document };
}

/** Three saves of the engine's kinds: an entry changed in place, one added, one removed, a setting and a decision. */
async function threeSaves(file: CatalogFile<CatalogData>, document: CatalogData): Promise<CatalogData[]> {
  const states: CatalogData[] = [];
  const changed = { ...document.files[2], size: 5, mtimeMs: 6, phashVariants: Buffer.alloc(16, 9) };
  let files = document.files.map((f) => (f.path === changed.path ? changed : f));
  let current: CatalogData = { ...document, files, vectorRows: document.vectorRows + 3 };
  assert.equal(await file.save(current, () => current.files, { put: [changed], removed: [] }), 'journal');
  states.push(structuredClone(current));
  const added = entry(1000);
  const removed = document.files[4].path;
  files = [...files.filter((f) => f.path !== removed), added];
  current = { ...current, files, settings: { nearCosine: 0.91 } };
  assert.equal(await file.save(current, () => current.files, { put: [added], removed: [removed] }), 'journal');
  states.push(structuredClone(current));
  current = { ...current, notDuplicates: [['a', 'b']] };
  assert.equal(await file.save(current, () => current.files, { put: [], removed: [] }), 'journal');
  states.push(structuredClone(current));
  return states;
}

/** The catalog as openCatalog makes it (checked and migrated, journal applied), plus what it told. */
async function reopen(path: string) {
  const { db, recovered, migrated } = await openCatalog(path);
  return { data: db.data, recovered, migrated };
}

/** Buffers and Uint8Arrays compare as bytes. */
const plain = (data: CatalogData) => ({ ...data, files: data.files.map((f) => ({ ...f, phashVariants: f.phashVariants && [...f.phashVariants] })) });

test('saves append what changed to the journal and leave the catalog file alone; it reads back as written', async () => {
  const { path, file, document } = await wholeCatalog(50);
  const before = await stat(path);
  const bytesBefore = await readFile(path);
  const states = await threeSaves(file, document);
  const after = await stat(path);
  assert.deepEqual([after.ino, after.mtimeMs], [before.ino, before.mtimeMs], 'the catalog file was not written again');
  assert.deepEqual(await readFile(path), bytesBefore);
  const journal = (await readFile(`${path}.journal`)).toString();
  assert.equal(journal.split('\n').length, 1 + 3 + 1, 'a first line naming the catalog file, then a line per save');
  assert.ok(journal.length < 6000, `only what changed is in the journal (${journal.length} bytes for a 50-photo catalog)`);
  assert.deepEqual(plain((await readCatalogDocument(path)) as CatalogData), plain(states[2]));
  const opened = await reopen(path);
  assert.equal(opened.recovered, null);
  assert.equal(opened.migrated, null);
  assert.deepEqual(plain(opened.data), plain(states[2]));
  assert.ok(opened.data.files.every((f) => f.phashVariants === null || f.phashVariants instanceof Uint8Array), 'variant hashes are bytes again');
});

test('once the journal outgrows its limit, the next save writes the catalog whole and the journal starts over', async () => {
  const { path, file, document } = await wholeCatalog(20, 3000);
  const kinds: string[] = [];
  let current = document;
  for (let i = 0; i < 12; i++) {
    const changed = { ...current.files[i], size: 1 + i, error: i % 2 ? null : 'x'.repeat(400 * i) }; // records of several sizes
    current = { ...current, files: current.files.map((f) => (f.path === changed.path ? changed : f)) };
    const kind = await file.save(current, () => current.files, { put: [changed], removed: [] });
    kinds.push(kind);
    assert.deepEqual(plain((await readCatalogDocument(path)) as CatalogData), plain(current), `after save ${i + 1}`);
    const journalSize = existsSync(`${path}.journal`) ? (await stat(`${path}.journal`)).size : 0;
    assert.ok(journalSize <= 3000, `the journal stays within its limit (${journalSize} bytes)`);
    assert.equal(journalSize === 0, kind === 'whole', `save ${i + 1}: a whole write empties the journal, an append fills it`);
  }
  assert.equal(kinds[0], 'journal');
  assert.ok(kinds.filter((kind) => kind === 'whole').length >= 3 && kinds.filter((kind) => kind === 'journal').length >= 3, kinds.join());
  const first = (await readFile(path)).toString().split('\n')[0];
  const journal = (await readFile(`${path}.journal`)).toString();
  assert.ok(journal.startsWith(`${journal.slice(0, 16)} {"journalOf":"${JSON.parse(first).journalId}"}`), 'the new journal names the new catalog file');
});

test('a save cut short by a crash (the journal torn anywhere in its last line) drops that save alone; the next save writes over it', async () => {
  const { path, file, document } = await wholeCatalog(10);
  const states = await threeSaves(file, document);
  const whole = await readFile(`${path}.journal`);
  const lastLineStart = whole.lastIndexOf(10, whole.length - 2) + 1;
  const cuts = [lastLineStart, lastLineStart + 1, lastLineStart + 16, lastLineStart + 17, lastLineStart + 40, whole.length - 2, whole.length - 1];
  assert.ok(cuts.every((cut) => cut < whole.length));
  const tails = [Buffer.alloc(0), Buffer.alloc(700), Buffer.from('garbage\n')];
  for (const cut of cuts) {
    for (const tail of tails) {
      const what = `cut at ${cut} of ${whole.length}, then ${tail.length} bytes`;
      await writeFile(`${path}.journal`, Buffer.concat([whole.subarray(0, cut), tail]));
      const opened = await reopen(path);
      assert.equal(opened.recovered, null, `${what}: a torn end is not damage (${opened.recovered})`);
      assert.deepEqual(plain(opened.data), plain(states[1]), `${what}: the saves before the torn one`);
    }
  }
  // The next save goes where the torn line began, and the journal is whole again (a long torn tail cut off).
  await writeFile(`${path}.journal`, Buffer.concat([whole.subarray(0, lastLineStart + 40), Buffer.alloc(5000, 32)]));
  const reopened = await openCatalog(path);
  const next = { ...reopened.db.data, settings: { nearCosine: 0.5 } };
  assert.equal(await reopened.file.save(next, () => next.files, { put: [], removed: [] }), 'journal');
  const journal = await readJournal(`${path}.journal`, JSON.parse((await readFile(path)).toString().split('\n')[0]).journalId);
  assert.deepEqual([journal?.records.length, journal?.tornBytes, journal?.damaged], [3, 0, false]);
  assert.equal((await reopen(path)).data.settings.nearCosine, 0.5);
});

test('damage inside the journal (a flipped byte before good lines) is told; the saves before it are used', async () => {
  const { path, file, document } = await wholeCatalog(10);
  const states = await threeSaves(file, document);
  const whole = await readFile(`${path}.journal`);
  const secondRecord = whole.indexOf(10, whole.indexOf(10) + 1) + 1; // after the header and the first save
  // A flipped bit that breaks the JSON, and one that keeps it valid (a digit of a size): the checksum catches both.
  const digit = whole.indexOf('"size":', secondRecord) + 7;
  assert.ok(digit > secondRecord && whole[digit] >= 0x30 && whole[digit] <= 0x39);
  for (const at of [secondRecord + 100, digit]) {
    const damaged = Buffer.from(whole);
    damaged[at] ^= at === digit ? 0x01 : 0x04;
    await writeFile(`${path}.journal`, damaged);
    const opened = await reopen(path);
    assert.match(opened.recovered ?? '', /journal .* is damaged at byte \d+; the changes saved before that are used, those after it were lost .* kept as .*damaged-/s);
    assert.deepEqual(plain(opened.data), plain(states[0]));
  }
  assert.ok((await readdir(join(path, '..'))).some((name) => name.startsWith('catalog.json.journal.damaged-')), 'a copy of the damaged journal is kept');
  // Damage in the first line: whose saves follow is unknown, so none is applied, but it is told; the next save starts a new journal.
  const damaged = Buffer.from(whole);
  damaged[30] ^= 0x01;
  await writeFile(`${path}.journal`, damaged);
  const opened = await openCatalog(path);
  assert.match(opened.recovered ?? '', /journal .* is damaged at byte 0/);
  assert.deepEqual(plain(opened.db.data), plain(document));
  assert.equal(await opened.file.save({ ...opened.db.data, settings: { nearCosine: 0.8 } }, () => opened.db.data.files, { put: [], removed: [] }), 'journal');
  const again = await reopen(path);
  assert.equal(again.recovered, null);
  assert.deepEqual(plain(again.data), plain({ ...document, settings: { nearCosine: 0.8 } }));
});

test('a journal from before the last whole write, or from another catalog file, is not applied', async () => {
  const { path, file, document } = await wholeCatalog(10);
  await threeSaves(file, document);
  const old = join(path, '..', 'old.journal');
  await copyFile(`${path}.journal`, old);
  // A whole write, then a crash before the journal was removed.
  const big = { ...document, files: [...document.files, ...Array.from({ length: 5 }, (_, i) => entry(500 + i))] };
  assert.equal(await file.save(big, () => big.files, null), 'whole');
  assert.ok(!existsSync(`${path}.journal`));
  await copyFile(old, `${path}.journal`);
  const opened = await reopen(path);
  assert.equal(opened.recovered, null);
  assert.deepEqual(plain(opened.data), plain(big), 'the stale journal changed nothing');
  // A catalog file from before journals (format 4, no id) ignores any journal beside it.
  const raw = await readFile(path);
  const firstLine = raw.subarray(0, raw.indexOf(10)).toString();
  const format4Line = firstLine.replace(/,"journalId":"[^"]+"/, '').replace(`"formatVersion":${CATALOG_FORMAT_VERSION}`, '"formatVersion":4');
  assert.notEqual(format4Line, firstLine);
  await writeFile(path, Buffer.concat([Buffer.from(format4Line), raw.subarray(raw.indexOf(10))]));
  const format4 = await reopen(path);
  assert.equal(format4.recovered, null);
  assert.match(format4.migrated ?? '', /format 4; it is now in format 5/);
  assert.deepEqual(plain({ ...format4.data, formatVersion: CATALOG_FORMAT_VERSION }), plain(big));
});

test('checked journal records that do not make a catalog: the journal is set aside, told, and the catalog is as last written whole', async () => {
  const { path, file, document } = await wholeCatalog(10);
  const bad = { ...document.files[1], status: 'deleted' } as unknown as CatalogEntry; // a status no catalog has
  assert.equal(await file.save(document, () => document.files.map((f, i) => (i === 1 ? bad : f)), { put: [bad], removed: [] }), 'journal');
  const opened = await openCatalog(path);
  assert.match(opened.recovered ?? '', /journal .* could not be used .* kept as .*damaged-.* as it was last written whole/s);
  assert.deepEqual(plain(opened.db.data), plain(document));
  assert.ok(!existsSync(`${path}.journal`), 'set aside, not applied again');
  assert.ok((await readdir(join(path, '..'))).some((name) => name.startsWith('catalog.json.journal.damaged-')));
  // The record itself was intact: applied by hand, it gives the refused entry back.
  assert.equal((applyJournal(document, [{ fields: {}, put: [bad], removed: [] }]).files[1] as { status: string }).status, 'deleted');
  // The next save writes the catalog whole (it no longer holds what the journal said), then appends again.
  assert.equal(await opened.file.save(opened.db.data, () => opened.db.data.files, { put: [], removed: [] }), 'whole');
  assert.equal(await opened.file.save(opened.db.data, () => opened.db.data.files, { put: [], removed: [] }), 'journal');
});
