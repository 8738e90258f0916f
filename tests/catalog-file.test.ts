// The catalog's file layout (JSON lines and binary variant hashes, catalog-file.ts) and atomic file replacement
// (atomic-file.ts): what is written reads back the same, whatever the paths hold; a file cut short
// or with a broken line is refused; older whole-document catalogs still read; saves land in order;
// a failed or killed write leaves the old file and no temporary file behind.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { removeLeftoverTemps, writeFileAtomic, writeFileAtomicSync } from '../electron/engine/atomic-file.ts';
import { CatalogFile, catalogBytes, catalogPieces, parseCatalogBytes, readCatalogDocument, type CatalogDocument } from '../electron/engine/catalog-file.ts';
import { removeDir, tempDir } from './helpers/photos.ts';

let dir: string;
before(async () => {
  dir = await tempDir('catalog-file-');
});
after(async () => {
  await removeDir(dir);
});

/** Paths a user's disk may hold: line breaks, a JavaScript line separator, quotes, backslashes, non-BMP characters. */
const ODD_PATHS = ['/photos/a\nb.jpg', '/photos/c\rd.jpg', '/photos/e\u2028f\u2029g.jpg', '/photos/"quoted" \\ back.jpg', '/照片/𝄞 2024.jpg', ''];

interface TestEntry {
  path: string;
  phashVariants: Uint8Array | null;
  [field: string]: unknown;
}

function documentOf(count: number): CatalogDocument & { formatVersion: number; folders: unknown[]; settings: object; files: TestEntry[] } {
  const files = Array.from({ length: count }, (_, i) => ({
    path: ODD_PATHS[i % ODD_PATHS.length] + i,
    size: i,
    mtimeMs: 1.5 + i,
    // As long as a real entry's, every byte value (a newline too); none, an empty list, or a few.
    phashVariants: i % 5 === 4 ? null : i % 11 === 10 ? Buffer.alloc(0) : i % 7 === 6 ? Buffer.from('0a0d0a0d0a0d0a0d', 'hex') : Buffer.from(Array.from({ length: 488 }, (_, k) => (i + k) % 256)),
    vectorRow: i % 3 === 0 ? null : i,
  }));
  return { formatVersion: 4, folders: [{ path: '/photos\nnew', lastScanAt: null }], settings: { nearCosine: 0.9 }, files };
}

const readLayouts = async (path: string) => ({ streamed: await readCatalogDocument(path), whole: parseCatalogBytes(await readFile(path)) });

test('a catalog reads back the same, one line per file and the variant hashes in binary, whatever its paths hold, in pieces of bounded size', async () => {
  for (const count of [0, 1, 6000]) {
    const document = documentOf(count);
    const path = join(dir, `round-${count}.json`);
    await new CatalogFile(path, async () => null).write(document);
    const { streamed, whole } = await readLayouts(path);
    assert.deepEqual(streamed, document);
    assert.deepEqual(whole, document);
    const bytes = await readFile(path);
    const variantBytes = document.files.reduce((sum: number, file: TestEntry) => sum + (file.phashVariants?.length ?? 0), 0);
    const text = bytes.subarray(0, bytes.length - variantBytes).toString();
    assert.equal(text.split('\n').length, 1 + count + 1, 'the first line, a line per file, then the binary hashes');
    assert.ok(!text.includes('f0f1f2'), 'no hex in the lines');
    const pieces = [...catalogPieces(document)];
    assert.ok(pieces.every((piece) => piece.length <= 2 ** 20 + 4096), 'no piece is much over 1 MiB');
    if (count === 6000) assert.ok(pieces.length > 3, `${pieces.length} pieces for ~3 MiB`);
  }
});

test('a lines catalog cut short, run on, or with a broken line is refused, with where', async () => {
  const path = join(dir, 'damaged.json');
  const document = documentOf(5);
  const good = catalogBytes(document);
  const variantBytes = document.files.reduce((sum: number, file: TestEntry) => sum + (file.phashVariants?.length ?? 0), 0);
  const lines = good.subarray(0, good.length - variantBytes).toString().trimEnd().split('\n');
  const binary = good.subarray(good.length - variantBytes);
  const withLines = (parts: string[]) => Buffer.concat([Buffer.from(parts.map((line) => `${line}\n`).join('')), binary]);
  const damages: [string, Buffer, RegExp][] = [
    ['cut after the first line', Buffer.from(`${lines[0]}\n`), /lists 5 files but holds 0/],
    ['cut at a line end', Buffer.from(`${lines.slice(0, 4).join('\n')}\n`), /lists 5 files but holds 3/],
    ['cut mid-line', Buffer.from(lines.join('\n').slice(0, -20)), /line 6 of the catalog is not JSON/],
    ['cut in the variant hashes', good.subarray(0, good.length - 100), new RegExp(`take ${variantBytes - 100} bytes, not ${variantBytes}`)],
    ['a line too many (read as hashes)', withLines([...lines, lines[1]]), /bytes, not/],
    ['a line missing (hashes read as a line)', withLines([lines[0], ...lines.slice(2)]), /not JSON/],
    ['a line of garbage', withLines([lines[0], lines[1], 'garbage', ...lines.slice(3)]), /line 3 of the catalog is not JSON/],
    ['an entry pointing past the hashes', withLines([lines[0], lines[1].replace(/"phashVariants":\d+/, '"phashVariants":99999'), ...lines.slice(2)]), /not whole hashes/],
    ['an entry with a hashes count that is not whole', withLines([lines[0], lines[1].replace(/"phashVariants":\d+/, '"phashVariants":1.5'), ...lines.slice(2)]), /not whole hashes/],
    ['an entry with hex instead of a byte count', withLines([lines[0], lines[1].replace(/"phashVariants":\d+/, '"phashVariants":"00ff00ff00ff00ff"'), ...lines.slice(2)]), /not a number of bytes/],
    ['an entry with part of a hash', withLines([lines[0], lines[1].replace(/"phashVariants":\d+/, '"phashVariants":4'), ...lines.slice(2)]), /not whole hashes/],
    ['empty', Buffer.alloc(0), /empty|JSON/],
  ];
  for (const [what, bytes, message] of damages) {
    await writeFile(path, bytes);
    await assert.rejects(readCatalogDocument(path), message, what);
    assert.throws(() => parseCatalogBytes(bytes), message, what);
  }
});

test('a save refuses variant hashes that are not whole 8-byte hashes (every later photo\'s would shift)', () => {
  const document = documentOf(3);
  for (const bad of [Buffer.alloc(12), 'a1b2c3d4e5f60718', [1, 2, 3, 4, 5, 6, 7, 8]]) {
    const damaged = { ...document, files: [document.files[0], { ...document.files[1], phashVariants: bad }, document.files[2]] };
    assert.throws(() => catalogBytes(damaged), /variant hashes of .* are not whole 8-byte hashes/s, JSON.stringify(bad));
  }
  assert.doesNotThrow(() => catalogBytes({ ...document, files: [{ ...document.files[0], phashVariants: Buffer.alloc(16) }] }));
});

test('whole-document catalogs (formats 0-3, indented or not) still read', async () => {
  // Hex strings in the document, as formats 0-3 kept them (catalog.ts makes them bytes).
  const lines = documentOf(40);
  const document = { ...lines, formatVersion: 3, files: lines.files.map((file: TestEntry) => ({ ...file, phashVariants: file.phashVariants && Buffer.from(file.phashVariants).toString('hex') })) };
  for (const text of [JSON.stringify(document, null, 2), JSON.stringify(document)]) {
    const path = join(dir, 'whole.json');
    await writeFile(path, text);
    const { streamed, whole } = await readLayouts(path);
    assert.deepEqual(streamed, document);
    assert.deepEqual(whole, document);
  }
});

test('saves land in the order they were asked for, each with the files as they were then', async () => {
  const path = join(dir, 'ordered.json');
  const file = new CatalogFile(path, async () => null);
  const big = documentOf(3000); // slow to write
  const small = documentOf(2);
  const first = file.write(big);
  big.files = [...big.files, { path: 'added after the save was asked for', phashVariants: null }]; // the engine hands a new list per save
  (big.files as unknown[]).push({ path: 'pushed after' });
  const second = file.write(small);
  await Promise.all([first, second]);
  assert.deepEqual(await readCatalogDocument(path), small, 'the later save is the one on disk');
  // The first save wrote its own snapshot: check by saving it alone.
  const alone = documentOf(3000);
  const pending = file.write(alone);
  (alone.files as unknown[]).push({ path: 'pushed after' });
  await pending;
  assert.equal(((await readCatalogDocument(path)) as CatalogDocument).files.length, 3000);
});

test('a write that fails half-way leaves the old file and no temporary file; leftovers of dead processes are removed on open', async () => {
  const folder = join(dir, 'atomic');
  await mkdir(folder);
  const target = join(folder, 'catalog.json');
  await writeFileAtomic(target, 'old content');
  async function* failing(): AsyncGenerator<string> {
    yield 'new '.repeat(100_000);
    throw new Error('disk full');
  }
  await assert.rejects(writeFileAtomic(target, failing()), /disk full/);
  assert.equal(await readFile(target, 'utf8'), 'old content');
  assert.deepEqual(await readdir(folder), ['catalog.json']);
  // The synchronous form: the rename fails (the target is a folder).
  const blocked = join(folder, 'a-folder');
  await mkdir(blocked);
  assert.throws(() => writeFileAtomicSync(blocked, Buffer.from('bytes')));
  assert.deepEqual((await readdir(folder)).sort(), ['a-folder', 'catalog.json']);
  writeFileAtomicSync(target, 'synchronous');
  assert.equal(await readFile(target, 'utf8'), 'synchronous');

  // A killed writer's temp file (its process is gone), a running one's (ours), and files that only look alike.
  const deadPid = spawnSync(process.execPath, ['-e', 'process.pid']).pid!;
  const leftovers = [`catalog.json.${deadPid}.0a1b2c3d.tmp`];
  const kept = [`catalog.json.${process.pid}.0a1b2c3d.tmp`, 'catalog.json.notes.tmp', `other.json.${deadPid}.0a1b2c3d.tmp`, 'catalog.json.index'];
  for (const name of [...leftovers, ...kept]) await writeFile(join(folder, name), 'x');
  assert.equal(removeLeftoverTemps(target), 1);
  for (const name of leftovers) assert.equal(existsSync(join(folder, name)), false, name);
  for (const name of kept) assert.equal(existsSync(join(folder, name)), true, name);
});
