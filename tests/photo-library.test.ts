// The library of photos (photo-library.ts), kept up to date file by file: after any sequence of
// files added, changed, moved and removed it must be what a library made from the catalog's files
// at that moment is (photos in content-hash order, each photo's files by path, its base, the byte
// copies), and the bases it says came and went, and the photos whose files changed, must cover the
// difference and little else.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { CatalogEntry } from '../electron/engine/catalog.ts';
import { mulberry32 } from '../electron/engine/lsh.ts';
import { PhotoLibrary } from '../electron/engine/photo-library.ts';

const rand = mulberry32(21);
const pick = <T>(items: T[]): T => items[Math.floor(rand() * items.length)];

function entry(path: string, hash: string, vectorRow: number | null, status: CatalogEntry['status'] = 'ok'): CatalogEntry {
  return { path, size: 1, mtimeMs: 1, contentHash: hash, format: 'jpeg', width: 1, height: 1, takenAt: null, phash: '0123456789abcdef', phashVariants: null, vectorRow, vectorHash: null, status, error: null };
}

/** What the library holds, in plain values. */
function stateOf(library: PhotoLibrary) {
  return {
    keys: [...library.keys],
    bases: [...library.bases],
    files: library.keys.map((key) => library.files(key)!.map((file) => file.path)),
    copied: [...library.copied()].sort(),
    representatives: [...library.representatives()].map((file) => file.path).sort(),
    nodes: library.bases.map((base) => library.nodeOfBase(base)),
    nodesOfKeys: library.keys.map((key) => library.nodeOfKey(key)),
  };
}

test('kept up to date file by file, the library equals one made from the files; its base changes cover the difference', () => {
  for (const [round, changesPerCheck] of [1, 5, 40, 3000].entries()) {
    // A catalog: paths to entries. Contents (hashes) each have one vector row; byte copies share it.
    const rowOf = new Map<string, number>();
    let nextRow = 0;
    const hashes = Array.from({ length: 300 }, (_, i) => `h${String((i * 7919) % 1000).padStart(4, '0')}`);
    const makeEntry = (path: string): CatalogEntry => {
      const hash = pick(hashes);
      if (!rowOf.has(hash) || rand() < 0.05) rowOf.set(hash, nextRow++); // now and then a copy embedded on its own row
      const r = rand();
      // Files that are not photos of the library: errors, unsupported, not embedded yet.
      if (r < 0.05) return entry(path, hash, null);
      if (r < 0.08) return entry(path, hash, rowOf.get(hash)!, 'error');
      return entry(path, hash, rowOf.get(hash)!);
    };
    const catalog = new Map<string, CatalogEntry>();
    for (let i = 0; i < 400; i++) catalog.set(`/p/${i % 13}/f${i}.jpg`, makeEntry(`/p/${i % 13}/f${i}.jpg`));
    const library = new PhotoLibrary(catalog.values());
    library.takeBaseChanges();
    library.takeFileChanges();
    let basesBefore = new Set(library.bases);
    const filesNow = () => new Map(library.keys.map((key) => [key, [...library.files(key)!]]));
    let filesBefore = filesNow();
    let made = 400;
    for (let step = 0; step < 6000; step += changesPerCheck) {
      for (let k = 0; k < changesPerCheck; k++) {
        const paths = [...catalog.keys()];
        const r = rand();
        if (r < 0.35 || paths.length < 50) {
          const path = `/p/${made % 13}/n${made++}.jpg`; // added
          const after = makeEntry(path);
          library.change(undefined, after);
          catalog.set(path, after);
        } else if (r < 0.6) {
          const path = pick(paths); // removed
          library.change(catalog.get(path), undefined);
          catalog.delete(path);
        } else if (r < 0.8) {
          const path = pick(paths); // changed: other bytes, or the same bytes read again
          const before = catalog.get(path)!;
          const after = rand() < 0.5 ? makeEntry(path) : { ...before, mtimeMs: before.mtimeMs + 1 };
          library.change(before, after);
          catalog.set(path, after);
        } else {
          const from = pick(paths); // moved: the same entry under a new path
          const before = catalog.get(from)!;
          const to = `/q/${made++}.jpg`;
          library.change(before, undefined);
          catalog.delete(from);
          library.change(undefined, { ...before, path: to });
          catalog.set(to, { ...before, path: to });
        }
        if (rand() < 0.1) void library.keys; // the engine looks at the library between changes too (it puts them in order then)
      }
      const what = `round ${round} (${changesPerCheck} changes at a time), step ${step}`;
      const made_ = new PhotoLibrary(catalog.values());
      assert.deepEqual(stateOf(library), stateOf(made_), what);
      const basesNow = new Set(library.bases);
      const { removed, added } = library.takeBaseChanges();
      const gone = [...basesBefore].filter((b) => !basesNow.has(b));
      const come = [...basesNow].filter((b) => !basesBefore.has(b));
      assert.ok(gone.every((b) => removed.includes(b)), `${what}: every base gone is told`);
      assert.ok(come.every((b) => added.includes(b)), `${what}: every base come is told`);
      assert.ok(added.every((b) => basesNow.has(b)), `${what}: every added base is there`);
      // A base told removed that is still there was replaced (told added too); one that came and went again may be told removed.
      assert.ok(removed.every((b) => !basesNow.has(b) || added.includes(b)), `${what}: a base told removed is gone or replaced`);
      assert.ok(added.length <= 2 * changesPerCheck, `${what}: only the changed photos are told (${added.length})`);
      basesBefore = basesNow;
      // The photos whose files changed (other entries, or other paths) are told, and few others.
      const filesAfter = filesNow();
      const told = new Set(library.takeFileChanges());
      for (const key of new Set([...filesBefore.keys(), ...filesAfter.keys()])) {
        const before = filesBefore.get(key) ?? [];
        const after = filesAfter.get(key) ?? [];
        if (before.length !== after.length || before.some((file, i) => file !== after[i])) assert.ok(told.has(key), `${what}: the files of ${key} changed and are told`);
      }
      assert.ok(told.size <= 2 * changesPerCheck, `${what}: only the changed photos' files are told (${told.size})`);
      filesBefore = filesAfter;
    }
    assert.ok(library.keys.length > 50 && library.copied().size > 5, `round ${round}: a library with byte copies (${library.keys.length} photos)`);
    assert.equal(library.nodeOfKey('nothing'), -1);
    assert.equal(library.nodeOfBase(10 ** 6), -1);
  }
});

test('many files of one content (placed by binary search) stay in path order; removing a file it does not hold changes nothing', () => {
  const library = new PhotoLibrary([]);
  const catalog = new Map<string, CatalogEntry>();
  for (let i = 0; i < 3000; i++) {
    const path = `/copies/${Math.floor(rand() * 1e6)}-${i}.jpg`;
    const file = entry(path, 'same', 0);
    library.change(undefined, file);
    catalog.set(path, file);
    if (i % 3 === 2) {
      const gone = pick([...catalog.keys()]);
      library.change(catalog.get(gone), undefined);
      catalog.delete(gone);
    }
  }
  assert.deepEqual(stateOf(library), stateOf(new PhotoLibrary(catalog.values())));
  const before = stateOf(library);
  library.change(entry('/copies/500000-absent.jpg', 'same', 0), undefined); // among the held paths
  library.change(entry('/zzz/never-added.jpg', 'same', 0), undefined); // past every held path
  assert.deepEqual(stateOf(library), before);
});
