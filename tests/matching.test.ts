// Matching on small real cases (real photos, the real model, the engine's decode/match/group code),
// and the grouping rules on synthetic signatures. The figures behind the thresholds: docs/QUALITY.md.
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { after, before, describe, test } from 'node:test';
import sharp, { type Sharp } from 'sharp';
import { decodeImage, splitVariants } from '../electron/engine/decode.ts';
import { DEFAULT_SETTINGS, MODEL_VIEWS } from '../electron/engine/defaults.ts';
import { allPairs, clusterPhotos, type Cluster, type Clustering } from '../electron/engine/group.ts';
import { comparePhotos, judge, MATCH_LIMITS, nearReason, normalise, turnDetail, type PhotoSignature } from '../electron/engine/match.ts';
import { EmbeddingModel } from '../electron/engine/model.ts';
import type { MatchSettings } from '../electron/engine/types.ts';
import { photo } from './helpers/photos.ts';

let model: EmbeddingModel;

async function signature(bytes: Buffer, name = 'photo.jpg'): Promise<PhotoSignature> {
  const decoded = await decodeImage(bytes, name, { inputSize: model.manifest.input.width, views: MODEL_VIEWS, maxMegapixels: 200, rotationVariants: true });
  const vectors = await model.embed(decoded.modelInputs);
  return { vectors: vectors.map(normalise), phash: decoded.phash, phashVariants: decoded.phashVariants, dimensions: decoded.content };
}

const fromFile = async (relative: string) => signature(await readFile(photo(relative)), relative);

function group(nodes: PhotoSignature[], settings: MatchSettings = DEFAULT_SETTINGS): Clustering {
  return clusterPhotos(nodes, allPairs(nodes.length), { settings, isDismissed: () => false });
}

/** Is there a near-duplicate cluster holding all these nodes? */
const nearTogether = (clustering: Clustering, ...nodes: number[]) => clustering.near.some((c) => nodes.every((n) => c.members.includes(n)));
const similarTogether = (clustering: Clustering, ...nodes: number[]) => clustering.similar.some((c) => nodes.every((n) => c.members.includes(n)));

// One model for every suite of this file.
before(async () => {
  model = await EmbeddingModel.open({ provider: 'cpu' });
});
after(async () => {
  await model?.release();
});

describe('matching real photos', () => {
  let coffee: PhotoSignature;
  let coffeeHalf: PhotoSignature;
  let coffeeTurned: PhotoSignature;

  before(async () => {
    const original = await readFile(photo('python3-skimage/coffee.png'));
    coffee = await signature(original, 'coffee.png');
    coffeeHalf = await signature(await sharp(original).resize({ width: 300 }).jpeg({ quality: 85 }).toBuffer());
    coffeeTurned = await signature(await sharp(original).rotate(90).jpeg({ quality: 90 }).toBuffer());
  });

  test('a resized copy is a near-duplicate of its original', () => {
    assert.equal(judge(comparePhotos(coffee, coffeeHalf, true), DEFAULT_SETTINGS).tier, 'near');
    const clustering = group([coffee, coffeeHalf]);
    assert.ok(nearTogether(clustering, 0, 1));
  });

  test('another photo of the same people is not a near-duplicate', async () => {
    // Two shots of one couple at one bar (kphotoalbum); and two face close-ups of different people.
    const bar = await fromFile('kphotoalbum/bar55.jpg');
    const barAgain = await fromFile('kphotoalbum/bar55_2.jpg');
    const face = await fromFile('libdlib19.1/000179_02159509.jpg');
    const otherFace = await fromFile('libdlib19.1/Tom_Cruise_avp_2014_4.jpg');
    assert.notEqual(judge(comparePhotos(bar, barAgain, true), DEFAULT_SETTINGS).tier, 'near');
    assert.equal(judge(comparePhotos(face, otherFace, true), DEFAULT_SETTINGS).tier, null);
    const clustering = group([bar, barAgain, face, otherFace, coffee, coffeeHalf]);
    assert.deepEqual(
      clustering.near.map((c) => c.members),
      [[4, 5]],
      'only the coffee copy is grouped',
    );
  });

  test('consecutive video frames are similar, not near-duplicates', async () => {
    const frame = await fromFile('libdlib19.1/frame_000110.jpg');
    const next = await fromFile('libdlib19.1/frame_000111.jpg');
    assert.equal(judge(comparePhotos(frame, next, true), DEFAULT_SETTINGS).tier, 'similar');
    const clustering = group([frame, next, coffee]);
    assert.equal(clustering.near.length, 0);
    assert.ok(similarTogether(clustering, 0, 1));
  });

  test('a rotated copy groups with rotation invariance on, and not with it off', () => {
    const on = group([coffee, coffeeTurned, coffeeHalf], { ...DEFAULT_SETTINGS, rotationInvariant: true });
    assert.ok(nearTogether(on, 0, 1, 2), 'original, turned and resized copy in one group');
    const off = group([coffee, coffeeTurned, coffeeHalf], { ...DEFAULT_SETTINGS, rotationInvariant: false });
    assert.ok(nearTogether(off, 0, 2));
    assert.ok(!off.near.some((c) => c.members.includes(1)), 'the turned copy stays out');
  });
});

describe('crops, turns and sizes (real photos)', () => {
  test('a turned or mirrored copy keeps its detail hash, turned the same way', async () => {
    const original = await readFile(photo('python3-skimage/coffee.png'));
    const coffee = await signature(original, 'coffee.png');
    const turns: [string, (image: Sharp) => Sharp][] = [
      ['90°', (i) => i.rotate(90)],
      ['180°', (i) => i.rotate(180)],
      ['270°', (i) => i.rotate(270)],
      ['mirror', (i) => i.flop()],
      ['upside down', (i) => i.flip()],
      ['transposed', (i) => i.rotate(90).flop()],
    ];
    for (const [name, turn] of turns) {
      const copy = await signature(await turn(sharp(original)).jpeg({ quality: 90 }).toBuffer());
      const evidence = comparePhotos(copy, coffee, true);
      assert.ok(evidence.rotatedDetailDistance !== null && evidence.rotatedDetailDistance <= 12, `${name}: turned detail hash ${evidence.rotatedDetailDistance} bits apart`);
      assert.equal(nearReason(evidence, DEFAULT_SETTINGS), 'rotation', name);
    }
  });

  test('turning the detail hash four times by 90° gives it back', async () => {
    const decoded = await decodeImage(await readFile(photo('darknet/dog.jpg')), 'dog.jpg', { inputSize: 224, views: [], maxMegapixels: 200, rotationVariants: true });
    const detail = splitVariants(decoded.phashVariants!).detail!;
    const words = new Uint32Array(detail.flatMap((w) => [Number(w & 0xffffffffn), Number(w >> 32n)]));
    let turned: Uint32Array = words;
    for (let i = 0; i < 4; i++) turned = turnDetail(turned, 0);
    assert.deepEqual(turned, words);
    assert.deepEqual(turnDetail(turnDetail(words, 3), 3), words, 'mirroring twice');
    assert.notDeepEqual(turnDetail(words, 0), words);
  });

  test('the other view of a stereo pair, turned, is not a near-duplicate (its detail hash differs)', async () => {
    const left = await readFile(photo('python3-skimage/motorcycle_left.png'));
    const right = await fromFile('python3-skimage/motorcycle_right.png');
    const leftTurned = await signature(await sharp(left).rotate(180).jpeg({ quality: 90 }).toBuffer());
    const evidence = comparePhotos(right, leftTurned, true);
    assert.ok(evidence.rotatedPhashDistance <= DEFAULT_SETTINGS.phashMaxDistance, 'the pHash alone would call it a turned copy');
    assert.ok(evidence.rotatedDetailDistance! > MATCH_LIMITS.detailMax);
    assert.notEqual(judge(evidence, DEFAULT_SETTINGS).tier, 'near');
  });

  test('a cropped copy is a near-duplicate; the next video frame, which looks like a shifted crop, is not', async () => {
    const frameBytes = await readFile(photo('libdlib19.1/frame_000104.jpg'));
    const frame = await signature(frameBytes, 'frame_000104.jpg');
    const later = await fromFile('libdlib19.1/frame_000106.jpg');
    // The camera pans: a 95 % window of one frame is the other, but both have the same size.
    const sizeBlind = comparePhotos({ ...frame, dimensions: null }, { ...later, dimensions: null }, true);
    assert.ok(sizeBlind.cropPhashDistance <= MATCH_LIMITS.cropPhashMax, 'without sizes the crop rule would take it');
    assert.notEqual(judge(comparePhotos(frame, later, true), DEFAULT_SETTINGS).tier, 'near');
    // A corner kept, 7 % cut off each side: fewer pixels, and a window of the frame.
    const cropped = await signature(await sharp(frameBytes).extract({ left: 0, top: 0, width: 298, height: 223 }).jpeg({ quality: 92 }).toBuffer());
    assert.equal(nearReason(comparePhotos(cropped, frame, true), DEFAULT_SETTINGS), 'crop');
  });

  test('a letterboxed copy is measured without its bars', async () => {
    const left = await readFile(photo('python3-skimage/motorcycle_left.png'));
    const boxed = await sharp(left).extend({ top: 40, bottom: 40, background: '#000000' }).jpeg({ quality: 92 }).toBuffer();
    const decoded = await decodeImage(boxed, 'boxed.jpg', { inputSize: 224, views: [], maxMegapixels: 200, rotationVariants: false });
    assert.deepEqual([decoded.width, decoded.height], [741, 580]);
    assert.ok(Math.abs(decoded.content.height - 500) <= 3 && Math.abs(decoded.content.width - 741) <= 3, `content ${decoded.content.width}×${decoded.content.height}`);
    const boxedSignature = await signature(boxed);
    assert.equal(judge(comparePhotos(boxedSignature, await signature(left), true), DEFAULT_SETTINGS).tier, 'near');
    // Measured with its bars it would have more pixels than the right view, which would pass for a crop of it.
    assert.notEqual(judge(comparePhotos(boxedSignature, await fromFile('python3-skimage/motorcycle_right.png'), true), DEFAULT_SETTINGS).tier, 'near');
  });

  test('copies of a tiny image match on the pHash alone (it has no detail at 64×64)', async () => {
    const icon = await readFile(photo('libjxl-testdata/DJI-FC6310-16bit_709_v4_krita.png'));
    const original = await signature(icon, 'icon.png');
    for (const copy of [await sharp(icon).jpeg({ quality: 70 }).toBuffer(), await sharp(icon).resize(32).png().toBuffer()]) {
      const evidence = comparePhotos(original, await signature(copy), true);
      assert.equal(evidence.detailDistance, null);
      assert.equal(nearReason(evidence, DEFAULT_SETTINGS), 'hash');
    }
  });
});

describe('grouping without chaining (synthetic signatures)', () => {
  // Orthogonal embeddings (cosine 0), so only the pHash distance relates these: distances
  // A–B 10 and B–C 10 (near-duplicates at phashMaxDistance 10), A–C 20 (clearly unrelated).
  const unit = (i: number) => Float32Array.from({ length: 8 }, (_, k) => (k === i ? 1 : 0));
  const node = (i: number, phash: bigint): PhotoSignature => ({ vectors: [unit(i)], phash, phashVariants: null });
  const settings: MatchSettings = { ...DEFAULT_SETTINGS, phashMaxDistance: 10 };
  const options = { settings, isDismissed: () => false, views: ['full' as const] };

  test('A≈B and B≈C do not put A and C in one group when A and C are unrelated', () => {
    const a = node(0, 0n);
    const b = node(1, 0x3ffn); // 10 bits from A
    const c = node(2, 0xfffffn); // 20 bits from A, 10 from B
    const clustering = clusterPhotos([a, b, c], allPairs(3), options);
    assert.equal(clustering.near.length, 1);
    assert.ok(!nearTogether(clustering, 0, 2), 'A and C apart');
  });

  test('copies that only match the original join its group (the original is the hub)', () => {
    const original = node(0, 0n);
    const one = node(1, 0xffn); // 8 bits from the original
    const other = node(2, 0xff00n); // 8 bits from the original, 16 from the first copy: related, not near
    const clustering = clusterPhotos([original, one, other], allPairs(3), options);
    assert.deepEqual(clustering.near.map((c) => c.members), [[0, 1, 2]]);
  });

  test('a pair the user dismissed is never in one group', () => {
    const original = node(0, 0n);
    const one = node(1, 0xffn);
    const other = node(2, 0xff00n);
    const clustering = clusterPhotos([original, one, other], allPairs(3), { ...options, isDismissed: (x, y) => x === 1 && y === 2 });
    assert.ok(!nearTogether(clustering, 1, 2));
  });

  test('signatures left out are read when a pair of them is first compared, and only then', () => {
    // Kept verdicts (an earlier grouping's) for the original with each copy: merging the two pairs
    // compares the copies with each other, so those two are read; the photo with no pair never is.
    const photos = [node(0, 0n), node(1, 0xffn), node(2, 0xff00n), node(3, 0xfff000000n)];
    const near = { tier: 'near' as const, score: 0.95, related: true };
    const judged = [
      { a: 0, b: 1, verdict: near },
      { a: 0, b: 2, verdict: near },
    ];
    const read: number[] = [];
    const lazy = clusterPhotos(new Array(4), [], { ...options, judged, signatureOf: (n) => (read.push(n), photos[n]) });
    assert.deepEqual(lazy.near.map((c) => c.members), [[0, 1, 2]]);
    assert.deepEqual(read.sort(), [1, 2], 'only the copies, compared with each other');
    assert.deepEqual(clusterPhotos([...photos], [], { ...options, judged }).near, lazy.near, 'the same clusters as with every signature given');
    assert.throws(() => clusterPhotos(new Array(4), [[0, 1]], options), /no signature for node 0/);
  });

  test('the clusters of a component of matches depend on nothing outside it: a new photo needs only its component clustered again', () => {
    // Two groups: 0-2 (copies of photo 0) and 3-4; 5 alone.
    const photos = [node(0, 0n), node(1, 0xffn), node(2, 0xff00n), node(3, 0xfff000000n), node(4, 0xfff00000fn), node(5, 0xf0f0f0f0f0f0f0n)];
    const first = clusterPhotos(photos, allPairs(photos.length), options);
    const membersOf = (clusters: Cluster[]) => clusters.map((c) => c.members).sort((x, y) => x[0] - y[0]);
    assert.deepEqual(membersOf(first.near), [[0, 1, 2], [3, 4]]);
    assert.deepEqual(first.components.map((c) => c.members).sort((x, y) => x[0] - y[0]), [[0, 1, 2], [3, 4]]);
    for (const component of first.components) {
      assert.ok(component.near.every((cluster) => cluster.members.every((m) => component.members.includes(m))), 'its clusters lie within it');
      assert.ok(component.matches.every(({ a, b }) => a < b && component.members.includes(a) && component.members.includes(b)), 'its matches too');
      // Clustered alone from its matches, it gives the same clusters.
      const alone = clusterPhotos(photos, [], { ...options, judged: component.matches });
      assert.deepEqual(membersOf(alone.near), membersOf(component.near));
    }
    assert.equal(first.judged.length, first.components.reduce((sum, c) => sum + c.matches.length, 0), 'every match is in a component');

    // A new photo, near 3 and 4, comes first in the node order: every node after it moves up by one.
    // Its component is clustered from the last matches of the component it touches and its own
    // candidate pairs; nothing of the other component is read.
    const withNew = [node(6, 0xfff0000f0n), ...photos];
    const touched = first.components.find((c) => c.members.includes(3))!;
    const read: number[] = [];
    const update = clusterPhotos(new Array(withNew.length), [[0, 4], [0, 5], [0, 6]], {
      ...options,
      judged: touched.matches.map(({ a, b, verdict }) => ({ a: a + 1, b: b + 1, verdict })),
      signatureOf: (n) => (read.push(n), withNew[n]),
    });
    const fresh = clusterPhotos(withNew, allPairs(withNew.length), options);
    assert.deepEqual(membersOf(update.near), [[0, 4, 5]]);
    assert.deepEqual(membersOf(fresh.near), [[0, 4, 5], [1, 2, 3]], 'what clustering everything again gives: the same, and the other group as it was');
    assert.ok(!read.some((n) => n >= 1 && n <= 3), 'nothing of the other component was read');
  });
});
