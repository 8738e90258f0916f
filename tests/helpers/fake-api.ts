// An in-memory stand-in for the engine behind DedupApi: any number of synthetic groups whose files are
// real photos from shared/photos (so thumbnails render). For renderer development and for the one
// browser test that needs more groups than a real scan can make quickly (10,000, virtualisation).
// Removal here only forgets files; the real behaviour is tested with the real engine.
import { basename, dirname } from 'node:path';
import type { AppSettings, DuplicateGroup, FolderInfo, PhotoFacts } from '../../electron/shared/api.ts';
import type { GroupKind } from '../../electron/engine/types.ts';
import type { Backend, Emit } from './ui-harness.ts';

export interface FakeOptions {
  groupCount: number;
  /** Real image files to cycle through as group members. */
  photos: string[];
  emit: Emit;
}

const KINDS: GroupKind[] = ['exact', 'near', 'similar'];

export function makeFakeGroups(count: number, photos: string[]): DuplicateGroup[] {
  const groups: DuplicateGroup[] = [];
  for (let i = 0; i < count; i++) {
    const kind = KINDS[i % 10 === 0 ? 2 : i % 3 === 0 ? 1 : 0]!;
    const size = 2 + (i % 3);
    const files: PhotoFacts[] = [];
    for (let j = 0; j < size; j++) {
      const path = photos[(i * 3 + j) % photos.length]!;
      // Distinct paths per group member: the photo itself plus a virtual copy name.
      const virtual = j === 0 ? path : `${dirname(path)}/copy-${i}-${j}-${basename(path)}`;
      files.push({
        path: virtual,
        folder: dirname(virtual),
        size: 100_000 + ((i * 7919 + j * 104_729) % 4_000_000),
        mtimeMs: Date.UTC(2020, 0, 1) + i * 600_000 + j * 3_600_000,
        format: 'jpeg',
        width: 4000 - j * 800,
        height: 3000 - j * 600,
        takenAt: j === 1 ? null : new Date(Date.UTC(2019, 5, 1) + i * 60_000).toISOString().slice(0, 19),
        contentHash: `h${i}-${kind === 'exact' ? 0 : j}`,
      });
    }
    groups.push({ id: `g${i}`, kind, score: kind === 'exact' ? 1 : 0.8 + ((i * 37) % 200) / 1000, files });
  }
  return groups;
}

/** Maps a virtual copy name back to the real photo it shows (for thumbnails). */
export function fakeSourceOf(path: string): string {
  return path.replace(/\/copy-\d+-\d+-([^/]+)$/, '/$1');
}

export function createFakeBackend(options: FakeOptions): Backend {
  let groups = makeFakeGroups(options.groupCount, options.photos);
  const folders: FolderInfo[] = [...new Set(options.photos.map((p) => dirname(p)))].map((path) => ({
    path,
    lastScanAt: new Date(Date.UTC(2024, 0, 1)).toISOString(),
    fileCount: options.photos.filter((p) => dirname(p) === path).length,
  }));
  let settings: AppSettings = {
    nearCosine: 0.87,
    similarCosine: 0.8,
    phashMaxDistance: 10,
    rotationInvariant: true,
    executionProvider: 'auto',
    includeHidden: false,
    maxMegapixels: 200,
    language: 'en',
  };
  const removed: string[][] = [];
  const forget = (paths: Set<string>) => {
    groups = groups
      .map((g) => ({ ...g, files: g.files.filter((f) => !paths.has(f.path)) }))
      .filter((g) => g.files.length > 1);
  };
  return {
    'folders.list': async () => folders,
    'folders.pick': async () => [],
    'folders.add': async () => folders,
    'folders.remove': async () => folders,
    'scan.start': async (paths) => ({
      folders: paths ?? folders.map((f) => f.path),
      total: options.photos.length,
      added: 0,
      changed: 0,
      moved: 0,
      removed: 0,
      unchanged: options.photos.length,
      errors: [],
      durationMs: 1,
      cancelled: false,
    }),
    'scan.cancel': async () => {},
    'groups.list': async () => ({ groups, errors: [] }),
    'groups.notDuplicates': async (paths) => {
      const set = new Set(paths);
      groups = groups.filter((g) => !g.files.every((f) => set.has(f.path)));
      options.emit('groups.changed', { groups, errors: [] });
    },
    'files.remove': async (request) => {
      const paths = request.items.map((i) => i.path);
      forget(new Set(paths));
      removed.push(paths);
      return { done: paths.map((path) => ({ path, to: null })), refused: [], actionId: String(removed.length) };
    },
    'files.undo': async () => ({ restored: [], failed: [] }),
    'files.canUndo': async () => false,
    'files.open': async () => {},
    'files.reveal': async () => {},
    'files.pickDestination': async () => null,
    'query.byPath': async () => [],
    'query.pick': async () => ({ path: null, hits: [] }),
    'settings.get': async () => settings,
    'settings.update': async (patch) => (settings = { ...settings, ...patch }),
    'settings.provider': async () => ({ requested: 'auto', active: 'cpu', attempts: [{ provider: 'cpu', ok: true, reason: null }] }),
  };
}
