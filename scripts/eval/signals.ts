// The engine's signals for every file of the set, made by the engine's own decode.ts and model.ts,
// and cached on disk by content (.eval/signals/, .eval/hashes/) so that re-tuning thresholds never
// decodes or embeds again. The embeddings are made for every view decode.ts offers and the hashes
// for a larger grid of crop windows than the engine uses, so that the eval can choose among them.
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { decodeImage, DETAIL_WORDS, ROTATION_VARIANT_COUNT, type CropWindow, type ModelView } from '../../electron/engine/decode.ts';
import { normalise, type PhotoSignature } from '../../electron/engine/match.ts';
import { EmbeddingModel } from '../../electron/engine/model.ts';
import type { EvalFile } from './dataset.ts';

/**
 * The views embedded for the eval: the engine's, the centred crops it used before (for the
 * comparison), and the turned ones (CNN rotation views against the pHash variants).
 */
export const ALL_VIEWS: ModelView[] = ['full', 'center80', 'center60', 'rotate90', 'rotate180', 'rotate270', 'mirror'];

/** Crop windows measured: 8 sizes on a 3×3 grid of positions. */
export const ALL_WINDOWS: CropWindow[] = [0.95, 0.9, 0.85, 0.8, 0.75, 0.7, 0.65, 0.6].flatMap((size) => [0, 0.5, 1].flatMap((y) => [0, 0.5, 1].map((x) => ({ size, x, y }))));

export const windowKey = (w: CropWindow) => `${w.size}@${w.x},${w.y}`;

/** Bump when decode.ts changes what it computes, to invalidate the caches. */
const EMBEDDING_VERSION = 3; // 2: flat borders trimmed; 3: only black or white ones
const HASH_VERSION = 3;

export interface FileSignals {
  phash: bigint;
  rotations: bigint[];
  windows: Map<string, bigint>;
  detail: bigint[];
  /** The picture's pixel size as displayed (EXIF orientation applied, flat borders cut off). */
  dimensions: { width: number; height: number };
  /** L2-normalised embedding per view. */
  vectors: Map<ModelView, Float32Array>;
}

export interface SignalOptions {
  cacheDir: string;
  /** Trim flat borders (the engine's default). */
  trimBorders: boolean;
  /** False: hashes only (the embeddings map stays empty). */
  embeddings?: boolean;
  log: (message: string) => void;
}

export async function computeSignals(files: EvalFile[], options: SignalOptions): Promise<FileSignals[]> {
  const vectorDir = join(options.cacheDir, 'signals');
  const hashDir = join(options.cacheDir, 'hashes');
  await mkdir(vectorDir, { recursive: true });
  await mkdir(hashDir, { recursive: true });
  let opening: Promise<EmbeddingModel> | null = null; // opened once, on the first file not in the cache
  const out: FileSignals[] = new Array(files.length);
  let embedded = 0;
  let next = 0;
  const started = Date.now();
  const worker = async () => {
    while (next < files.length) {
      const index = next++;
      const file = files[index];
      const bytes = await readFile(file.path);
      const content = createHash('sha1').update(bytes).digest('hex');
      const trim = options.trimBorders ? 'trim' : 'notrim';
      const vectorPath = join(vectorDir, `${content}-v${EMBEDDING_VERSION}-${trim}.bin`);
      const hashPath = join(hashDir, `${content}-v${HASH_VERSION}-${trim}.json`);

      let vectors: Map<ModelView, Float32Array>;
      if (options.embeddings === false) vectors = new Map();
      else if (existsSync(vectorPath)) vectors = parseVectors(await readFile(vectorPath));
      else {
        opening ??= EmbeddingModel.open({ provider: 'cpu' });
        const model = await opening;
        const decoded = await decodeImage(bytes, basename(file.path), { inputSize: model.manifest.input.width, views: ALL_VIEWS, maxMegapixels: 200, rotationVariants: false, trimBorders: options.trimBorders });
        const embeddings = await model.embed(decoded.modelInputs);
        vectors = new Map(ALL_VIEWS.map((view, i) => [view, normalise(embeddings[i])]));
        await writeFile(vectorPath, serialiseVectors(vectors));
        if (++embedded % 100 === 0) options.log(`  embeddings: ${embedded} made (${((Date.now() - started) / embedded).toFixed(0)} ms each)`);
      }

      let hashes: { phash: string; variants: string[]; width?: number; height?: number };
      if (existsSync(hashPath)) hashes = JSON.parse(await readFile(hashPath, 'utf8'));
      else {
        const decoded = await decodeImage(bytes, basename(file.path), { inputSize: 224, views: [], maxMegapixels: 200, rotationVariants: true, cropWindows: ALL_WINDOWS, trimBorders: options.trimBorders });
        hashes = { phash: decoded.phash.toString(16), variants: decoded.phashVariants!.map((v) => v.toString(16)), width: decoded.content.width, height: decoded.content.height };
        await writeFile(hashPath, JSON.stringify(hashes));
      }
      if (hashes.width === undefined) {
        // Cached before the size was kept: decode again for it (the picture's size, borders cut off).
        const decoded = await decodeImage(bytes, basename(file.path), { inputSize: 224, views: [], maxMegapixels: 200, rotationVariants: false, trimBorders: options.trimBorders });
        hashes = { ...hashes, width: decoded.content.width, height: decoded.content.height };
        await writeFile(hashPath, JSON.stringify(hashes));
      }
      const variants = hashes.variants.map((v) => BigInt('0x' + v));
      out[index] = {
        phash: BigInt('0x' + hashes.phash),
        rotations: variants.slice(0, ROTATION_VARIANT_COUNT),
        windows: new Map(ALL_WINDOWS.map((w, i) => [windowKey(w), variants[ROTATION_VARIANT_COUNT + i]])),
        detail: variants.slice(-DETAIL_WORDS),
        dimensions: { width: hashes.width!, height: hashes.height! },
        vectors,
      };
    }
  };
  await Promise.all([worker(), worker()]); // two decodes in flight: the machine is shared
  const model = opening as Promise<EmbeddingModel> | null;
  if (model) await (await model).release();
  if (embedded > 0) options.log(`  embeddings: ${embedded} made, ${files.length - embedded} from the cache`);
  return out;
}

/** The engine's PhotoSignature of a file for a given view list (the first must be 'full') and crop windows. */
export function signatureOf(signals: FileSignals, views: ModelView[], windows: CropWindow[]): PhotoSignature {
  return {
    vectors: views.map((v) => signals.vectors.get(v)!),
    phash: signals.phash,
    phashVariants: [...signals.rotations, ...windows.map((w) => signals.windows.get(windowKey(w))!), ...signals.detail],
    dimensions: signals.dimensions,
  };
}

function serialiseVectors(vectors: Map<ModelView, Float32Array>): Buffer {
  const header = Buffer.from(JSON.stringify([...vectors.keys()]));
  const dim = vectors.get('full')!.length;
  const body = new Float32Array(dim * vectors.size);
  [...vectors.values()].forEach((v, i) => body.set(v, i * dim));
  const lengths = Buffer.alloc(8);
  lengths.writeUInt32LE(header.length, 0);
  lengths.writeUInt32LE(dim, 4);
  return Buffer.concat([lengths, header, Buffer.from(body.buffer)]);
}

function parseVectors(buffer: Buffer): Map<ModelView, Float32Array> {
  const headerLength = buffer.readUInt32LE(0);
  const dim = buffer.readUInt32LE(4);
  const views = JSON.parse(buffer.subarray(8, 8 + headerLength).toString()) as ModelView[];
  const start = 8 + headerLength;
  const floats = new Float32Array(buffer.buffer.slice(buffer.byteOffset + start, buffer.byteOffset + buffer.length));
  return new Map(views.map((view, i) => [view, floats.subarray(i * dim, (i + 1) * dim)]));
}
