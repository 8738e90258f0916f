// Thumbnails: the URL parser, the rules on which files may be shown (with the real engine), and the
// JPEG cache made with sharp from real photos.
import assert from 'node:assert/strict';
import { copyFile, mkdir, mkdtemp, rm, stat, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { after, before, describe, test } from 'node:test';
import sharp from 'sharp';
import { openEngine } from '../electron/engine/index.ts';
import { ThumbnailCache, ThumbnailRefused, cacheFilePath, checkThumbnailPath, parseThumbnailUrl } from '../electron/engine/thumbnail-cache.ts';
import type { Engine } from '../electron/engine/types.ts';
import { thumbnailUrl } from '../electron/shared/ipc-contract.ts';

const PHOTOS = resolve(import.meta.dirname, '..', '..', 'shared', 'photos');

describe('thumbnail URLs', () => {
  test('what thumbnailUrl builds parses back to the same path and size', () => {
    for (const path of ['/photos/a.jpg', '/p/with space/#hash?.jpg', '/p/été/日本.jpg', '/p/100%.jpg']) {
      for (const size of ['small', 'large'] as const) {
        assert.deepEqual(parseThumbnailUrl(thumbnailUrl(path, size)), { ok: true, value: { path, size } });
      }
    }
  });

  test('anything else is refused', () => {
    const refused = (url: string) => {
      const parsed = parseThumbnailUrl(url);
      assert.equal(parsed.ok, false, url);
      return parsed.ok ? '' : parsed.reason;
    };
    assert.equal(refused('file:///etc/passwd'), 'wrong scheme');
    assert.equal(refused('dedup-thumb://other/small?path=%2Fa.jpg'), 'wrong host');
    assert.equal(refused('dedup-thumb://local/huge?path=%2Fa.jpg'), 'unknown thumbnail size');
    assert.equal(refused('dedup-thumb://local/small?path=a.jpg'), 'path is not absolute');
    assert.equal(refused('dedup-thumb://local/small?path=%2Fphotos%2F..%2F..%2Fetc%2Fpasswd'), 'path contains ".."');
    assert.equal(refused('dedup-thumb://local/small?path=%2Fa.jpg%00.png'), 'path contains NUL');
    assert.equal(refused('dedup-thumb://local/small'), 'expected exactly one "path" parameter');
    assert.equal(refused('dedup-thumb://local/small?path=%2Fa.jpg&path=%2Fb.jpg'), 'expected exactly one "path" parameter');
    assert.equal(refused('dedup-thumb://local/small?path=%2Fa.jpg&x=1'), 'expected exactly one "path" parameter');
    assert.equal(refused('not a url'), 'not a URL');
  });
});

describe('which files may be shown, and the cache', () => {
  let dir: string;
  let photos: string;
  let engine: Engine;
  let cache: ThumbnailCache;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'app-thumbs-'));
    photos = join(dir, 'photos');
    const outside = join(dir, 'outside');
    await mkdir(photos);
    await mkdir(outside);
    await copyFile(join(PHOTOS, 'opencv-doc/fruits.jpg'), join(photos, 'fruits.jpg'));
    await copyFile(join(PHOTOS, 'gdk-pixbuf-tests/bug725582-testrotate.jpg'), join(photos, 'rotated.jpg'));
    await copyFile(join(PHOTOS, 'opencv-doc/baboon.jpg'), join(outside, 'secret.jpg'));
    // Links: one to a file outside the catalogued folder, one to a file inside it.
    await symlink(join(outside, 'secret.jpg'), join(photos, 'link out.jpg'));
    await symlink(join(photos, 'fruits.jpg'), join(photos, 'link in.jpg'));
    engine = await openEngine({ catalogPath: join(dir, 'data', 'catalog.json') });
    await engine.scan([photos]);
    // Arrives after the scan: on disk, not in the catalog.
    await copyFile(join(PHOTOS, 'opencv-doc/orange.jpg'), join(photos, 'not scanned.jpg'));
    cache = new ThumbnailCache(join(dir, 'thumbs'), engine);
  });

  after(async () => {
    await engine?.close();
    await rm(dir, { recursive: true, force: true });
  });

  test('a catalogued file passes; uncatalogued, traversal, relative and links leading out are refused', async () => {
    const ok = await checkThumbnailPath(join(photos, 'fruits.jpg'), engine);
    assert.equal(ok.ok, true);
    const reason = async (path: string) => {
      const checked = await checkThumbnailPath(path, engine);
      assert.equal(checked.ok, false, path);
      return checked.ok ? '' : checked.reason;
    };
    assert.equal(await reason(join(photos, 'not scanned.jpg')), 'not in the catalog');
    assert.equal(await reason(join(dir, 'outside', 'secret.jpg')), 'not in the catalog');
    assert.equal(await reason(`${photos}/../outside/secret.jpg`), 'path contains ".."');
    assert.equal(await reason('photos/fruits.jpg'), 'path is not absolute');
    // The engine catalogues linked files; the link leading outside is still refused.
    assert.notEqual(engine.fileFacts(join(photos, 'link out.jpg')), null);
    assert.equal(await reason(join(photos, 'link out.jpg')), 'it leads outside the catalogued folders');
    const inside = await checkThumbnailPath(join(photos, 'link in.jpg'), engine);
    assert.deepEqual(inside.ok && inside.value.realPath, join(photos, 'fruits.jpg'));
  });

  test('makes JPEGs of both sizes, upright, and reuses them', async () => {
    const small = await cache.get(join(photos, 'fruits.jpg'), 'small');
    const large = await cache.get(join(photos, 'fruits.jpg'), 'large');
    assert.ok(small.startsWith(join(dir, 'thumbs', 'small')));
    const smallMeta = await sharp(small).metadata();
    const largeMeta = await sharp(large).metadata();
    assert.equal(smallMeta.format, 'jpeg');
    assert.equal(Math.max(smallMeta.width!, smallMeta.height!), 320);
    // fruits.jpg is 512 px wide: the large size is never enlarged.
    assert.equal(Math.max(largeMeta.width!, largeMeta.height!), 512);

    const made = (await stat(small)).mtimeMs;
    assert.equal(await cache.get(join(photos, 'fruits.jpg'), 'small'), small);
    assert.equal((await stat(small)).mtimeMs, made, 'the cached thumbnail was made again');

    // EXIF orientation 6: 640×428 in the pixels, upright it is portrait.
    const rotated = await sharp(await cache.get(join(photos, 'rotated.jpg'), 'small')).metadata();
    assert.ok(rotated.height! > rotated.width!, `${rotated.width}×${rotated.height} is not upright`);
  });

  test('several requests for one thumbnail share the work', async () => {
    const path = join(photos, 'link in.jpg');
    const results = await Promise.all(Array.from({ length: 6 }, () => cache.get(path, 'large')));
    assert.equal(new Set(results).size, 1);
  });

  test('refusals throw ThumbnailRefused and make nothing', async () => {
    await assert.rejects(cache.get(join(photos, 'link out.jpg'), 'small'), ThumbnailRefused);
    await assert.rejects(cache.get(join(photos, 'not scanned.jpg'), 'small'), /not in the catalog/);
  });

  test('an edited photo gets a new thumbnail', async () => {
    const path = join(photos, 'fruits.jpg');
    const first = await cache.get(path, 'small');
    await writeFile(path, await sharp(join(PHOTOS, 'opencv-doc/fruits.jpg')).flop().jpeg().toBuffer());
    await engine.updatePaths([path]);
    const second = await cache.get(path, 'small');
    assert.notEqual(second, first);
    assert.equal(cacheFilePath(cache.dir, second.slice(-68, -4), 'small'), second);
  });

  test('prune deletes the oldest thumbnails beyond the budget', async () => {
    const deleted = await cache.prune(0);
    assert.ok(deleted >= 4);
    assert.equal(await cache.prune(0), 0);
  });
});
