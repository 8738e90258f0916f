// HEIC photos through the whole engine: catalogued, grouped with their JPEG twins, errors per file.
import assert from 'node:assert/strict';
import { copyFile, mkdir } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { closeHeicDecoder } from '../electron/engine/decode-heic.ts';
import { openEngine } from '../electron/engine/index.ts';
import { makeHeicFixtures, type HeicFixtures } from './helpers/heic-fixtures.ts';
import { copyPhoto, DISTINCT_PHOTOS, removeDir, tempDir } from './helpers/photos.ts';

describe('HEIC in the engine', () => {
  let dir: string;
  let fixtures: HeicFixtures;
  before(async () => {
    dir = await tempDir('dedup-heic-engine-');
    await mkdir(join(dir, 'fixtures'), { recursive: true });
    fixtures = await makeHeicFixtures(join(dir, 'fixtures'));
  });
  after(async () => {
    await closeHeicDecoder();
    await removeDir(dir);
  });

  test('a HEIC and its JPEG export land in one group; a rotated HEIC is upright; a truncated one is an error', async () => {
    const library = join(dir, 'library');
    await mkdir(library, { recursive: true });
    await copyFile(fixtures.plain, join(library, 'IMG_0001.HEIC'));
    await copyFile(fixtures.plainSource, join(library, 'IMG_0001_export.jpg'));
    await copyFile(fixtures.irotRotated, join(library, 'IMG_0002.HEIC'));
    await copyFile(fixtures.truncated, join(library, 'IMG_0003.HEIC'));
    for (const relative of DISTINCT_PHOTOS.slice(0, 3)) await copyPhoto(relative, join(library, basename(relative)));

    const engine = await openEngine({ catalogPath: join(dir, 'catalog', 'catalog.json'), settings: { executionProvider: 'cpu' } });
    try {
      const summary = await engine.scan([library]);
      assert.deepEqual(summary.errors.map((e) => basename(e.path)), ['IMG_0003.HEIC']);
      assert.match(summary.errors[0].message, /truncated or corrupt/i);

      const heic = engine.fileFacts(join(library, 'IMG_0001.HEIC'));
      assert.equal(heic?.format, 'heic');
      assert.deepEqual([heic?.width, heic?.height], [1920, 1280]);
      const rotated = engine.fileFacts(join(library, 'IMG_0002.HEIC'));
      assert.deepEqual([rotated?.width, rotated?.height], [250, 400], 'the HEIF rotation is applied');

      const { groups } = await engine.groups();
      const group = groups.find((g) => g.files.some((f) => basename(f.path) === 'IMG_0001.HEIC'));
      assert.ok(group, 'the HEIC is grouped');
      assert.equal(group.kind, 'near');
      assert.deepEqual(group.files.map((f) => basename(f.path)).sort(), ['IMG_0001.HEIC', 'IMG_0001_export.jpg']);
    } finally {
      await engine.close();
    }
  });
});
