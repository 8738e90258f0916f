import { readFileSync } from 'node:fs';
import exifr from 'exifr';
import sharp from 'sharp';
for (const f of ['r.heic', 'big12.heic', 'trunc.heic', 'multi.heic']) {
  const d = readFileSync('/tmp/hx/' + f);
  const t = performance.now();
  try {
    const m = await sharp(d).metadata();
    const tags = m.exif ? await exifr.parse(m.exif, { pick: ['Orientation', 'DateTimeOriginal', 'CreateDate'], translateValues: false, reviveValues: false }) : null;
    console.log(f, m.orientation, tags, (performance.now() - t).toFixed(1), 'ms');
  } catch (e) { console.log(f, 'ERR', (e as Error).message); }
}
