// Hostile and unusual image files, made at test time from real photos with sharp (nothing binary is
// committed): truncated files, wrong extensions, non-images, decompression bombs, animated, 16-bit,
// CMYK, alpha and grey images, every EXIF orientation, broken EXIF, long and non-UTF-8 names.
import { copyFile, mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import sharp, { type Sharp } from 'sharp';
import { HOSTILE_DIR, photo } from './photos.ts';

/** What the engine must make of a file. */
export type Expectation =
  /** Catalogued as a photo (status ok), optionally with this format and oriented size. */
  | { kind: 'ok'; format?: string; width?: number; height?: number }
  /** A per-file problem whose message matches. */
  | { kind: 'error'; message: RegExp }
  /** Not an image by name and content: not catalogued, no problem reported. */
  | { kind: 'ignored' };

export interface BadFile {
  /** Test title. */
  title: string;
  /** File name inside the folder. */
  name: string;
  expect: Expectation;
}

/** The upright source for every generated variant: a real, non-square photo (512×480). */
export const SOURCE_PHOTO = photo('opencv-doc/fruits.jpg');

async function write(dir: string, name: string, data: Buffer | string): Promise<void> {
  await writeFile(join(dir, name), data);
}

/** A JPEG with an APP1 EXIF segment whose content is `tiff` (inserted right after SOI). */
export function withRawExif(jpeg: Buffer, tiff: Buffer): Buffer {
  const payload = Buffer.concat([Buffer.from('Exif\0\0', 'latin1'), tiff]);
  const marker = Buffer.alloc(4);
  marker.writeUInt16BE(0xffe1, 0);
  marker.writeUInt16BE(payload.length + 2, 2);
  return Buffer.concat([jpeg.subarray(0, 2), marker, payload, jpeg.subarray(2)]);
}

/** A little-endian TIFF header whose first IFD is at `offset`, followed by `rest`. */
function tiffHeader(offset: number, rest: Buffer = Buffer.alloc(0)): Buffer {
  const head = Buffer.alloc(8);
  head.write('II', 0, 'latin1');
  head.writeUInt16LE(42, 2);
  head.writeUInt32LE(offset, 4);
  return Buffer.concat([head, rest]);
}

/** Pixel transform that undoes EXIF orientation `n`, so that the tagged file displays upright. */
export function storedForOrientation(upright: Sharp, n: number): Sharp {
  switch (n) {
    case 2: return upright.flop();
    case 3: return upright.rotate(180);
    case 4: return upright.flip();
    case 5: return upright.rotate(90).flip(); // transpose (self-inverse)
    case 6: return upright.rotate(270);
    case 7: return upright.rotate(270).flip(); // transverse (self-inverse)
    case 8: return upright.rotate(90);
    default: return upright;
  }
}

/**
 * Writes every case into `dir` and returns them. The oriented size of SOURCE_PHOTO is 512×480;
 * `orientation-N.jpg` for N in 1..8 all display that same upright photo.
 */
export async function makeBadFiles(dir: string): Promise<BadFile[]> {
  await mkdir(dir, { recursive: true });
  const cases: BadFile[] = [];
  const add = (title: string, name: string, expect: Expectation) => cases.push({ title, name, expect });
  const source = await readFile(SOURCE_PHOTO);
  const { width: W = 0, height: H = 0 } = await sharp(source).metadata();
  const png = await sharp(source).png().toBuffer();
  const webp = await sharp(source).webp({ quality: 80 }).toBuffer();

  // Empty and truncated.
  await write(dir, 'zero.jpg', '');
  add('zero-byte file', 'zero.jpg', { kind: 'error', message: /empty file \(0 bytes\)/ });
  await write(dir, 'truncated.jpg', source.subarray(0, Math.floor(source.length * 0.5)));
  add('truncated JPEG', 'truncated.jpg', { kind: 'error', message: /truncated|corrupt/ });
  await write(dir, 'truncated-end.jpg', source.subarray(0, source.length - 200));
  add('JPEG missing its last 200 bytes', 'truncated-end.jpg', { kind: 'error', message: /truncated|corrupt/ });
  await write(dir, 'truncated.png', png.subarray(0, Math.floor(png.length * 0.5)));
  add('truncated PNG', 'truncated.png', { kind: 'error', message: /truncated|corrupt/ });
  await write(dir, 'truncated.webp', webp.subarray(0, Math.floor(webp.length * 0.5)));
  add('truncated WebP', 'truncated.webp', { kind: 'error', message: /truncated|corrupt/ });
  await write(dir, 'header-only.jpg', source.subarray(0, 4));
  add('JPEG of 4 bytes (magic only)', 'header-only.jpg', { kind: 'error', message: /truncated|corrupt|not a readable/ });

  // Wrong or missing extension: the content decides.
  await write(dir, 'png-named.jpg', png);
  add('PNG named .jpg', 'png-named.jpg', { kind: 'ok', format: 'png', width: W, height: H });
  await write(dir, 'jpeg-named.png', source);
  add('JPEG named .png', 'jpeg-named.png', { kind: 'ok', format: 'jpeg', width: W, height: H });
  await write(dir, 'webp-named.gif', webp);
  add('WebP named .gif', 'webp-named.gif', { kind: 'ok', format: 'webp', width: W, height: H });
  await write(dir, 'no-extension', source);
  add('JPEG without an extension', 'no-extension', { kind: 'ok', format: 'jpeg', width: W, height: H });
  await write(dir, 'photo.dat', await sharp(source).rotate(90).jpeg().toBuffer());
  add('JPEG with an unknown extension', 'photo.dat', { kind: 'ok', format: 'jpeg', width: H, height: W });

  // Not images.
  await write(dir, 'notes.jpg', 'this is a text file, not a photo\n');
  add('text named .jpg', 'notes.jpg', { kind: 'error', message: /not an image/ });
  await write(dir, 'random.png', Buffer.from(Array.from({ length: 4096 }, (_, i) => (i * 7919 + 13) % 251)));
  add('random bytes named .png', 'random.png', { kind: 'error', message: /not an image/ });
  await write(dir, 'drawing.jpg', '<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"></svg>');
  add('SVG named .jpg', 'drawing.jpg', { kind: 'error', message: /unsupported image format: SVG/ });
  await write(dir, 'document.pdf.jpg', '%PDF-1.4\n%âãÏÓ\n1 0 obj\n<<>>\nendobj\n');
  add('PDF named .jpg', 'document.pdf.jpg', { kind: 'error', message: /not an image/ });
  await write(dir, 'notes.txt', 'a text file with a text name');
  add('text file named .txt', 'notes.txt', { kind: 'ignored' });
  await write(dir, 'data.bin', 'binary-looking data that is not an image at all');
  add('non-image with an unknown extension', 'data.bin', { kind: 'ignored' });

  // Decompression bombs and lying headers.
  await copyFile(join(HOSTILE_DIR, 'issue205.jpg'), join(dir, 'claims-64250.jpg'));
  add('header claiming 64250×64250 pixels', 'claims-64250.jpg', { kind: 'error', message: /too large|corrupt|truncated/ });
  await copyFile(join(HOSTILE_DIR, 'large.jpg'), join(dir, 'bomb-22500x33300.jpg'));
  add('22500×33300 pixels (749 MP)', 'bomb-22500x33300.jpg', { kind: 'error', message: /too large: 22500×33300/ });
  const liarPng = Buffer.from(png);
  liarPng.writeUInt32BE(100_000, 16); // IHDR width and height, CRC left stale
  liarPng.writeUInt32BE(100_000, 20);
  await write(dir, 'claims-100000.png', liarPng);
  add('PNG header claiming 100000×100000 pixels', 'claims-100000.png', { kind: 'error', message: /too large|corrupt/ });

  // Unusual but valid images.
  const small = sharp(source).resize(160, 150);
  const frames = await Promise.all([0, 90, 180].map((turn) => sharp(source).rotate(turn).resize(120, 120, { fit: 'fill' }).raw().toBuffer()));
  const animated = await sharp(Buffer.concat(frames), { raw: { width: 120, height: 360, channels: 3, pageHeight: 120 } as never })
    .gif({ loop: 0, delay: [100, 100, 100] })
    .toBuffer();
  await write(dir, 'animated.gif', animated);
  add('animated GIF (3 frames)', 'animated.gif', { kind: 'ok', format: 'gif', width: 120, height: 120 });
  await write(dir, 'sixteen-bit.png', await small.clone().toColourspace('rgb16').png().toBuffer());
  add('16-bit PNG', 'sixteen-bit.png', { kind: 'ok', format: 'png', width: 160, height: 150 });
  await write(dir, 'cmyk.jpg', await small.clone().toColourspace('cmyk').jpeg().toBuffer());
  add('CMYK JPEG', 'cmyk.jpg', { kind: 'ok', format: 'jpeg', width: 160, height: 150 });
  await write(dir, 'alpha.png', await small.clone().ensureAlpha(0.3).png().toBuffer());
  add('PNG with alpha', 'alpha.png', { kind: 'ok', format: 'png', width: 160, height: 150 });
  await write(dir, 'alpha.webp', await small.clone().ensureAlpha(0.5).webp({ alphaQuality: 50 }).toBuffer());
  add('WebP with alpha', 'alpha.webp', { kind: 'ok', format: 'webp', width: 160, height: 150 });
  await write(dir, 'grey.jpg', await small.clone().greyscale().jpeg().toBuffer());
  add('grey JPEG (1 channel)', 'grey.jpg', { kind: 'ok', format: 'jpeg', width: 160, height: 150 });
  await write(dir, 'grey.png', await small.clone().greyscale().png().toBuffer());
  add('grey PNG', 'grey.png', { kind: 'ok', format: 'png', width: 160, height: 150 });
  await write(dir, 'grey-alpha.png', await small.clone().greyscale().ensureAlpha(0.5).png().toBuffer());
  add('grey PNG with alpha', 'grey-alpha.png', { kind: 'ok', format: 'png', width: 160, height: 150 });
  await write(dir, 'grey16.png', await small.clone().toColourspace('grey16').png().toBuffer());
  add('16-bit grey PNG', 'grey16.png', { kind: 'ok', format: 'png', width: 160, height: 150 });
  await write(dir, 'bilevel.png', await small.clone().greyscale().png({ palette: true, colours: 2 }).toBuffer());
  add('2-colour palette PNG', 'bilevel.png', { kind: 'ok', format: 'png', width: 160, height: 150 });
  await write(dir, 'one-pixel.png', await sharp({ create: { width: 1, height: 1, channels: 3, background: '#808080' } }).png().toBuffer());
  add('1×1 pixel PNG', 'one-pixel.png', { kind: 'ok', format: 'png', width: 1, height: 1 });
  await write(dir, 'sliver.png', await sharp({ create: { width: 4000, height: 1, channels: 3, background: '#336699' } }).png().toBuffer());
  add('4000×1 pixel PNG', 'sliver.png', { kind: 'ok', format: 'png', width: 4000, height: 1 });

  // EXIF orientation 1..8, each displaying the same upright photo.
  for (let n = 1; n <= 8; n++) {
    const stored = await storedForOrientation(sharp(source), n).jpeg({ quality: 90 }).toBuffer();
    await write(dir, `orientation-${n}.jpg`, await sharp(stored).withMetadata({ orientation: n }).jpeg({ quality: 90 }).toBuffer());
    add(`EXIF orientation ${n}`, `orientation-${n}.jpg`, { kind: 'ok', format: 'jpeg', width: W, height: H });
  }

  // Broken EXIF: the photo must still be read (EXIF only gives the date and orientation).
  const plain = await sharp(source).resize(200).jpeg().toBuffer();
  await write(dir, 'exif-bad-offset.jpg', withRawExif(plain, tiffHeader(0xfffffff0)));
  add('EXIF whose first IFD points past the end', 'exif-bad-offset.jpg', { kind: 'ok', format: 'jpeg' });
  const hugeCount = Buffer.alloc(2);
  hugeCount.writeUInt16LE(0xffff, 0);
  await write(dir, 'exif-huge-count.jpg', withRawExif(plain, tiffHeader(8, hugeCount)));
  add('EXIF IFD claiming 65535 entries', 'exif-huge-count.jpg', { kind: 'ok', format: 'jpeg' });
  await write(dir, 'exif-garbage.jpg', withRawExif(plain, Buffer.from('not a TIFF header at all, just words')));
  add('EXIF segment with garbage', 'exif-garbage.jpg', { kind: 'ok', format: 'jpeg' });
  const loop = Buffer.alloc(2 + 12 + 4);
  loop.writeUInt16LE(1, 0); // one entry: Orientation = 6
  loop.writeUInt16LE(0x0112, 2);
  loop.writeUInt16LE(3, 4);
  loop.writeUInt32LE(1, 6);
  loop.writeUInt16LE(6, 10);
  loop.writeUInt32LE(8, 14); // next IFD: itself
  await write(dir, 'exif-loop.jpg', withRawExif(plain, tiffHeader(8, loop)));
  add('EXIF whose IFD chain loops', 'exif-loop.jpg', { kind: 'ok', format: 'jpeg' });

  // Long names: 255 bytes, the most Linux allows (ASCII, and 2-byte UTF-8 characters).
  const longAscii = `${'a'.repeat(251)}.jpg`;
  await copyFile(SOURCE_PHOTO, join(dir, longAscii));
  add('file name of 255 bytes (ASCII)', longAscii, { kind: 'ok', format: 'jpeg', width: W, height: H });
  const longUtf8 = `${'é'.repeat(125)}b.png`;
  await write(dir, longUtf8, await small.clone().png().toBuffer());
  add('file name of 255 bytes (UTF-8)', longUtf8, { kind: 'ok', format: 'png', width: 160, height: 150 });
  return cases;
}

/**
 * A file whose name is not valid UTF-8 (bytes 0xff 0xfe in it), holding a real photo. Node lists it
 * with U+FFFD in place of those bytes; that string names no file. Returns the listed name.
 */
export async function makeNonUtf8File(dir: string): Promise<string> {
  const raw = Buffer.concat([Buffer.from('bad-', 'latin1'), Buffer.from([0xff, 0xfe]), Buffer.from('-name.jpg', 'latin1')]);
  await writeFile(Buffer.concat([Buffer.from(dir + '/'), raw]), await readFile(SOURCE_PHOTO));
  return raw.toString('utf8');
}
