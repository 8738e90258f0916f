// What a regrouping keeps for the next (kept-grouping.ts): after any sequence of components taken out
// and put in, the groups it returns must be exactly those of the components it holds plus the exact
// groups of that call, in the order a full sort gives, and it must find the component of any photo.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { KeptGrouping, type KeptComponent } from '../electron/engine/kept-grouping.ts';
import { mulberry32 } from '../electron/engine/lsh.ts';
import { PhotoLibrary } from '../electron/engine/photo-library.ts';
import type { DuplicateGroup, GroupKind } from '../electron/engine/types.ts';

const rand = mulberry32(5);

function group(kind: GroupKind, paths: string[]): DuplicateGroup {
  const files = paths.map((path) => ({ path, folder: '/p', size: 1, mtimeMs: 1, format: 'jpeg', width: 1, height: 1, takenAt: null, contentHash: path }));
  return { id: paths.join(), kind, score: 1, files };
}

const inOrder = (a: DuplicateGroup, b: DuplicateGroup) =>
  ['exact', 'near', 'similar'].indexOf(a.kind) - ['exact', 'near', 'similar'].indexOf(b.kind) || b.files.length - a.files.length || a.files[0].path.localeCompare(b.files[0].path);

test('the groups of the components held, and the exact groups of the call, come out in display order', () => {
  const grouping = new KeptGrouping('settings', 0, new PhotoLibrary([]));
  const held = new Set<KeptComponent>();
  let nextBase = 0;
  const makeComponent = (): KeptComponent => {
    const members = Array.from({ length: 2 + Math.floor(rand() * 4) }, () => nextBase++);
    const path = (base: number) => `/p/${String(Math.floor(rand() * 1000)).padStart(3, '0')}-${base}.jpg`;
    const near = members.slice(0, 2);
    const groups = [group('near', near.map(path))];
    if (rand() < 0.5) groups.push(group('similar', [path(members[0]), path(members[members.length - 1])]));
    return { members, matches: [], nearClustered: new Set(near), groups };
  };
  for (let step = 0; step < 200; step++) {
    const gone = new Set([...held].filter(() => rand() < 0.05));
    const made = Array.from({ length: step === 0 ? 300 : Math.floor(rand() * 4) }, makeComponent);
    const exact = Array.from({ length: Math.floor(rand() * 3) }, () => group('exact', [`/e/${step}-${rand()}.jpg`, `/e/copy-${step}.jpg`]));
    let askedAfterPutIn = false;
    const groups = grouping.replace(gone, made, () => {
      askedAfterPutIn = made.every((component) => grouping.holding([component.members[0]]).has(component));
      return exact;
    }, inOrder);
    assert.ok(askedAfterPutIn, 'the exact groups are asked for once the new components are in');
    for (const component of gone) held.delete(component);
    for (const component of made) held.add(component);
    const expected = [...[...held].flatMap((component) => component.groups), ...exact].sort(inOrder);
    assert.deepEqual(groups, expected, `step ${step}`);
    assert.equal(grouping.size, held.size);
    for (const component of held) {
      assert.deepEqual([...grouping.holding(component.members)], [component]);
      assert.equal(grouping.isNearClustered(component.members[0]), true);
      assert.equal(grouping.isNearClustered(component.members[2] ?? -1), false);
    }
  }
  assert.equal(grouping.holding([nextBase + 1]).size, 0, 'a photo in no component');
});
