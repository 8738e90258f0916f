// The perceptual hash (phash.ts): the turned and mirrored images' hashes, which phash.ts derives
// from the one block of DCT coefficients, against hashing the turned pixels themselves, on real
// photos; and the bit layout against the plain definition.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import sharp from 'sharp';
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
