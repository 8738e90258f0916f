// Bad and unusual files, each through the real engine (real photos turned into hostile files with
// sharp, the real model): every one ends catalogued with the right facts or as a clear per-file
// problem, and the scan completes. One scan serves the generated cases; races (a file changing or
// turning into a named pipe between listing and reading) and permissions have scans of their own.
// Unreadable files as an unprivileged user: see tests/reliability-folders.test.ts (with folders made
// unreadable mid-scan) and tests/cli.test.ts.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync, truncateSync, unlinkSync, writeFileSync } from 'node:fs';
import { copyFile, mkdir, readFile, writeFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import sharp from 'sharp';
import { contentHash } from '../electron/engine/content-hash.ts';
import { openEngine } from '../electron/engine/index.ts';
import type { Engine, ScanSummary } from '../electron/engine/types.ts';
import { badFileCases, makeBadFiles, makeNonUtf8File, SOURCE_PHOTO } from './helpers/fault-files.ts';
import { photo, removeDir, tempDir } from './helpers/photos.ts';

describe('bad files, through the engine', () => {
  let dir: string;
  let folder: string;
  let engine: Engine;
  let summary: ScanSummary;
  const cases = badFileCases();
  let nonUtf8Name = '';

  before(async () => {
    dir = await tempDir('reliability-files-');
    folder = join(dir, 'photos');
    await makeBadFiles(folder);
    nonUtf8Name = await makeNonUtf8File(folder);
    engine = await openEngine({ catalogPath: join(dir, 'data', 'catalog.json'), settings: { executionProvider: 'cpu' } });
    summary = await engine.scan([folder]);
  });

  after(async () => {
    await engine?.close();
    await removeDir(dir);
  });

  test('the scan completes and accounts for every file', () => {
    const catalogued = cases.filter((c) => c.expect.kind !== 'ignored').length;
    assert.equal(summary.cancelled, false);
    assert.equal(summary.total, catalogued, 'every image-like file is in the catalog (good or with its problem)');
    const problems = cases.filter((c) => c.expect.kind === 'error').length;
    assert.equal(summary.errors.length, problems + 1, 'one problem per bad file, plus the non-UTF-8 name');
  });

  for (const c of cases) {
    test(c.title, async () => {
      const path = join(folder, c.name);
      const facts = engine.fileFacts(path);
      const problem = summary.errors.find((e) => e.path === path)?.message;
      switch (c.expect.kind) {
        case 'ok': {
          assert.equal(problem, undefined, `${c.title}: ${problem}`);
          assert.ok(facts, `${c.title}: not catalogued`);
          assert.equal(facts.contentHash, contentHash(await readFile(path)));
          if (c.expect.format) assert.equal(facts.format, c.expect.format, c.title);
          if (c.expect.width !== undefined) assert.deepEqual([facts.width, facts.height], [c.expect.width, c.expect.height], `${c.title}: catalogued size`);
          break;
        }
        case 'error': {
          assert.match(problem ?? '(no problem reported)', c.expect.message, c.title);
          assert.ok(facts, `${c.title}: the problem file is catalogued (so it is not read again)`);
          assert.equal(facts.width, null);
          break;
        }
        case 'ignored':
          assert.equal(facts, null, `${c.title}: catalogued`);
          assert.equal(problem, undefined, `${c.title}: ${problem}`);
          break;
      }
    });
  }

  test('EXIF orientations 1-8: the files display the same upright photo, and the engine sees one photo', async () => {
    // The fixture itself: libvips' own auto-orientation turns every file into the upright source.
    const upright = await sharp(SOURCE_PHOTO).resize(64, 64, { fit: 'fill' }).greyscale().raw().toBuffer();
    const names = Array.from({ length: 8 }, (_, i) => `orientation-${i + 1}.jpg`);
    for (const name of names) {
      const shown = await sharp(join(folder, name)).rotate().resize(64, 64, { fit: 'fill' }).greyscale().raw().toBuffer();
      const meanDifference = shown.reduce((sum, value, i) => sum + Math.abs(value - upright[i]), 0) / shown.length;
      assert.ok(meanDifference < 6, `${name} does not display upright (mean difference ${meanDifference.toFixed(1)})`);
    }
    const group = (await engine.groups()).groups.find((g) => g.files.some((f) => basename(f.path) === names[0]));
    assert.ok(group, 'the oriented copies are grouped');
    const members = new Set(group.files.map((f) => basename(f.path)));
    for (const name of names) assert.ok(members.has(name), `${name} is not in the group of its copies`);
  });

  test('a file name that is not valid UTF-8 is reported, not silently skipped', () => {
    const problem = summary.errors.find((e) => basename(e.path) === nonUtf8Name);
    assert.ok(problem, `no problem reported for ${JSON.stringify(nonUtf8Name)}`);
    assert.match(problem.message, /not valid UTF-8/);
  });
});

describe('files that change between listing and reading', () => {
  let dir: string;

  before(async () => {
    dir = await tempDir('reliability-races-');
  });

  after(async () => {
    await removeDir(dir);
  });

  test('replaced, or cut short while being written: the catalog follows what is on disk', async () => {
    const folder = join(dir, 'changing');
    await mkdir(folder);
    const replaced = join(folder, 'replaced.jpg');
    const growing = join(folder, 'growing.jpg');
    await copyFile(photo('darknet/dog.jpg'), replaced);
    await copyFile(photo('darknet/eagle.jpg'), growing);
    const engine = await openEngine({ catalogPath: join(dir, 'changing-db', 'catalog.json'), settings: { executionProvider: 'cpu' } });
    try {
      const other = readFileSync(photo('opencv-doc/orange.jpg'));
      let acted = false;
      const first = await engine.scan([folder], {
        onProgress: (progress) => {
          if (progress.phase !== 'reading' || acted) return;
          acted = true; // listed, not read yet: another photo takes one's place, the other is cut short
          writeFileSync(replaced, other);
          truncateSync(growing, 3000);
        },
      });
      assert.ok(acted);
      assert.equal(engine.fileFacts(replaced)?.contentHash, contentHash(other), 'the bytes that were read are the ones catalogued');
      assert.match(first.errors.find((e) => e.path === growing)?.message ?? '', /truncated|corrupt/);
      // The copy finishes: the next scan reads both again and all is well.
      writeFileSync(growing, readFileSync(photo('darknet/eagle.jpg')));
      const second = await engine.scan([folder]);
      assert.deepEqual(second.errors, []);
      assert.equal(engine.fileFacts(growing)?.contentHash, contentHash(readFileSync(growing)));
      assert.equal(engine.fileFacts(replaced)?.contentHash, contentHash(other));
      assert.equal(engine.fileFacts(replaced)?.width, (await sharp(other).metadata()).width);
    } finally {
      await engine.close();
    }
  });

  test('a file over 2 GiB (sparse) named like a photo is a clear per-file error, read neither whole nor at all', async () => {
    const folder = join(dir, 'huge');
    await mkdir(folder);
    await copyFile(photo('darknet/dog.jpg'), join(folder, 'dog.jpg'));
    const huge = join(folder, 'huge.jpg');
    await writeFile(huge, '');
    truncateSync(huge, Math.round(2.2 * 2 ** 30));
    const engine = await openEngine({ catalogPath: join(dir, 'huge-db', 'catalog.json'), settings: { executionProvider: 'cpu' } });
    try {
      const rssBefore = process.memoryUsage().rss;
      const summary = await engine.scan([folder]);
      assert.match(summary.errors.find((e) => e.path === huge)?.message ?? '', /cannot be read: .*greater than 2 GiB/);
      assert.equal(summary.errors.length, 1);
      assert.ok(process.memoryUsage().rss - rssBefore < 1024 * 2 ** 20, 'the file was read into memory');
    } finally {
      await engine.close();
    }
  });

  test('a file that turns into a named pipe before it is read does not hang the scan', async (t) => {
    const folder = join(dir, 'pipe');
    await mkdir(folder);
    const victim = join(folder, 'b.jpg');
    await copyFile(photo('darknet/dog.jpg'), join(folder, 'a.jpg'));
    await copyFile(photo('darknet/eagle.jpg'), victim);
    if (spawnSync('mkfifo', ['--help']).status !== 0) {
      t.skip('mkfifo is not available');
      return;
    }
    const engine = await openEngine({ catalogPath: join(dir, 'pipe-db', 'catalog.json'), settings: { executionProvider: 'cpu' } });
    try {
      let acted = false;
      const scan = engine.scan([folder], {
        onProgress: (progress) => {
          if (progress.phase !== 'reading' || acted) return;
          acted = true;
          unlinkSync(victim);
          assert.equal(spawnSync('mkfifo', [victim]).status, 0);
        },
      });
      const timeout = new Promise<'hung'>((resolve) => setTimeout(() => resolve('hung'), 20_000).unref());
      const summary = await Promise.race([scan, timeout]);
      assert.notEqual(summary, 'hung', 'the scan waits forever on the pipe');
      assert.ok(acted);
      if (summary === 'hung') return;
      assert.match(summary.errors.find((e) => e.path === victim)?.message ?? '', /not a regular file/);
      assert.notEqual(engine.fileFacts(join(folder, 'a.jpg'))?.width, null);
    } finally {
      // A hung read would keep the engine busy: open the pipe for writing to release it.
      spawnSync('sh', ['-c', `[ -p '${victim}' ] && timeout 1 sh -c ': > "${victim}"' || true`]);
      await engine.close();
    }
  });
});
