// Bad folders, through the real engine: symbolic-link loops, folders made unreadable mid-scan (as an
// unprivileged user: root reads everything), a drive removed mid-scan, a folder of 100,000 entries,
// and the catalog's own folder (and the app's thumbnail cache) inside a scanned folder.
import assert from 'node:assert/strict';
import { linkSync, renameSync, writeFileSync } from 'node:fs';
import { chmod, chown, copyFile, mkdir, readdir, rename, symlink, writeFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import sharp from 'sharp';
import { openEngine } from '../electron/engine/index.ts';
import { createEngineProcess } from '../electron/engine-process/handlers.ts';
import type { CallContext } from '../electron/shared/engine-protocol.ts';
import { runChild, unprivilegedUser } from './helpers/fault-kill.ts';
import { DISTINCT_PHOTOS, photo, REPO_ROOT, removeDir, tempDir } from './helpers/photos.ts';

const cpu = { executionProvider: 'cpu' as const };

describe('bad folders', () => {
  let dir: string;

  before(async () => {
    dir = await tempDir('reliability-folders-');
  });

  after(async () => {
    await removeDir(dir);
  });

  test('symbolic-link loops end; every photo is catalogued once; a self-link is reported', async () => {
    const folder = join(dir, 'loops');
    await mkdir(join(folder, 'a', 'b'), { recursive: true });
    await copyFile(photo(DISTINCT_PHOTOS[0]), join(folder, 'top.jpg'));
    await copyFile(photo(DISTINCT_PHOTOS[1]), join(folder, 'a', 'b', 'deep.jpg'));
    await symlink('.', join(folder, 'here'));
    await symlink('..', join(folder, 'a', 'up'));
    await symlink('../../a', join(folder, 'a', 'b', 'round'));
    await symlink(folder, join(folder, 'a', 'b', 'absolute'));
    await symlink('self.jpg', join(folder, 'self.jpg'));
    await symlink('ping.jpg', join(folder, 'pong.jpg'));
    await symlink('pong.jpg', join(folder, 'ping.jpg'));
    const engine = await openEngine({ catalogPath: join(dir, 'loops-db', 'catalog.json'), settings: cpu });
    try {
      const summary = await engine.scan([folder]);
      assert.equal(summary.total, 2);
      assert.notEqual(engine.fileFacts(join(folder, 'top.jpg')), null);
      assert.notEqual(engine.fileFacts(join(folder, 'a', 'b', 'deep.jpg')), null);
      const messages = Object.fromEntries(summary.errors.map((e) => [basename(e.path), e.message]));
      for (const name of ['self.jpg', 'ping.jpg', 'pong.jpg']) assert.match(messages[name] ?? '', /broken symbolic link: too many levels of symbolic links/, name);
      assert.equal(summary.errors.length, 3);
    } finally {
      await engine.close();
    }
  });

  test('unreadable files and folders, one made unreadable mid-scan (as an unprivileged user)', async (t) => {
    const user = await unprivilegedUser();
    if (user === null) {
      t.skip('running as root and cannot switch to an unprivileged user (setpriv); permissions cannot be tested');
      return;
    }
    const folder = join(dir, 'perm');
    const sub = join(folder, 'sub');
    await mkdir(sub, { recursive: true });
    const open = join(folder, 'open.jpg');
    const secret = join(folder, 'secret.jpg');
    const inside = [join(sub, 'one.jpg'), join(sub, 'two.png')];
    await copyFile(photo(DISTINCT_PHOTOS[2]), open);
    await copyFile(photo(DISTINCT_PHOTOS[3]), secret);
    await copyFile(photo(DISTINCT_PHOTOS[5]), inside[0]);
    await copyFile(photo(DISTINCT_PHOTOS[7]), inside[1]);
    await chmod(secret, 0o000);
    const db = join(dir, 'perm-db');
    await mkdir(db);
    if (user !== undefined) {
      // The unprivileged engine must reach the folders, write its catalog and own `sub` (to chmod it).
      for (const path of [dir, folder, db]) await chmod(path, 0o777);
      await chown(sub, user, user);
    }
    const run = await runChild({ task: 'permissions', catalog: join(db, 'catalog.json'), folder, sub, paths: [open, secret, ...inside] }, null, { asUser: user });
    const result = JSON.parse(run.stdout.split('\n').find((line) => line.startsWith('{'))!);
    const problem = (summary: { errors: { path: string; message: string }[] }, path: string) => summary.errors.find((e) => e.path === path)?.message;

    // Mid-scan: the folder was listed, then its files could not be read.
    for (const path of [secret, ...inside]) assert.match(problem(result.midScan, path) ?? '', /cannot be read: permission denied/, path);
    assert.equal(result.midScan.total, 4);
    assert.deepEqual(result.midScanFacts[open], ['jpeg', (await sharp(open).metadata()).width]);
    // Readable again: its files are read now (a read error is not remembered like a decode error).
    assert.equal(problem(result.readable, inside[0]), undefined, 'still reported after the folder became readable');
    for (const path of inside) assert.notEqual(result.readableFacts[path]?.[0] ?? null, null, `${path} not catalogued once readable`);
    assert.match(problem(result.readable, secret) ?? '', /permission denied/);
    // Unreadable from the start: the folder is reported, its catalogued photos are kept.
    assert.match(problem(result.unreadable, sub) ?? '', /folder cannot be read: permission denied/);
    assert.deepEqual(result.unreadableFacts, result.readableFacts, 'what the unreadable folder held is kept in the catalog');
  });

  test('a drive removed mid-scan: the scan completes, the catalog forgets nothing, the drive comes back', async () => {
    const drive = join(dir, 'drive');
    const unplugged = join(dir, 'drive-unplugged');
    await mkdir(join(drive, 'DCIM'), { recursive: true });
    for (const [i, relative] of DISTINCT_PHOTOS.slice(0, 4).entries()) await copyFile(photo(relative), join(drive, 'DCIM', `${i}.${relative.split('.').pop()}`));
    const engine = await openEngine({ catalogPath: join(dir, 'drive-db', 'catalog.json'), settings: cpu });
    try {
      await engine.scan([drive]);
      const catalogued = (await readdir(join(drive, 'DCIM'))).map((name) => join(drive, 'DCIM', name));
      const facts = catalogued.map((path) => engine.fileFacts(path));
      // New and edited photos to read; the drive goes away once they are listed.
      await copyFile(photo(DISTINCT_PHOTOS[6]), join(drive, 'DCIM', 'new.jpg'));
      await sharp(photo(DISTINCT_PHOTOS[0])).resize(300).jpeg().toFile(join(drive, 'DCIM', '0.jpg'));
      let pulled = false;
      const during = await engine.scan([drive], {
        onProgress: (progress) => {
          if (progress.phase === 'reading' && !pulled) {
            pulled = true;
            renameSync(drive, unplugged);
          }
        },
      });
      assert.ok(pulled);
      assert.equal(during.cancelled, false);
      assert.ok(during.errors.length >= 1 && during.errors.every((e) => /vanished/.test(e.message)), JSON.stringify(during.errors));
      for (const [i, path] of catalogued.entries()) assert.deepEqual(engine.fileFacts(path), facts[i], `${path} forgotten while the drive was away`);
      // Scanned while away: the folder is reported, nothing is forgotten.
      const away = await engine.scan([drive]);
      assert.match(away.errors.find((e) => e.path === drive)?.message ?? '', /folder cannot be opened: it no longer exists/);
      assert.equal(away.removed, 0);
      for (const [i, path] of catalogued.entries()) assert.deepEqual(engine.fileFacts(path), facts[i]);
      // Plugged in again: everything is read.
      await rename(unplugged, drive);
      const back = await engine.scan([drive]);
      assert.deepEqual(back.errors, []);
      assert.equal(back.total, 5);
      assert.equal(engine.fileFacts(join(drive, 'DCIM', '0.jpg'))?.width, 300);
    } finally {
      await engine.close();
    }
  });

  test('a folder with 100,000 entries completes in reasonable time', async () => {
    const folder = join(dir, 'many');
    await mkdir(folder);
    // 2,000 tiny identical photos (hard links: the engine reads each one), 49,000 sidecars and
    // 49,000 files with an unknown extension (each opened to look at its first bytes).
    const tiny = join(dir, 'tiny.jpg');
    await sharp(photo(DISTINCT_PHOTOS[0])).resize(32).jpeg().toFile(tiny);
    const started = Date.now();
    for (let i = 0; i < 2_000; i++) linkSync(tiny, join(folder, `img${i}.jpg`));
    for (let i = 0; i < 49_000; i++) writeFileSync(join(folder, `img${i}.xmp`), '<x:xmpmeta/>');
    for (let i = 0; i < 49_000; i++) writeFileSync(join(folder, `f${i}.cache`), 'cache');
    const made = Date.now() - started;
    const engine = await openEngine({ catalogPath: join(dir, 'many-db', 'catalog.json'), settings: cpu });
    try {
      const t0 = Date.now();
      const summary = await engine.scan([folder]);
      const scanMs = Date.now() - t0;
      assert.deepEqual(summary.errors, []);
      assert.equal(summary.total, 2_000);
      const t1 = Date.now();
      const groups = (await engine.groups()).groups;
      const groupMs = Date.now() - t1;
      assert.equal(groups.length, 1);
      assert.equal(groups[0].kind, 'exact');
      assert.equal(groups[0].files.length, 2_000);
      process.stderr.write(`# 100,000 entries: made in ${made} ms, scanned in ${scanMs} ms, grouped in ${groupMs} ms\n`);
      assert.ok(scanMs < 60_000, `too slow: scan ${scanMs} ms`);
    } finally {
      await engine.close();
    }
  });

  test("the catalog's own folder inside a scanned folder is never catalogued (directly or through a link)", async () => {
    const folder = join(dir, 'with-db');
    await mkdir(folder);
    await copyFile(photo(DISTINCT_PHOTOS[0]), join(folder, 'photo.jpg'));
    const dataDir = join(folder, 'dedup data'); // not hidden: the walk would enter it
    await mkdir(dataDir);
    // Something image-like lives beside the catalog (a damaged catalog kept aside is named like this).
    await copyFile(photo(DISTINCT_PHOTOS[1]), join(dataDir, 'catalog.json.damaged-1.jpg'));
    for (const catalogPath of [join(dataDir, 'catalog.json'), join(dir, 'link-to-data', 'catalog.json')]) {
      if (catalogPath.includes('link-to-data')) await symlink(dataDir, join(dir, 'link-to-data'));
      const engine = await openEngine({ catalogPath, settings: cpu });
      try {
        const summary = await engine.scan([folder]);
        await engine.groups();
        assert.equal(summary.total, 1, `${catalogPath}: ${JSON.stringify(summary)}`);
        assert.deepEqual(summary.errors, []);
        const changed = await engine.updatePaths([join(dataDir, 'catalog.json.damaged-1.jpg'), join(dataDir, 'catalog.json.vectors')]);
        assert.equal(changed.added, 0, 'a watcher event inside the catalog folder is ignored');
        assert.equal(engine.fileFacts(join(dataDir, 'catalog.json.damaged-1.jpg')), null);
      } finally {
        await engine.close();
      }
    }
    assert.ok((await readdir(dataDir)).includes('catalog.json.vectors'));
  });

  test("the app's thumbnail cache inside a scanned folder is never catalogued", async () => {
    const folder = join(dir, 'with-thumbs');
    await mkdir(folder);
    const original = join(folder, 'photo.jpg');
    await copyFile(photo(DISTINCT_PHOTOS[2]), original);
    const events: unknown[] = [];
    const app = createEngineProcess((event) => events.push(event));
    const context: CallContext = { signal: new AbortController().signal, progress: () => undefined };
    await app.handlers.open(context, {
      catalogPath: join(dir, 'thumbs-db', 'catalog.json'),
      modelDir: join(REPO_ROOT, 'models'),
      settings: cpu,
      thumbnailDir: join(folder, 'thumbnails'), // e.g. the whole home folder scanned, app data in it
      watch: false,
    });
    try {
      await app.handlers.scan(context, [folder]);
      const thumbnail = await app.handlers.thumbnail(context, original, 'small');
      assert.ok(thumbnail.startsWith(join(folder, 'thumbnails')));
      const summary = await app.handlers.scan(context, [folder]);
      assert.equal(summary.total, 1, 'the thumbnail was catalogued as a photo');
      const update = await app.handlers.updatePaths(context, [thumbnail]);
      assert.equal(update.added, 0, 'a watcher event for a new thumbnail is ignored');
      assert.deepEqual((await app.handlers.groups(context)).groups, []);
    } finally {
      await app.shutdown();
    }
  });
});
