// Recursive listing of image files under a folder: follows symlinked folders once (no loops), skips
// hidden and system folders by default, and reports unreadable folders instead of failing.
import { open, opendir, realpath, stat } from 'node:fs/promises';
import { basename, extname, join } from 'node:path';
import { CANDIDATE_EXTENSIONS, SNIFF_BYTES, sniffFormat } from './sniff.ts';
import type { ScanProblem } from './types.ts';

export interface ListedFile {
  path: string;
  size: number;
  mtimeMs: number;
}

export interface WalkOptions {
  includeHidden: boolean;
  /** Absolute paths never entered or listed (e.g. the catalog's own folder). */
  exclude: Set<string>;
  onProblem: (problem: ScanProblem) => void;
  signal?: AbortSignal;
}

/** Folders that hold no user photos of their own: OS trash and metadata, NAS thumbnail caches. */
const SYSTEM_FOLDERS = new Set(['$RECYCLE.BIN', 'System Volume Information', '@eaDir', 'lost+found', '.Trash', '.Trashes', '.thumbnails', 'node_modules']);

/** Extensions that are never images: skipped without opening the file. */
const NEVER_IMAGES = new Set([
  '.mp4', '.mov', '.avi', '.mkv', '.m4v', '.mts', '.m2ts', '.3gp', '.wmv', '.webm', '.mpg', '.mpeg',
  '.mp3', '.wav', '.m4a', '.aac', '.flac', '.ogg', '.xmp', '.aae', '.json', '.txt', '.md', '.pdf', '.doc',
  '.docx', '.xls', '.xlsx', '.zip', '.gz', '.7z', '.rar', '.tar', '.db', '.ini', '.html', '.htm', '.xml', '.csv', '.log',
]);

export function isHiddenName(name: string): boolean {
  return name.startsWith('.');
}

/** Lists image files; files with an unknown extension are recognised by content. */
export async function listImages(root: string, options: WalkOptions): Promise<ListedFile[]> {
  const found: ListedFile[] = [];
  const visited = new Set<string>(); // real paths of folders already walked: symlink loops end here

  async function walk(folder: string): Promise<void> {
    if (options.signal?.aborted) return;
    let real: string;
    try {
      real = await realpath(folder);
    } catch (error) {
      options.onProblem({ path: folder, message: `folder cannot be opened: ${invalidName(folder, error) ? NOT_UTF8 : describe(error)}` });
      return;
    }
    if (visited.has(real) || options.exclude.has(real) || options.exclude.has(folder)) return;
    visited.add(real);
    let dir;
    try {
      dir = await opendir(folder);
    } catch (error) {
      options.onProblem({ path: folder, message: `folder cannot be read: ${describe(error)}` });
      return;
    }
    const subfolders: string[] = [];
    try {
      for await (const entry of dir) {
        const name = entry.name;
        if (!options.includeHidden && isHiddenName(name)) continue;
        const full = join(folder, name);
        if (entry.isDirectory()) {
          if (!SYSTEM_FOLDERS.has(name)) subfolders.push(full);
        } else if (entry.isFile() || entry.isSymbolicLink()) {
          const file = await examine(full, entry.isSymbolicLink());
          if (file === 'folder') subfolders.push(full);
          else if (file) found.push(file);
        }
      }
    } catch (error) {
      options.onProblem({ path: folder, message: `folder could not be listed completely: ${describe(error)}` });
    }
    for (const sub of subfolders.sort()) await walk(sub);
  }

  async function examine(path: string, isLink: boolean): Promise<ListedFile | 'folder' | null> {
    const extension = extname(path).toLowerCase();
    if (NEVER_IMAGES.has(extension)) return null;
    let info;
    try {
      info = await stat(path);
    } catch (error) {
      if (invalidName(path, error)) options.onProblem({ path, message: `cannot be read: ${NOT_UTF8}` });
      else if (isLink) options.onProblem({ path, message: `broken symbolic link: ${describe(error)}` });
      else if ((error as NodeJS.ErrnoException).code !== 'ENOENT') options.onProblem({ path, message: `cannot be read: ${describe(error)}` });
      return null; // a file that vanished between listing and stat is simply gone
    }
    if (info.isDirectory()) return isLink && !SYSTEM_FOLDERS.has(basename(path)) ? 'folder' : null;
    if (!info.isFile()) return null;
    const listed = { path, size: info.size, mtimeMs: info.mtimeMs };
    if (CANDIDATE_EXTENSIONS.has(extension)) return listed;
    // Unknown extension: an image only if its first bytes say so (photos saved without an extension).
    if (info.size < 12) return null;
    return (await looksLikeImage(path)) ? listed : null;
  }

  await walk(root);
  return found;
}

const NOT_UTF8 = 'its name is not valid UTF-8, so it cannot be opened (rename it to include it)';

/**
 * Node lists a name that is not valid UTF-8 with U+FFFD in place of the bad bytes, and that string
 * names no file: opening it fails with ENOENT. Such a file is reported instead of silently skipped.
 */
function invalidName(path: string, error: unknown): boolean {
  return (error as NodeJS.ErrnoException)?.code === 'ENOENT' && basename(path).includes('\uFFFD');
}

async function looksLikeImage(path: string): Promise<boolean> {
  let handle;
  try {
    handle = await open(path, 'r');
    const buffer = Buffer.alloc(SNIFF_BYTES);
    const { bytesRead } = await handle.read(buffer, 0, SNIFF_BYTES, 0);
    return sniffFormat(buffer.subarray(0, bytesRead)) !== null;
  } catch {
    return false;
  } finally {
    await handle?.close();
  }
}

export function describe(error: unknown): string {
  const code = (error as NodeJS.ErrnoException)?.code;
  switch (code) {
    case 'EACCES':
    case 'EPERM':
      return 'permission denied';
    case 'ENOENT':
      return 'it no longer exists';
    case 'ENOTDIR':
      return 'not a folder';
    case 'ELOOP':
      return 'too many levels of symbolic links';
    case 'EIO':
      return 'input/output error (failing or removed drive?)';
    case 'ENAMETOOLONG':
      return 'name too long';
    default:
      return (error as Error)?.message ?? String(error);
  }
}
