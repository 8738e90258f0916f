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

/** What the cases are made from, read once. */
interface Sources {
  jpeg: Buffer;
  png: Buffer;
  webp: Buffer;
  /** The source at 160×150. */
  small: () => Sharp;
  /** A 200 px wide JPEG (188 high), for the EXIF cases. */
  plain: Buffer;
}

type Maker = (sources: Sources) => Promise<Buffer | string | { copyOf: string }>;

interface BadFileCase extends BadFile {
  make: Maker;
}

/** The upright size of SOURCE_PHOTO. */
export const SOURCE_SIZE = { width: 512, height: 480 };
const { width: W, height: H } = SOURCE_SIZE;

const hugeCount = Buffer.alloc(2);
hugeCount.writeUInt16LE(0xffff, 0);
const loopingIfd = Buffer.alloc(2 + 12 + 4);
loopingIfd.writeUInt16LE(1, 0); // one entry: Orientation = 6
loopingIfd.writeUInt16LE(0x0112, 2);
loopingIfd.writeUInt16LE(3, 4);
loopingIfd.writeUInt32LE(1, 6);
loopingIfd.writeUInt16LE(6, 10);
loopingIfd.writeUInt32LE(8, 14); // next IFD: itself

const LONG_ASCII = `${'a'.repeat(251)}.jpg`;
const LONG_UTF8 = `${'é'.repeat(125)}b.png`;

const c = (title: string, name: string, expect: Expectation, make: Maker): BadFileCase => ({ title, name, expect, make });
const ok = (format: string, width?: number, height?: number): Expectation => ({ kind: 'ok', format, width, height });
const error = (message: RegExp): Expectation => ({ kind: 'error', message });
const TRUNCATED = /truncated|corrupt/;

const CASES: BadFileCase[] = [
  // Empty and truncated.
  c('zero-byte file', 'zero.jpg', error(/empty file \(0 bytes\)/), async () => ''),
  c('truncated JPEG (half)', 'truncated.jpg', error(TRUNCATED), async (s) => s.jpeg.subarray(0, Math.floor(s.jpeg.length / 2))),
  c('JPEG missing its last 200 bytes', 'truncated-end.jpg', error(TRUNCATED), async (s) => s.jpeg.subarray(0, s.jpeg.length - 200)),
  c('truncated PNG (half)', 'truncated.png', error(TRUNCATED), async (s) => s.png.subarray(0, Math.floor(s.png.length / 2))),
  c('truncated WebP (half)', 'truncated.webp', error(TRUNCATED), async (s) => s.webp.subarray(0, Math.floor(s.webp.length / 2))),
  c('JPEG of 4 bytes (the magic only)', 'header-only.jpg', error(/truncated|corrupt|not a readable/), async (s) => s.jpeg.subarray(0, 4)),

  // Wrong or missing extension: the content decides.
  c('PNG named .jpg', 'png-named.jpg', ok('png', W, H), async (s) => s.png),
  c('JPEG named .png', 'jpeg-named.png', ok('jpeg', W, H), async (s) => s.jpeg),
  c('WebP named .gif', 'webp-named.gif', ok('webp', W, H), async (s) => s.webp),
  c('JPEG without an extension', 'no-extension', ok('jpeg', W, H), async (s) => s.jpeg),
  c('JPEG with an unknown extension (.dat)', 'photo.dat', ok('jpeg', H, W), async (s) => sharp(s.jpeg).rotate(90).jpeg().toBuffer()),

  // Not images.
  c('text named .jpg', 'notes.jpg', error(/not an image/), async () => 'this is a text file, not a photo\n'),
  c('random bytes named .png', 'random.png', error(/not an image/), async () => Buffer.from(Array.from({ length: 4096 }, (_, i) => (i * 7919 + 13) % 251))),
  c('SVG named .jpg', 'drawing.jpg', error(/unsupported image format: SVG/), async () => '<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"></svg>'),
  c('PDF named .jpg', 'document.pdf.jpg', error(/not an image/), async () => '%PDF-1.4\n1 0 obj\n<<>>\nendobj\n'),
  c('text file named .txt (never opened)', 'notes.txt', { kind: 'ignored' }, async () => 'a text file with a text name'),
  c('non-image with an unknown extension', 'data.bin', { kind: 'ignored' }, async () => 'binary-looking data that is not an image at all'),

  // Decompression bombs and lying headers.
  c('header claiming 64250×64250 pixels', 'claims-64250.jpg', error(/too large|corrupt|truncated/), async () => ({ copyOf: join(HOSTILE_DIR, 'issue205.jpg') })),
  c('22500×33300 pixels (749 MP in 8.8 MB)', 'bomb-22500x33300.jpg', error(/too large: 22500×33300/), async () => ({ copyOf: join(HOSTILE_DIR, 'large.jpg') })),
  c('PNG header claiming 100000×100000 pixels', 'claims-100000.png', error(/too large|corrupt/), async (s) => {
    const liar = Buffer.from(s.png);
    liar.writeUInt32BE(100_000, 16); // IHDR width and height, CRC left stale
    liar.writeUInt32BE(100_000, 20);
    return liar;
  }),

  // Unusual but valid images.
  c('animated GIF (3 frames)', 'animated.gif', ok('gif', 120, 120), async (s) => {
    const frames = await Promise.all([0, 90, 180].map((turn) => sharp(s.jpeg).rotate(turn).resize(120, 120, { fit: 'fill' }).raw().toBuffer()));
    return sharp(Buffer.concat(frames), { raw: { width: 120, height: 360, channels: 3, pageHeight: 120 } as never }).gif({ loop: 0, delay: [100, 100, 100] }).toBuffer();
  }),
  c('16-bit PNG', 'sixteen-bit.png', ok('png', 160, 150), async (s) => s.small().toColourspace('rgb16').png().toBuffer()),
  c('CMYK JPEG', 'cmyk.jpg', ok('jpeg', 160, 150), async (s) => s.small().toColourspace('cmyk').jpeg().toBuffer()),
  c('PNG with alpha', 'alpha.png', ok('png', 160, 150), async (s) => s.small().ensureAlpha(0.3).png().toBuffer()),
  c('WebP with alpha', 'alpha.webp', ok('webp', 160, 150), async (s) => s.small().ensureAlpha(0.5).webp({ alphaQuality: 50 }).toBuffer()),
  c('grey JPEG (1 channel)', 'grey.jpg', ok('jpeg', 160, 150), async (s) => s.small().greyscale().jpeg().toBuffer()),
  c('grey PNG', 'grey.png', ok('png', 160, 150), async (s) => s.small().greyscale().png().toBuffer()),
  c('grey PNG with alpha', 'grey-alpha.png', ok('png', 160, 150), async (s) => s.small().greyscale().ensureAlpha(0.5).png().toBuffer()),
  c('16-bit grey PNG', 'grey16.png', ok('png', 160, 150), async (s) => s.small().toColourspace('grey16').png().toBuffer()),
  c('2-colour palette PNG', 'bilevel.png', ok('png', 160, 150), async (s) => s.small().greyscale().png({ palette: true, colours: 2 }).toBuffer()),
  c('1×1 pixel PNG', 'one-pixel.png', ok('png', 1, 1), async () => sharp({ create: { width: 1, height: 1, channels: 3, background: '#808080' } }).png().toBuffer()),
  c('4000×1 pixel PNG', 'sliver.png', ok('png', 4000, 1), async () => sharp({ create: { width: 4000, height: 1, channels: 3, background: '#336699' } }).png().toBuffer()),

  // EXIF orientation 1..8, each file displaying the same upright photo.
  ...[1, 2, 3, 4, 5, 6, 7, 8].map((n) =>
    c(`EXIF orientation ${n}`, `orientation-${n}.jpg`, ok('jpeg', W, H), async (s) => {
      const stored = await storedForOrientation(sharp(s.jpeg), n).jpeg({ quality: 90 }).toBuffer();
      return sharp(stored).withMetadata({ orientation: n }).jpeg({ quality: 90 }).toBuffer();
    }),
  ),

  // Broken EXIF: the photo must still be read (EXIF only gives the date and orientation).
  c('EXIF whose first IFD points past the end', 'exif-bad-offset.jpg', ok('jpeg'), async (s) => withRawExif(s.plain, tiffHeader(0xfffffff0))),
  c('EXIF IFD claiming 65535 entries', 'exif-huge-count.jpg', ok('jpeg'), async (s) => withRawExif(s.plain, tiffHeader(8, hugeCount))),
  c('EXIF segment holding garbage', 'exif-garbage.jpg', ok('jpeg'), async (s) => withRawExif(s.plain, Buffer.from('not a TIFF header at all, just words'))),
  c('EXIF whose IFD chain loops', 'exif-loop.jpg', ok('jpeg'), async (s) => withRawExif(s.plain, tiffHeader(8, loopingIfd))),

  // Long names: 255 bytes, the most Linux allows (ASCII, and 2-byte UTF-8 characters).
  c('file name of 255 bytes (ASCII)', LONG_ASCII, ok('jpeg', W, H), async () => ({ copyOf: SOURCE_PHOTO })),
  c('file name of 255 bytes (UTF-8)', LONG_UTF8, ok('png', 160, 150), async (s) => s.small().png().toBuffer()),
];

/** The cases, known before any file is made (test titles). */
export function badFileCases(): BadFile[] {
  return CASES.map(({ title, name, expect }) => ({ title, name, expect }));
}

/** Writes every case into `dir` and returns them. */
export async function makeBadFiles(dir: string): Promise<BadFile[]> {
  await mkdir(dir, { recursive: true });
  const jpeg = await readFile(SOURCE_PHOTO);
  const metadata = await sharp(jpeg).metadata();
  if (metadata.width !== W || metadata.height !== H) throw new Error(`${SOURCE_PHOTO} is ${metadata.width}×${metadata.height}, expected ${W}×${H}`);
  const sources: Sources = {
    jpeg,
    png: await sharp(jpeg).png().toBuffer(),
    webp: await sharp(jpeg).webp({ quality: 80 }).toBuffer(),
    small: () => sharp(jpeg).resize(160, 150),
    plain: await sharp(jpeg).resize(200).jpeg().toBuffer(),
  };
  for (const item of CASES) {
    const made = await item.make(sources);
    if (typeof made === 'object' && 'copyOf' in made) await copyFile(made.copyOf, join(dir, item.name));
    else await writeFile(join(dir, item.name), made);
  }
  return badFileCases();
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
