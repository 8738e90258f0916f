// Builds samples/: a few real photos from ../shared/photos with edited copies, so that the first
// `npm run dedup -- scan` shows real groups. Run once by a developer (the output is committed):
//   npx tsx scripts/make-samples.ts [/path/to/shared/photos]
import { copyFileSync, mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import sharp from 'sharp';

const source = process.argv[2] ?? join(import.meta.dirname, '..', '..', 'shared', 'photos');
const out = join(import.meta.dirname, '..', 'samples');
rmSync(join(out, 'photos'), { recursive: true, force: true });
mkdirSync(join(out, 'photos', 'edited'), { recursive: true });
mkdirSync(join(out, 'photos', 'backup'), { recursive: true });

const originals = ['python3-skimage/chelsea.png', 'python3-skimage/coffee.png', 'python3-skimage/rocket.jpg', 'python3-skimage/hubble_deep_field.jpg', 'kphotoalbum/grand_canyon_1.jpg', 'kphotoalbum/grand_canyon_2.jpg', 'kphotoalbum/snow.jpg'];
for (const file of originals) copyFileSync(join(source, file), join(out, 'photos', file.split('/')[1]));

const photo = (name: string) => join(out, 'photos', name);
// A byte-identical backup copy: an exact duplicate.
copyFileSync(photo('coffee.png'), join(out, 'photos', 'backup', 'coffee.png'));
// Edited copies: near-duplicates.
await sharp(photo('chelsea.png')).resize({ width: 200 }).jpeg({ quality: 60 }).toFile(join(out, 'photos', 'edited', 'chelsea_small.jpg'));
const rocket = await sharp(photo('rocket.jpg')).metadata();
await sharp(photo('rocket.jpg'))
  .extract({ left: Math.round(rocket.width! * 0.08), top: Math.round(rocket.height! * 0.08), width: Math.round(rocket.width! * 0.84), height: Math.round(rocket.height! * 0.84) })
  .modulate({ brightness: 1.15 })
  .jpeg({ quality: 80 })
  .toFile(join(out, 'photos', 'edited', 'rocket_cropped_brighter.jpg'));
await sharp(photo('snow.jpg')).webp({ quality: 50 }).toFile(join(out, 'photos', 'edited', 'snow.webp'));
console.log(`samples written to ${out}/photos`);
