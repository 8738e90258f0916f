// One decode per file, with sharp: EXIF orientation applied, a pixel limit against decompression bombs,
// and from that single decode every output the engine needs: the model inputs (one per view), the
// 32×32 grey image for the perceptual hash, and the facts (format, oriented size, capture date).
import exifr from 'exifr';
import sharp, { type Metadata, type Sharp, type SharpOptions } from 'sharp';
import { PHASH_INPUT_SIZE, phashFromGrey, phashWithTurns } from './phash.ts';
import { decodeHeic, readHeicExif } from './decode-heic.ts';
import { extractRawPreview, rawFormatOf, rawOrientation } from './decode-raw.ts';
import { bytesWords } from './bits.ts';
import { boxResample, boxResampleRegions } from './pixels.ts';
import { greyscale } from './grey.ts';
import { sniffFormat, type SniffedFormat } from './sniff.ts';

/**
 * What the model sees of the (oriented, squashed) image: the whole, a centred or corner crop, or the
 * whole turned or mirrored. defaults.ts picks the views the engine uses; the eval measures them all.
 */
export type ModelView =
  | 'full'
  | 'center90'
  | 'center80'
  | 'center70'
  | 'center60'
  | 'topLeft75'
  | 'topRight75'
  | 'bottomLeft75'
  | 'bottomRight75'
  | 'rotate90'
  | 'rotate180'
  | 'rotate270'
  | 'mirror';

interface ViewSpec {
  /** Side of the square crop as a fraction of the image, and where it sits (0 = left/top, 1 = right/bottom). */
  fraction: number;
  x: number;
  y: number;
  /** Clockwise turn of the whole image, in degrees. */
  turn: 0 | 90 | 180 | 270;
  mirror: boolean;
}

const view = (fraction: number, x = 0.5, y = 0.5, turn: ViewSpec['turn'] = 0, mirror = false): ViewSpec => ({ fraction, x, y, turn, mirror });

export const VIEW_SPECS: Record<ModelView, ViewSpec> = {
  full: view(1),
  center90: view(0.9),
  center80: view(0.8),
  center70: view(0.7),
  center60: view(0.6),
  topLeft75: view(0.75, 0, 0),
  topRight75: view(0.75, 1, 0),
  bottomLeft75: view(0.75, 0, 1),
  bottomRight75: view(0.75, 1, 1),
  rotate90: view(1, 0.5, 0.5, 90),
  rotate180: view(1, 0.5, 0.5, 180),
  rotate270: view(1, 0.5, 0.5, 270),
  mirror: view(1, 0.5, 0.5, 0, true),
};

/** The decoded intermediate every output is cut from (twice the model's input size). */
const BASE_SIZE = 448;

/** A square window of the (squashed) image: side as a fraction, position 0 = left/top … 1 = right/bottom. */
export interface CropWindow {
  size: number;
  x: number;
  y: number;
}

/**
 * The windows whose pHashes join the variant hashes, so that a cropped copy (whose whole-image hash
 * is one of these) is found by hash: six sizes, 95 % to 70 % of the sides, on a 3×3 grid of
 * positions. Chosen with npm run eval. A 95 % window also matches the next frame of a panning video,
 * which is why match.ts only lets a photo be a crop of one with more pixels (a video's frames all
 * have the same size).
 */
export const CROP_WINDOWS: CropWindow[] = [0.95, 0.9, 0.85, 0.8, 0.75, 0.7].flatMap((size) => [0, 0.5, 1].flatMap((y) => [0, 0.5, 1].map((x) => ({ size, x, y }))));

/**
 * Version of what decodeImage computes for matching. The catalog records it with the model: photos
 * catalogued with another version are decoded and embedded again, since their signals would not
 * compare with new ones. 2: the 95 % crop windows, and the picture's size without trimmed borders.
 */
export const SIGNALS_VERSION = 2;

/** Layout of DecodedImage.phashVariants: the rotations/mirrors, one hash per crop window, then the detail hash. */
export const ROTATION_VARIANT_COUNT = 7;
export const DETAIL_WORDS = 4;

/**
 * Where the parts of a variant list of `count` hashes lie, as [start, end) ranges. Lists catalogued
 * by older versions are read as they were made: 7 hashes (rotations only), or rotations + fewer crop
 * windows + detail.
 */
function variantRanges(count: number): { rotations: [number, number]; windows: [number, number]; detail: [number, number] | null } {
  const rotationsEnd = Math.min(count, ROTATION_VARIANT_COUNT);
  if (count < ROTATION_VARIANT_COUNT + DETAIL_WORDS) return { rotations: [0, rotationsEnd], windows: [rotationsEnd, rotationsEnd], detail: null };
  return { rotations: [0, ROTATION_VARIANT_COUNT], windows: [ROTATION_VARIANT_COUNT, count - DETAIL_WORDS], detail: [count - DETAIL_WORDS, count] };
}

/** A variant list split by that layout (variantRanges). */
export function splitVariants(variants: bigint[]): { rotations: bigint[]; windows: bigint[]; detail: bigint[] | null } {
  const { rotations, windows, detail } = variantRanges(variants.length);
  return { rotations: variants.slice(...rotations), windows: variants.slice(...windows), detail: detail && variants.slice(...detail) };
}

/**
 * A photo's turned and cropped hashes where the catalog keeps them (phash.ts hashesToBytes: 8-byte
 * big-endian hashes end to end): the first `turned` hashes of `bytes` are the rotations and mirrors,
 * the next `cropped` the crop windows (the detail hash after them is not among these). Read in
 * place: at a million photos, copying them out as words took 7.5 s and 0.5 GB, once per session.
 */
export interface VariantHashes {
  bytes: Uint8Array;
  turned: number;
  cropped: number;
}

/** Where the turned and cropped hashes of a catalogued variant list lie (its layout by variantRanges). */
export function variantHashesOf(bytes: Uint8Array): VariantHashes {
  const { rotations, windows } = variantRanges(bytes.length >> 3);
  return { bytes, turned: rotations[1], cropped: windows[1] - windows[0] };
}

/** The turned and cropped hashes as [lo, hi] words (bits.ts hashWords' layout), copied out for the hash-index searches. */
export function variantWords({ bytes, turned, cropped }: VariantHashes): { rotations: Uint32Array; windows: Uint32Array } {
  return { rotations: bytesWords(bytes, 0, turned), windows: bytesWords(bytes, turned, turned + cropped) };
}

export interface DecodeOptions {
  /** Model input size in pixels (square), from the model manifest. */
  inputSize: number;
  views: ModelView[];
  maxMegapixels: number;
  /** Also compute the variant hashes (rotations/mirrors, crop windows, detail): see DecodedImage.phashVariants. */
  rotationVariants: boolean;
  /** Crop windows to hash (default CROP_WINDOWS); the eval tries others. */
  cropWindows?: CropWindow[];
  /** Cut off flat borders (letterbox bars, frames) before anything is computed; default true. */
  trimBorders?: boolean;
}

export interface DecodedImage {
  format: string;
  /** Size after EXIF orientation. */
  width: number;
  height: number;
  /** The size of what is left once flat borders are cut off (see trimBorders); the full size when none are. */
  content: { width: number; height: number };
  takenAt: string | null;
  /** One model input per requested view: inputSize×inputSize×3 floats, RGB 0..255, NHWC. */
  modelInputs: Float32Array[];
  /** 64-bit DCT pHash of the whole image. */
  phash: bigint;
  /**
   * Further 64-bit hashes (null unless rotationVariants): the pHashes of the 7 rotations/mirrors, then
   * of each crop window, then the 256-bit detail hash in DETAIL_WORDS words. They are kept as one list
   * because the catalog stores that list as it is; match.ts reads it by this layout.
   */
  phashVariants: bigint[] | null;
}

export type DecodeProblem = 'empty' | 'not-image' | 'unsupported' | 'too-large' | 'corrupt';

/** A problem with one file, phrased for the user; `kind` separates "we can't" from "it's broken". */
export class DecodeError extends Error {
  constructor(message: string, readonly kind: DecodeProblem = 'corrupt') {
    super(message);
    this.name = 'DecodeError';
  }

  get unsupported(): boolean {
    return this.kind === 'unsupported';
  }
}

const SHARP_FORMATS = new Set<SniffedFormat>(['jpeg', 'png', 'webp', 'gif', 'tiff', 'avif', 'heic']);

export async function decodeImage(bytes: Buffer, fileName: string, options: DecodeOptions): Promise<DecodedImage> {
  if (bytes.length === 0) throw new DecodeError('empty file (0 bytes)', 'empty');
  const sniffed = sniffFormat(bytes);
  const rawFormat = rawFormatOf(bytes, fileName);
  if (rawFormat) return decodeRaw(bytes, rawFormat, options);
  if (sniffed === null) throw new DecodeError('not an image: the content is not a known image format', 'not-image');
  if (!SHARP_FORMATS.has(sniffed)) throw new DecodeError(`unsupported image format: ${sniffed.toUpperCase()}`, 'unsupported');

  try {
    return await decodeWithSharp(bytes, sniffed, options);
  } catch (error) {
    // libvips here has no HEVC decoder: any HEIC it cannot read goes to the WebAssembly decoder.
    if (sniffed === 'heic' && !(error instanceof DecodeError && error.kind === 'too-large')) return decodeHeicFallback(bytes, options, error as Error);
    throw asDecodeError(error);
  }
}

/** Opens any supported file as a sharp pipeline, oriented (for thumbnails and the compare view). */
export async function openOriented(bytes: Buffer, fileName: string, maxMegapixels: number): Promise<Sharp> {
  const sniffed = sniffFormat(bytes);
  const rawFormat = rawFormatOf(bytes, fileName);
  if (rawFormat) {
    const preview = await rawPreview(bytes, rawFormat);
    await checkedMetadata(preview, maxMegapixels);
    return orientedPipeline(preview, maxMegapixels, await previewOrientation(bytes, preview));
  }
  if (sniffed === 'heic') {
    try {
      await checkedMetadata(bytes, maxMegapixels);
      const image = sharp(bytes, sharpInputOptions(maxMegapixels)).rotate();
      await image.clone().resize(8, 8).raw().toBuffer(); // probes that libvips can actually decode it
      return image;
    } catch {
      const decoded = await decodeHeic(bytes, { maxPixels: Math.round(maxMegapixels * 1e6) });
      return sharp(decoded.pixels, { raw: { width: decoded.width, height: decoded.height, channels: 4 } });
    }
  }
  await checkedMetadata(bytes, maxMegapixels);
  return sharp(bytes, sharpInputOptions(maxMegapixels)).rotate();
}

/** sharp on encoded bytes, oriented by their own EXIF tag, or by `orientation` when given. */
function orientedPipeline(bytes: Buffer, maxMegapixels: number, orientation: number | null): Sharp {
  const image = sharp(bytes, sharpInputOptions(maxMegapixels));
  return orientation === null ? image.rotate() : applyOrientation(image, orientation);
}

function sharpInputOptions(maxMegapixels: number): SharpOptions {
  // failOn 'truncated': a cut-off file is an error, minor encoder warnings in real photos are not.
  return { limitInputPixels: Math.round(maxMegapixels * 1e6), failOn: 'truncated', sequentialRead: true };
}

async function checkedMetadata(bytes: Buffer, maxMegapixels: number): Promise<Metadata> {
  let metadata: Metadata;
  try {
    metadata = await sharp(bytes, { limitInputPixels: false }).metadata();
  } catch (error) {
    throw asDecodeError(error);
  }
  const { width = 0, height = 0 } = metadata;
  if (width * height > maxMegapixels * 1e6) {
    throw new DecodeError(`image too large: ${width}×${height} pixels (${((width * height) / 1e6).toFixed(0)} MP) is over the ${maxMegapixels} MP limit`, 'too-large');
  }
  return metadata;
}

async function decodeWithSharp(bytes: Buffer, format: SniffedFormat, options: DecodeOptions, forcedOrientation: number | null = null): Promise<DecodedImage> {
  const metadata = await checkedMetadata(bytes, options.maxMegapixels);
  const swapped = (forcedOrientation ?? metadata.orientation ?? 1) >= 5;
  const width = swapped ? metadata.height! : metadata.width!;
  const height = swapped ? metadata.width! : metadata.height!;
  const base = await orientedPipeline(bytes, options.maxMegapixels, forcedOrientation)
    .resize(BASE_SIZE, BASE_SIZE, { fit: 'fill' })
    .flatten({ background: '#ffffff' })
    .toColourspace('srgb')
    .raw({ depth: 'uchar' })
    .toBuffer({ resolveWithObject: true });
  if (base.info.channels !== 3) throw new DecodeError(`unexpected decoder output with ${base.info.channels} channels`);
  const { kept, ...outputs } = await outputsFromBase(base.data, options);
  return {
    format: sharpFormatName(metadata.format, format),
    width,
    height,
    content: contentSize(width, height, kept),
    takenAt: await captureDate(bytes),
    ...outputs,
  };
}

/** The photo's size without the cut borders: `kept` is the share of each side that stayed. */
function contentSize(width: number, height: number, kept: { x: number; y: number }): { width: number; height: number } {
  return { width: Math.round(width * kept.x), height: Math.round(height * kept.y) };
}

/** Cuts every output from the decoded BASE_SIZE² RGB image; `kept`: the share of each side left after trimming borders. */
async function outputsFromBase(decoded: Buffer, options: DecodeOptions): Promise<Pick<DecodedImage, 'modelInputs' | 'phash' | 'phashVariants'> & { kept: { x: number; y: number } }> {
  const raw = { raw: { width: BASE_SIZE, height: BASE_SIZE, channels: 3 as const } };
  // Flat borders are cut off and the rest squashed back to the base size: a letterboxed copy then
  // looks like its original to every signal.
  let base = decoded;
  const box = options.trimBorders === false ? null : contentBox(decoded, BASE_SIZE);
  if (box) base = await sharp(decoded, raw).extract(box).resize(BASE_SIZE, BASE_SIZE, { fit: 'fill' }).raw().toBuffer();
  const modelInputs = await Promise.all(
    options.views.map(async (name) => {
      const spec = VIEW_SPECS[name];
      const side = Math.round(BASE_SIZE * spec.fraction);
      let pipeline = sharp(base, raw);
      if (side !== BASE_SIZE) {
        const left = Math.round((BASE_SIZE - side) * spec.x);
        const top = Math.round((BASE_SIZE - side) * spec.y);
        pipeline = pipeline.extract({ left, top, width: side, height: side });
      }
      if (spec.turn) pipeline = pipeline.rotate(spec.turn);
      if (spec.mirror) pipeline = pipeline.flop();
      const pixels = await pipeline.resize(options.inputSize, options.inputSize, { fit: 'fill' }).raw().toBuffer();
      return new Float32Array(pixels); // converts natively (Float32Array.from iterates: 1–2 ms a photo)
    }),
  );
  // Both grey images from one greyscale of the base (libvips' own values: grey.ts), each resized by
  // libvips: the same bytes as greyscale() and resize() in one pipeline, at half the cost.
  const greyBase = await greyscale(base);
  const greyRaw = { raw: { width: BASE_SIZE, height: BASE_SIZE, channels: 1 as const } };
  const greyOfSize = (size: number) => sharp(greyBase, greyRaw).resize(size, size, { fit: 'fill' }).toColourspace('b-w').raw().toBuffer();
  const grey = await greyOfSize(PHASH_INPUT_SIZE);
  const fine = options.rotationVariants ? await greyOfSize(WINDOW_SOURCE_SIZE) : null;
  const { phash, phashVariants } = hashesOfGreys(grey, fine, options.cropWindows ?? CROP_WINDOWS);
  const kept = box ? { x: box.width / BASE_SIZE, y: box.height / BASE_SIZE } : { x: 1, y: 1 };
  return { modelInputs, phash, phashVariants, kept };
}

/**
 * The pHash of the 32×32 grey image (one byte a pixel) and, given the 128×128 one, the variant
 * hashes (DecodedImage.phashVariants): the turns from the pHash's coefficients, the crop windows
 * and the detail hash from the finer image.
 */
export function hashesOfGreys(grey: Uint8Array, fine: Uint8Array | null, cropWindows: CropWindow[]): Pick<DecodedImage, 'phash' | 'phashVariants'> {
  const { phash, turns } = phashWithTurns(new Float64Array(grey.subarray(0, PHASH_INPUT_SIZE * PHASH_INPUT_SIZE)));
  if (!fine) return { phash, phashVariants: null };
  const fineValues = new Float64Array(fine.subarray(0, WINDOW_SOURCE_SIZE * WINDOW_SOURCE_SIZE));
  const windows = windowGreys(fineValues, cropWindows).map(phashFromGrey);
  return { phash, phashVariants: [...turns, ...windows, ...detailHash(fineValues)] };
}

// ---- Detail hash, crop-window hashes, border trimming ----

/** The grey image crop windows and the detail hash are cut from. */
const WINDOW_SOURCE_SIZE = 128;
const DETAIL_INPUT_SIZE = 64;
const DETAIL_LOW = 16;

// cos((2x+1)·u·π / 2N) for the 16 lowest u of a 64-point DCT.
const DETAIL_COS = (() => {
  const table = new Float64Array(DETAIL_LOW * DETAIL_INPUT_SIZE);
  for (let u = 0; u < DETAIL_LOW; u++) for (let x = 0; x < DETAIL_INPUT_SIZE; x++) table[u * DETAIL_INPUT_SIZE + x] = Math.cos(((2 * x + 1) * u * Math.PI) / (2 * DETAIL_INPUT_SIZE));
  return table;
})();

/**
 * 256-bit detail hash: the signs of the 16×16 lowest DCT coefficients (DC left out) of the 64×64
 * grey image. Finer than the pHash (8×8 of 32×32): resizing, re-encoding and colour edits keep the
 * signs, while another frame of a video or burst (a small move of camera or subject) flips many.
 */
function detailHash(fine: Float64Array): bigint[] {
  const n = DETAIL_INPUT_SIZE;
  const grey = boxResample(fine, WINDOW_SOURCE_SIZE, 0, 0, WINDOW_SOURCE_SIZE, n);
  const rows = new Float64Array(n * DETAIL_LOW);
  for (let y = 0; y < n; y++) {
    for (let u = 0; u < DETAIL_LOW; u++) {
      let sum = 0;
      for (let x = 0; x < n; x++) sum += grey[y * n + x] * DETAIL_COS[u * n + x];
      rows[y * DETAIL_LOW + u] = sum;
    }
  }
  const words = new Array<bigint>(DETAIL_WORDS).fill(0n);
  for (let v = 0; v < DETAIL_LOW; v++) {
    for (let u = 0; u < DETAIL_LOW; u++) {
      if (u === 0 && v === 0) continue; // DC: overall brightness
      let sum = 0;
      for (let y = 0; y < n; y++) sum += rows[y * DETAIL_LOW + u] * DETAIL_COS[v * n + y];
      const bit = v * DETAIL_LOW + u;
      if (sum > 0) words[bit >> 6] |= 1n << BigInt(bit & 63);
    }
  }
  return words;
}

/** The 32×32 grey inputs of the pHash for the crop windows. */
function windowGreys(fine: Float64Array, windows: CropWindow[]): Float64Array[] {
  const regions = windows.map((window) => {
    const side = WINDOW_SOURCE_SIZE * window.size;
    return { left: (WINDOW_SOURCE_SIZE - side) * window.x, top: (WINDOW_SOURCE_SIZE - side) * window.y, side };
  });
  return boxResampleRegions(fine, WINDOW_SOURCE_SIZE, regions, PHASH_INPUT_SIZE);
}

/** A line of pixels counts as border when nearly all of it is within this of the border colour (0..255 per channel). */
const BORDER_TOLERANCE = 10;
const BORDER_SHARE = 0.99;
/** A bar is black or white: every channel of its colour at most / at least this. */
const BAR_DARK = 32;
const BAR_LIGHT = 224;
/** Never cut more than this of a side: a photo that is mostly flat is kept whole. */
const MAX_BORDER = 0.3;

/** The region inside flat borders (bars of one colour along the edges), or null when there are none. */
export function contentBox(rgb: Buffer, size: number): { left: number; top: number; width: number; height: number } | null {
  const row = size * 3;
  // Each side: its outermost line's first byte, the step to the next line inward, the step along a line.
  const top = flatLines(rgb, size, 0, row, 3);
  const bottom = flatLines(rgb, size, (size - 1) * row, -row, 3);
  const left = flatLines(rgb, size, 0, 3, row);
  const right = flatLines(rgb, size, (size - 1) * 3, -3, row);
  // One or two lines are edge noise of the resize, not a border.
  const cut = (lines: number) => (lines >= 3 ? lines : 0);
  const box = { left: cut(left), top: cut(top), width: size - cut(left) - cut(right), height: size - cut(top) - cut(bottom) };
  return box.width === size && box.height === size ? null : box;
}

/**
 * How many lines from one side are flat and of the colour of the outermost line. Only black or white
 * bars count: a flat blue sky is part of the photo, and how much of it looks flat changes with
 * every re-encoding.
 */
function flatLines(rgb: Uint8Array, size: number, start: number, lineStep: number, pixelStep: number): number {
  const [r, g, b] = [0, 1, 2].map((c) => lineMedian(rgb, size, start + c, pixelStep));
  if (!(r <= BAR_DARK && g <= BAR_DARK && b <= BAR_DARK) && !(r >= BAR_LIGHT && g >= BAR_LIGHT && b >= BAR_LIGHT)) return 0;
  let lines = 0;
  for (; lines < Math.floor(size * MAX_BORDER); lines++) {
    let close = 0;
    for (let i = 0, p = start + lines * lineStep; i < size; i++, p += pixelStep) {
      if (Math.abs(rgb[p] - r) <= BORDER_TOLERANCE && Math.abs(rgb[p + 1] - g) <= BORDER_TOLERANCE && Math.abs(rgb[p + 2] - b) <= BORDER_TOLERANCE) close++;
    }
    if (close < size * BORDER_SHARE) break;
  }
  return lines;
}

/** The median (the upper middle value for an even count) of one channel along a line, by counting. */
function lineMedian(rgb: Uint8Array, size: number, first: number, step: number): number {
  const counts = new Uint32Array(256);
  for (let i = 0, p = first; i < size; i++, p += step) counts[rgb[p]]++;
  let seen = 0;
  for (let v = 0; v < 256; v++) {
    seen += counts[v];
    if (seen > size >> 1) return v;
  }
  return 255;
}

/** EXIF DateTimeOriginal (or CreateDate) as ISO 8601 without a zone (cameras record local time). */
async function captureDate(bytes: Buffer): Promise<string | null> {
  try {
    const tags = await exifr.parse(bytes, { pick: ['DateTimeOriginal', 'CreateDate'], reviveValues: false });
    const raw: unknown = tags?.DateTimeOriginal ?? tags?.CreateDate;
    if (typeof raw !== 'string') return null;
    const match = /^(\d{4}):(\d{2}):(\d{2})[ T](\d{2}):(\d{2}):(\d{2})/.exec(raw.trim());
    if (!match || match[1] === '0000') return null;
    return `${match[1]}-${match[2]}-${match[3]}T${match[4]}:${match[5]}:${match[6]}`;
  } catch {
    return null; // broken EXIF only costs us the date
  }
}

function sharpFormatName(sharpFormat: string | undefined, sniffed: SniffedFormat): string {
  if (sharpFormat === 'heif') return sniffed === 'avif' ? 'avif' : 'heic';
  return sharpFormat ?? sniffed;
}

// ---- HEIC and RAW fallbacks (decode-heic.ts / decode-raw.ts) ----

async function decodeHeicFallback(bytes: Buffer, options: DecodeOptions, sharpError: Error): Promise<DecodedImage> {
  let decoded;
  try {
    // libheif applies the HEIF rotation/mirror itself: the pixels come out upright.
    decoded = await decodeHeic(bytes, { maxPixels: Math.round(options.maxMegapixels * 1e6) });
  } catch (error) {
    const message = (error as Error).message;
    const tooLarge = /too large/i.test(message);
    throw new DecodeError(`${message} (libvips: ${firstLine(sharpError.message)})`, tooLarge ? 'too-large' : /not support/i.test(message) ? 'unsupported' : 'corrupt');
  }
  const base = await sharp(decoded.pixels, { raw: { width: decoded.width, height: decoded.height, channels: 4 } })
    .resize(BASE_SIZE, BASE_SIZE, { fit: 'fill' })
    .flatten({ background: '#ffffff' })
    .toColourspace('srgb')
    .raw({ depth: 'uchar' })
    .toBuffer();
  const exif = await readHeicExif(bytes).catch(() => ({ takenAt: null }));
  const { kept, ...outputs } = await outputsFromBase(base, options);
  return { format: 'heic', width: decoded.width, height: decoded.height, content: contentSize(decoded.width, decoded.height, kept), takenAt: exif.takenAt, ...outputs };
}

/** Applies an EXIF orientation (1-8) to a pipeline. */
function applyOrientation(image: Sharp, orientation: number): Sharp {
  switch (orientation) {
    case 2: return image.flop();
    case 3: return image.rotate(180);
    case 4: return image.flip();
    case 5: return image.rotate(90).flop();
    case 6: return image.rotate(90);
    case 7: return image.rotate(270).flop();
    case 8: return image.rotate(270);
    default: return image;
  }
}

async function rawPreview(bytes: Buffer, format: string): Promise<Buffer> {
  const preview = await extractRawPreview(bytes).catch((error: Error) => {
    throw new DecodeError(`RAW file (${format.toUpperCase()}) could not be read: ${error.message}`, 'unsupported');
  });
  if (!preview) throw new DecodeError(`RAW file (${format.toUpperCase()}) has no embedded JPEG preview; RAW decoding itself is not supported`, 'unsupported');
  return preview;
}

/** Previews are often stored unrotated: the RAW's own orientation applies when the preview has none. */
async function previewOrientation(raw: Buffer, preview: Buffer): Promise<number | null> {
  const own = (await sharp(preview).metadata().catch(() => ({ orientation: undefined }))).orientation;
  return own ? null : rawOrientation(raw);
}

async function decodeRaw(bytes: Buffer, format: string, options: DecodeOptions): Promise<DecodedImage> {
  const preview = await rawPreview(bytes, format);
  let decoded: DecodedImage;
  try {
    decoded = await decodeWithSharp(preview, 'jpeg', options, await previewOrientation(bytes, preview));
  } catch (error) {
    // A damaged preview is a problem with this file, phrased like every other (not a bare libvips error).
    const problem = asDecodeError(error);
    throw new DecodeError(`RAW file (${format.toUpperCase()}): its embedded preview cannot be read: ${problem.message}`, problem.kind);
  }
  return { ...decoded, format, takenAt: (await captureDate(bytes)) ?? decoded.takenAt };
}

/** Turns libvips' wording into a message a user can act on. */
function asDecodeError(error: unknown): DecodeError {
  if (error instanceof DecodeError) return error;
  const message = firstLine((error as Error)?.message ?? String(error));
  if (/pixel limit|exceeds pixel/i.test(message)) return new DecodeError(`image too large: ${message}`, 'too-large');
  if (/premature end|truncated|unexpected end|end of file|EOF|not enough data|read error|short read/i.test(message)) {
    return new DecodeError(`truncated or corrupt image: ${message}`);
  }
  if (/unsupported image format|bad seek|no loader/i.test(message)) return new DecodeError(`not a readable image: ${message}`, 'unsupported');
  return new DecodeError(`corrupt image: ${message}`);
}

function firstLine(message: string): string {
  return (message.split('\n').find((line) => line.trim()) ?? message).trim();
}
