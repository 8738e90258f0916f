// One decode per file, with sharp: EXIF orientation applied, a pixel limit against decompression bombs,
// and from that single decode every output the engine needs: the model inputs (one per view), the
// 32×32 grey image for the perceptual hash, and the facts (format, oriented size, capture date).
import exifr from 'exifr';
import sharp, { type Metadata, type Sharp, type SharpOptions } from 'sharp';
import { PHASH_INPUT_SIZE, phashFromGrey, phashVariants } from './phash.ts';
import { decodeHeic, readHeicExif } from './decode-heic.ts';
import { extractRawPreview, rawFormatOf, rawOrientation } from './decode-raw.ts';
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

export interface DecodeOptions {
  /** Model input size in pixels (square), from the model manifest. */
  inputSize: number;
  views: ModelView[];
  maxMegapixels: number;
  /** Also compute the perceptual hashes of the 7 rotated/mirrored variants. */
  rotationVariants: boolean;
}

export interface DecodedImage {
  format: string;
  /** Size after EXIF orientation. */
  width: number;
  height: number;
  takenAt: string | null;
  /** One model input per requested view: inputSize×inputSize×3 floats, RGB 0..255, NHWC. */
  modelInputs: Float32Array[];
  phash: bigint;
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
  return {
    format: sharpFormatName(metadata.format, format),
    width,
    height,
    takenAt: await captureDate(bytes),
    ...(await outputsFromBase(base.data, options)),
  };
}

/** Cuts every output from the decoded BASE_SIZE² RGB image. */
async function outputsFromBase(base: Buffer, options: DecodeOptions): Promise<Pick<DecodedImage, 'modelInputs' | 'phash' | 'phashVariants'>> {
  const raw = { raw: { width: BASE_SIZE, height: BASE_SIZE, channels: 3 as const } };
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
      return Float32Array.from(pixels);
    }),
  );
  const grey = await sharp(base, raw).greyscale().resize(PHASH_INPUT_SIZE, PHASH_INPUT_SIZE, { fit: 'fill' }).raw().toBuffer();
  const greyValues = Float64Array.from(grey.subarray(0, PHASH_INPUT_SIZE * PHASH_INPUT_SIZE));
  return {
    modelInputs,
    phash: phashFromGrey(greyValues),
    phashVariants: options.rotationVariants ? phashVariants(greyValues) : null,
  };
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
  return { format: 'heic', width: decoded.width, height: decoded.height, takenAt: exif.takenAt, ...(await outputsFromBase(base, options)) };
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
  const decoded = await decodeWithSharp(preview, 'jpeg', options, await previewOrientation(bytes, preview));
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
