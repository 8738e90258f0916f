// HEIC decoding through the WebAssembly fallback, on HEIC files encoded at test time from real photos
// (see helpers/heic-fixtures.ts). Pixels are compared with the source photo at 64×64, and each
// comparison has a counterpart that must NOT match, so a decoder returning the wrong image fails.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import sharp, { type Sharp } from 'sharp';
import { closeHeicDecoder, configureHeicDecoder, decodeHeic, readHeicExif, type HeicImage } from '../electron/engine/decode-heic.ts';
import { heifInfo, makeHeicFixtures, PHOTOS, type HeicFixtures } from './helpers/heic-fixtures.ts';

const SIDE = 64;

async function small(image: Sharp): Promise<Buffer> {
  return image.removeAlpha().resize(SIDE, SIDE, { fit: 'fill' }).raw().toBuffer();
}

function fromDecoded(decoded: HeicImage): Sharp {
  return sharp(decoded.pixels, { raw: { width: decoded.width, height: decoded.height, channels: 4 } });
}

/** Mean absolute difference per channel value (0-255) between two 64×64 RGB images. */
function meanAbsDiff(a: Buffer, b: Buffer): number {
  assert.equal(a.length, b.length);
  let sum = 0;
  for (let i = 0; i < a.length; i++) sum += Math.abs(a[i] - b[i]);
  return sum / a.length;
}

/** Same photo after HEVC at q85 and a resize: a few levels apart. Different photos: tens of levels. */
const SAME = 5;
const DIFFERENT = 20;

describe('HEIC decoding (libheif WebAssembly in a worker)', () => {
  let dir: string;
  let fx: HeicFixtures;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'heic-test-'));
    fx = await makeHeicFixtures(dir);
  });

  after(async () => {
    await closeHeicDecoder();
    rmSync(dir, { recursive: true, force: true });
  });

  it('decodes a photo to RGBA of the right size, matching the source JPEG', async () => {
    const decoded = await decodeHeic(readFileSync(fx.plain));
    assert.equal(decoded.width, 1920);
    assert.equal(decoded.height, 1280);
    assert.equal(decoded.pixels.length, 1920 * 1280 * 4);
    assert.equal(decoded.imageCount, 1);
    assert.equal(decoded.orientation, null);
    const ours = await small(fromDecoded(decoded));
    const diff = meanAbsDiff(ours, await small(sharp(fx.plainSource)));
    assert.ok(diff < SAME, `decoded HEIC differs from its source by ${diff.toFixed(2)}`);
    const other = meanAbsDiff(ours, await small(sharp(join(PHOTOS, 'mate-backgrounds/TwoWings.jpg'))));
    assert.ok(other > DIFFERENT, `a different photo should not match (difference ${other.toFixed(2)})`);
  });

  it('applies irot itself: a phone-style file (irot + EXIF 6) comes out upright, with nothing left to apply', async () => {
    assert.match(heifInfo(fx.irotRotated), /image: 250x400 \(id=\d+\), primary/, 'native libheif sees the fixture as rotated');
    const data = readFileSync(fx.irotRotated);
    const decoded = await decodeHeic(data);
    assert.deepEqual([decoded.width, decoded.height], [250, 400]);
    assert.equal(decoded.orientation, null, 'applying EXIF 6 on top of irot would rotate twice');
    assert.deepEqual(await readHeicExif(data), { orientation: 6, takenAt: '2015-10-29T15:44:44' });

    const ours = await small(fromDecoded(decoded));
    const upright = meanAbsDiff(ours, await small(sharp(fx.rotatedSource).rotate())); // JPEG with EXIF 6 applied
    assert.ok(upright < SAME, `irot file differs from the upright source by ${upright.toFixed(2)}`);
    const sideways = meanAbsDiff(ours, await small(sharp(fx.rotatedSource)));
    assert.ok(sideways > DIFFERENT, `should not match the stored (sideways) pixels (difference ${sideways.toFixed(2)})`);
  });

  it('ignores EXIF orientation without irot (as libheif and libvips do): pixels as stored', async () => {
    const data = readFileSync(fx.exifRotated);
    const decoded = await decodeHeic(data);
    assert.deepEqual([decoded.width, decoded.height], [400, 250]);
    assert.equal(decoded.orientation, null);
    assert.equal((await readHeicExif(data)).orientation, 6, 'the tag is there, and reported for information');
    const diff = meanAbsDiff(await small(fromDecoded(decoded)), await small(sharp(fx.rotatedSource)));
    assert.ok(diff < SAME, `differs from the stored pixels by ${diff.toFixed(2)}`);
  });

  it('decodes the primary image of a multi-image file, whichever it is', async () => {
    const [first, second] = await Promise.all(fx.multiSources.map((path) => small(sharp(path))));
    assert.ok(meanAbsDiff(first, second) > DIFFERENT, 'the two burst images must differ for this test to mean anything');

    const firstPrimary = await decodeHeic(readFileSync(fx.multi));
    assert.equal(firstPrimary.imageCount, 2);
    assert.ok(meanAbsDiff(await small(fromDecoded(firstPrimary)), first) < SAME);

    const info = heifInfo(fx.multiSecondPrimary);
    assert.doesNotMatch(info, /\(id=1\), primary/, 'native libheif: the first image is no longer primary');
    assert.match(info, /\(id=\d+\), primary/);
    const secondPrimary = await decodeHeic(readFileSync(fx.multiSecondPrimary));
    assert.equal(secondPrimary.imageCount, 2);
    const ours = await small(fromDecoded(secondPrimary));
    assert.ok(meanAbsDiff(ours, second) < SAME, 'should be the image pitm names');
    assert.ok(meanAbsDiff(ours, first) > DIFFERENT, 'should not be the first image of the file');
  });

  it('decodes the full image, not the stored thumbnail', async () => {
    assert.match(heifInfo(fx.withThumbnail), /thumbnail: 128x\d+/);
    const decoded = await decodeHeic(readFileSync(fx.withThumbnail));
    assert.deepEqual([decoded.width, decoded.height, decoded.imageCount], [1920, 1280, 1]);
  });

  it('keeps the alpha plane (an auxiliary image) in the A channel', async () => {
    const decoded = await decodeHeic(readFileSync(fx.withAlpha));
    assert.deepEqual([decoded.width, decoded.height], [400, 250]);
    const alphaAt = (x: number, y: number): number => decoded.pixels[(y * decoded.width + x) * 4 + 3];
    assert.ok(alphaAt(2, 125) < 20, `left edge should be nearly transparent, alpha ${alphaAt(2, 125)}`);
    assert.ok(alphaAt(397, 125) > 235, `right edge should be nearly opaque, alpha ${alphaAt(397, 125)}`);
    const diff = meanAbsDiff(await small(fromDecoded(decoded)), await small(sharp(fx.alphaSource)));
    assert.ok(diff < SAME, `colour differs from the source by ${diff.toFixed(2)}`);
  });

  it('reduces a 10-bit HEIC to 8-bit RGBA', async () => {
    const decoded = await decodeHeic(readFileSync(fx.tenBit));
    assert.equal(decoded.pixels.length, decoded.width * decoded.height * 4);
    const diff = meanAbsDiff(await small(fromDecoded(decoded)), await small(sharp(fx.multiSources[0])));
    assert.ok(diff < SAME, `10-bit decode differs from the source by ${diff.toFixed(2)}`);
  });

  it('says a truncated file is truncated or corrupt', async () => {
    await assert.rejects(decodeHeic(readFileSync(fx.truncated)), /^Error: HEIC file is truncated or corrupt: .*end of file/i);
  });

  it('says a file that is not HEIF is not HEIF, and the worker still decodes afterwards', async () => {
    await assert.rejects(decodeHeic(readFileSync(fx.plainSource)), /not a HEIF file/);
    assert.equal((await decodeHeic(readFileSync(fx.exifRotated))).width, 400);
  });

  it('refuses an image over the pixel limit before decoding it', async () => {
    await assert.rejects(decodeHeic(readFileSync(fx.plain), { maxPixels: 1_000_000 }), /too large: 1920×1280/);
  });

  it('reads no EXIF from a file without it, without throwing', async () => {
    assert.deepEqual(await readHeicExif(readFileSync(fx.withAlpha)), { orientation: null, takenAt: null });
  });

  it('says so when the worker cannot start, and works again with a worker file given explicitly', async () => {
    await configureHeicDecoder({ workerFile: join(dir, 'missing-worker.js') });
    await assert.rejects(decodeHeic(readFileSync(fx.exifRotated)), /HEIC decoder worker could not start: .*missing-worker\.js/);
    await configureHeicDecoder({ workerFile: new URL('../electron/engine/decode-heic-worker.ts', import.meta.url), maxThreads: 1 });
    assert.equal((await decodeHeic(readFileSync(fx.exifRotated))).width, 400);
    await configureHeicDecoder({});
  });

  it('decodes off the main thread: the event loop keeps ticking during decodes', async () => {
    const data = readFileSync(fx.plain);
    await decodeHeic(readFileSync(fx.exifRotated)); // a worker is up, so only decoding is timed
    let last = performance.now();
    let maxGap = 0;
    let ticks = 0;
    const timer = setInterval(() => {
      const now = performance.now();
      maxGap = Math.max(maxGap, now - last);
      last = now;
      ticks++;
    }, 2);
    const started = performance.now();
    await Promise.all([decodeHeic(data), decodeHeic(data)]);
    const elapsed = performance.now() - started;
    clearInterval(timer);
    // On the main thread the loop would stall for a whole decode (~100+ ms each here).
    assert.ok(elapsed > 60, `decoding took only ${elapsed.toFixed(0)} ms: too short to tell`);
    assert.ok(maxGap < elapsed / 2, `event loop stalled ${maxGap.toFixed(0)} ms during ${elapsed.toFixed(0)} ms of decoding`);
    assert.ok(ticks >= 10, `only ${ticks} timer ticks in ${elapsed.toFixed(0)} ms`);
  });
});
