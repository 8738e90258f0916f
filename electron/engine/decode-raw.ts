// Camera RAW files: recognised here, and shown through the JPEG preview the camera embeds in them
// (full-size or close to it in most modern raws). Sensor data is never developed: a RAW without a
// usable embedded JPEG is reported as unsupported by the caller.
//
// Why not exifr: it reads IFD0, IFD1 (the small EXIF thumbnail), Exif and GPS, but not SubIFDs (where
// DNG and NEF keep their large previews), not Panasonic's JpgFromRaw tag (0x2E in RW2's IFD0) and not
// Fuji's RAF header. So the offsets are read here from the TIFF directory structure directly (tags
// JPEGInterchangeFormat/Length, or a single JPEG strip), every candidate is checked to be a complete
// baseline/progressive JPEG, and the one with the most pixels wins.

/** TIFF-based raws by extension (they share the TIFF magic with plain .tif files). */
const TIFF_RAW_EXTENSIONS = new Set(['dng', 'nef', 'nrw', 'arw', 'srf', 'sr2', 'cr2', 'pef', 'srw', 'erf', '3fr', 'mef', 'mos', 'kdc', 'dcr', 'iiq', 'rwl', 'rw2', 'orf']);

/** Maker (EXIF Make, upper-cased prefix) → usual raw extension, for raws renamed to something else. */
const MAKER_FORMAT: [string, string][] = [
  ['NIKON', 'nef'], ['SONY', 'arw'], ['CANON', 'cr2'], ['PENTAX', 'pef'], ['RICOH', 'pef'], ['SAMSUNG', 'srw'],
  ['OLYMPUS', 'orf'], ['OM DIGITAL', 'orf'], ['PANASONIC', 'rw2'], ['LEICA', 'rwl'], ['HASSELBLAD', '3fr'],
  ['PHASE ONE', 'iiq'], ['MAMIYA', 'mef'], ['KODAK', 'dcr'], ['EPSON', 'erf'], ['FUJIFILM', 'raf'],
];

const TAG = {
  newSubfileType: 0xfe,
  compression: 0x103,
  photometric: 0x106,
  make: 0x10f,
  orientation: 0x112,
  stripOffsets: 0x111,
  stripByteCounts: 0x117,
  subIfds: 0x14a,
  jpegOffset: 0x201, // JPEGInterchangeFormat (a.k.a. ThumbnailOffset, JpgFromRawStart, PreviewImageStart)
  jpegLength: 0x202,
  panasonicJpgFromRaw: 0x2e, // RW2: the whole JPEG is the tag's value
  exifIfd: 0x8769,
  dngVersion: 0xc612,
} as const;

const PHOTOMETRIC_CFA = 32803;
const PHOTOMETRIC_LINEAR_RAW = 34892;
const MAX_IFDS = 64; // guards against loops and absurd files
const MAX_ENTRIES = 2000;

const TYPE_SIZE: Record<number, number> = { 1: 1, 2: 1, 3: 2, 4: 4, 5: 8, 6: 1, 7: 1, 8: 2, 9: 4, 10: 8, 11: 4, 12: 8, 13: 4 };

interface Entry {
  type: number;
  count: number;
  /** Where the value bytes are: inside the entry when they fit in 4 bytes, else at an offset. */
  valueAt: number;
}

type Ifd = Map<number, Entry>;

/** A minimal reader of TIFF-structured files (TIFF, DNG, NEF, CR2, ARW, PEF, RW2, ORF...). */
class TiffReader {
  readonly little: boolean;

  constructor(readonly data: Buffer) {
    this.little = data[0] === 0x49; // 'II' little-endian, 'MM' big-endian
  }

  u16(at: number): number {
    return this.little ? this.data.readUInt16LE(at) : this.data.readUInt16BE(at);
  }

  u32(at: number): number {
    return this.little ? this.data.readUInt32LE(at) : this.data.readUInt32BE(at);
  }

  /** Reads one IFD; null when it lies outside the file. */
  ifd(offset: number): { entries: Ifd; next: number } | null {
    if (offset < 8 || offset + 2 > this.data.length) return null;
    const count = this.u16(offset);
    if (count === 0 || count > MAX_ENTRIES || offset + 2 + count * 12 + 4 > this.data.length) return null;
    const entries: Ifd = new Map();
    for (let i = 0; i < count; i++) {
      const at = offset + 2 + i * 12;
      const type = this.u16(at + 2);
      const valueCount = this.u32(at + 4);
      const bytes = (TYPE_SIZE[type] ?? 1) * valueCount;
      entries.set(this.u16(at), { type, count: valueCount, valueAt: bytes <= 4 ? at + 8 : this.u32(at + 8) });
    }
    return { entries, next: this.u32(offset + 2 + count * 12) };
  }

  /** Unsigned integer values of a SHORT/LONG/IFD tag (empty when absent or out of bounds). */
  numbers(ifd: Ifd, tag: number): number[] {
    const entry = ifd.get(tag);
    if (!entry || ![3, 4, 13].includes(entry.type)) return [];
    const size = entry.type === 3 ? 2 : 4;
    if (entry.valueAt + entry.count * size > this.data.length) return [];
    const values: number[] = [];
    for (let i = 0; i < Math.min(entry.count, 1024); i++) values.push(size === 2 ? this.u16(entry.valueAt + i * 2) : this.u32(entry.valueAt + i * 4));
    return values;
  }

  ascii(ifd: Ifd, tag: number): string | null {
    const entry = ifd.get(tag);
    if (!entry || entry.type !== 2 || entry.valueAt + entry.count > this.data.length) return null;
    return this.data.toString('latin1', entry.valueAt, entry.valueAt + entry.count).replace(/\0.*$/s, '').trim();
  }

  /**
   * Every IFD of the file: the IFD0 chain (IFD0, IFD1...), SubIFDs and the Exif IFD, recursively.
   * RW2 ('IIU') and ORF ('IIRO'/'MMOR') keep TIFF's layout with their own magic number.
   */
  allIfds(): Ifd[] {
    const found: Ifd[] = [];
    const seen = new Set<number>();
    const queue = [this.u32(4)];
    while (queue.length > 0 && found.length < MAX_IFDS) {
      const offset = queue.shift()!;
      if (seen.has(offset)) continue;
      seen.add(offset);
      const ifd = this.ifd(offset);
      if (!ifd) continue;
      found.push(ifd.entries);
      if (ifd.next !== 0) queue.push(ifd.next);
      queue.push(...this.numbers(ifd.entries, TAG.subIfds), ...this.numbers(ifd.entries, TAG.exifIfd));
    }
    return found;
  }
}

function ascii(data: Buffer, start: number, length: number): string {
  return data.toString('latin1', start, Math.min(data.length, start + length));
}

function isTiffMagic(data: Buffer): boolean {
  const head = ascii(data, 0, 4);
  return head === 'II*\0' || head === 'MM\0*';
}

/** TIFF layout with a maker's own magic: Panasonic RW2/RWL ('IIU\0'), Olympus ORF ('IIRO', 'IIRS', 'MMOR'). */
function tiffLikeFormat(data: Buffer): 'rw2' | 'orf' | null {
  const head = ascii(data, 0, 4);
  if (head === 'IIU\0') return 'rw2';
  if (head === 'IIRO' || head === 'IIRS' || head === 'MMOR') return 'orf';
  return null;
}

function extensionOf(fileName: string): string {
  const dot = fileName.lastIndexOf('.');
  return dot < 0 ? '' : fileName.slice(dot + 1).toLowerCase();
}

/**
 * Recognises a camera RAW file, returning its usual extension ('dng', 'nef', 'cr2', 'raf'...) or null.
 * The rule, content first:
 * 1. A maker magic decides alone: RAF ('FUJIFILMCCD-RAW'), RW2 ('IIU'; 'rwl' when so named), ORF
 *    ('IIRO'/'IIRS'/'MMOR'), CR2 (TIFF magic + 'CR' and version 2 at byte 8), CR3 (ISO box 'ftypcrx ').
 * 2. TIFF magic with a DNGVersion tag in IFD0 is a DNG, whatever its name.
 * 3. Other TIFF-magic files are raws when named like one (.nef, .arw, .pef, .srw, ...): those formats
 *    are TIFF with maker data, and the name is what tells them apart from a .tif.
 * 4. A TIFF-magic file with another name is still a raw when it holds sensor data (CFA or LinearRaw
 *    photometric in any IFD); it is named after its maker (EXIF Make), or 'raw' when unknown.
 * Everything else, plain TIFFs included, is not a raw (null).
 */
export function rawFormatOf(data: Buffer, fileName: string): string | null {
  if (data.length < 16) return null;
  const extension = extensionOf(fileName);
  if (ascii(data, 0, 15) === 'FUJIFILMCCD-RAW') return 'raf';
  if (ascii(data, 4, 8) === 'ftypcrx ') return 'cr3';
  const tiffLike = tiffLikeFormat(data);
  if (tiffLike === 'rw2') return extension === 'rwl' ? 'rwl' : 'rw2';
  if (tiffLike === 'orf') return 'orf';
  if (!isTiffMagic(data)) return null;
  if (ascii(data, 8, 2) === 'CR' && data[10] === 2) return 'cr2';

  const reader = new TiffReader(data);
  const ifd0 = reader.ifd(reader.u32(4))?.entries;
  if (ifd0?.has(TAG.dngVersion)) return 'dng';
  if (TIFF_RAW_EXTENSIONS.has(extension)) return extension;

  const ifds = reader.allIfds();
  const hasSensorData = ifds.some((ifd) => {
    const photometric = reader.numbers(ifd, TAG.photometric)[0];
    return photometric === PHOTOMETRIC_CFA || photometric === PHOTOMETRIC_LINEAR_RAW;
  });
  if (!hasSensorData) return null;
  const make = (ifd0 && reader.ascii(ifd0, TAG.make)?.toUpperCase()) ?? '';
  return MAKER_FORMAT.find(([prefix]) => make.startsWith(prefix))?.[1] ?? 'raw';
}

/**
 * Size of a complete JPEG stream (with its own quantisation and Huffman tables, baseline or
 * progressive), or null: lossless JPEG (raw sensor data in CR2/DNG) and the abbreviated streams of
 * JPEG-compressed TIFF strips are not previews anyone can decode on their own.
 */
export function jpegSize(data: Buffer): { width: number; height: number } | null {
  if (data.length < 4 || data[0] !== 0xff || data[1] !== 0xd8) return null;
  let hasQuantTables = false;
  let hasHuffmanTables = false;
  let at = 2;
  while (at + 4 <= data.length) {
    if (data[at] !== 0xff) return null;
    const marker = data[at + 1];
    if (marker === 0xff) { at++; continue; } // fill byte
    const length = data.readUInt16BE(at + 2);
    if (marker === 0xdb) hasQuantTables = true;
    if (marker === 0xc4) hasHuffmanTables = true;
    if (marker === 0xc0 || marker === 0xc1 || marker === 0xc2) {
      if (at + 9 > data.length) return null;
      const height = data.readUInt16BE(at + 5);
      const width = data.readUInt16BE(at + 7);
      // Tables may also follow SOF (before SOS); look on for them.
      let next = at + 2 + length;
      while (!(hasQuantTables && hasHuffmanTables) && next + 4 <= data.length && data[next] === 0xff && data[next + 1] !== 0xda) {
        if (data[next + 1] === 0xdb) hasQuantTables = true;
        if (data[next + 1] === 0xc4) hasHuffmanTables = true;
        next += 2 + data.readUInt16BE(next + 2);
      }
      return hasQuantTables && hasHuffmanTables && width > 0 && height > 0 ? { width, height } : null;
    }
    if ((marker >= 0xc3 && marker <= 0xcf && marker !== 0xc4 && marker !== 0xc8 && marker !== 0xcc) || marker === 0xda || marker === 0xd9) return null;
    at += 2 + length;
  }
  return null;
}

interface Candidate {
  offset: number;
  length: number;
}

function tiffCandidates(data: Buffer): Candidate[] {
  const reader = new TiffReader(data);
  const candidates: Candidate[] = [];
  for (const ifd of reader.allIfds()) {
    const jpegOffset = reader.numbers(ifd, TAG.jpegOffset)[0];
    const jpegLength = reader.numbers(ifd, TAG.jpegLength)[0];
    if (jpegOffset && jpegLength) candidates.push({ offset: jpegOffset, length: jpegLength });

    // A JPEG-compressed image stored as one strip: DNG previews, CR2's IFD0 image.
    const compression = reader.numbers(ifd, TAG.compression)[0];
    const strips = reader.numbers(ifd, TAG.stripOffsets);
    const stripBytes = reader.numbers(ifd, TAG.stripByteCounts);
    if ((compression === 6 || compression === 7) && strips.length === 1 && stripBytes.length === 1) {
      candidates.push({ offset: strips[0], length: stripBytes[0] });
    }

    const panasonic = ifd.get(TAG.panasonicJpgFromRaw);
    if (panasonic && panasonic.type === 7) candidates.push({ offset: panasonic.valueAt, length: panasonic.count });
  }
  return candidates;
}

/** RAF: big-endian offset and length of the embedded JPEG at bytes 84 and 88 of the header. */
function rafCandidates(data: Buffer): Candidate[] {
  if (data.length < 92) return [];
  return [{ offset: data.readUInt32BE(84), length: data.readUInt32BE(88) }];
}

/**
 * The largest embedded JPEG preview of a RAW file (DNG, CR2, NEF, ARW, PEF, SRW, RW2, RAF, ORF's
 * IFD previews...), as a standalone JPEG file's bytes; null when there is none.
 * Not covered: CR3 (ISO media boxes) and previews kept only inside maker notes (most ORF, some PEF).
 */
export async function extractRawPreview(data: Buffer): Promise<Buffer | null> {
  let candidates: Candidate[];
  if (ascii(data, 0, 15) === 'FUJIFILMCCD-RAW') candidates = rafCandidates(data);
  else if (data.length >= 8 && (isTiffMagic(data) || tiffLikeFormat(data))) candidates = tiffCandidates(data);
  else return null;

  let best: { bytes: Buffer; pixels: number } | null = null;
  for (const { offset, length } of candidates) {
    if (offset <= 0 || length <= 0 || offset + length > data.length) continue; // truncated file or bogus tag
    const bytes = data.subarray(offset, offset + length);
    const size = jpegSize(bytes);
    if (!size) continue;
    const pixels = size.width * size.height;
    if (!best || pixels > best.pixels || (pixels === best.pixels && bytes.length > best.bytes.length)) best = { bytes, pixels };
  }
  // A copy, so the caller does not keep the whole RAW file alive through the preview.
  return best ? Buffer.from(best.bytes) : null;
}

/**
 * EXIF Orientation (1-8) of a TIFF-structured RAW, from IFD0; null when absent or not TIFF-structured.
 * Cameras store the embedded preview unrotated and record the rotation only here, so the preview must
 * be turned by this value unless the preview JPEG carries an Orientation of its own.
 */
export function rawOrientation(data: Buffer): number | null {
  if (data.length < 8 || !(isTiffMagic(data) || tiffLikeFormat(data))) return null;
  const reader = new TiffReader(data);
  const ifd0 = reader.ifd(reader.u32(4))?.entries;
  const value = ifd0 ? reader.numbers(ifd0, TAG.orientation)[0] : undefined;
  return value !== undefined && value >= 1 && value <= 8 ? value : null;
}
