// HEIC test files made at test time from real photos in shared/photos, with libheif's own encoder
// (`heif-enc`, Debian package libheif-examples) and exiftool (libimage-exiftool-perl). Nothing binary
// is committed. Two things heif-enc 1.15 cannot write are added by editing its output's boxes:
// an `irot` rotation (what phones write) and a primary item other than the first image. Tests check
// those edits with heif-info (native libheif), so a broken edit fails loudly instead of passing.
import { spawnSync } from 'node:child_process';
import { copyFileSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import sharp from 'sharp';

export const PHOTOS = resolve(import.meta.dirname, '../../../shared/photos');

export interface HeicFixtures {
  /** 1920×1280 photo, plain HEIC (source: `plainSource`). */
  plain: string;
  plainSource: string;
  /** 400×250 photo with EXIF Orientation 6 and no irot: what libheif's heif-enc < 1.16 writes. */
  exifRotated: string;
  /** The same with an irot (90° clockwise) matching EXIF 6: what phones write. Shows as 250×400. */
  irotRotated: string;
  /** Source JPEG of both, carrying EXIF Orientation 6. */
  rotatedSource: string;
  /** Two top-level images (a burst): first `multiSources[0]` (primary), then `multiSources[1]`. */
  multi: string;
  /** The same file with the primary item set to the second image. */
  multiSecondPrimary: string;
  multiSources: [string, string];
  /** plain source with a 128 px thumbnail item (an auxiliary image that must not be decoded instead). */
  withThumbnail: string;
  /** RGBA photo with an alpha plane (an auxiliary image); `alphaSource` is the PNG it came from. */
  withAlpha: string;
  alphaSource: string;
  /** 10 bits per channel. */
  tenBit: string;
  /** plain cut to 60 % of its bytes. */
  truncated: string;
}

function run(command: string, args: string[]): string {
  const result = spawnSync(command, args, { encoding: 'utf8' });
  if (result.error) {
    const code = (result.error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') {
      const pkg = command.startsWith('heif-') ? 'libheif-examples' : 'libimage-exiftool-perl';
      throw new Error(`${command} is not installed: the HEIC fixtures need it (apt-get install -y ${pkg}; see .ci/apt-packages-heic.txt)`);
    }
    throw result.error;
  }
  if (result.status !== 0) throw new Error(`${command} ${args.join(' ')} failed: ${result.stderr || result.stdout}`);
  return result.stdout;
}

/** `heif-info` output (native libheif): lists each top-level image as "image: WxH (id=N)[, primary]". */
export function heifInfo(path: string): string {
  return run('heif-info', [path]);
}

function encode(inputs: string[], output: string, extra: string[] = []): string {
  run('heif-enc', ['-q', '85', ...extra, ...inputs, '-o', output]);
  return output;
}

export async function makeHeicFixtures(dir: string): Promise<HeicFixtures> {
  const plainSource = join(PHOTOS, 'mate-backgrounds/Storm.jpg');
  const plain = encode([plainSource], join(dir, 'plain.heic'));

  const rotatedSource = join(dir, 'rotated-source.jpg');
  copyFileSync(join(PHOTOS, 'plasma-workspace-wallpapers/FallenLeaf_screenshot.jpg'), rotatedSource);
  run('exiftool', ['-q', '-overwrite_original', '-n', '-IFD0:Orientation=6', rotatedSource]);
  const exifRotated = encode([rotatedSource], join(dir, 'exif-rotated.heic'));
  const irotRotated = join(dir, 'irot-rotated.heic');
  writeFileSync(irotRotated, addRotation(readFileSync(exifRotated), 3)); // 3 × 90° anticlockwise = 90° clockwise = EXIF 6

  const multiSources: [string, string] = [
    join(PHOTOS, 'plasma-workspace-wallpapers/Path_screenshot.jpg'),
    join(PHOTOS, 'plasma-workspace-wallpapers/FallenLeaf_screenshot.jpg'),
  ];
  const multi = encode(multiSources, join(dir, 'multi.heic'));
  const secondId = Number(/image: \d+x\d+ \(id=(\d+)\)\s*$/m.exec(heifInfo(multi))?.[1]);
  if (!secondId) throw new Error(`heif-info did not list a second image in ${multi}`);
  const multiSecondPrimary = join(dir, 'multi-second-primary.heic');
  writeFileSync(multiSecondPrimary, setPrimaryItem(readFileSync(multi), secondId));

  const withThumbnail = encode([plainSource], join(dir, 'with-thumbnail.heic'), ['-t', '128']);

  // A real photo with a left-to-right alpha ramp, so the alpha plane has content to compare.
  const alphaSource = join(dir, 'alpha-source.png');
  const base = sharp(join(PHOTOS, 'plasma-workspace-wallpapers/Path_screenshot.jpg'));
  const { width = 0, height = 0 } = await base.metadata();
  const ramp = Buffer.alloc(width * height);
  for (let y = 0; y < height; y++) for (let x = 0; x < width; x++) ramp[y * width + x] = Math.round((x / (width - 1)) * 255);
  await base.joinChannel(ramp, { raw: { width, height, channels: 1 } }).png().toFile(alphaSource);
  const withAlpha = encode([alphaSource], join(dir, 'with-alpha.heic'));

  const sixteenBit = join(dir, 'sixteen-bit.png');
  await sharp(multiSources[0]).toColourspace('rgb16').png().toFile(sixteenBit);
  const tenBit = encode([sixteenBit], join(dir, 'ten-bit.heic'), ['-b', '10']);

  const truncated = join(dir, 'truncated.heic');
  const whole = readFileSync(plain);
  writeFileSync(truncated, whole.subarray(0, Math.floor(whole.length * 0.6)));

  return { plain, plainSource, exifRotated, irotRotated, rotatedSource, multi, multiSecondPrimary, multiSources, withThumbnail, withAlpha, alphaSource, tenBit, truncated };
}

// ---- Box edits (test-only; the decoder itself never parses boxes) ----

interface Box {
  type: string;
  start: number; // offset of the size field
  end: number;
  body: number; // offset of the payload (after size/type, and version/flags for full boxes)
}

const FULL_BOXES = new Set(['meta', 'pitm', 'iloc', 'ipma', 'iinf']);

function boxesIn(file: Buffer, from: number, to: number): Box[] {
  const boxes: Box[] = [];
  for (let at = from; at + 8 <= to; ) {
    const size = file.readUInt32BE(at);
    const type = file.toString('latin1', at + 4, at + 8);
    if (size < 8) throw new Error(`box ${type} at ${at}: 64-bit or open-ended sizes are not handled here`);
    boxes.push({ type, start: at, end: at + size, body: at + 8 + (FULL_BOXES.has(type) ? 4 : 0) });
    at += size;
  }
  return boxes;
}

function child(file: Buffer, parent: Box, type: string): Box {
  const found = boxesIn(file, parent.body, parent.end).find((box) => box.type === type);
  if (!found) throw new Error(`no ${type} box inside ${parent.type}`);
  return found;
}

function metaBox(file: Buffer): Box {
  const meta = boxesIn(file, 0, file.length).find((box) => box.type === 'meta');
  if (!meta) throw new Error('no meta box');
  return meta;
}

function readUint(file: Buffer, at: number, bytes: number): number {
  return bytes === 0 ? 0 : bytes === 2 ? file.readUInt16BE(at) : bytes === 4 ? file.readUInt32BE(at) : Number(file.readBigUInt64BE(at));
}

function writeUint(file: Buffer, at: number, bytes: number, value: number): void {
  if (bytes === 2) file.writeUInt16BE(value, at);
  else if (bytes === 4) file.writeUInt32BE(value, at);
  else if (bytes === 8) file.writeBigUInt64BE(BigInt(value), at);
}

/** Sets the `pitm` (primary item) box to another item. */
export function setPrimaryItem(heic: Buffer, itemId: number): Buffer {
  const out = Buffer.from(heic);
  const pitm = child(out, metaBox(out), 'pitm');
  if (out[pitm.start + 8] !== 0) throw new Error('pitm version 1 is not handled here');
  out.writeUInt16BE(itemId, pitm.body);
  return out;
}

/**
 * Adds an `irot` property (anticlockwise quarter turns) to the primary item: appends the box to ipco,
 * associates it in ipma (as essential), grows the parent boxes and moves every iloc offset that
 * points past the meta box by the bytes inserted.
 */
export function addRotation(heic: Buffer, quarterTurnsAnticlockwise: number): Buffer {
  const meta = metaBox(heic);
  const primaryId = heic.readUInt16BE(child(heic, meta, 'pitm').body);
  const iprp = child(heic, meta, 'iprp');
  const ipco = child(heic, iprp, 'ipco');
  const ipma = child(heic, iprp, 'ipma');
  const propertyIndex = boxesIn(heic, ipco.body, ipco.end).length + 1;

  // Find where the primary item's association list ends in ipma.
  const ipmaVersion = heic[ipma.start + 8];
  const wideIndex = (heic.readUInt32BE(ipma.start + 8) & 1) === 1;
  let at = ipma.body;
  const entries = heic.readUInt32BE(at);
  at += 4;
  let countAt = -1;
  let insertAt = -1;
  for (let i = 0; i < entries; i++) {
    const itemId = ipmaVersion < 1 ? heic.readUInt16BE(at) : heic.readUInt32BE(at);
    at += ipmaVersion < 1 ? 2 : 4;
    const count = heic[at];
    const listEnd = at + 1 + count * (wideIndex ? 2 : 1);
    if (itemId === primaryId) {
      countAt = at;
      insertAt = listEnd;
    }
    at = listEnd;
  }
  if (countAt < 0) throw new Error(`ipma has no entry for the primary item ${primaryId}`);

  const irot = Buffer.from([0, 0, 0, 9, 0x69, 0x72, 0x6f, 0x74, quarterTurnsAnticlockwise & 3]); // 'irot'
  const association = wideIndex ? Buffer.from([0x80 | (propertyIndex >> 8), propertyIndex & 0xff]) : Buffer.from([0x80 | propertyIndex]);
  const added = irot.length + association.length;

  const out = Buffer.concat([
    heic.subarray(0, ipco.end), irot,
    heic.subarray(ipco.end, insertAt), association,
    heic.subarray(insertAt),
  ]);
  // Positions before ipco.end are unchanged; ipma moved by irot.length.
  out[countAt + irot.length] += 1;
  const grow = (box: Box, by: number, shift = 0): void => {
    out.writeUInt32BE(box.end - box.start + by, box.start + shift);
  };
  grow(meta, added);
  grow(iprp, added);
  grow(ipco, irot.length);
  grow(ipma, association.length, irot.length);

  // iloc offsets are file positions: the data after meta (mdat) moved by `added`.
  const iloc = child(out, metaBox(out), 'iloc');
  const version = out[iloc.start + 8];
  let p = iloc.body;
  const offsetSize = out[p] >> 4;
  const lengthSize = out[p] & 15;
  const baseOffsetSize = out[p + 1] >> 4;
  const indexSize = version >= 1 ? out[p + 1] & 15 : 0;
  p += 2;
  const itemCount = version < 2 ? out.readUInt16BE(p) : out.readUInt32BE(p);
  p += version < 2 ? 2 : 4;
  const moved = (offset: number): boolean => offset >= meta.end;
  for (let i = 0; i < itemCount; i++) {
    p += version < 2 ? 2 : 4; // item_ID
    const method = version >= 1 ? out.readUInt16BE(p) & 15 : 0;
    if (version >= 1) p += 2;
    p += 2; // data_reference_index
    const baseAt = p;
    const base = readUint(out, baseAt, baseOffsetSize);
    p += baseOffsetSize;
    const extents = out.readUInt16BE(p);
    p += 2;
    const shiftBase = method === 0 && baseOffsetSize > 0 && moved(base);
    if (shiftBase) writeUint(out, baseAt, baseOffsetSize, base + added);
    for (let e = 0; e < extents; e++) {
      p += indexSize;
      const offset = readUint(out, p, offsetSize);
      if (method === 0 && !shiftBase && offsetSize > 0 && moved(base + offset)) writeUint(out, p, offsetSize, offset + added);
      p += offsetSize + lengthSize;
    }
  }
  return out;
}
