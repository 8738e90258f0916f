// The area-average resampling the crop-window and detail hashes are made with (pixels.ts), against
// the plain definition, on a real photo's pixels.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import sharp from 'sharp';
import { boxResample, boxResampleRegions } from '../electron/engine/pixels.ts';
import { photo } from './helpers/photos.ts';

/** The definition: each output cell is the area-weighted mean of the source pixels it covers. */
function areaMean(source: Float64Array, size: number, left: number, top: number, side: number, out: number): Float64Array {
  const result = new Float64Array(out * out);
  const step = side / out;
  for (let oy = 0; oy < out; oy++) {
    for (let ox = 0; ox < out; ox++) {
      const x0 = left + ox * step;
      const y0 = top + oy * step;
      let sum = 0;
      let weight = 0;
      for (let sy = Math.floor(y0); sy < Math.min(size, Math.ceil(y0 + step)); sy++) {
        for (let sx = Math.floor(x0); sx < Math.min(size, Math.ceil(x0 + step)); sx++) {
          const w = (Math.min(sy + 1, y0 + step) - Math.max(sy, y0)) * (Math.min(sx + 1, x0 + step) - Math.max(sx, x0));
          sum += source[sy * size + sx] * w;
          weight += w;
        }
      }
      result[oy * out + ox] = sum / weight;
    }
  }
  return result;
}

const grey448 = async () => Float64Array.from(await sharp(photo('darknet/dog.jpg')).greyscale().resize(448, 448, { fit: 'fill' }).raw().toBuffer());

test('box resampling equals the area-weighted mean, whole image and off-grid windows', async () => {
  const grey = await grey448();
  const cases: [number, number, number, number][] = [
    [0, 0, 448, 128], // 3.5 source pixels per cell
    [0, 0, 448, 32],
    [21.7, 3.2, 403.2, 32], // a 90 % window, not on pixel boundaries
    [0, 44.8, 403.2, 64],
  ];
  for (const [left, top, side, out] of cases) {
    const fast = boxResample(grey, 448, left, top, side, out);
    const plain = areaMean(grey, 448, left, top, side, out);
    const worst = Math.max(...fast.map((v, i) => Math.abs(v - plain[i])));
    assert.ok(worst < 1e-9, `window ${left},${top} ${side} → ${out}: off by ${worst}`);
  }
});

test('boxResampleRegions gives each region what boxResample gives it alone', async () => {
  const grey = await grey448();
  const regions = [
    { left: 0, top: 0, side: 403.2 },
    { left: 0, top: 44.8, side: 403.2 }, // same columns: shares the pass across
    { left: 22.4, top: 22.4, side: 313.6 },
  ];
  const together = boxResampleRegions(grey, 448, regions, 32);
  regions.forEach(({ left, top, side }, i) => assert.deepEqual(together[i], boxResample(grey, 448, left, top, side, 32)));
});
