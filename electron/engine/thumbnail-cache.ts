// Thumbnails for the app, without Electron: parsing and checking the URL the renderer asks for, the
// rules on which files may be shown, and a disk cache of JPEGs made with sharp (two sizes).
//
// Only catalogued files are served: the path must be absolute and clean, known to the catalog, a
// regular file, and its real location (symbolic links resolved) must lie inside a catalogued folder.
// The cache file name is a hash of the real path, the file's size and mtime and the thumbnail size,
// so an edited photo gets a new thumbnail, and nothing of the path appears in the cache's names.
import { createHash, randomUUID } from 'node:crypto';
import { mkdir, readdir, readFile, realpath, rename, stat, unlink } from 'node:fs/promises';
import { basename, join, sep } from 'node:path';
import { THUMBNAIL_HOST, THUMBNAIL_SCHEME, pathProblem, type ThumbnailSize } from '../shared/ipc-contract.ts';
import type { FolderInfo, PhotoFacts } from './types.ts';

/** Longest side of each thumbnail size, in pixels (never enlarged). */
export const THUMBNAIL_PIXELS: Record<ThumbnailSize, number> = { small: 320, large: 1280 };
const JPEG_QUALITY: Record<ThumbnailSize, number> = { small: 75, large: 85 };
/** Bumped when the thumbnails' look changes: old cache files are then never used again. */
const CACHE_VERSION = 1;

export type Parsed<T> = { ok: true; value: T } | { ok: false; reason: string };

/**
 * Reads `dedup-thumb://local/<small|large>?path=<percent-encoded absolute path>` (see `thumbnailUrl` in
 * ipc-contract.ts). Anything else (another scheme or host, extra parameters, a relative path, `..`,
 * NUL) is refused with a reason.
 */
export function parseThumbnailUrl(url: string): Parsed<{ path: string; size: ThumbnailSize }> {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return { ok: false, reason: 'not a URL' };
  }
  if (parsed.protocol !== `${THUMBNAIL_SCHEME}:`) return { ok: false, reason: 'wrong scheme' };
  if (parsed.host !== THUMBNAIL_HOST) return { ok: false, reason: 'wrong host' };
  const size = parsed.pathname.slice(1);
  if (size !== 'small' && size !== 'large') return { ok: false, reason: 'unknown thumbnail size' };
  const keys = [...parsed.searchParams.keys()];
  if (keys.length !== 1 || keys[0] !== 'path') return { ok: false, reason: 'expected exactly one "path" parameter' };
  const path = parsed.searchParams.get('path')!;
  const problem = pathProblem(path);
  if (problem) return { ok: false, reason: problem };
  return { ok: true, value: { path, size } };
}

/** What the cache needs of the engine (the Engine itself satisfies it). */
export interface ThumbnailSource {
  fileFacts(path: string): PhotoFacts | null | Promise<PhotoFacts | null>;
  folders(): FolderInfo[] | Promise<FolderInfo[]>;
  settings(): { maxMegapixels: number };
}

export interface CheckedFile {
  /** The file's location with symbolic links resolved. */
  realPath: string;
  size: number;
  mtimeMs: number;
}

function isInside(path: string, folder: string): boolean {
  return path === folder || path.startsWith(folder.endsWith(sep) ? folder : folder + sep);
}

/** Applies the rules on what may be shown; returns the file's real location, or why it is refused. */
export async function checkThumbnailPath(path: string, source: ThumbnailSource): Promise<Parsed<CheckedFile>> {
  const problem = pathProblem(path);
  if (problem) return { ok: false, reason: problem };
  if ((await source.fileFacts(path)) === null) return { ok: false, reason: 'not in the catalog' };
  let realPath: string;
  let info;
  try {
    realPath = await realpath(path);
    info = await stat(realPath);
  } catch {
    return { ok: false, reason: 'the file cannot be opened' };
  }
  if (!info.isFile()) return { ok: false, reason: 'not a regular file' };
  const folders = await source.folders();
  const realFolders = await Promise.all(folders.map((folder) => realpath(folder.path).catch(() => null)));
  if (!realFolders.some((folder) => folder !== null && isInside(realPath, folder))) {
    return { ok: false, reason: 'it leads outside the catalogued folders' };
  }
  return { ok: true, value: { realPath, size: info.size, mtimeMs: info.mtimeMs } };
}

/** The cache key: the file (real path, size, mtime) and the thumbnail size. */
export function cacheKey(file: CheckedFile, size: ThumbnailSize): string {
  return createHash('sha256')
    .update(JSON.stringify([CACHE_VERSION, file.realPath, file.size, file.mtimeMs, size]))
    .digest('hex');
}

/** `<dir>/<size>/<first two hex digits>/<key>.jpg` */
export function cacheFilePath(dir: string, key: string, size: ThumbnailSize): string {
  return join(dir, size, key.slice(0, 2), `${key}.jpg`);
}

export class ThumbnailRefused extends Error {
  constructor(reason: string) {
    super(reason);
    this.name = 'ThumbnailRefused';
  }
}

export class ThumbnailCache {
  private readonly inFlight = new Map<string, Promise<string>>();
  private running = 0;
  private readonly waiting: (() => void)[] = [];

  /**
   * @param dir the cache folder (created on demand)
   * @param concurrency thumbnails made at the same time (each decodes a whole photo)
   */
  constructor(readonly dir: string, private readonly source: ThumbnailSource, private readonly concurrency = 2) {}

  /** Path of the cached JPEG for a catalogued file, made now if needed; throws ThumbnailRefused. */
  async get(path: string, size: ThumbnailSize): Promise<string> {
    const checked = await checkThumbnailPath(path, this.source);
    if (!checked.ok) throw new ThumbnailRefused(`${path}: ${checked.reason}`);
    const key = cacheKey(checked.value, size);
    const target = cacheFilePath(this.dir, key, size);
    if (await stat(target).then((s) => s.isFile(), () => false)) return target;
    // Several requests for the same thumbnail share one piece of work.
    let work = this.inFlight.get(key);
    if (!work) {
      work = this.limited(() => this.make(checked.value, size, target)).finally(() => this.inFlight.delete(key));
      this.inFlight.set(key, work);
    }
    return work;
  }

  /** Deletes the oldest thumbnails until the cache holds at most `maxBytes`; returns files deleted. */
  async prune(maxBytes: number): Promise<number> {
    const files: { path: string; size: number; mtimeMs: number }[] = [];
    for (const size of ['small', 'large'] as const) {
      const sizeDir = join(this.dir, size);
      for (const sub of await readdir(sizeDir).catch(() => [] as string[])) {
        for (const name of await readdir(join(sizeDir, sub)).catch(() => [] as string[])) {
          const path = join(sizeDir, sub, name);
          const info = await stat(path).catch(() => null);
          if (info?.isFile()) files.push({ path, size: info.size, mtimeMs: info.mtimeMs });
        }
      }
    }
    let total = files.reduce((sum, file) => sum + file.size, 0);
    let deleted = 0;
    for (const file of files.sort((a, b) => a.mtimeMs - b.mtimeMs)) {
      if (total <= maxBytes) break;
      await unlink(file.path).catch(() => undefined);
      total -= file.size;
      deleted++;
    }
    return deleted;
  }

  private async make(file: CheckedFile, size: ThumbnailSize, target: string): Promise<string> {
    // Loaded on first use: the main process imports this module for parseThumbnailUrl only.
    const { openOriented } = await import('./decode.ts');
    const bytes = await readFile(file.realPath);
    const image = await openOriented(bytes, basename(file.realPath), this.source.settings().maxMegapixels);
    const pixels = THUMBNAIL_PIXELS[size];
    await mkdir(join(target, '..'), { recursive: true });
    const temp = `${target}.${randomUUID().slice(0, 8)}.tmp`;
    try {
      await image
        .resize(pixels, pixels, { fit: 'inside', withoutEnlargement: true })
        .flatten({ background: '#ffffff' })
        .jpeg({ quality: JPEG_QUALITY[size] })
        .toFile(temp);
      await rename(temp, target); // whole files only: a reader never sees half a thumbnail
    } catch (error) {
      await unlink(temp).catch(() => undefined);
      throw error;
    }
    return target;
  }

  private async limited<T>(work: () => Promise<T>): Promise<T> {
    while (this.running >= this.concurrency) await new Promise<void>((resolve) => this.waiting.push(resolve));
    this.running++;
    try {
      return await work();
    } finally {
      this.running--;
      this.waiting.shift()?.();
    }
  }
}
