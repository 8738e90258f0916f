// HEIC/HEIF decoding for files sharp cannot read: sharp's prebuilt libvips has libheif but no HEVC
// decoder. libheif compiled to WebAssembly (npm `libheif-js`) does the work, on worker threads
// (piscina), because a 12 MP decode is most of a second of pure JavaScript/WebAssembly time that
// would otherwise freeze the engine's event loop.
//
// What the caller gets, and what it must still do:
// - `pixels` is the PRIMARY image as 8-bit RGBA, already in display orientation: libheif applies the
//   HEIF transformation properties (`clap` crop, `irot` rotation, `imir` mirror) while decoding.
// - `orientation` is always null: there is nothing left to apply. The EXIF Orientation tag inside a
//   HEIF file is descriptive only (ISO/IEC 23008-12); phones write it as a copy of `irot`, so applying
//   it after libheif would rotate twice. libvips (sharp's AVIF/HEIF path) and libheif's own tools
//   ignore it too. `readHeicExif` still reports it, for information only.
// - Bursts (several top-level images) and auxiliary images (thumbnails, alpha, depth maps, HDR gain
//   maps) never replace the primary image; `imageCount` says how many top-level images there were.
import { availableParallelism } from 'node:os';
import { fileURLToPath } from 'node:url';
import exifr from 'exifr';
import { Piscina } from 'piscina';
import sharp from 'sharp';
import type { HeicWorkerResult, HeicWorkerTask } from './decode-heic-worker.ts';
import { execArgvFor, workerFileBeside } from './worker-files.ts';

export interface HeicImage {
  /** RGBA, 8 bits per channel, width*height*4 bytes without row padding. */
  pixels: Buffer;
  width: number;
  height: number;
  /** EXIF orientation still to apply: always null (libheif already applied irot/imir; see above). */
  orientation: number | null;
  /** Top-level images in the file (more than 1 for bursts/collections); the primary one is decoded. */
  imageCount: number;
}

export interface DecodeHeicOptions {
  /** Refuse larger images before decoding them. Default: sharp's own default limit (0x3FFF²). */
  maxPixels?: number;
}

export interface HeicDecoderSettings {
  /**
   * The worker module to run. Default: decode-heic-worker next to this file, with this file's own
   * extension (.ts from source under tsx, .js when compiled in place). A bundled build (where this
   * module and the worker end up in other files) must pass the built worker's path.
   */
  workerFile?: string | URL;
  /** Most worker threads decoding at once. Default: cores − 1, at least 1, at most 4. */
  maxThreads?: number;
}

const DEFAULT_MAX_PIXELS = 0x3fff * 0x3fff;

let settings: HeicDecoderSettings = {};
let pool: Piscina | null = null;

/** Changes the worker file or pool size; takes effect from the next decode (the old pool is closed). */
export async function configureHeicDecoder(next: HeicDecoderSettings): Promise<void> {
  settings = { ...next };
  await closeHeicDecoder();
}

/** Stops the worker threads (they also stop by themselves after a minute idle). */
export async function closeHeicDecoder(): Promise<void> {
  const old = pool;
  pool = null;
  if (old) await old.destroy();
}

/** Why a pool was given up: a worker failed outside any task (its module did not load, say). */
const poolFailures = new WeakMap<Piscina, Error>();

function getPool(): Piscina {
  if (pool) return pool;
  const workerFile = settings.workerFile instanceof URL ? fileURLToPath(settings.workerFile) : settings.workerFile ?? workerFileBeside(import.meta.url, 'decode-heic-worker');
  const created = new Piscina({
    filename: workerFile,
    execArgv: execArgvFor(workerFile),
    minThreads: 0, // no threads (nor their ~20 MB WebAssembly heaps) until a HEIC file turns up
    maxThreads: settings.maxThreads ?? Math.min(4, Math.max(1, availableParallelism() - 1)),
    idleTimeout: 60_000,
  });
  // piscina reports a worker that fails outside a task here, not to any task; without a listener the
  // event would end the process. When no worker is left (they fail at start-up), piscina starts no
  // more and queued tasks would wait forever: give the pool up, which rejects them, and let the next
  // decode try a fresh one.
  created.on('error', (error: Error) => {
    if (created.threads.length > 0) return;
    poolFailures.set(created, error);
    if (pool === created) pool = null;
    void created.destroy();
  });
  pool = created;
  return created;
}

/** Decodes the primary image of a HEIC/HEIF file on a worker thread. Errors say what is wrong with the file. */
export async function decodeHeic(data: Buffer, options: DecodeHeicOptions = {}): Promise<HeicImage> {
  // A private copy, transferred rather than cloned: `data` may be a view on a much larger buffer.
  const copy = new Uint8Array(data);
  const task: HeicWorkerTask = { data: copy, maxPixels: options.maxPixels ?? DEFAULT_MAX_PIXELS };
  const current = getPool();
  let result: HeicWorkerResult;
  try {
    result = (await current.run(task, { transferList: [copy.buffer] })) as HeicWorkerResult;
  } catch (error) {
    const failure = poolFailures.get(current);
    if (failure) throw new Error(`HEIC decoder worker could not start: ${failure.message}`);
    throw error;
  }
  return {
    pixels: Buffer.from(result.pixels.buffer, result.pixels.byteOffset, result.pixels.byteLength),
    width: result.width,
    height: result.height,
    orientation: null,
    imageCount: result.imageCount,
  };
}

export interface HeicExif {
  /** EXIF Orientation (1-8) as written, or null. Informational: do NOT apply it to decodeHeic's pixels. */
  orientation: number | null;
  /** DateTimeOriginal (else CreateDate) as ISO 8601 without a zone (cameras record local time). */
  takenAt: string | null;
}

/**
 * Reads the primary image's EXIF block of a HEIC/HEIF file. sharp (libheif) finds the block, which works
 * without an HEVC decoder; exifr then reads the tags. exifr alone is not used on the file because it
 * ignores the iloc base_offset, so it misreads files that use one (libheif's heif-enc writes them).
 */
export async function readHeicExif(data: Buffer): Promise<HeicExif> {
  let tags: Record<string, unknown> | undefined;
  try {
    const { exif } = await sharp(data).metadata();
    if (!exif) return { orientation: null, takenAt: null };
    tags = await exifr.parse(exif, { pick: ['Orientation', 'DateTimeOriginal', 'CreateDate'], translateValues: false, reviveValues: false });
  } catch {
    return { orientation: null, takenAt: null }; // broken EXIF only costs us these two facts
  }
  const orientation = typeof tags?.Orientation === 'number' && tags.Orientation >= 1 && tags.Orientation <= 8 ? tags.Orientation : null;
  const raw = tags?.DateTimeOriginal ?? tags?.CreateDate;
  const match = typeof raw === 'string' ? /^(\d{4}):(\d{2}):(\d{2})[ T](\d{2}):(\d{2}):(\d{2})/.exec(raw.trim()) : null;
  const takenAt = match && match[1] !== '0000' ? `${match[1]}-${match[2]}-${match[3]}T${match[4]}:${match[5]}:${match[6]}` : null;
  return { orientation, takenAt };
}
