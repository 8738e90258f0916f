// Crash safety: a child process using the engine is killed with SIGKILL at random points (seeded, so
// a failure replays with RELIABILITY_SEED) of a scan, of catalog writes and of delete batches with
// undo. After every kill: the catalog opens (never "damaged"), it never vouches for vector rows that
// are not on disk, no photo is lost, changed or half-moved, and the delete journal is consistent.
// Each series is a chain (every run starts from what the last kill left) and ends with an
// uninterrupted run that must complete the work.
import assert from 'node:assert/strict';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { copyFile, lstat, mkdir, readdir, readFile, rename, rm, unlink, utimes, writeFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import sharp from 'sharp';
import { openCatalog, type CatalogData } from '../electron/engine/catalog.ts';
import { catalogBytes, readCatalogDocument } from '../electron/engine/catalog-file.ts';
import { contentHash } from '../electron/engine/content-hash.ts';
import { MODEL_VIEWS, openEngine } from '../electron/engine/index.ts';
import { DeleteJournal, FolderTrash, sameIdentity, type JournalAction } from '../electron/engine/trash.ts';
import { prng, seedFromEnv } from './helpers/fault-prng.ts';
import { hashCounts, runChild, snapshotTree, type FileState } from './helpers/fault-kill.ts';
import { DISTINCT_PHOTOS, photo, removeDir, tempDir } from './helpers/photos.ts';

const TRIALS = 20;
const SEED = seedFromEnv(20240611);
const DIMENSION = 1792;
const HEADER_BYTES = 32;

/** The catalog with its journal's changes; throws if a kill left the file torn (cut short, a broken line). A torn last journal line is a save that never completed, and is dropped. */
async function readCatalog(path: string): Promise<CatalogData> {
  return (await readCatalogDocument(path)) as CatalogData;
}

/** What the engine may rely on after any crash: the catalog parses and its vector rows exist. */
async function assertCatalogSound(catalogPath: string, context: string): Promise<CatalogData | null> {
  if (!existsSync(catalogPath)) return null;
  const data = await readCatalog(catalogPath);
  assert.ok(Array.isArray(data.files), context);
  const vectorBytes = existsSync(`${catalogPath}.vectors`) ? statSync(`${catalogPath}.vectors`).size : 0;
  const rowsOnDisk = Math.max(0, Math.floor((vectorBytes - HEADER_BYTES) / (DIMENSION * 2)));
  assert.ok(rowsOnDisk >= data.vectorRows, `${context}: the catalog vouches for ${data.vectorRows} vector rows, the file holds ${rowsOnDisk}`);
  for (const entry of data.files) {
    if (entry.vectorRow !== null) assert.ok(entry.vectorRow + MODEL_VIEWS.length <= data.vectorRows, `${context}: ${entry.path} points past the committed rows`);
  }
  return data;
}

describe('crash safety (SIGKILL at random points)', { concurrency: false }, () => {
  let dir: string;
  let pool: string[] = [];

  before(async () => {
    dir = await tempDir('reliability-crash-');
    // Small real photos: each decode is cheap, so each trial is too.
    const poolDir = join(dir, 'pool');
    await mkdir(poolDir);
    pool = [];
    for (const [i, relative] of DISTINCT_PHOTOS.slice(0, 8).entries()) {
      const target = join(poolDir, `p${i}.jpg`);
      await sharp(photo(relative)).rotate().resize(256, 256, { fit: 'inside' }).jpeg({ quality: 85 }).toFile(target);
      pool.push(target);
    }
  });

  after(async () => {
    await removeDir(dir);
  });

  test(`scan: ${TRIALS} kills; the catalog always opens and the next run completes the work`, async (t) => {
    const random = prng(SEED);
    const folder = join(dir, 'scan-photos');
    await mkdir(folder);
    for (const i of [0, 1, 2, 3]) await copyFile(pool[i], join(folder, `start-${i}.jpg`));
    await copyFile(pool[0], join(folder, 'start-0 copy.jpg'));
    const catalog = join(dir, 'scan-db', 'catalog.json');
    let made = 0;
    /** A new photo file nobody has seen: an edit of a pool photo with random strength. */
    const freshPhoto = async (target: string) => {
      const source = random.pick(pool);
      await sharp(source).modulate({ brightness: 0.8 + random.next() * 0.4 }).resize(random.int(150, 256)).jpeg({ quality: random.int(60, 95) }).toFile(target);
      made++;
    };

    // Calibration: how long an uninterrupted scan of this folder takes once the engine is open.
    // Kills fall anywhere in the calibration run's time (five new photos): mostly inside the work, at
    // times after it (the final save, the index, closing). Every fifth trial is followed by an
    // uninterrupted run, which must leave a complete catalog.
    const calibration = await runChild({ task: 'scan', catalog: join(dir, 'scan-calibration', 'catalog.json'), folder }, null);
    const window = Math.max(300, Math.round(calibration.workedMs * 1.2));
    let killed = 0;
    for (let trial = 0; trial < TRIALS; trial++) {
      // Change the folder so that every run has work: new photos, a replaced one, a rename, a removal.
      const names = await readdir(folder);
      for (let k = 0; k < 2; k++) await freshPhoto(join(folder, `t${trial}-${k}.jpg`));
      // Two go when there are more than six: the folder stays small, the final scans cheap.
      if (names.length > 6) for (const name of [...new Set([random.pick(names), random.pick(names)])]) await unlink(join(folder, name));
      const again = await readdir(folder);
      const renamed = random.pick(again);
      await rename(join(folder, renamed), join(folder, `r${trial}-${renamed}`));
      if (random.chance(0.5)) await copyFile(join(folder, random.pick(await readdir(folder))), join(folder, `dup${trial}.jpg`));

      const before = await snapshotTree(folder);
      const delay = random.int(0, window);
      const run = await runChild({ task: 'scan', catalog, folder }, delay);
      if (run.killed) killed++;
      const context = `trial ${trial} (seed ${SEED}, kill after ${delay} ms)`;
      assert.deepEqual(await snapshotTree(folder), before, `${context}: the scan changed the photos`);
      const data = await assertCatalogSound(catalog, context);
      // An entry whose size and mtime match the file on disk must hold that file's content hash.
      for (const entry of data?.files ?? []) {
        const name = basename(entry.path);
        const state = before.get(name);
        if (!state || entry.contentHash === null || entry.size !== state.size || entry.mtimeMs !== state.mtimeMs) continue;
        assert.equal(entry.contentHash, contentHash(await readFile(entry.path)), `${context}: stale content hash for ${name}`);
      }
      const opened = await openCatalog(catalog);
      assert.equal(opened.recovered, null, `${context}: ${opened.recovered}`);
      if (trial % 5 === 4) {
        const next = await runChild({ task: 'scan', catalog, folder }, null);
        assert.ok(next.finished);
        const complete = await readCatalog(catalog);
        assert.deepEqual(complete.files.map((entry) => basename(entry.path)).sort(), (await readdir(folder)).sort(), `${context}: the next run did not complete the catalog`);
        assert.ok(complete.files.every((entry) => entry.status === 'ok' && entry.vectorRow !== null), context);
      }
    }
    t.diagnostic(`${killed} of ${TRIALS} scans killed before they finished (kill window ${window} ms, seed ${SEED})`);
    assert.ok(killed >= TRIALS * 0.4, `only ${killed} of ${TRIALS} runs were killed before they finished (window ${window} ms)`);
    assert.ok(made >= TRIALS * 2);

    // The next (uninterrupted) run completes the work: the same groups as a scan from scratch.
    const groupsOf = async (catalogPath: string) => {
      const engine = await openEngine({ catalogPath, settings: { executionProvider: 'cpu' } });
      try {
        const summary = await engine.scan([folder]);
        assert.deepEqual(summary.errors, []);
        assert.equal(summary.total, (await readdir(folder)).length);
        return (await engine.groups()).groups.map((g) => `${g.kind}: ${g.files.map((f) => basename(f.path)).sort().join(' ')}`).sort();
      } finally {
        await engine.close();
      }
    };
    const resumed = await groupsOf(catalog);
    const fresh = await groupsOf(join(dir, 'scan-fresh', 'catalog.json'));
    assert.deepEqual(resumed, fresh);
    assert.ok(fresh.length > 0, 'the folder has duplicates to find');
  });

  test(`catalog writes: ${TRIALS} kills; the catalog is never torn, nothing is lost, saves never go back`, async (t) => {
    const random = prng(SEED + 1);
    const catalog = join(dir, 'write-db', 'catalog.json');
    // A catalog of 8,000 entries (about 2.5 MB of JSON): each save takes a while, so kills land inside.
    const engine = await openEngine({ catalogPath: catalog });
    await engine.close();
    const data = await readCatalog(catalog);
    const entries = 8_000;
    data.files = Array.from({ length: entries }, (_, i) => ({
      path: `/nonexistent/fault-test/folder ${i % 97}/photo ${i}.jpg`,
      size: 1000 + i,
      mtimeMs: 1_700_000_000_000 + i,
      contentHash: contentHash(Buffer.from(String(i))),
      format: null,
      width: null,
      height: null,
      takenAt: null,
      phash: null,
      phashVariants: null,
      vectorRow: null,
      vectorHash: null,
      status: 'unsupported',
      error: 'unsupported image format: BMP',
    }));
    await writeFile(catalog, catalogBytes(data));

    const calibration = await runChild({ task: 'catalog-write', catalog, writes: 10 }, null);
    const perWrite = Math.max(5, calibration.workedMs / 10);
    let last = (await readCatalog(catalog)).settings.nearCosine ?? 0;
    let killed = 0;
    for (let trial = 0; trial < TRIALS; trial++) {
      const delay = random.int(0, Math.round(perWrite * 8));
      const run = await runChild({ task: 'catalog-write', catalog, writes: 1000 }, delay);
      if (run.killed) killed++;
      const context = `trial ${trial} (seed ${SEED + 1}, kill after ${delay} ms)`;
      const now = await readCatalog(catalog);
      assert.equal(now.files.length, entries, `${context}: entries lost`);
      assert.deepEqual(now.files[entries - 1], data.files[entries - 1], context);
      const value = now.settings.nearCosine ?? 0;
      assert.ok(value >= last, `${context}: the saved value went back from ${last} to ${value}`);
      last = value;
      const opened = await openCatalog(catalog);
      assert.equal(opened.recovered, null, `${context}: ${opened.recovered}`);
    }
    t.diagnostic(`${killed} of ${TRIALS} write loops killed (${perWrite.toFixed(0)} ms per save, seed ${SEED + 1})`);
    assert.ok(killed >= TRIALS - 2, `only ${killed} runs were killed mid-way`);
    assert.ok(last > 0, 'some saves went through');
    // The next run opens it and saves normally.
    const next = await openEngine({ catalogPath: catalog });
    await next.updateSettings({ nearCosine: 0.95 });
    await next.close();
    assert.equal((await readCatalog(catalog)).settings.nearCosine, 0.95);
    assert.equal((await readCatalog(catalog)).files.length, entries);
    // The killed writers' temporary files (a whole catalog each) were cleared away on open.
    assert.deepEqual((await readdir(join(catalog, '..'))).filter((name) => name.endsWith('.tmp')), []);
  });

  test(`delete batches and undo: ${TRIALS} kills; every photo exists exactly once, the journal stays consistent`, async (t) => {
    const random = prng(SEED + 2);
    const root = join(dir, 'delete');
    const photos = join(root, 'photos');
    const trash = join(root, 'trash');
    const target = join(root, 'set aside');
    const catalog = join(root, 'db', 'catalog.json');
    const journalPath = join(root, 'db', 'delete-journal.json');
    await mkdir(join(photos, 'sub'), { recursive: true });
    await mkdir(target);
    // Five byte-identical copies (one group) and two other photos; each file its own mtime.
    const names = ['a.jpg', 'b.jpg', 'sub/c.jpg', 'sub/d.jpg', 'e.jpg', 'other.jpg', 'third.jpg'];
    for (const [i, name] of names.entries()) {
      await copyFile(i < 5 ? pool[0] : pool[i - 4], join(photos, name));
      await utimes(join(photos, name), new Date(), new Date(1_600_000_000_000 + i * 1000));
    }
    const engine = await openEngine({ catalogPath: catalog, settings: { executionProvider: 'cpu' } });
    await engine.scan([photos]);
    await engine.close();
    const originals = await snapshotTree(photos);
    const originalKeys = new Set([...originals.values()].map((s) => `${s.sha1} ${s.mtimeMs}`));
    // The undo history keeps 20 actions by design (older removed files stay in the trash, out of the
    // app's undo). This test undoes everything at the end, and a run killed between a removal and its
    // undo leaves an undoable action that 20 trials x 2 rounds would push out of a 20-action history:
    // keep them all.
    const keepActions = 100;
    const task = { task: 'delete', catalog, journal: journalPath, trash, target, rounds: 2, keepActions };

    /** Every file now in the photos, the trash and the target folder. */
    const everywhere = async () => [...(await snapshotTree(photos)).values(), ...(await snapshotTree(join(trash, 'files'))).values(), ...(await snapshotTree(target)).values()];
    const assertNothingLost = async (context: string, allowHardLinks: boolean) => {
      const files = await everywhere();
      for (const file of files) assert.ok(originalKeys.has(`${file.sha1} ${file.mtimeMs}`), `${context}: a file that is not an original (bytes or mtime changed): ${file.sha1}`);
      // Distinct files (inodes): exactly the originals, each once.
      const distinct = new Map<number, FileState>(files.map((file) => [file.ino, file]));
      assert.deepEqual(hashCounts(distinct.values()), hashCounts(originals.values()), `${context}: photos lost or duplicated`);
      if (!allowHardLinks) assert.equal(files.length, originals.size, `${context}: a photo has two names (half-moved)`);
    };
    /** Each path as its latest action left it: removed (and where it went), or in place. */
    const assertJournalConsistent = async (actions: JournalAction[], context: string) => {
      const seen = new Set<string>();
      for (const action of [...actions].reverse()) {
        assert.ok(action.state === 'done' || action.state === 'undone', `${context}: action left ${action.state}`);
        for (const item of action.items) {
          if (seen.has(item.path)) continue;
          seen.add(item.path);
          const atPath = await lstat(item.path).catch(() => null);
          if (item.state === 'removed') {
            assert.ok(item.to, `${context}: ${item.path} removed to an unknown place`);
            const atTo = await lstat(item.to).catch(() => null);
            assert.ok(atTo && sameIdentity(atTo, item), `${context}: ${item.path} is recorded at ${item.to}, which does not hold it`);
            assert.ok(!atPath || atPath.ino !== atTo.ino, `${context}: ${item.path} is recorded as removed but is in place`);
          } else {
            assert.ok(atPath && sameIdentity(atPath, item), `${context}: ${item.path} is recorded as ${item.state} but is not in place`);
          }
        }
      }
    };

    // The kill window: the shortest of three whole runs (each removes and undoes, leaving the photos
    // as they were). One run alone, timed while other test files load the machine, can take twice as
    // long as the runs after it, and most kills would then come after they finished.
    const calibrations = [await runChild(task, null), await runChild(task, null), await runChild(task, null)];
    const window = Math.max(100, Math.min(...calibrations.map((run) => run.workedMs)));
    await assertNothingLost('after calibration', false);
    let killed = 0;
    for (let trial = 0; trial < TRIALS; trial++) {
      const delay = random.int(0, window);
      const run = await runChild(task, delay);
      if (run.killed) killed++;
      const context = `trial ${trial} (seed ${SEED + 2}, kill after ${delay} ms)`;
      // Straight after the crash: a move may be half done (a second name for the same file), nothing more.
      await assertNothingLost(`${context}, after the kill`, true);
      assertCatalogSound(catalog, context);
      // The next start repairs the journal.
      const reopened = await openEngine({ catalogPath: catalog });
      try {
        const journal = await DeleteJournal.open({ journalPath, catalog: reopened, trash: new FolderTrash(trash), keepActions });
        await assertJournalConsistent(journal.actions(), `${context}, after recovery`);
        await assertNothingLost(`${context}, after recovery`, false);
      } finally {
        await reopened.close();
      }
    }
    t.diagnostic(`${killed} of ${TRIALS} delete runs killed before they finished (kill window ${window} ms, seed ${SEED + 2})`);
    assert.ok(killed >= TRIALS * 0.4, `only ${killed} of ${TRIALS} runs were killed before they finished (window ${window} ms)`);

    // Undo everything that is still undone: every photo back at its path, same bytes and mtime.
    const final = await openEngine({ catalogPath: catalog });
    try {
      const journal = await DeleteJournal.open({ journalPath, catalog: final, trash: new FolderTrash(trash), keepActions });
      for (let i = 0; i < 50 && journal.canUndo(); i++) {
        const undone = await journal.undo();
        assert.deepEqual(undone.failed, []);
      }
      assert.deepEqual(await snapshotTree(photos), originals);
      // And a new batch still works.
      const group = (await final.groups()).groups.find((g) => g.files.length === 5);
      assert.ok(group, 'the five copies are one group again');
      const result = await journal.remove({ groupId: group.id, items: group.files.slice(1).map((f) => ({ path: f.path, size: f.size, mtimeMs: f.mtimeMs })), destination: { kind: 'trash' } });
      assert.equal(result.done.length, 4);
      assert.deepEqual((await journal.undo()).failed, []);
      assert.deepEqual(await snapshotTree(photos), originals);
    } finally {
      await final.close();
    }
    await rm(root, { recursive: true, force: true });
  });
});
