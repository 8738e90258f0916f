// The perceptual hash (phash.ts): the turned and mirrored images' hashes, which phash.ts derives
// from the one block of DCT coefficients, against hashing the turned pixels themselves, on real
// photos; the bit layout against the plain definition; and decode.ts's hashes against hashing the
// photo's grey pixels independently.
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { test } from 'node:test';
import sharp from 'sharp';
import { CROP_WINDOWS, decodeImage, splitVariants } from '../electron/engine/decode.ts';
import { PHASH_INPUT_SIZE, lowFrequencies, phashFromGrey, phashWithTurns } from '../electron/engine/phash.ts';
import { photo } from './helpers/photos.ts';

const N = PHASH_INPUT_SIZE;

/** The 7 turns and mirrors of a square image, by moving pixels, in the order phashWithTurns reports them. */
function turnedPixels(grey: Float64Array): Float64Array[] {
  const at = (x: number, y: number) => grey[y * N + x];
  const reads: ((x: number, y: number) => number)[] = [
    (x, y) => at(y, N - 1 - x), // rotate 90° clockwise
    (x, y) => at(N - 1 - x, N - 1 - y), // rotate 180°
    (x, y) => at(N - 1 - y, x), // rotate 270° clockwise
    (x, y) => at(N - 1 - x, y), // mirror left-right
    (x, y) => at(x, N - 1 - y), // mirror top-bottom
    (x, y) => at(y, x), // transpose
    (x, y) => at(N - 1 - y, N - 1 - x), // anti-transpose
  ];
  return reads.map((read) => {
    const out = new Float64Array(N * N);
    for (let y = 0; y < N; y++) for (let x = 0; x < N; x++) out[y * N + x] = read(x, y);
    return out;
  });
}

const greyOf = async (name: string) => Float64Array.from(await sharp(photo(name)).greyscale().resize(N, N, { fit: 'fill' }).raw().toBuffer());
const names = ['darknet/dog.jpg', 'darknet/horses.jpg', 'darknet/eagle.jpg', 'darknet/person.jpg'];

test('the hashes of the turned and mirrored images equal the hashes of the turned pixels', async () => {
  for (const name of names) {
    const grey = await greyOf(name);
    const { phash, turns } = phashWithTurns(grey);
    assert.equal(phash, phashFromGrey(grey));
    const expected = turnedPixels(grey).map(phashFromGrey);
    assert.deepEqual(turns, expected, name);
    assert.ok(new Set(turns.map(String)).size >= 6, `${name}: the turns of a real photo hash differently`);
  }
});

test('bit v·8+u of the hash is set when that coefficient is above the median of the 63 non-DC ones', async () => {
  const grey = await greyOf('darknet/dog.jpg');
  const coefficients = lowFrequencies(grey);
  const ac = Array.from(coefficients.subarray(1)).sort((a, b) => a - b);
  const median = (ac[31] + ac[32]) / 2;
  let expected = 0n;
  for (let i = 0; i < 64; i++) if (coefficients[i] > median) expected |= 1n << BigInt(i);
  assert.equal(phashFromGrey(grey), expected);
  const ones = expected.toString(2).split('').filter((bit) => bit === '1').length;
  assert.ok(ones >= 31 && ones <= 33, `about half the bits are set (${ones})`);
});

test("decodeImage's hashes agree with hashing the photo's own grey pixels: the whole image, and a crop window against the cropped photo", async () => {
  const hammingOf = (a: bigint, b: bigint) => (a ^ b).toString(2).split('').filter((bit) => bit === '1').length;
  const options = { inputSize: 224, views: [] as const, maxMegapixels: 200, rotationVariants: true };
  for (const name of names) {
    const bytes = await readFile(photo(name));
    const decoded = await decodeImage(bytes, name, { ...options, views: [] });
    // Independently: libvips' own greyscale and resize of the whole photo.
    assert.ok(hammingOf(decoded.phash, phashFromGrey(await greyOf(name))) <= 8, `${name}: whole-image pHash far from the photo's`);
    // The centred 80 % window (decode.ts CROP_WINDOWS) against the photo cropped that way.
    const { width = 0, height = 0 } = await sharp(bytes).metadata();
    const crop = { left: Math.round(width * 0.1), top: Math.round(height * 0.1), width: Math.round(width * 0.8), height: Math.round(height * 0.8) };
    const cropped = await sharp(bytes).extract(crop).toBuffer();
    const windowIndex = CROP_WINDOWS.findIndex((w) => w.size === 0.8 && w.x === 0.5 && w.y === 0.5);
    const { windows } = splitVariants(decoded.phashVariants!);
    const croppedHash = (await decodeImage(cropped, 'crop.png', { ...options, views: [] })).phash;
    assert.ok(hammingOf(windows[windowIndex], croppedHash) <= 8, `${name}: the 80 % window's hash is ${hammingOf(windows[windowIndex], croppedHash)} bits from the cropped photo's`);
    assert.ok(hammingOf(decoded.phash, croppedHash) > hammingOf(windows[windowIndex], croppedHash), `${name}: the window matches the crop better than the whole image does`);
  }
});
