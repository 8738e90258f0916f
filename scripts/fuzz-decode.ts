// Fuzzing the decode path: real photos in every supported format, mutated (bit flips, truncations,
// inserted, deleted and repeated byte runs, overwritten bytes, splices of two files, and header
// fields set to extreme values: JPEG SOF, PNG IHDR, WebP, GIF, TIFF and HEIF sizes, EXIF orientation),
// each decoded by the engine's decodeImage in a child process. Every case must end in a decoded image
// with sane outputs or a DecodeError; anything else is a failure: another error, a bad output, a
// crash of the process (it is restarted), or a hang (killed after --timeout-ms). Cases are made from
// (seed, index) alone, so any case replays exactly; failing inputs are written to --out.
//
//   npx tsx scripts/fuzz-decode.ts [--cases 3000] [--seed 1] [--jobs N] [--timeout-ms 30000] [--max-megapixels 200] [--out DIR] [--json]
//
// Exit code 1 when any case failed. The results of a full run are in docs/RELIABILITY.md; a short run
// (200 cases) is in the test suite (tests/reliability-fuzz.test.ts).
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { crc32 } from 'node:zlib';
import sharp from 'sharp';

const HERE = fileURLToPath(import.meta.url);
const REPO_ROOT = resolve(import.meta.dirname, '..');
const PHOTOS = process.env.PHOTO_DEDUP_SHARED ? join(process.env.PHOTO_DEDUP_SHARED, 'photos') : resolve(REPO_ROOT, '..', 'shared', 'photos');

// ---------------------------------------------------------------------------------------------
// Seeded randomness (mulberry32), as in tests/helpers/fault-prng.ts.

interface Rng {
  next(): number;
  int(min: number, max: number): number;
  pick<T>(items: readonly T[]): T;
}

function rng(seed: number): Rng {
  let state = seed >>> 0;
  const next = () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return { next, int: (min, max) => min + Math.floor(next() * (max - min + 1)), pick: (items) => items[Math.floor(next() * items.length)] };
}

// ---------------------------------------------------------------------------------------------
// Seed files: real photos, small (a decode should take tens of milliseconds), in every format.

export interface SeedFile {
  /** File name given to decodeImage (the extension matters for RAW). */
  name: string;
  format: string;
  bytes: Buffer;
}

/** Writes the seed files (and formats.txt naming their formats) into `dir`; deterministic for a given libvips. */
export async function makeSeeds(dir: string): Promise<SeedFile[]> {
  mkdirSync(dir, { recursive: true });
  const photo = (relative: string) => join(PHOTOS, relative);
  const base = () => sharp(photo('opencv-doc/fruits.jpg')).resize(240);
  const other = () => sharp(photo('darknet/dog.jpg')).resize(200);
  const seeds: [string, string, Promise<Buffer> | Buffer][] = [
    ['exif.jpg', 'jpeg', readFileSync(photo('plasma-workspace-wallpapers/Path_screenshot.jpg'))], // camera EXIF
    ['camera-2560.jpg', 'jpeg', readFileSync(photo('plasma-workspace-wallpapers/Path_2560x1600.jpg'))], // a full-size photo
    ['claims-64250.jpg', 'jpeg', readFileSync(join(PHOTOS, '..', 'photos-hostile', 'issue205.jpg'))], // a lying header
    ['orientation6.jpg', 'jpeg', base().withMetadata({ orientation: 6 }).jpeg({ quality: 80 }).toBuffer()],
    ['progressive.jpg', 'jpeg', other().jpeg({ progressive: true, quality: 75 }).toBuffer()],
    ['cmyk.jpg', 'jpeg', base().toColourspace('cmyk').jpeg().toBuffer()],
    ['grey.jpg', 'jpeg', other().greyscale().jpeg().toBuffer()],
    ['rgb.png', 'png', base().png().toBuffer()],
    ['rgba.png', 'png', other().ensureAlpha(0.6).png().toBuffer()],
    ['sixteen.png', 'png', base().toColourspace('rgb16').png().toBuffer()],
    ['palette.png', 'png', other().png({ palette: true, colours: 64 }).toBuffer()],
    ['lossy.webp', 'webp', base().webp({ quality: 70 }).toBuffer()],
    ['lossless-alpha.webp', 'webp', other().ensureAlpha(0.5).webp({ lossless: true }).toBuffer()],
    ['animated.gif', 'gif', animatedGif()],
    ['lzw.tif', 'tiff', base().tiff({ compression: 'lzw' }).toBuffer()],
    ['tiff-named.nef', 'tiff as RAW', base().tiff({ compression: 'jpeg' }).toBuffer()],
    ['preview.nef', 'raw', rawWithPreview(await other().jpeg({ quality: 80 }).toBuffer())],
    ['photo.avif', 'avif', base().avif({ quality: 50, effort: 0 }).toBuffer()],
  ];
  const files: SeedFile[] = [];
  for (const [name, format, bytes] of seeds) {
    const data = await bytes;
    writeFileSync(join(dir, name), data);
    files.push({ name, format, bytes: data });
  }
  // HEIC needs libheif's encoder (Debian libheif-examples), which sharp's build lacks.
  const source = join(dir, 'heic-source.jpg');
  await base().jpeg().toFile(source);
  const heic = join(dir, 'photo.heic');
  if (spawnSync('heif-enc', ['-q', '60', source, '-o', heic]).status === 0) files.push({ name: 'photo.heic', format: 'heic', bytes: readFileSync(heic) });
  rmSync(source);
  writeFileSync(join(dir, 'formats.txt'), files.map((s) => `${s.name}\t${s.format}\n`).join(''));
  return loadSeeds(dir); // in the order the child reads them

  async function animatedGif(): Promise<Buffer> {
    const frames = await Promise.all([0, 90, 180].map((turn) => sharp(photo('opencv-doc/fruits.jpg')).rotate(turn).resize(96, 96, { fit: 'fill' }).raw().toBuffer()));
    return sharp(Buffer.concat(frames), { raw: { width: 96, height: 288, channels: 3, pageHeight: 96 } as never }).gif({ loop: 0 }).toBuffer();
  }
}

/**
 * A minimal TIFF-structured RAW as cameras write them (Nikon's JpgFromRaw layout): IFD0 with Make,
 * Orientation and the embedded JPEG preview's offset and length, then the preview.
 */
function rawWithPreview(jpeg: Buffer): Buffer {
  const make = Buffer.from('NIKON CORPORATION\0', 'latin1');
  const entries = 4;
  const ifdBytes = 2 + entries * 12 + 4;
  const makeAt = 8 + ifdBytes;
  const jpegAt = makeAt + make.length + (make.length % 2);
  const out = Buffer.alloc(jpegAt + jpeg.length);
  out.write('II', 0, 'latin1');
  out.writeUInt16LE(42, 2);
  out.writeUInt32LE(8, 4);
  out.writeUInt16LE(entries, 8);
  const entry = (i: number, tag: number, type: number, count: number, value: number) => {
    const at = 10 + i * 12;
    out.writeUInt16LE(tag, at);
    out.writeUInt16LE(type, at + 2);
    out.writeUInt32LE(count, at + 4);
    if (type === 3) out.writeUInt16LE(value, at + 8);
    else out.writeUInt32LE(value, at + 8);
  };
  entry(0, 0x010f, 2, make.length, makeAt); // Make
  entry(1, 0x0112, 3, 1, 1); // Orientation
  entry(2, 0x0201, 4, 1, jpegAt); // JPEGInterchangeFormat
  entry(3, 0x0202, 4, 1, jpeg.length); // JPEGInterchangeFormatLength
  make.copy(out, makeAt);
  jpeg.copy(out, jpegAt);
  return out;
}

/** Reads the seed files written by makeSeeds. */
function loadSeeds(dir: string): SeedFile[] {
  const formats: Record<string, string> = {};
  for (const line of readFileSync(join(dir, 'formats.txt'), 'utf8').split('\n').filter(Boolean)) {
    const [name, format] = line.split('\t');
    formats[name] = format;
  }
  return readdirSync(dir)
    .filter((name) => name in formats)
    .sort()
    .map((name) => ({ name, format: formats[name], bytes: readFileSync(join(dir, name)) }));
}

// ---------------------------------------------------------------------------------------------
// Mutations.

const INTERESTING_16 = [0, 1, 2, 0x7f, 0x80, 0xff, 0x100, 0x3fff, 0x7fff, 0x8000, 0xfffe, 0xffff];
const INTERESTING_32 = [0, 1, 0x7fffffff, 0x80000000, 0xfffffffe, 0xffffffff, 65_536, 100_000, 1 << 24];

type Mutation = 'bit-flips' | 'byte-overwrite' | 'truncate' | 'insert-run' | 'delete-run' | 'repeat-run' | 'splice' | 'header-field';
export const MUTATIONS: Mutation[] = ['bit-flips', 'byte-overwrite', 'truncate', 'insert-run', 'delete-run', 'repeat-run', 'splice', 'header-field'];

export interface FuzzCase {
  index: number;
  seed: SeedFile;
  mutation: Mutation;
  /** What exactly was done, for the report. */
  detail: string;
  bytes: Buffer;
}

/** The case with this index: a function of (seed, index) and the seed files only. */
export function makeCase(seeds: SeedFile[], runSeed: number, index: number): FuzzCase {
  const r = rng((runSeed * 1_000_003 + index * 7919) >>> 0);
  const seed = seeds[index % seeds.length]; // every seed file as often as the others
  const mutation = r.pick(MUTATIONS);
  const input = Buffer.from(seed.bytes);
  const n = input.length;
  let bytes: Buffer;
  let detail: string;
  switch (mutation) {
    case 'bit-flips': {
      const flips = r.int(1, 12);
      // Half the time near the start (headers, markers), else anywhere.
      const span = r.next() < 0.5 ? Math.min(n, 512) : n;
      for (let i = 0; i < flips; i++) input[r.int(0, span - 1)] ^= 1 << r.int(0, 7);
      bytes = input;
      detail = `${flips} bits in the first ${span} bytes`;
      break;
    }
    case 'byte-overwrite': {
      const count = r.int(1, 8);
      for (let i = 0; i < count; i++) input[r.int(0, n - 1)] = r.pick([0, 0xff, 0x7f, 0x80, r.int(0, 255)]);
      bytes = input;
      detail = `${count} bytes`;
      break;
    }
    case 'truncate': {
      const at = r.next() < 0.3 ? r.int(0, Math.min(n - 1, 64)) : r.int(0, n - 1);
      bytes = input.subarray(0, at);
      detail = `to ${at} of ${n} bytes`;
      break;
    }
    case 'insert-run': {
      const at = r.int(0, n);
      const length = r.int(1, r.next() < 0.8 ? 64 : 5000);
      const fill = r.int(0, 2);
      const run = Buffer.from(Array.from({ length }, () => (fill === 0 ? 0 : fill === 1 ? 0xff : r.int(0, 255))));
      bytes = Buffer.concat([input.subarray(0, at), run, input.subarray(at)]);
      detail = `${length} bytes at ${at}`;
      break;
    }
    case 'delete-run': {
      const at = r.int(0, n - 1);
      const length = r.int(1, Math.min(n - at, r.next() < 0.8 ? 64 : 5000));
      bytes = Buffer.concat([input.subarray(0, at), input.subarray(at + length)]);
      detail = `${length} bytes at ${at}`;
      break;
    }
    case 'repeat-run': {
      const from = r.int(0, n - 1);
      const length = r.int(1, Math.min(n - from, 2000));
      const to = r.int(0, n);
      bytes = Buffer.concat([input.subarray(0, to), input.subarray(from, from + length), input.subarray(to)]);
      detail = `${length} bytes from ${from} again at ${to}`;
      break;
    }
    case 'splice': {
      const partner = seeds[r.int(0, seeds.length - 1)];
      const cut = r.int(0, n);
      const from = r.int(0, partner.bytes.length);
      bytes = Buffer.concat([input.subarray(0, cut), partner.bytes.subarray(from)]);
      detail = `first ${cut} bytes, then ${partner.name} from ${from}`;
      break;
    }
    case 'header-field': {
      const fields = headerFields(input, seed.format);
      if (fields.length === 0) {
        input[r.int(0, Math.min(n, 64) - 1)] ^= 1 << r.int(0, 7);
        bytes = input;
        detail = 'no known field: one bit flipped';
        break;
      }
      const field = r.pick(fields);
      const value = field.bytes === 2 ? r.pick(INTERESTING_16) : field.bytes === 1 ? r.int(0, 255) : r.pick(INTERESTING_32);
      writeField(input, field, value);
      if (field.fixPngCrc !== undefined) fixPngCrc(input, field.fixPngCrc);
      bytes = input;
      detail = `${field.name} = ${value}${field.fixPngCrc !== undefined ? ' (CRC fixed)' : ''}`;
      break;
    }
  }
  return { index, seed, mutation, detail, bytes };
}

interface Field {
  name: string;
  at: number;
  bytes: 1 | 2 | 4;
  bigEndian: boolean;
  /** PNG: the chunk start whose CRC is recomputed (so the change is not caught by the CRC alone). */
  fixPngCrc?: number;
}

function writeField(buffer: Buffer, field: Field, value: number): void {
  if (field.at + field.bytes > buffer.length) return;
  if (field.bytes === 1) buffer[field.at] = value & 0xff;
  else if (field.bytes === 2) field.bigEndian ? buffer.writeUInt16BE(value & 0xffff, field.at) : buffer.writeUInt16LE(value & 0xffff, field.at);
  else field.bigEndian ? buffer.writeUInt32BE(value >>> 0, field.at) : buffer.writeUInt32LE(value >>> 0, field.at);
}

function fixPngCrc(buffer: Buffer, chunkStart: number): void {
  const length = buffer.readUInt32BE(chunkStart);
  if (chunkStart + 12 + length > buffer.length) return;
  buffer.writeUInt32BE(crc32(buffer.subarray(chunkStart + 4, chunkStart + 8 + length)) >>> 0, chunkStart + 8 + length);
}

/** Size, depth and orientation fields of the file's headers. */
function headerFields(b: Buffer, format: string): Field[] {
  const fields: Field[] = [];
  const be = (name: string, at: number, bytes: 1 | 2 | 4, extra: Partial<Field> = {}) => fields.push({ name, at, bytes, bigEndian: true, ...extra });
  const le = (name: string, at: number, bytes: 1 | 2 | 4) => fields.push({ name, at, bytes, bigEndian: false });
  if (format === 'jpeg') {
    for (let i = 2; i + 9 < b.length; ) {
      if (b[i] !== 0xff) break;
      const marker = b[i + 1];
      const length = b.readUInt16BE(i + 2);
      if (marker >= 0xc0 && marker <= 0xc3) {
        be('SOF precision', i + 4, 1);
        be('SOF height', i + 5, 2);
        be('SOF width', i + 7, 2);
        be('SOF components', i + 9, 1);
      }
      if (marker === 0xc4) be('DHT class/id', i + 4, 1);
      if (marker === 0xdb) be('DQT precision/id', i + 4, 1);
      if (marker === 0xda) {
        be('SOS components', i + 4, 1);
        break;
      }
      i += 2 + length;
    }
  } else if (format === 'png' && b.length > 33) {
    be('IHDR width', 16, 4, { fixPngCrc: 8 });
    be('IHDR height', 20, 4, { fixPngCrc: 8 });
    be('IHDR bit depth', 24, 1, { fixPngCrc: 8 });
    be('IHDR colour type', 25, 1, { fixPngCrc: 8 });
    be('IHDR interlace', 28, 1, { fixPngCrc: 8 });
    be('IHDR width (CRC stale)', 16, 4);
  } else if (format === 'webp') {
    const vp8 = b.indexOf(Buffer.from([0x9d, 0x01, 0x2a]));
    if (vp8 > 0) {
      le('VP8 width', vp8 + 3, 2);
      le('VP8 height', vp8 + 5, 2);
    }
    const vp8l = b.indexOf('VP8L');
    if (vp8l > 0) le('VP8L size bits', vp8l + 9, 4);
    const vp8x = b.indexOf('VP8X');
    if (vp8x > 0) {
      le('VP8X canvas width', vp8x + 12, 2);
      le('VP8X canvas height', vp8x + 15, 2);
    }
    le('RIFF size', 4, 4);
  } else if (format === 'gif' && b.length > 13) {
    le('screen width', 6, 2);
    le('screen height', 8, 2);
    const descriptor = b.indexOf(0x2c, 13);
    if (descriptor > 0 && descriptor + 9 < b.length) {
      le('frame left', descriptor + 1, 2);
      le('frame width', descriptor + 5, 2);
      le('frame height', descriptor + 7, 2);
    }
  } else if ((format === 'tiff' || format === 'tiff as RAW' || format === 'raw') && b.length > 8) {
    const little = b[0] === 0x49;
    const u16 = (at: number) => (little ? b.readUInt16LE(at) : b.readUInt16BE(at));
    const u32 = (at: number) => (little ? b.readUInt32LE(at) : b.readUInt32BE(at));
    const add = (name: string, at: number, bytes: 2 | 4) => fields.push({ name, at, bytes, bigEndian: !little });
    add('IFD0 offset', 4, 4);
    const ifd = u32(4);
    if (ifd + 2 < b.length) {
      const count = u16(ifd);
      add('IFD0 entry count', ifd, 2);
      for (let e = 0; e < count && ifd + 2 + 12 * (e + 1) <= b.length; e++) {
        const at = ifd + 2 + 12 * e;
        const tag = u16(at);
        const names: Record<number, string> = {
          256: 'ImageWidth', 257: 'ImageLength', 258: 'BitsPerSample', 259: 'Compression', 273: 'StripOffsets', 277: 'SamplesPerPixel',
          278: 'RowsPerStrip', 279: 'StripByteCounts', 322: 'TileWidth', 324: 'TileOffsets', 513: 'JPEGInterchangeFormat', 514: 'JPEGInterchangeFormatLength',
        };
        if (names[tag]) {
          add(`${names[tag]} value`, at + 8, u16(at + 2) === 3 ? 2 : 4);
          add(`${names[tag]} count`, at + 4, 4);
        }
      }
    }
  } else if (format === 'heic' || format === 'avif') {
    for (let at = b.indexOf('ispe'); at > 0; at = b.indexOf('ispe', at + 4)) {
      be('ispe width', at + 8, 4);
      be('ispe height', at + 12, 4);
    }
    for (const box of ['ftyp', 'meta', 'iloc', 'iinf', 'iprp', 'mdat', 'pitm']) {
      const at = b.indexOf(box);
      if (at >= 4) be(`${box} box size`, at - 4, 4);
    }
  }
  // EXIF orientation (any format that carries EXIF): the value of tag 0x0112.
  for (const [tag, bigEndian] of [[Buffer.from([0x01, 0x12, 0x00, 0x03]), true], [Buffer.from([0x12, 0x01, 0x03, 0x00]), false]] as const) {
    const at = b.indexOf(tag);
    if (at > 0 && at + 10 < b.length) fields.push({ name: 'EXIF orientation', at: at + 8, bytes: 2, bigEndian });
  }
  return fields;
}

// ---------------------------------------------------------------------------------------------
// The child: decodes the cases it is sent.

type Outcome = 'decoded' | `decode-error:${string}` | 'other-error' | 'bad-output' | 'crash' | 'hang';

interface CaseResult {
  index: number;
  outcome: Outcome;
  message: string | null;
  ms: number;
  rssMb: number;
}

async function child(seedDir: string, runSeed: number, maxMegapixels: number): Promise<void> {
  const { decodeImage, DecodeError } = await import('../electron/engine/decode.ts');
  const { MODEL_VIEWS } = await import('../electron/engine/defaults.ts');
  const seeds = loadSeeds(seedDir);
  const inputSize = 224;
  process.on('message', async (message: { index: number }) => {
    const fuzzCase = makeCase(seeds, runSeed, message.index);
    const started = performance.now();
    let outcome: Outcome;
    let text: string | null = null;
    try {
      const decoded = await decodeImage(fuzzCase.bytes, fuzzCase.seed.name, { inputSize, views: MODEL_VIEWS, maxMegapixels, rotationVariants: true });
      const problem = outputProblem(decoded, MODEL_VIEWS.length, inputSize);
      outcome = problem ? 'bad-output' : 'decoded';
      text = problem;
    } catch (error) {
      if (error instanceof DecodeError) outcome = `decode-error:${error.kind}`;
      else outcome = 'other-error';
      text = `${(error as Error)?.name}: ${(error as Error)?.message ?? String(error)}`.slice(0, 300);
    }
    const result: CaseResult = { index: message.index, outcome, message: text, ms: performance.now() - started, rssMb: process.memoryUsage().rss / 2 ** 20 };
    process.send!(result);
  });
  process.send!({ ready: true });
}

function outputProblem(decoded: { width: number; height: number; modelInputs: Float32Array[]; phash: bigint; format: string }, views: number, inputSize: number): string | null {
  if (!Number.isInteger(decoded.width) || !Number.isInteger(decoded.height) || decoded.width < 1 || decoded.height < 1) return `size ${decoded.width}×${decoded.height}`;
  if (decoded.modelInputs.length !== views) return `${decoded.modelInputs.length} model inputs`;
  for (const input of decoded.modelInputs) {
    if (input.length !== inputSize * inputSize * 3) return `model input of ${input.length} values`;
    for (let i = 0; i < input.length; i += 97) if (!(input[i] >= 0 && input[i] <= 255)) return `model input value ${input[i]}`;
  }
  if (typeof decoded.phash !== 'bigint') return 'no pHash';
  if (typeof decoded.format !== 'string' || decoded.format.length === 0) return 'no format';
  return null;
}

// ---------------------------------------------------------------------------------------------
// The parent: hands out cases, watches for crashes and hangs, counts.

export interface FuzzOptions {
  cases: number;
  seed: number;
  jobs: number;
  timeoutMs: number;
  /** The decoder's pixel limit (the engine's default is 200; the settings allow up to 2000). */
  maxMegapixels?: number;
  /** Failing inputs are written here (none written without it). */
  outDir?: string;
  /** Progress lines. */
  log?: (line: string) => void;
}

export interface FuzzFailure {
  index: number;
  seedFile: string;
  mutation: string;
  detail: string;
  outcome: Outcome;
  message: string | null;
}

export interface FuzzReport {
  cases: number;
  seed: number;
  jobs: number;
  maxMegapixels: number;
  /** The seed files, and what decodeImage makes of each unmutated (the baseline). */
  seedFiles: { name: string; format: string; bytes: number; unmutated: string }[];
  outcomes: Record<string, number>;
  byMutation: Record<string, Record<string, number>>;
  byFormat: Record<string, Record<string, number>>;
  failures: FuzzFailure[];
  wallMs: number;
  caseMs: { median: number; p99: number; max: number; slowest: string };
  maxRssMb: number;
  restarts: number;
}

const FAILING: Outcome[] = ['other-error', 'bad-output', 'crash', 'hang'];

export async function runFuzz(options: FuzzOptions): Promise<FuzzReport> {
  const log = options.log ?? (() => {});
  const seedDir = mkdtempSync(join(tmpdir(), 'fuzz-decode-seeds-'));
  const started = Date.now();
  try {
    const seeds = await makeSeeds(seedDir);
    const { decodeImage } = await import('../electron/engine/decode.ts');
    const { MODEL_VIEWS } = await import('../electron/engine/defaults.ts');
    const unmutated = new Map<string, string>();
    for (const seed of seeds) {
      const outcome = await decodeImage(seed.bytes, seed.name, { inputSize: 224, views: MODEL_VIEWS, maxMegapixels: options.maxMegapixels ?? 200, rotationVariants: true }).then(
        (decoded) => `decoded (${decoded.format} ${decoded.width}×${decoded.height})`,
        (error: Error) => `${error.name}: ${error.message}`,
      );
      unmutated.set(seed.name, outcome);
    }
    const results: CaseResult[] = [];
    let next = 0;
    let restarts = 0;

    const startChild = (): Promise<ChildProcess> =>
      new Promise((resolveChild, reject) => {
        const proc = spawn(process.execPath, ['--import', 'tsx', HERE, '--child', seedDir, String(options.seed), String(options.maxMegapixels ?? 200)], {
          cwd: REPO_ROOT,
          stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
        });
        proc.stderr!.resume(); // libvips warnings: not needed
        const onReady = (message: { ready?: boolean }) => {
          if (message.ready) {
            proc.off('message', onReady);
            resolveChild(proc);
          }
        };
        proc.on('message', onReady);
        proc.once('exit', (code) => reject(new Error(`the fuzz child exited (${code}) before it was ready`)));
      });

    const worker = async () => {
      let proc = await startChild();
      while (next < options.cases) {
        const index = next++;
        const result = await new Promise<CaseResult>((resolveCase) => {
          const timer = setTimeout(() => {
            cleanup();
            proc.kill('SIGKILL');
            resolveCase({ index, outcome: 'hang', message: `no answer in ${options.timeoutMs} ms`, ms: options.timeoutMs, rssMb: 0 });
          }, options.timeoutMs);
          const onMessage = (message: CaseResult) => {
            if (message.index !== index) return;
            cleanup();
            resolveCase(message);
          };
          const onExit = (code: number | null, signal: string | null) => {
            cleanup();
            resolveCase({ index, outcome: 'crash', message: `the process died (code ${code}, signal ${signal})`, ms: 0, rssMb: 0 });
          };
          const cleanup = () => {
            clearTimeout(timer);
            proc.off('message', onMessage);
            proc.off('exit', onExit);
          };
          proc.on('message', onMessage);
          proc.once('exit', onExit);
          proc.send({ index });
        });
        results.push(result);
        if (result.outcome === 'crash' || result.outcome === 'hang') {
          restarts++;
          proc = await startChild();
        }
        if (results.length % 250 === 0) log(`${results.length} / ${options.cases} cases`);
      }
      proc.kill();
    };
    await Promise.all(Array.from({ length: Math.max(1, options.jobs) }, worker));

    const outcomes: Record<string, number> = {};
    const byMutation: Record<string, Record<string, number>> = {};
    const byFormat: Record<string, Record<string, number>> = {};
    const failures: FuzzFailure[] = [];
    const bump = (table: Record<string, Record<string, number>>, key: string, outcome: string) => {
      table[key] ??= {};
      table[key][outcome] = (table[key][outcome] ?? 0) + 1;
    };
    for (const result of results.sort((a, b) => a.index - b.index)) {
      const fuzzCase = makeCase(seeds, options.seed, result.index);
      const simple = result.outcome.startsWith('decode-error') ? 'decode-error' : result.outcome;
      outcomes[result.outcome] = (outcomes[result.outcome] ?? 0) + 1;
      bump(byMutation, fuzzCase.mutation, simple);
      bump(byFormat, fuzzCase.seed.format, simple);
      if (FAILING.includes(result.outcome)) {
        failures.push({ index: result.index, seedFile: fuzzCase.seed.name, mutation: fuzzCase.mutation, detail: fuzzCase.detail, outcome: result.outcome, message: result.message });
        if (options.outDir) {
          mkdirSync(options.outDir, { recursive: true });
          writeFileSync(join(options.outDir, `${result.outcome}-${options.seed}-${result.index}-${fuzzCase.seed.name}`), fuzzCase.bytes);
        }
      }
    }
    const times = results.filter((r) => r.outcome !== 'hang' && r.outcome !== 'crash').map((r) => r.ms).sort((a, b) => a - b);
    const slowest = results.reduce((a, b) => (b.ms > a.ms ? b : a), results[0]);
    const slowCase = slowest ? makeCase(seeds, options.seed, slowest.index) : null;
    return {
      cases: results.length,
      seed: options.seed,
      jobs: options.jobs,
      maxMegapixels: options.maxMegapixels ?? 200,
      seedFiles: seeds.map((s) => ({ name: s.name, format: s.format, bytes: s.bytes.length, unmutated: unmutated.get(s.name)! })),
      outcomes,
      byMutation,
      byFormat,
      failures,
      wallMs: Date.now() - started,
      caseMs: {
        median: times[Math.floor(times.length / 2)] ?? 0,
        p99: times[Math.floor(times.length * 0.99)] ?? 0,
        max: times.at(-1) ?? 0,
        slowest: slowCase ? `#${slowest.index} ${slowCase.seed.name} ${slowCase.mutation} (${slowCase.detail}): ${slowest.outcome}` : '',
      },
      maxRssMb: Math.max(0, ...results.map((r) => r.rssMb)),
      restarts,
    };
  } finally {
    rmSync(seedDir, { recursive: true, force: true });
  }
}

function printReport(report: FuzzReport): void {
  const lines = [
    `${report.cases} cases (seed ${report.seed}, ${report.jobs} processes, limit ${report.maxMegapixels} MP) in ${(report.wallMs / 1000).toFixed(1)} s; per case median ${report.caseMs.median.toFixed(0)} ms, p99 ${report.caseMs.p99.toFixed(0)} ms, max ${report.caseMs.max.toFixed(0)} ms; peak RSS ${report.maxRssMb.toFixed(0)} MB; ${report.restarts} restarts`,
    `slowest: ${report.caseMs.slowest}`,
    'seed files (unmutated):',
    ...report.seedFiles.map((s) => `  ${s.name.padEnd(20)} ${s.format.padEnd(12)} ${String(s.bytes).padStart(7)} B  ${s.unmutated}`),
    '',
    'outcomes:',
    ...Object.entries(report.outcomes).sort().map(([outcome, count]) => `  ${outcome.padEnd(28)} ${count}`),
    '',
    'by mutation (decoded / decode-error / failures):',
    ...Object.entries(report.byMutation).sort().map(([name, counts]) => `  ${name.padEnd(16)} ${counts.decoded ?? 0} / ${counts['decode-error'] ?? 0} / ${FAILING.reduce((sum, o) => sum + (counts[o] ?? 0), 0)}`),
    '',
    'by format (decoded / decode-error / failures):',
    ...Object.entries(report.byFormat).sort().map(([name, counts]) => `  ${name.padEnd(16)} ${counts.decoded ?? 0} / ${counts['decode-error'] ?? 0} / ${FAILING.reduce((sum, o) => sum + (counts[o] ?? 0), 0)}`),
    '',
    report.failures.length === 0 ? 'no failures' : `${report.failures.length} failures:`,
    ...report.failures.slice(0, 50).map((f) => `  #${f.index} ${f.seedFile} ${f.mutation} (${f.detail}): ${f.outcome}: ${f.message}`),
  ];
  console.log(lines.join('\n'));
}

function argument(name: string, fallback: number): number {
  const at = process.argv.indexOf(name);
  return at > 0 ? Number(process.argv[at + 1]) : fallback;
}

if (process.argv[1] === HERE) {
  if (process.argv[2] === '--child') {
    await child(process.argv[3], Number(process.argv[4]), Number(process.argv[5]));
  } else {
    const outAt = process.argv.indexOf('--out');
    const report = await runFuzz({
      cases: argument('--cases', 3000),
      seed: argument('--seed', 1),
      jobs: argument('--jobs', availableParallelism()),
      timeoutMs: argument('--timeout-ms', 30_000),
      maxMegapixels: argument('--max-megapixels', 200),
      outDir: outAt > 0 ? process.argv[outAt + 1] : undefined,
      log: (line) => process.stderr.write(`${line}\n`),
    });
    if (process.argv.includes('--json')) console.log(JSON.stringify(report, null, 2));
    else printReport(report);
    process.exitCode = report.failures.length > 0 ? 1 : 0;
  }
}
