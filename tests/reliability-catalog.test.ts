// A damaged catalog: unreadable or wrongly shaped JSON, a damaged vector file, a damaged similarity
// index. Each is detected, the user is told (the engine's log), the damaged file is kept aside where
// that matters, and what is lost is rebuilt from the photos, which are never touched. Older catalog
// formats are migrated: "version 0" (before formats were numbered), version 1 (this project's
// first format, without vectorGeneration or vector checksums) and version 2 (pHash variants as a list).
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { copyFile, mkdir, readdir, readFile, rm, stat, truncate, writeFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import sharp from 'sharp';
import { CATALOG_FORMAT_VERSION, catalogSaveDue } from '../electron/engine/catalog.ts';
import { catalogBytes, parseCatalogBytes, readCatalogDocument } from '../electron/engine/catalog-file.ts';
import { openEngine } from '../electron/engine/index.ts';
import type { Engine } from '../electron/engine/types.ts';
import { snapshotTree } from './helpers/fault-kill.ts';
import { prng, seedFromEnv } from './helpers/fault-prng.ts';
import { copyPhoto, DISTINCT_PHOTOS, editPhoto, removeDir, tempDir } from './helpers/photos.ts';

const SEED = seedFromEnv(77);
const cpu = { executionProvider: 'cpu' as const };
const FILES = ['', '.vectors', '.index'];

describe('a damaged or old catalog', () => {
  let dir: string;
  let photos: string;
  let baseline: string; // the catalog of a clean scan
  let expectedGroups: string[];
  let photosBefore: Awaited<ReturnType<typeof snapshotTree>>;
  let copies = 0;

  const groupsOf = async (engine: Engine) => (await engine.groups()).groups.map((g) => `${g.kind}: ${g.files.map((f) => basename(f.path)).sort().join(' ')}`).sort();

  /** A copy of the baseline catalog (JSON, vectors, index) in a new folder; returns its path. */
  const copyBaseline = async (): Promise<string> => {
    const target = join(dir, `copy-${copies++}`, 'catalog.json');
    await mkdir(join(target, '..'));
    for (const suffix of FILES) await copyFile(baseline + suffix, target + suffix);
    return target;
  };

  const openLogged = async (catalogPath: string) => {
    const log: string[] = [];
    const engine = await openEngine({ catalogPath, settings: cpu, log: (message) => log.push(message) });
    return { engine, log };
  };

  /**
   * Writes an older-format document as the catalog and opens it: the engine says it migrated it,
   * makes the same groups (the turned copy is found through the variants), and its next scan reads
   * no photo again. Returns the catalog as then saved, in the current format.
   */
  const migratesWithoutReading = async (catalogPath: string, document: { files: unknown[] }, format: number) => {
    await writeFile(catalogPath, JSON.stringify(document));
    const { engine, log } = await openLogged(catalogPath);
    try {
      assert.ok(log.some((line) => new RegExp(`format ${format}`).test(line)), `not told about the migration: ${JSON.stringify(log)}`);
      assert.deepEqual(await groupsOf(engine), expectedGroups, 'the turned copy is still found through its variants');
      const summary = await engine.scan();
      assert.equal(summary.unchanged, document.files.length);
    } finally {
      await engine.close();
    }
    const migrated = (await readCatalogDocument(catalogPath)) as ReturnType<typeof readCatalog>; // with its journal
    assert.equal(migrated.formatVersion, CATALOG_FORMAT_VERSION);
    return migrated;
  };

  before(async () => {
    dir = await tempDir('reliability-catalog-');
    photos = join(dir, 'photos');
    for (const [i, relative] of DISTINCT_PHOTOS.slice(0, 4).entries()) await copyPhoto(relative, join(photos, `${i}.${relative.split('.').pop()}`));
    await copyPhoto(DISTINCT_PHOTOS[0], join(photos, 'copy of 0.jpg'));
    await editPhoto(DISTINCT_PHOTOS[1], 'resize', join(photos, '1 small.jpg'));
    // Found only through the rotated pHash variants (the model's views are not rotated).
    await sharp(join(photos, '2.jpg')).rotate(90).jpeg({ quality: 90 }).toFile(join(photos, '2 turned.jpg'));
    baseline = join(dir, 'baseline', 'catalog.json');
    const engine = await openEngine({ catalogPath: baseline, settings: cpu });
    await engine.scan([photos]);
    expectedGroups = await groupsOf(engine);
    await engine.close();
    // The scan's saves went to the catalog's journal: the damages below are done to a catalog file
    // that holds every photo, so it is written whole here (without an id, it has no journal).
    await writeFile(baseline, catalogBytes((await readCatalogDocument(baseline)) as { files: unknown[] }));
    await rm(`${baseline}.journal`);
    assert.deepEqual(expectedGroups, ['exact: 0.jpg copy of 0.jpg', 'near: 1 small.jpg 1.jpg', 'near: 2 turned.jpg 2.jpg']);
    photosBefore = await snapshotTree(photos);
  });

  after(async () => {
    // Whatever happened to the catalogs, the photos were never touched.
    if (photosBefore) assert.deepEqual(await snapshotTree(photos), photosBefore);
    await removeDir(dir);
  });

  test('unreadable or wrongly shaped catalog JSON: detected, told, kept aside, rebuilt from the photos', async () => {
    const good = await readFile(baseline);
    const random = prng(SEED);
    const document = readCatalog(good);
    // The first lines (the fields, then files), the rest (more files, then the binary variant hashes).
    const [fields, file1, file2, ...rest] = splitLines(good, 3);
    const damages: [string, string | Buffer][] = [
      ['empty file', ''],
      ['binary garbage', Buffer.from(Array.from({ length: 3000 }, () => random.int(0, 255)))],
      ['zeros (a file system that lost the data)', Buffer.alloc(good.length)],
      ...Array.from({ length: 5 }, (_, i): [string, Buffer] => {
        const cut = random.int(1, good.length - 2);
        return [`truncated at ${cut} of ${good.length} bytes (${i + 1})`, good.subarray(0, cut)];
      }),
      ['null', 'null'],
      ['an array', '[]'],
      ['a string', '"catalog"'],
      // Format 4's layout: a line that is not JSON, fewer or more lines than the first line counts,
      // variant hashes cut short or run on, an entry's variant bytes out of range.
      ['a file line that is not JSON', Buffer.concat([fields, file1, Buffer.from('{"path": "/x", "size\n'), ...rest])],
      ['a file line missing', Buffer.concat([fields, file1, ...rest])],
      ['a file line too many', Buffer.concat([fields, file1, file1, file2, ...rest])],
      ['variant hashes cut short', good.subarray(0, good.length - 1)],
      ['variant hashes run on', Buffer.concat([good, Buffer.from([0])])],
      ['an entry claiming more variant bytes than there are', Buffer.concat([fields, Buffer.from(file1.toString().replace(/"phashVariants":\d+/, '"phashVariants":100000')), file2, ...rest])],
      ['files is not an array (a whole document, formats 0-3)', JSON.stringify({ ...document, files: 'x' })],
      ['a null entry', asLines({ ...document, files: [null, ...document.files] })],
      ['an entry whose path is a number', asLines({ ...document, files: [{ ...document.files[0], path: 5 }] })],
      ['an entry with a negative vector row', asLines({ ...document, files: [{ ...document.files[0], vectorRow: -3 }] })],
      ['an entry with an unknown status', asLines({ ...document, files: [{ ...document.files[0], status: 'deleted' }] })],
      ['an entry with an unknown status (a whole document)', JSON.stringify(withHexVariants({ ...document, files: [{ ...document.files[0], status: 'deleted' }] }))],
      ['vectorRows not a number', asLines({ ...document, vectorRows: 'many' })],
      ['folders of numbers', asLines({ ...document, folders: [1, 2] })],
      ['decisions that are not lists of hashes', asLines({ ...document, notDuplicates: [[1, 2]] })],
      ['settings that are not an object', asLines({ ...document, settings: 'fast' })],
      ['a newer format', asLines({ ...document, formatVersion: 999 })],
    ];
    for (const [what, content] of damages) {
      const catalogPath = await copyBaseline();
      await writeFile(catalogPath, content);
      const { engine, log } = await openLogged(catalogPath);
      try {
        assert.ok(log.some((line) => /the catalog .* could not be read .* kept as .*damaged.* a new catalog is built from the files/s.test(line)), `${what}: not told (${JSON.stringify(log)})`);
        if (what === 'a newer format') assert.ok(log.some((line) => /newer than this version/.test(line)), log.join('\n'));
        const kept = (await readdir(join(catalogPath, '..'))).filter((name) => name.startsWith('catalog.json.damaged-'));
        assert.equal(kept.length, 1, `${what}: the damaged catalog is kept aside`);
        assert.deepEqual(await readFile(join(catalogPath, '..', kept[0])), Buffer.from(content), `${what}: kept as it was`);
        assert.deepEqual(engine.folders(), [], `${what}: starts empty`);
        assert.equal(engine.fileFacts(join(photos, '0.jpg')), null);
      } finally {
        await engine.close();
      }
    }
    // Rebuilt from the photos: the same groups as before the damage.
    const catalogPath = await copyBaseline();
    await truncate(catalogPath, 100);
    const { engine } = await openLogged(catalogPath);
    try {
      const summary = await engine.scan([photos]);
      assert.deepEqual(summary.errors, []);
      assert.deepEqual(await groupsOf(engine), expectedGroups);
    } finally {
      await engine.close();
    }
  });

  test('a damaged vector file (header, torn rows, flipped bits, zeroed block): detected, told, re-embedded', async () => {
    const random = prng(SEED + 1);
    const damages: [string, (bytes: Buffer) => Buffer][] = [
      ['garbage header', (b) => Buffer.concat([Buffer.from('not a vector file, really not....'), b.subarray(32)])],
      ['cut in the middle of a row', (b) => b.subarray(0, 32 + Math.floor((b.length - 32) / 2) + 7)],
      ['flipped bits in the rows', (b) => {
        const out = Buffer.from(b);
        for (let i = 0; i < 5; i++) out[random.int(32, out.length - 1)] ^= 1 << random.int(0, 7);
        return out;
      }],
      ['a zeroed block', (b) => {
        const out = Buffer.from(b);
        out.fill(0, 32 + 3584 * 4, 32 + 3584 * 6);
        return out;
      }],
    ];
    for (const [what, damage] of damages) {
      const catalogPath = await copyBaseline();
      await writeFile(`${catalogPath}.vectors`, damage(await readFile(`${catalogPath}.vectors`)));
      const { engine, log } = await openLogged(catalogPath);
      try {
        assert.ok(log.some((line) => /vector|embedd/i.test(line)), `${what}: not told (${JSON.stringify(log)})`);
        const summary = await engine.scan();
        assert.ok(summary.changed > 0, `${what}: nothing was embedded again`);
        assert.deepEqual(summary.errors, []);
        assert.deepEqual(await groupsOf(engine), expectedGroups, what);
      } finally {
        await engine.close();
      }
      // Once repaired, the next open is quiet.
      const again = await openLogged(catalogPath);
      await again.engine.close();
      assert.deepEqual(again.log.filter((line) => /vector/i.test(line)), [], `${what}: still complaining after the repair`);
    }
  });

  test('a damaged similarity index (cut, garbage, flipped bits anywhere): told, rebuilt, the same groups', async () => {
    const random = prng(SEED + 2);
    const index = await readFile(`${baseline}.index`);
    const damages: [string, Buffer][] = [
      ['empty', Buffer.alloc(0)],
      ['cut to 10 bytes', index.subarray(0, 10)],
      ['cut in half', index.subarray(0, index.length >> 1)],
      ['garbage', Buffer.from(Array.from({ length: index.length }, () => random.int(0, 255)))],
    ];
    for (let i = 0; i < 10; i++) {
      const out = Buffer.from(index);
      // Half the flips in the first 200 bytes: the headers, where a flip changes meaning, not data.
      const at = i % 2 === 0 ? random.int(0, Math.min(199, out.length - 1)) : random.int(0, out.length - 1);
      out[at] ^= 1 << random.int(0, 7);
      damages.push([`bit flipped at byte ${at}`, out]);
    }
    for (const [what, bytes] of damages) {
      const catalogPath = await copyBaseline();
      await writeFile(`${catalogPath}.index`, bytes);
      const { engine, log } = await openLogged(catalogPath);
      try {
        assert.deepEqual(await groupsOf(engine), expectedGroups, what);
        assert.ok(log.some((line) => /similarity index/.test(line)), `${what}: not told (${JSON.stringify(log)})`);
      } finally {
        await engine.close();
      }
    }
  });

  test('catalog format "version 0" (before formats were numbered) is migrated and completed by the next scan', async () => {
    // Version 0: no formatVersion, no vectorGeneration; entries without pHash variants (the rotated
    // copy can only be found once they are computed) nor vector checksums.
    const catalogPath = await copyBaseline();
    const document = readCatalog(await readFile(catalogPath));
    delete document.formatVersion;
    delete document.vectorGeneration;
    for (const entry of document.files) {
      delete entry.phashVariants;
      delete entry.vectorHash;
    }
    await writeFile(catalogPath, JSON.stringify(document));
    const { engine, log } = await openLogged(catalogPath);
    try {
      assert.ok(log.some((line) => /format 0/.test(line)), `not told about the migration: ${JSON.stringify(log)}`);
      const summary = await engine.scan();
      assert.deepEqual(summary.errors, []);
      assert.equal(summary.changed, document.files.length, 'every photo is read again for its variants');
      assert.deepEqual(await groupsOf(engine), expectedGroups);
    } finally {
      await engine.close();
    }
    const migrated = (await readCatalogDocument(catalogPath)) as ReturnType<typeof readCatalog>; // with its journal
    assert.equal(migrated.formatVersion, CATALOG_FORMAT_VERSION);
    assert.ok(migrated.files.every((entry: { phashVariants: unknown; vectorHash: unknown }) => entry.phashVariants instanceof Uint8Array && entry.phashVariants.length > 0 && typeof entry.vectorHash === 'string'));
  });

  test('catalog format 1 (no vectorGeneration, no vector checksums) is migrated without reading a photo again', async () => {
    const catalogPath = await copyBaseline();
    const document = readCatalog(await readFile(catalogPath));
    document.formatVersion = 1;
    delete document.vectorGeneration;
    for (const entry of document.files) {
      delete entry.vectorHash;
      entry.phashVariants = asList(entry.phashVariants);
    }
    const migrated = await migratesWithoutReading(catalogPath, document, 1);
    assert.equal(typeof migrated.vectorGeneration, 'number');
    assert.ok(migrated.files.every((entry: { vectorHash: unknown }) => typeof entry.vectorHash === 'string'));
    assert.ok(existsSync(`${catalogPath}.index`));
  });

  test('catalog format 2 (pHash variants as a list of strings) is migrated without reading a photo again', async () => {
    const catalogPath = await copyBaseline();
    const document = readCatalog(await readFile(catalogPath));
    const variants = document.files.map((entry: { phashVariants: Uint8Array }) => entry.phashVariants);
    document.formatVersion = 2;
    for (const entry of document.files) entry.phashVariants = asList(entry.phashVariants);
    assert.ok(document.files.every((entry: { phashVariants: unknown }) => Array.isArray(entry.phashVariants) && entry.phashVariants.length > 60));
    const migrated = await migratesWithoutReading(catalogPath, document, 2);
    assert.deepEqual(
      migrated.files.map((entry: { phashVariants: Uint8Array }) => entry.phashVariants),
      variants,
    );
  });

  test("a watcher's change is appended to the catalog's journal, not a whole write; it is there after a restart; a damaged journal is told and its photos read again", async () => {
    // A whole write takes seconds at a million photos: one new photo must not cost that.
    const catalogPath = await copyBaseline();
    const extra = join(dir, 'journal-extra'); // outside the catalog's folder (never scanned)
    await copyPhoto(DISTINCT_PHOTOS[5], join(extra, 'a.jpg'));
    let { engine } = await openLogged(catalogPath);
    let before: Awaited<ReturnType<typeof stat>>;
    try {
      // The first save writes the catalog whole (the baseline's file names no journal), the later ones append.
      assert.equal((await engine.scan([extra])).added, 1);
      before = await stat(catalogPath);
      await editPhoto(DISTINCT_PHOTOS[1], 'resize', join(extra, 'b.jpg'));
      assert.equal((await engine.updatePaths([join(extra, 'b.jpg')])).added, 1);
    } finally {
      await engine.close();
    }
    const after = await stat(catalogPath);
    assert.deepEqual([after.ino, after.mtimeMs], [before.ino, before.mtimeMs], 'the catalog file was written whole');
    const journal = await readFile(`${catalogPath}.journal`, 'utf8');
    assert.ok(journal.includes(join(extra, 'b.jpg')), 'the new photo is in the journal');
    let log: string[];
    ({ engine, log } = await openLogged(catalogPath));
    try {
      assert.deepEqual(log, []);
      assert.ok(engine.fileFacts(join(extra, 'b.jpg')));
      const groups = await groupsOf(engine);
      assert.ok(groups.includes('near: 1 small.jpg 1.jpg b.jpg'), groups.join('; '));
      assert.equal((await engine.scan()).unchanged, (await readdir(photos)).length + 2, 'nothing read again');
    } finally {
      await engine.close();
    }
    // A changed digit in the save that added b.jpg: told; the catalog is as before that save, and the next scan reads b.jpg again.
    const bytes = await readFile(`${catalogPath}.journal`);
    const record = bytes.indexOf(Buffer.from(JSON.stringify(join(extra, 'b.jpg'))));
    const digit = bytes.indexOf('"size":', record) + 7;
    bytes[digit] = bytes[digit] === 0x31 ? 0x32 : 0x31;
    await writeFile(`${catalogPath}.journal`, bytes);
    ({ engine, log } = await openLogged(catalogPath));
    try {
      assert.ok(log.some((line) => /journal .* is damaged at byte \d+/.test(line)), JSON.stringify(log));
      assert.equal(engine.fileFacts(join(extra, 'b.jpg')), null, 'the damaged save is not applied');
      assert.ok(engine.fileFacts(join(extra, 'a.jpg')), 'the save before it is');
      const summary = await engine.scan();
      assert.deepEqual([summary.added, summary.changed, summary.removed], [1, 0, 0], 'b.jpg is read again');
      assert.ok((await groupsOf(engine)).includes('near: 1 small.jpg 1.jpg b.jpg'));
    } finally {
      await engine.close();
    }
  });

  test('opening, grouping, querying and closing leave an unchanged catalog unwritten; a change is written', async () => {
    // A whole-catalog write takes seconds at 100,000 photos: an app start and quit that changed
    // nothing must not pay it (nor rewrite the user's file for nothing).
    const catalogPath = await copyBaseline();
    const before = await stat(catalogPath);
    const bytes = await readFile(catalogPath);
    let { engine } = await openLogged(catalogPath);
    try {
      assert.deepEqual(await groupsOf(engine), expectedGroups);
      assert.ok((await engine.query(join(photos, (await readdir(photos))[0]))).length > 0);
    } finally {
      await engine.close();
    }
    const after = await stat(catalogPath);
    assert.deepEqual([after.ino, after.mtimeMs], [before.ino, before.mtimeMs], 'the catalog file was written again');
    assert.deepEqual(await readFile(catalogPath), bytes);

    // A change (a setting) is written, and is there after a restart.
    ({ engine } = await openLogged(catalogPath));
    try {
      await engine.updateSettings({ nearCosine: 0.97 });
    } finally {
      await engine.close();
    }
    ({ engine } = await openLogged(catalogPath));
    try {
      assert.equal(engine.settings().nearCosine, 0.97);
    } finally {
      await engine.close();
    }
  });

  test('catalog format 3 (one indented JSON document, as lowdb wrote it) becomes lines without reading a photo again', async () => {
    const catalogPath = await copyBaseline();
    const original = readCatalog(await readFile(catalogPath));
    const document = { ...withHexVariants(original), formatVersion: 3 };
    await writeFile(catalogPath, JSON.stringify(document, null, 2));
    const { engine, log } = await openLogged(catalogPath);
    try {
      assert.ok(log.some((line) => new RegExp(`format 3; it is now in format ${CATALOG_FORMAT_VERSION}`).test(line)), `not told about the migration: ${JSON.stringify(log)}`);
      assert.deepEqual(await groupsOf(engine), expectedGroups);
    } finally {
      await engine.close();
    }
    // Written as lines on open (not only after the next change): one line for the fields, one per file.
    const bytes = await readFile(catalogPath);
    const [first] = splitLines(bytes, 1);
    assert.equal(JSON.parse(first.toString()).formatVersion, CATALOG_FORMAT_VERSION);
    assert.deepEqual(readCatalog(bytes).files, original.files);
    const { engine: again } = await openLogged(catalogPath);
    try {
      const summary = await again.scan();
      assert.equal(summary.unchanged, document.files.length, 'no photo read again');
    } finally {
      await again.close();
    }
  });

  test('variant hashes that are not 16-digit hex words (formats 0-3 kept them as text) make the catalog damaged, set aside', async () => {
    const catalogPath = await copyBaseline();
    const document = { ...withHexVariants(readCatalog(await readFile(catalogPath))), formatVersion: 3 };
    document.files[0].phashVariants = document.files[0].phashVariants.slice(1);
    document.files[1].phashVariants = document.files[1].phashVariants.replace(/^./, 'g');
    await writeFile(catalogPath, JSON.stringify(document));
    assert.throws(() => asLines(document), /not whole 8-byte hashes/, 'nor can the engine save text');
    const { engine, log } = await openLogged(catalogPath);
    try {
      assert.ok(log.some((line) => /could not be read/.test(line)), `not told: ${JSON.stringify(log)}`);
      assert.ok((await readdir(join(catalogPath, '..'))).some((name) => name.startsWith('catalog.json.damaged-')));
    } finally {
      await engine.close();
    }
  });
});

/** A catalog document from a file's bytes (format 4, or 0-3: one JSON document), as loosely typed as the damage done to it. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
function readCatalog(bytes: Buffer): any {
  return parseCatalogBytes(bytes);
}

/** A document in the layout of format 4. */
function asLines(document: { files: unknown[] }): Buffer {
  return catalogBytes(document);
}

/** The first `count` lines of a file's bytes (each with its newline), then the rest. */
function splitLines(bytes: Buffer, count: number): Buffer[] {
  const parts: Buffer[] = [];
  let start = 0;
  for (let i = 0; i < count; i++) {
    const end = bytes.indexOf(10, start) + 1;
    parts.push(bytes.subarray(start, end));
    start = end;
  }
  return [...parts, bytes.subarray(start)];
}

/** Format 3's variant string as the list of 16-digit words formats 1 and 2 stored. */
/** Variant hashes as a list of hex strings (formats 1 and 2). */
function asList(variants: Uint8Array | null): string[] | null {
  return variants === null ? null : (hexOf(variants).match(/.{16}/g) ?? []);
}

const hexOf = (bytes: Uint8Array) => Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length).toString('hex');

/** The document with its variant hashes as one hex string each, as format 3 held them. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
function withHexVariants(document: any): any {
  return { ...document, files: document.files.map((entry: { phashVariants: Uint8Array | null }) => ({ ...entry, phashVariants: entry.phashVariants && hexOf(entry.phashVariants) })) };
}

test('a scan saves the catalog every 2 s, and less often when a save is slow (at most a tenth of the time)', () => {
  // Fast saves (a small catalog): 2 s after the last one ended.
  assert.equal(catalogSaveDue(11_999, 10_000, 40), false);
  assert.equal(catalogSaveDue(12_000, 10_000, 40), true);
  // A save that took 4 s (the whole catalog of 100,000 photos): not before 36 s have passed.
  assert.equal(catalogSaveDue(10_000 + 35_999, 10_000, 4000), false);
  assert.equal(catalogSaveDue(10_000 + 36_000, 10_000, 4000), true);
  // The first save of a session is due at once.
  assert.equal(catalogSaveDue(Date.now(), 0, 0), true);
});
