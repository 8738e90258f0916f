// RAW recognition and embedded-preview extraction.
// There is no real camera RAW file in shared/photos, and no Debian tool writes one, so:
// - the "not a raw / no preview" paths run on real TIFFs made from real photos by sharp (libtiff);
// - the preview paths run on RAW-structured files built here from real photos (DNG, NEF, RW2, RAF
//   layouts: real JPEG previews, a Bayer mosaic of a real photo as sensor data), and exiftool, an
//   independent reader, must recognise each file and extract the very same preview bytes. These are
//   not camera files: maker notes, compression of the sensor data and many tags are missing.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { after, before, describe, it } from 'node:test';
import sharp from 'sharp';
import { extractRawPreview, jpegSize, rawFormatOf, rawOrientation } from '../electron/engine/decode-raw.ts';

const PHOTOS = resolve(import.meta.dirname, '../../shared/photos');
const PHOTO = join(PHOTOS, 'plasma-workspace-wallpapers/Path_2560x1600.jpg');

function exiftool(args: string[]): Buffer {
  const result = spawnSync('exiftool', args);
  if ((result.error as NodeJS.ErrnoException | undefined)?.code === 'ENOENT') {
    throw new Error('exiftool is not installed: the RAW tests need it (apt-get install -y libimage-exiftool-perl; see .ci/apt-packages-heic.txt)');
  }
  if (result.status !== 0) throw new Error(`exiftool ${args.join(' ')} failed: ${result.stderr}`);
  return result.stdout;
}

// ---- A small little-endian TIFF writer for the RAW-structured fixtures ----

type Field = [tag: number, type: number, count: number, bytes: Buffer];
const SHORT = 3;
const LONG = 4;

const short = (tag: number, ...values: number[]): Field => {
  const bytes = Buffer.alloc(values.length * 2);
  values.forEach((value, i) => bytes.writeUInt16LE(value, i * 2));
  return [tag, SHORT, values.length, bytes];
};
const long = (tag: number, ...values: number[]): Field => {
  const bytes = Buffer.alloc(values.length * 4);
  values.forEach((value, i) => bytes.writeUInt32LE(value, i * 4));
  return [tag, LONG, values.length, bytes];
};
const text = (tag: number, value: string): Field => [tag, 2, value.length + 1, Buffer.from(`${value}\0`, 'latin1')];
const byte = (tag: number, ...values: number[]): Field => [tag, 1, values.length, Buffer.from(values)];
const undefinedBytes = (tag: number, bytes: Buffer): Field => [tag, 7, bytes.length, bytes];

class TiffWriter {
  private chunks: Buffer[];
  private length: number;

  /** `header` is the first 8 bytes; bytes 4-7 (IFD0 offset) are filled in by finish(). */
  constructor(header: Buffer, readonly base = 0) {
    this.chunks = [header];
    this.length = header.length;
  }

  /** Appends bytes (word-aligned), returning their TIFF offset (from `base`, the TIFF header). */
  append(bytes: Buffer): number {
    if (this.length % 2 === 1) this.push(Buffer.alloc(1));
    const at = this.length;
    this.push(bytes);
    return at - this.base;
  }

  /** Writes an IFD; fields whose values are TIFF offsets must already hold them. */
  ifd(fields: Field[], next = 0): number {
    const sorted = [...fields].sort((a, b) => a[0] - b[0]);
    const values = sorted.map(([, , , bytes]) => (bytes.length <= 4 ? null : this.append(bytes)));
    const table = Buffer.alloc(2 + sorted.length * 12 + 4);
    table.writeUInt16LE(sorted.length, 0);
    sorted.forEach(([tag, type, count, bytes], i) => {
      const at = 2 + i * 12;
      table.writeUInt16LE(tag, at);
      table.writeUInt16LE(type, at + 2);
      table.writeUInt32LE(count, at + 4);
      if (values[i] === null) bytes.copy(table, at + 8);
      else table.writeUInt32LE(values[i]!, at + 8);
    });
    table.writeUInt32LE(next, table.length - 4);
    return this.append(table);
  }

  finish(ifd0: number): Buffer {
    const out = Buffer.concat(this.chunks);
    out.writeUInt32LE(ifd0, this.base + 4);
    return out;
  }

  private push(bytes: Buffer): void {
    this.chunks.push(bytes);
    this.length += bytes.length;
  }
}

const TIFF_HEADER = (): Buffer => Buffer.from([0x49, 0x49, 0x2a, 0, 0, 0, 0, 0]);

interface Images {
  preview: Buffer; // 1280×800 JPEG
  thumbnail: Buffer; // 160×100 JPEG
  rgbThumbnail: Buffer; // 160×100 uncompressed RGB
  mosaic: Buffer; // 640×400 16-bit RGGB Bayer mosaic of the photo
}

async function images(): Promise<Images> {
  const photo = sharp(PHOTO);
  const preview = await photo.clone().resize(1280, 800).jpeg({ quality: 85 }).toBuffer();
  const thumbnail = await photo.clone().resize(160, 100).jpeg({ quality: 80 }).toBuffer();
  const rgbThumbnail = await photo.clone().resize(160, 100).removeAlpha().raw().toBuffer();
  const rgb = await photo.clone().resize(640, 400).removeAlpha().raw().toBuffer();
  const mosaic = Buffer.alloc(640 * 400 * 2);
  for (let y = 0; y < 400; y++) {
    for (let x = 0; x < 640; x++) {
      const channel = y % 2 === 0 ? (x % 2 === 0 ? 0 : 1) : x % 2 === 0 ? 1 : 2; // R G / G B
      mosaic.writeUInt16LE(rgb[(y * 640 + x) * 3 + channel] * 64, (y * 640 + x) * 2);
    }
  }
  return { preview, thumbnail, rgbThumbnail, mosaic };
}

function rgbThumbnailFields(writer: TiffWriter, img: Images): Field[] {
  return [
    long(0xfe, 1), long(0x100, 160), long(0x101, 100), short(0x102, 8, 8, 8), short(0x103, 1), short(0x106, 2),
    long(0x111, writer.append(img.rgbThumbnail)), short(0x115, 3), long(0x116, 100), long(0x117, img.rgbThumbnail.length),
  ];
}

function cfaFields(writer: TiffWriter, img: Images): Field[] {
  return [
    long(0xfe, 0), long(0x100, 640), long(0x101, 400), short(0x102, 16), short(0x103, 1), short(0x106, 32803),
    long(0x111, writer.append(img.mosaic)), short(0x115, 1), long(0x116, 400), long(0x117, img.mosaic.length),
    short(0x828d, 2, 2), byte(0x828e, 0, 1, 1, 2),
  ];
}

/** DNG 1.4 layout: IFD0 = small RGB thumbnail; SubIFDs = CFA sensor data and a JPEG preview strip. */
function buildDng(img: Images): Buffer {
  const writer = new TiffWriter(TIFF_HEADER());
  const raw = writer.ifd(cfaFields(writer, img));
  const preview = writer.ifd([
    long(0xfe, 1), long(0x100, 1280), long(0x101, 800), short(0x102, 8, 8, 8), short(0x103, 7), short(0x106, 6),
    long(0x111, writer.append(img.preview)), short(0x115, 3), long(0x116, 800), long(0x117, img.preview.length),
  ]);
  const ifd0 = writer.ifd([
    ...rgbThumbnailFields(writer, img), text(0x10f, 'Canon'), text(0x110, 'Canon EOS 70D'), short(0x112, 6),
    long(0x14a, raw, preview), byte(0xc612, 1, 4, 0, 0), byte(0xc613, 1, 1, 0, 0), text(0xc614, 'Canon EOS 70D'),
  ]);
  return writer.finish(ifd0);
}

/** NEF layout: IFD0 = RGB thumbnail, IFD1 = small JPEG, SubIFDs = full JPEG (JpgFromRaw) and CFA data. */
function buildNef(img: Images): Buffer {
  const writer = new TiffWriter(TIFF_HEADER());
  const jpg = writer.ifd([long(0xfe, 1), short(0x103, 6), long(0x201, writer.append(img.preview)), long(0x202, img.preview.length)]);
  const raw = writer.ifd(cfaFields(writer, img));
  const ifd1 = writer.ifd([short(0x103, 6), long(0x201, writer.append(img.thumbnail)), long(0x202, img.thumbnail.length)]);
  const ifd0 = writer.ifd([...rgbThumbnailFields(writer, img), text(0x10f, 'NIKON CORPORATION'), text(0x110, 'NIKON D750'), long(0x14a, jpg, raw)], ifd1);
  return writer.finish(ifd0);
}

/** Panasonic RW2 layout: 'IIU' magic, a 16-byte signature; the whole JPEG is the value of tag 0x2E in IFD0. */
function buildRw2(img: Images): Buffer {
  const signature = Buffer.from('88e774d8f8251d4d947a6e77822b5d6a', 'hex');
  const writer = new TiffWriter(Buffer.concat([Buffer.from([0x49, 0x49, 0x55, 0, 0, 0, 0, 0]), signature]));
  const ifd0 = writer.ifd([
    undefinedBytes(0x1, Buffer.from('0310', 'latin1')), short(0x2, 640), short(0x3, 400), text(0x10f, 'Panasonic'), text(0x110, 'DMC-GH4'),
    undefinedBytes(0x2e, img.preview),
  ]);
  return writer.finish(ifd0);
}

/** Fujifilm RAF layout: fixed header; big-endian JPEG offset and length at bytes 84 and 88. */
function buildRaf(img: Images): Buffer {
  const header = Buffer.alloc(160);
  header.write('FUJIFILMCCD-RAW 0201FF383501', 0, 'latin1');
  header.write('X-T2', 28, 'latin1');
  header.write('0100', 60, 'latin1');
  header.writeUInt32BE(header.length, 84);
  header.writeUInt32BE(img.preview.length, 88);
  return Buffer.concat([header, img.preview]);
}

describe('RAW files: recognition and embedded JPEG preview', () => {
  let dir: string;
  let img: Images;
  const files: Record<string, string> = {};

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'raw-test-'));
    img = await images();
    const write = (name: string, bytes: Buffer): void => {
      files[name] = join(dir, name);
      writeFileSync(files[name], bytes);
    };
    write('photo.dng', buildDng(img));
    write('photo.nef', buildNef(img));
    write('photo.rw2', buildRw2(img));
    write('photo.raf', buildRaf(img));
    write('photo-lzw.tif', await sharp(PHOTO).resize(640).tiff({ compression: 'lzw' }).toBuffer());
    // 250 rows fit libtiff's one strip of 256 rows: a single JPEG strip, its tables kept apart in JPEGTables.
    write('photo-jpeg.tif', await sharp(PHOTO).resize(400, 250).tiff({ compression: 'jpeg', quality: 80 }).toBuffer());
  });

  after(() => rmSync(dir, { recursive: true, force: true }));

  it('exiftool reads the RAW-structured fixtures as what they claim to be', () => {
    const typeOf = (name: string): string => exiftool(['-s3', '-FileType', files[name]]).toString().trim();
    assert.deepEqual(['photo.dng', 'photo.nef', 'photo.rw2', 'photo.raf'].map(typeOf), ['DNG', 'NEF', 'RW2', 'RAF']);
  });

  for (const [name, exiftoolTag] of [['photo.dng', 'PreviewImage'], ['photo.nef', 'JpgFromRaw'], ['photo.rw2', 'JpgFromRaw'], ['photo.raf', 'PreviewImage']] as const) {
    it(`extracts the largest preview of ${name}, byte for byte what exiftool extracts`, async () => {
      const preview = await extractRawPreview(readFileSync(files[name]));
      assert.ok(preview, 'a preview should be found');
      assert.deepEqual(jpegSize(preview), { width: 1280, height: 800 });
      assert.ok(preview.equals(exiftool(['-b', `-${exiftoolTag}`, files[name]])), `differs from exiftool's ${exiftoolTag}`);
      const meta = await sharp(preview).metadata(); // and it decodes
      assert.deepEqual([meta.format, meta.width, meta.height], ['jpeg', 1280, 800]);
    });
  }

  it('recognises RAW formats by content first, then by name', () => {
    const dng = readFileSync(files['photo.dng']);
    const nef = readFileSync(files['photo.nef']);
    assert.equal(rawFormatOf(dng, 'photo.dng'), 'dng');
    assert.equal(rawFormatOf(dng, 'renamed.tif'), 'dng', 'DNGVersion decides, whatever the name');
    assert.equal(rawFormatOf(nef, 'photo.nef'), 'nef');
    assert.equal(rawFormatOf(nef, 'renamed.tif'), 'nef', 'sensor data + Make NIKON in a .tif');
    assert.equal(rawFormatOf(readFileSync(files['photo.rw2']), 'P100.RW2'), 'rw2');
    assert.equal(rawFormatOf(readFileSync(files['photo.rw2']), 'L100.rwl'), 'rwl');
    assert.equal(rawFormatOf(readFileSync(files['photo.raf']), 'anything.bin'), 'raf');
  });

  it('reads the RAW\'s own orientation (IFD0), which its unrotated preview needs', () => {
    assert.equal(exiftool(['-s3', '-n', '-Orientation', files['photo.dng']]).toString().trim(), '6');
    assert.equal(rawOrientation(readFileSync(files['photo.dng'])), 6);
    assert.equal(rawOrientation(readFileSync(files['photo.nef'])), null, 'no Orientation tag');
    assert.equal(rawOrientation(readFileSync(PHOTO)), null, 'not TIFF-structured');
  });

  it('does not take real TIFFs, JPEGs or other files for RAWs', () => {
    assert.equal(rawFormatOf(readFileSync(files['photo-lzw.tif']), 'photo.tif'), null);
    assert.equal(rawFormatOf(readFileSync(files['photo-jpeg.tif']), 'photo.tiff'), null);
    assert.equal(rawFormatOf(readFileSync(PHOTO), 'photo.nef'), null, 'a JPEG named .nef is not a raw');
    assert.equal(rawFormatOf(Buffer.from('hello world, not an image at all'), 'notes.dng'), null);
  });

  it('finds no preview in real TIFFs (a JPEG-compressed TIFF strip is not a standalone JPEG)', async () => {
    assert.equal(rawFormatOf(readFileSync(files['photo-lzw.tif']), 'photo.nef'), 'nef', 'a TIFF named .nef passes the name rule');
    assert.equal(await extractRawPreview(readFileSync(files['photo-lzw.tif'])), null);
    const jpegTiff = readFileSync(files['photo-jpeg.tif']);
    assert.equal(jpegTiff.readUInt16BE(8), 0xffd8, 'the single strip starts like a JPEG (so this checks the table test)');
    assert.equal(await extractRawPreview(jpegTiff), null);
    assert.equal(await extractRawPreview(readFileSync(PHOTO)), null, 'a JPEG file is not a container of previews');
  });

  it('falls back to a smaller preview when the large one is damaged, and gives null for a cut file', async () => {
    const nef = Buffer.from(readFileSync(files['photo.nef']));
    nef.fill(0, nef.indexOf(img.preview), nef.indexOf(img.preview) + 2); // the full JPEG loses its SOI marker
    const fallback = await extractRawPreview(nef);
    assert.ok(fallback, 'a preview should still be found');
    assert.ok(fallback.equals(img.thumbnail), 'the IFD1 thumbnail should be returned instead');
    assert.deepEqual(jpegSize(fallback), { width: 160, height: 100 });
    const truncatedDng = readFileSync(files['photo.dng']).subarray(0, 100_000); // the IFDs are at the end
    assert.equal(await extractRawPreview(truncatedDng), null);
  });
});
