// The engine on real photos with the real model: groups, incremental rescans, queries.
import assert from 'node:assert/strict';
import { copyFile, mkdir, readFile, rename, rm, unlink, writeFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { CatalogData } from '../electron/engine/catalog.ts';
import { catalogBytes, readCatalogDocument } from '../electron/engine/catalog-file.ts';
import { SIGNALS_VERSION } from '../electron/engine/decode.ts';
import { openEngine, type Engine } from '../electron/engine/index.ts';
import type { DuplicateGroup } from '../electron/engine/types.ts';
import { copyPhoto, DISTINCT_PHOTOS, editPhoto, removeDir, tempDir, type Edit } from './helpers/photos.ts';

/** Which original each test file comes from (file name → original's name). */
const origin = new Map<string, string>();

function originOf(path: string): string {
  const name = basename(path);
  const found = origin.get(name);
  assert.ok(found, `unknown test file ${name}`);
  return found;
}

function groupOrigins(group: DuplicateGroup): Set<string> {
  return new Set(group.files.map((f) => originOf(f.path)));
}

describe('engine on real photos', () => {
  let dir: string;
  let library: string;
  let engine: Engine;

  const edits: [number, Edit][] = [
    [0, 'resize'],
    [0, 'thumbnail'],
    [1, 'recompress'],
    [2, 'png'],
    [3, 'webp'],
    [4, 'crop'],
    [5, 'brighter'],
    [6, 'grey'],
  ];

  before(async () => {
    dir = await tempDir();
    library = join(dir, 'library');
    for (const [i, relative] of DISTINCT_PHOTOS.entries()) {
      const name = `p${i}_${basename(relative)}`;
      origin.set(name, `p${i}`);
      await copyPhoto(relative, join(library, name));
    }
    for (const [i, edit] of edits) {
      const name = `p${i}_${edit}.${edit === 'png' ? 'png' : edit === 'webp' ? 'webp' : 'jpg'}`;
      origin.set(name, `p${i}`);
      await editPhoto(DISTINCT_PHOTOS[i], edit, join(library, 'edited', name));
    }
    // A byte-identical backup of photo 7: an exact duplicate.
    origin.set('backup_p7.png', 'p7');
    await copyFile(join(library, `p7_${basename(DISTINCT_PHOTOS[7])}`), join(library, 'backup', 'backup_p7.png')).catch(async () => {
      await mkdir(join(library, 'backup'), { recursive: true });
      await copyFile(join(library, `p7_${basename(DISTINCT_PHOTOS[7])}`), join(library, 'backup', 'backup_p7.png'));
    });
    engine = await openEngine({ catalogPath: join(dir, 'catalog', 'catalog.json'), settings: { executionProvider: 'cpu' } });
  });

  after(async () => {
    await engine?.close();
    await removeDir(dir);
  });

  test('a first scan catalogues every photo and groups each edited copy with its original only', async () => {
    const summary = await engine.scan([library]);
    const fileCount = DISTINCT_PHOTOS.length + edits.length + 1;
    assert.equal(summary.total, fileCount);
    assert.equal(summary.added, fileCount);
    assert.deepEqual(summary.errors, []);

    const { groups } = await engine.groups();
    const duplicates = groups.filter((g) => g.kind !== 'similar');
    for (const group of duplicates) {
      assert.equal(groupOrigins(group).size, 1, `a group mixes different photos: ${group.files.map((f) => basename(f.path)).join(', ')}`);
    }
    // Every edited copy shares a near or exact group with its original.
    for (const [i, edit] of edits) {
      const group = duplicates.find((g) => g.files.some((f) => basename(f.path).startsWith(`p${i}_${edit}`)));
      assert.ok(group, `edited copy p${i}_${edit} is in no group`);
      assert.ok(group.files.some((f) => basename(f.path) === `p${i}_${basename(DISTINCT_PHOTOS[i])}`), `p${i}_${edit} is not grouped with its original`);
      assert.equal(group.kind, 'near');
    }
    // The byte copy forms an exact group with its original.
    const exact = duplicates.filter((g) => g.kind === 'exact');
    assert.equal(exact.length, 1);
    assert.deepEqual(exact[0].files.map((f) => basename(f.path)).sort(), ['backup_p7.png', `p7_${basename(DISTINCT_PHOTOS[7])}`].sort());
    assert.equal(exact[0].score, 1);
    // Photos without copies are in no duplicate group.
    for (const i of [8, 9]) {
      assert.ok(!duplicates.some((g) => g.files.some((f) => basename(f.path).startsWith(`p${i}_`))), `photo p${i} has no copy but was grouped`);
    }
    // Facts after decoding: oriented size, format.
    const dog = engine.fileFacts(join(library, `p0_${basename(DISTINCT_PHOTOS[0])}`));
    assert.ok(dog);
    assert.equal(dog.format, 'jpeg');
    assert.ok(dog.width! > 0 && dog.height! > 0);
    assert.match(dog.contentHash!, /^[0-9a-f]{32}$/);
  });

  test('an unchanged rescan decodes nothing', async () => {
    const summary = await engine.scan();
    assert.equal(summary.unchanged, summary.total);
    assert.equal(summary.added + summary.changed + summary.moved + summary.removed, 0);
  });

  test('photos catalogued by an older version of the signals are decoded and embedded again', async () => {
    const catalogPath = join(dir, 'catalog', 'catalog.json');
    await engine.close();
    const catalog = (await readCatalogDocument(catalogPath)) as CatalogData; // with its journal's changes
    assert.equal(catalog.embedding?.signals, SIGNALS_VERSION);
    delete catalog.embedding!.signals; // as written before the version was recorded (1)
    await writeFile(catalogPath, catalogBytes(catalog));
    engine = await openEngine({ catalogPath, settings: { executionProvider: 'cpu' } });
    const summary = await engine.scan();
    assert.equal(summary.changed, summary.total, 'every photo decoded again');
    assert.equal((await engine.scan()).unchanged, summary.total);
  });

  test('a rescan handles added, changed, removed and moved files', async () => {
    await engine.groups(); // what the next grouping updates
    const added = join(library, 'p8_resize.jpg');
    origin.set('p8_resize.jpg', 'p8');
    await editPhoto(DISTINCT_PHOTOS[8], 'resize', added);
    // Added too: a copy of a photo that is in a group already (with its WebP copy), which that group's
    // component of matches must take in.
    const joining = join(library, 'p3_resize.jpg');
    origin.set('p3_resize.jpg', 'p3');
    await editPhoto(DISTINCT_PHOTOS[3], 'resize', joining);
    // Changed: the brighter copy of p5 is replaced by a copy of photo 9's content.
    const changed = join(library, 'edited', 'p5_brighter.jpg');
    origin.set('p5_brighter.jpg', 'p9');
    await editPhoto(DISTINCT_PHOTOS[9], 'recompress', changed);
    const removed = join(library, 'edited', 'p6_grey.jpg');
    await unlink(removed);
    const movedFrom = join(library, 'edited', 'p1_recompress.jpg');
    const movedTo = join(library, 'moved', 'p1_recompress.jpg');
    await mkdir(join(library, 'moved'));
    await rename(movedFrom, movedTo);

    const summary = await engine.scan([library]);
    assert.equal(summary.added, 2, 'added');
    assert.equal(summary.changed, 1, 'changed');
    assert.equal(summary.removed, 1, 'removed');
    assert.equal(summary.moved, 1, 'moved');
    assert.equal(summary.unchanged, summary.total - 4);

    const { groups } = await engine.groups();
    const groupOf = (path: string) => groups.find((g) => g.kind !== 'similar' && g.files.some((f) => f.path === path));
    assert.ok(groupOf(added), 'the new copy of p8 is grouped');
    assert.deepEqual(groupOrigins(groupOf(added)!), new Set(['p8']));
    assert.deepEqual(groupOf(joining)?.files.map((f) => basename(f.path)).sort(), [`p3_${basename(DISTINCT_PHOTOS[3])}`, 'p3_resize.jpg', 'p3_webp.webp'], 'the new copy joined the group of p3');
    assert.deepEqual(groupOrigins(groupOf(changed)!), new Set(['p9']), 'the changed file now groups with p9');
    assert.ok(!groups.some((g) => g.files.some((f) => f.path === removed)), 'the removed file is gone');
    assert.ok(groupOf(movedTo), 'the moved file keeps its group');
    assert.equal(engine.fileFacts(movedFrom), null);
    // Only the changed photos were searched and judged; a full regrouping gives the same groups.
    assert.match(engine.lastRegroup(), /^updated for [1-9]\d* changed photos?:/);
    // ... and only the components of matches that changed were clustered again.
    const [, kept, components] = /the clusters of (\d+) of (\d+) components of matches kept/.exec(engine.lastRegroup())!.map(Number);
    assert.ok(kept > 0 && kept < components, engine.lastRegroup());
    engine.forgetJudgedPairs();
    const full = await engine.groups();
    assert.match(engine.lastRegroup(), /^searched in full/);
    assert.deepEqual(full, { groups, errors: full.errors });
  });

  test('a query with an edited copy finds its original first', async () => {
    const probe = join(dir, 'probe.jpg');
    await editPhoto(DISTINCT_PHOTOS[2], 'crop', probe); // not in the catalog
    const hits = await engine.query(probe, { top: 5 });
    assert.equal(hits.length, 5);
    // The original and its lossless PNG copy have the same pixels, so either may come first.
    assert.equal(originOf(hits[0].path), 'p2');
    assert.ok(hits.slice(0, 2).some((hit) => basename(hit.path) === `p2_${basename(DISTINCT_PHOTOS[2])}`), 'the original is among the first two');
    assert.notEqual(originOf(hits[2].path), 'p2');
    assert.ok(hits[0].score > hits[hits.length - 1].score);
    for (let i = 1; i < hits.length; i++) assert.ok(hits[i - 1].score >= hits[i].score, 'results are sorted by score');
  });

  test('"not duplicates" is remembered and the group is not shown again', async () => {
    const before = await engine.groups();
    const target = before.groups.find((g) => g.kind === 'near' && g.files.length === 2)!;
    assert.ok(target);
    await engine.markNotDuplicates(target.files.map((f) => f.path));
    const afterDecision = await engine.groups();
    assert.ok(!afterDecision.groups.some((g) => g.kind !== 'similar' && target.files.every((t) => g.files.some((f) => f.path === t.path))));
    assert.match(engine.lastRegroup(), /^updated for 0 changed photos/, 'a decision needs no new search');
    // Byte-identical copies dismissed too: their exact group is not shown again.
    const exact = afterDecision.groups.find((g) => g.kind === 'exact')!;
    assert.ok(exact);
    await engine.markNotDuplicates(exact.files.map((f) => f.path));
    assert.ok(!(await engine.groups()).groups.some((g) => g.kind === 'exact' && g.files.every((f) => exact.files.some((e) => e.path === f.path))));
    // Remembered across sessions.
    const catalogPath = engine.catalogPath;
    await engine.close();
    engine = await openEngine({ catalogPath, settings: { executionProvider: 'cpu' } });
    const reopened = await engine.groups();
    assert.ok(!reopened.groups.some((g) => g.kind !== 'similar' && target.files.every((t) => g.files.some((f) => f.path === t.path))));
    assert.match(engine.lastRegroup(), /^updated for 0 changed photos/, 'the last search and its verdicts were saved with the index');
  });

  test('the first grouping after a restart updates the saved search with the photos added meanwhile', async () => {
    const catalogPath = engine.catalogPath;
    await engine.groups();
    await engine.close();
    const added = join(library, 'p4_recompress.jpg');
    origin.set('p4_recompress.jpg', 'p4');
    await editPhoto(DISTINCT_PHOTOS[4], 'recompress', added);
    engine = await openEngine({ catalogPath, settings: { executionProvider: 'cpu' } });
    assert.equal((await engine.scan([library])).added, 1);
    const { groups } = await engine.groups();
    assert.match(engine.lastRegroup(), /^updated for 1 changed photo:/);
    const group = groups.find((g) => g.kind !== 'similar' && g.files.some((f) => f.path === added));
    assert.ok(group, 'the new copy is grouped');
    assert.deepEqual(groupOrigins(group), new Set(['p4']));
    engine.forgetJudgedPairs();
    const full = await engine.groups();
    assert.match(engine.lastRegroup(), /^searched in full/);
    assert.deepEqual(full, { groups, errors: full.errors });
  });

  test('stricter match settings judge the last matches again instead of searching in full; looser ones search in full', async () => {
    const before = await engine.groups();
    const defaults = engine.settings();
    let added = '';
    const shape = (result: { groups: { kind: string; files: { path: string }[] }[] }) => result.groups.map((g) => `${g.kind}: ${g.files.map((f) => basename(f.path)).sort().join(', ')}`).sort();
    try {
      await engine.updateSettings({ nearCosine: 0.999, similarCosine: 0.9, phashMaxDistance: 1, rotationInvariant: false });
      const stricter = await engine.groups();
      assert.match(engine.lastRegroup(), /^updated for 0 changed photos: 0 new candidate pairs judged, [1-9]\d* earlier matches judged again under stricter settings \(searches: embeddings [\d.]+ s, whole hashes [\d.]+ s, turned and cropped hashes [\d.]+ s\)$/);
      assert.notDeepEqual(shape(stricter), shape(before), 'the stricter settings take some matches away');
      engine.forgetJudgedPairs();
      const full = await engine.groups();
      assert.match(engine.lastRegroup(), /^searched in full/);
      assert.deepEqual(shape(stricter), shape(full), 'the same groups as a full search with those settings');
      // Stricter again, with a new photo: its pairs are searched, the rest judged again.
      added = join(library, 'p7_recompress.jpg');
      origin.set('p7_recompress.jpg', 'p7');
      await editPhoto(DISTINCT_PHOTOS[7], 'recompress', added);
      await engine.scan([library]);
      await engine.updateSettings({ phashMaxDistance: 0 });
      const withNew = await engine.groups();
      assert.match(engine.lastRegroup(), /^updated for 1 changed photo: \d+ new candidate pairs judged, [1-9]\d* earlier matches judged again/);
      engine.forgetJudgedPairs();
      assert.deepEqual(shape(withNew), shape(await engine.groups()));
      // Back to the defaults: looser, so a full search.
      await engine.updateSettings({ nearCosine: defaults.nearCosine, similarCosine: defaults.similarCosine, phashMaxDistance: defaults.phashMaxDistance, rotationInvariant: defaults.rotationInvariant });
      const back = await engine.groups();
      assert.match(engine.lastRegroup(), /^searched in full/);
      const group = back.groups.find((g) => g.kind !== 'similar' && g.files.some((f) => f.path === added));
      assert.deepEqual(groupOrigins(group!), new Set(['p7']), 'the new copy groups with its original');
      assert.deepEqual(shape(back).filter((line) => !line.includes('p7_recompress')), shape(before));
      // A lower near bar alone leaves the search's options as they were, but is looser: in full too.
      await engine.updateSettings({ nearCosine: 0.9 });
      await engine.groups();
      assert.match(engine.lastRegroup(), /^searched in full/);
    } finally {
      await engine.updateSettings({ nearCosine: defaults.nearCosine, similarCosine: defaults.similarCosine, phashMaxDistance: defaults.phashMaxDistance, rotationInvariant: defaults.rotationInvariant });
      if (added) {
        await unlink(added); // the later tests expect the library as it was
        await engine.scan([library]);
      }
    }
  });

  test('a folder that cannot be listed keeps its catalogued files; removing a folder forgets them', async () => {
    const gone = join(dir, 'unplugged');
    await mkdir(gone);
    await copyPhoto(DISTINCT_PHOTOS[0], join(gone, 'a.jpg'));
    await engine.scan([gone]);
    assert.ok(engine.fileFacts(join(gone, 'a.jpg')));
    await rm(gone, { recursive: true });
    const summary = await engine.scan([gone]);
    assert.ok(summary.errors.some((e) => e.path === gone && /cannot be opened/.test(e.message)));
    assert.ok(engine.fileFacts(join(gone, 'a.jpg')), 'an unplugged drive does not empty the catalog');
    await engine.removeFolder(gone);
    assert.equal(engine.fileFacts(join(gone, 'a.jpg')), null);
    assert.ok(!engine.folders().some((f) => f.path === gone));
  });

  test('updatePaths applies single-file changes (what the watcher sends)', async () => {
    const extra = join(library, 'p9_thumbnail.jpg');
    origin.set('p9_thumbnail.jpg', 'p9');
    await editPhoto(DISTINCT_PHOTOS[9], 'thumbnail', extra);
    const summary = await engine.updatePaths([extra]);
    assert.equal(summary.added, 1);
    assert.ok(engine.fileFacts(extra));
    await unlink(extra);
    const removal = await engine.updatePaths([extra]);
    assert.equal(removal.removed, 1);
    assert.equal(engine.fileFacts(extra), null);
    await writeFile(join(library, 'notes.txt'), 'not a photo');
    const ignored = await engine.updatePaths([join(library, 'notes.txt')]);
    assert.equal(ignored.added, 0);
  });

  test('updatePaths of a folder that vanished forgets the photos inside it, at any depth, and no others', async () => {
    const trip = join(library, 'trip');
    const sibling = join(library, 'trip 2'); // same start of name, not inside
    await copyPhoto(DISTINCT_PHOTOS[2], join(trip, 'a.jpg'));
    await copyPhoto(DISTINCT_PHOTOS[3], join(trip, 'day 1', 'deeper', 'b.jpg'));
    await copyPhoto(DISTINCT_PHOTOS[4], join(sibling, 'c.jpg'));
    for (const name of ['a.jpg', 'b.jpg', 'c.jpg']) origin.set(name, name);
    assert.equal((await engine.updatePaths([trip, sibling])).added, 3, 'new folders are listed');
    await rm(trip, { recursive: true });
    // As the watcher sends it: the folder, and a file inside it it did not know (never catalogued).
    const summary = await engine.updatePaths([join(trip, 'notes.txt'), trip]);
    assert.equal(summary.removed, 2);
    assert.equal(engine.fileFacts(join(trip, 'a.jpg')), null);
    assert.equal(engine.fileFacts(join(trip, 'day 1', 'deeper', 'b.jpg')), null);
    assert.ok(engine.fileFacts(join(sibling, 'c.jpg')));
    await rm(sibling, { recursive: true });
    assert.equal((await engine.updatePaths([sibling])).removed, 1);
  });

  test('updatePaths takes files of a scanned folder that sits inside a hidden one, but not hidden files below it', async () => {
    const inHidden = join(dir, '.config', 'photos');
    await copyPhoto(DISTINCT_PHOTOS[3], join(inHidden, 'first.jpg'));
    assert.equal((await engine.scan([inHidden])).added, 1);
    await copyPhoto(DISTINCT_PHOTOS[4], join(inHidden, 'second.jpg'));
    await copyPhoto(DISTINCT_PHOTOS[5], join(inHidden, '.cache', 'hidden.jpg'));
    const summary = await engine.updatePaths([join(inHidden, 'second.jpg'), join(inHidden, '.cache', 'hidden.jpg')]);
    assert.equal(summary.added, 1);
    assert.ok(engine.fileFacts(join(inHidden, 'second.jpg')));
    assert.equal(engine.fileFacts(join(inHidden, '.cache', 'hidden.jpg')), null);
    await engine.removeFolder(inHidden);
  });

  test('progress reports counts and rate, and a cancelled scan keeps its work for the next one', async () => {
    const folder = join(dir, 'cancel');
    for (const [i, relative] of DISTINCT_PHOTOS.entries()) {
      for (const edit of ['resize', 'grey'] as Edit[]) await editPhoto(relative, edit, join(folder, `${i}_${edit}.jpg`));
    }
    const controller = new AbortController();
    const seen: { phase: string; done: number; total: number; rate: number }[] = [];
    const summary = await engine.scan([folder], {
      signal: controller.signal,
      onProgress: (p) => {
        seen.push({ phase: p.phase, done: p.done, total: p.total, rate: p.ratePerSecond });
        if (p.phase === 'reading' && p.done >= 4) controller.abort();
      },
    });
    assert.equal(summary.cancelled, true);
    const reading = seen.filter((p) => p.phase === 'reading');
    assert.ok(reading.length > 0);
    assert.equal(reading[0].total, DISTINCT_PHOTOS.length * 2);
    assert.ok(reading.some((p) => p.done > 0 && p.rate > 0), 'a rate is reported');
    const catalogued = summary.total;
    assert.ok(catalogued >= 4 && catalogued < DISTINCT_PHOTOS.length * 2, `cancelled after ${catalogued} files`);
    const resumed = await engine.scan([folder]);
    assert.equal(resumed.cancelled, false);
    assert.equal(resumed.total, DISTINCT_PHOTOS.length * 2);
    assert.equal(resumed.unchanged, catalogued, 'the work done before cancelling is kept');
  });
});
