// grey.ts: libvips' greyscale as a table of every colour. The grey images of the perceptual hashes
// are made from it (decode.ts) and must be the bytes that libvips' greyscale() and resize() make in
// one pipeline, as before: checked on random colours and on real photos at both sizes.
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { test } from 'node:test';
import sharp from 'sharp';
import { contentBox, CROP_WINDOWS, decodeImage, hashesOfGreys } from '../electron/engine/decode.ts';
import { greyscale } from '../electron/engine/grey.ts';
import { mulberry32 } from '../electron/engine/lsh.ts';
import { DISTINCT_PHOTOS, photo } from './helpers/photos.ts';

test('the table gives libvips\' own grey value of every pixel', async () => {
  const rand = mulberry32(4);
  const side = 300;
  const rgb = Buffer.from(Array.from({ length: side * side * 3 }, () => Math.floor(rand() * 256)));
  const expected = await sharp(rgb, { raw: { width: side, height: side, channels: 3 } }).greyscale().raw().toBuffer();
  assert.ok((await greyscale(rgb)).equals(expected));
});

test('grey images resized from the table\'s greyscale are those of greyscale() and resize() in one pipeline', async () => {
  const size = 448; // decode.ts BASE_SIZE
  for (const name of DISTINCT_PHOTOS) {
    const base = await sharp(await readFile(photo(name))).rotate().resize(size, size, { fit: 'fill' }).flatten({ background: '#ffffff' }).toColourspace('srgb').raw().toBuffer();
    const grey = await greyscale(base);
    for (const out of [32, 128]) {
      const expected = await sharp(base, { raw: { width: size, height: size, channels: 3 } }).greyscale().resize(out, out, { fit: 'fill' }).raw().toBuffer();
      const got = await sharp(grey, { raw: { width: size, height: size, channels: 1 } }).resize(out, out, { fit: 'fill' }).toColourspace('b-w').raw().toBuffer();
      assert.equal(got.length, out * out);
      assert.ok(got.equals(expected), `${name} at ${out}×${out}`);
    }
  }
});

test('decodeImage hashes the grey images that greyscale() and resize() make in one pipeline', async () => {
  const size = 448;
  let checked = 0;
  for (const name of DISTINCT_PHOTOS) {
    const bytes = await readFile(photo(name));
    const base = await sharp(bytes).rotate().resize(size, size, { fit: 'fill' }).flatten({ background: '#ffffff' }).toColourspace('srgb').raw().toBuffer();
    if (contentBox(base, size)) continue; // bordered: decodeImage hashes the trimmed picture
    const greyOf = (out: number) => sharp(base, { raw: { width: size, height: size, channels: 3 } }).greyscale().resize(out, out, { fit: 'fill' }).raw().toBuffer();
    const expected = hashesOfGreys(await greyOf(32), await greyOf(128), CROP_WINDOWS);
    const decoded = await decodeImage(bytes, name, { inputSize: 224, views: ['full'], maxMegapixels: 200, rotationVariants: true });
    assert.equal(decoded.phash, expected.phash, name);
    assert.deepEqual(decoded.phashVariants, expected.phashVariants, name);
    checked++;
  }
  assert.ok(checked >= 6, `photos without borders checked: ${checked}`);
});
