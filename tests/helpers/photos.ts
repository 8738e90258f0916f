// Real photos for tests (from ../shared/photos beside the checkout) and edited copies made with sharp.
import { copyFile, mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import sharp from 'sharp';

export const REPO_ROOT = resolve(import.meta.dirname, '..', '..');
export const SHARED_DIR = process.env.PHOTO_DEDUP_SHARED ?? resolve(REPO_ROOT, '..', 'shared');
export const PHOTOS_DIR = join(SHARED_DIR, 'photos');
export const HOSTILE_DIR = join(SHARED_DIR, 'photos-hostile');

/** Distinct photos (none is a look-alike of another), of varied formats and sizes. */
export const DISTINCT_PHOTOS = [
  'darknet/dog.jpg',
  'darknet/eagle.jpg',
  'darknet/horses.jpg',
  'kphotoalbum/blackie.jpg',
  'gcompris-qt-data/ajantaCave.webp',
  'scratch/beach-malibu.jpg',
  'opencv-doc/fruits.jpg',
  'python3-skimage/coffee.png',
  'opencv-doc/baboon.jpg',
  'plasma-workspace-wallpapers/Path_2560x1600.jpg',
];

export function photo(relative: string): string {
  return join(PHOTOS_DIR, relative);
}

export async function tempDir(prefix = 'dedup-test-'): Promise<string> {
  return mkdtemp(join(tmpdir(), prefix));
}

export async function removeDir(dir: string): Promise<void> {
  await rm(dir, { recursive: true, force: true });
}

export async function copyPhoto(relative: string, target: string): Promise<string> {
  await mkdir(dirname(target), { recursive: true });
  await copyFile(photo(relative), target);
  return target;
}

export type Edit = 'resize' | 'recompress' | 'png' | 'webp' | 'crop' | 'brighter' | 'thumbnail' | 'grey';

/** Writes an edited copy of a photo; the format follows the target's extension unless the edit sets it. */
export async function editPhoto(relative: string, edit: Edit, target: string): Promise<string> {
  await mkdir(dirname(target), { recursive: true });
  const source = sharp(photo(relative)).rotate();
  const { width = 0, height = 0 } = await sharp(photo(relative)).metadata();
  switch (edit) {
    case 'resize':
      await source.resize({ width: Math.round(width / 2) }).jpeg({ quality: 85 }).toFile(target);
      break;
    case 'recompress':
      await source.jpeg({ quality: 35 }).toFile(target);
      break;
    case 'png':
      await source.png().toFile(target);
      break;
    case 'webp':
      await source.webp({ quality: 60 }).toFile(target);
      break;
    case 'crop': {
      const dx = Math.round(width * 0.1);
      const dy = Math.round(height * 0.1);
      await source.extract({ left: dx, top: dy, width: width - 2 * dx, height: height - 2 * dy }).jpeg({ quality: 85 }).toFile(target);
      break;
    }
    case 'brighter':
      await source.modulate({ brightness: 1.2 }).jpeg({ quality: 85 }).toFile(target);
      break;
    case 'thumbnail':
      await source.resize({ width: 160 }).jpeg({ quality: 60 }).toFile(target);
      break;
    case 'grey':
      await source.greyscale().jpeg({ quality: 85 }).toFile(target);
      break;
  }
  return target;
}
