// The CLI as scripts use it: its JSON contract, bad input, a file vanishing mid-scan, and a scan
// killed with SIGKILL that the next run completes.
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { chmod, copyFile, mkdir, readFile, stat, truncate, unlink, writeFile } from 'node:fs/promises';
import { basename, isAbsolute, join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { openEngine } from '../electron/engine/index.ts';
import { copyPhoto, DISTINCT_PHOTOS, editPhoto, HOSTILE_DIR, photo, REPO_ROOT, removeDir, tempDir, type Edit } from './helpers/photos.ts';

const CLI = join(REPO_ROOT, 'electron', 'cli', 'dedup.ts');

interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

function runCli(args: string[], options: { asUser?: number } = {}): CliResult {
  const command = options.asUser !== undefined ? 'setpriv' : process.execPath;
  const prefix = options.asUser !== undefined ? [`--reuid=${options.asUser}`, `--regid=${options.asUser}`, '--clear-groups', process.execPath] : [];
  const result = spawnSync(command, [...prefix, '--import', 'tsx', CLI, ...args], { cwd: REPO_ROOT, encoding: 'utf8', env: { ...process.env, PHOTO_DEDUP_DB: '' } });
  return { code: result.status, stdout: result.stdout, stderr: result.stderr };
}

function parseJson(result: CliResult): any {
  assert.equal(result.code, 0, `exit code ${result.code}; stderr: ${result.stderr}`);
  return JSON.parse(result.stdout);
}

function assertGroupsDocument(document: any): void {
  assert.ok(Array.isArray(document.groups));
  assert.ok(Array.isArray(document.errors));
  for (const group of document.groups) {
    assert.ok(['exact', 'near', 'similar'].includes(group.kind));
    assert.equal(typeof group.score, 'number');
    assert.ok(group.files.length >= 2);
    for (const file of group.files) assert.ok(isAbsolute(file.path), `path not absolute: ${file.path}`);
  }
  for (const error of document.errors) {
    assert.ok(isAbsolute(error.path));
    assert.equal(typeof error.message, 'string');
    assert.ok(error.message.length > 0);
  }
}

describe('CLI', () => {
  let dir: string;
  let killedScanGroups: string[] = [];

  before(async () => {
    dir = await tempDir('dedup-cli-');
  });

  after(async () => {
    await removeDir(dir);
  });

  test('scan with no folder scans the bundled samples and prints real groups as JSON', () => {
    const document = parseJson(runCli(['scan', '--json', '--db', join(dir, 'samples', 'catalog.json')]));
    assertGroupsDocument(document);
    const kinds = document.groups.map((g: any) => g.kind);
    assert.ok(kinds.includes('exact'), 'the sample backup copy is an exact duplicate');
    assert.ok(kinds.filter((k: string) => k === 'near').length >= 3, 'the edited sample copies are near-duplicates');
    assert.deepEqual(document.errors, []);
  });

  test('groups and query print the documented JSON', async () => {
    const db = join(dir, 'samples', 'catalog.json');
    const groups = parseJson(runCli(['groups', '--json', '--db', db]));
    assertGroupsDocument(groups);
    const probe = join(dir, 'rocket-probe.jpg');
    await editPhoto('python3-skimage/rocket.jpg', 'thumbnail', probe);
    const query = parseJson(runCli(['query', probe, '--json', '--top', '3', '--db', db]));
    assert.equal(query.results.length, 3);
    for (const result of query.results) {
      assert.ok(isAbsolute(result.path));
      assert.equal(typeof result.score, 'number');
    }
    assert.match(basename(query.results[0].path), /^rocket/);
  });

  test('human-readable output lists the groups', () => {
    const result = runCli(['groups', '--db', join(dir, 'samples', 'catalog.json')]);
    assert.equal(result.code, 0);
    assert.match(result.stdout, /exact copies/);
    assert.match(result.stdout, /near-duplicates/);
  });

  test('bad input is listed with a clear message and the scan completes for the rest', async () => {
    const folder = join(dir, 'bad');
    await mkdir(folder, { recursive: true });
    const good = await copyPhoto(DISTINCT_PHOTOS[0], join(folder, 'good.jpg'));
    await editPhoto(DISTINCT_PHOTOS[0], 'resize', join(folder, 'good_small.jpg'));
    await writeFile(join(folder, 'zero.jpg'), '');
    const jpeg = await readFile(photo(DISTINCT_PHOTOS[1]));
    await writeFile(join(folder, 'truncated.jpg'), jpeg.subarray(0, Math.floor(jpeg.length * 0.4)));
    await writeFile(join(folder, 'corrupt.jpg'), Buffer.concat([Buffer.from([0xff, 0xd8, 0xff, 0xe0]), Buffer.alloc(4000, 0x5a)]));
    await writeFile(join(folder, 'notes.jpg'), 'this is a text file, not a photo\n');
    await copyFile(photo('python3-skimage/coffee.png'), join(folder, 'png_named.jpg'));
    await copyFile(join(HOSTILE_DIR, 'issue205.jpg'), join(folder, 'claims_huge.jpg'));
    await copyFile(join(HOSTILE_DIR, 'large.jpg'), join(folder, 'bomb.jpg'));
    await writeFile(join(folder, 'readme.txt'), 'ignored: not an image and not named like one');

    const document = parseJson(runCli(['scan', folder, '--json', '--db', join(dir, 'bad-catalog', 'catalog.json')]));
    assertGroupsDocument(document);
    const messageOf = (name: string) => document.errors.find((e: any) => basename(e.path) === name)?.message as string | undefined;
    assert.match(messageOf('zero.jpg') ?? '', /empty file/);
    assert.match(messageOf('truncated.jpg') ?? '', /truncated|corrupt/);
    assert.match(messageOf('corrupt.jpg') ?? '', /corrupt|truncated|not a readable/);
    assert.match(messageOf('notes.jpg') ?? '', /not an image/);
    assert.match(messageOf('claims_huge.jpg') ?? '', /too large|corrupt|truncated/);
    assert.match(messageOf('bomb.jpg') ?? '', /too large: 22500×33300/);
    assert.equal(messageOf('png_named.jpg'), undefined, 'a PNG named .jpg is read as a PNG');
    assert.equal(messageOf('readme.txt'), undefined);
    assert.equal(messageOf('good.jpg'), undefined);
    const near = document.groups.find((g: any) => g.files.some((f: any) => f.path === good));
    assert.ok(near, 'the good photos are still grouped');
    assert.deepEqual(near.files.map((f: any) => basename(f.path)).sort(), ['good.jpg', 'good_small.jpg']);

    // The errors are remembered: a rescan reports them again without re-reading the files.
    const again = parseJson(runCli(['scan', folder, '--json', '--db', join(dir, 'bad-catalog', 'catalog.json')]));
    assert.equal(again.summary.unchanged, again.summary.total);
    assert.ok(again.errors.some((e: any) => basename(e.path) === 'zero.jpg'));
  });

  test('unreadable files and folders are reported, not fatal', async (t) => {
    const folder = join(dir, 'locked');
    await mkdir(join(folder, 'private'), { recursive: true });
    await copyPhoto(DISTINCT_PHOTOS[2], join(folder, 'open.jpg'));
    await copyPhoto(DISTINCT_PHOTOS[3], join(folder, 'secret.jpg'));
    await copyPhoto(DISTINCT_PHOTOS[4], join(folder, 'private', 'inside.webp'));
    await chmod(join(folder, 'secret.jpg'), 0o000);
    await chmod(join(folder, 'private'), 0o000);
    const db = join(dir, 'locked-catalog');
    await mkdir(db, { recursive: true });
    // Root reads everything: run the CLI as an unprivileged user when we are root.
    let asUser: number | undefined;
    if (process.getuid?.() === 0) {
      const probe = spawnSync('setpriv', ['--reuid=65534', '--regid=65534', '--clear-groups', process.execPath, '--import', 'tsx', '-e', '0'], { cwd: REPO_ROOT });
      if (probe.status !== 0) {
        t.skip('running as root and cannot switch to an unprivileged user (setpriv) to test permissions');
        return;
      }
      asUser = 65534;
      for (const path of [dir, folder, db]) await chmod(path, 0o777);
    }
    const document = parseJson(runCli(['scan', folder, '--json', '--db', join(db, 'catalog.json')], { asUser }));
    const messageOf = (name: string) => document.errors.find((e: any) => basename(e.path) === name)?.message as string | undefined;
    assert.match(messageOf('secret.jpg') ?? '', /permission denied/);
    assert.match(messageOf('private') ?? '', /permission denied/);
    assert.equal(document.summary.total, 2, 'open.jpg and the unreadable secret.jpg are catalogued');
    await chmod(join(folder, 'private'), 0o755);
    await chmod(join(folder, 'secret.jpg'), 0o644);
  });

  test('a file vanishing mid-scan is reported and the scan completes', async () => {
    const folder = join(dir, 'vanish');
    for (const [i, relative] of DISTINCT_PHOTOS.slice(0, 4).entries()) await copyPhoto(relative, join(folder, `${i}.${relative.split('.').pop()}`));
    const doomed = join(folder, 'z_last.jpg');
    await copyPhoto(DISTINCT_PHOTOS[5], doomed);
    const engine = await openEngine({ catalogPath: join(dir, 'vanish-catalog', 'catalog.json'), settings: { executionProvider: 'cpu' } });
    try {
      let deleted = false;
      const summary = await engine.scan([folder], {
        onProgress: (progress) => {
          // Listed but not yet read: delete it now.
          if (progress.phase === 'reading' && !deleted) {
            deleted = true;
            spawnSync('rm', ['-f', doomed]);
          }
        },
      });
      assert.ok(deleted);
      assert.deepEqual(summary.errors.map((e) => [basename(e.path), e.message]), [['z_last.jpg', 'the file vanished during the scan']]);
      assert.equal(summary.total, 4);
    } finally {
      await engine.close();
    }
  });

  test('a scan killed with SIGKILL leaves a catalog that opens, and the next scan completes it', async () => {
    const folder = join(dir, 'big');
    const edits: Edit[] = ['resize', 'recompress', 'webp', 'crop', 'brighter', 'grey'];
    for (const [i, relative] of DISTINCT_PHOTOS.entries()) {
      await copyPhoto(relative, join(folder, `${i}_original.${relative.split('.').pop()}`));
      for (const edit of edits) await editPhoto(relative, edit, join(folder, `${i}_${edit}.${edit === 'webp' ? 'webp' : 'jpg'}`));
    }
    const fileCount = DISTINCT_PHOTOS.length * (edits.length + 1);
    const db = join(dir, 'killed', 'catalog.json');
    const child = spawn(process.execPath, ['--import', 'tsx', CLI, 'scan', folder, '--json', '--db', db, '--provider', 'cpu'], { cwd: REPO_ROOT, stdio: 'ignore' });
    const exited = new Promise((resolve) => child.on('exit', resolve));
    // Kill as soon as the first embeddings are on disk: well before the scan can finish.
    const deadline = Date.now() + 60_000;
    while (Date.now() < deadline) {
      const size = await stat(`${db}.vectors`).then((s) => s.size, () => 0);
      if (size > 32) break;
      await new Promise((r) => setTimeout(r, 20));
    }
    child.kill('SIGKILL');
    await exited;

    const engine = await openEngine({ catalogPath: db, settings: { executionProvider: 'cpu' } });
    try {
      const summary = await engine.scan([folder]);
      assert.ok(summary.unchanged < fileCount, 'the killed scan had not finished');
      assert.equal(summary.total, fileCount);
      assert.deepEqual(summary.errors, []);
      const resumed = (await engine.groups()).groups.map((g) => g.files.map((f) => basename(f.path)).sort().join(' ')).sort();

      // The same groups as an uninterrupted scan.
      const fresh = await openEngine({ catalogPath: join(dir, 'fresh', 'catalog.json'), settings: { executionProvider: 'cpu' } });
      await fresh.scan([folder]);
      const expected = (await fresh.groups()).groups.map((g) => g.files.map((f) => basename(f.path)).sort().join(' ')).sort();
      await fresh.close();
      assert.deepEqual(resumed, expected);
      killedScanGroups = expected;
    } finally {
      await engine.close();
    }
  });

  test('a truncated vector file is detected and the missing embeddings are rebuilt', async () => {
    const db = join(dir, 'killed', 'catalog.json');
    const before = (await stat(`${db}.vectors`)).size;
    await truncate(`${db}.vectors`, Math.floor(before / 2) + 7); // a torn row, too
    const engine = await openEngine({ catalogPath: db, settings: { executionProvider: 'cpu' } });
    try {
      const summary = await engine.scan();
      assert.ok(summary.changed > 0, 'photos that lost their embeddings are embedded again');
      assert.deepEqual(summary.errors, []);
      const groups = (await engine.groups()).groups.map((g) => g.files.map((f) => basename(f.path)).sort().join(' ')).sort();
      assert.deepEqual(groups, killedScanGroups);
    } finally {
      await engine.close();
    }
    await unlink(`${db}.vectors`);
  });
});
