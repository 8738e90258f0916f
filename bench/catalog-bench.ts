// Benchmark of the catalog file at a million photos: saving and opening it (catalog-file.ts, JSON
// Lines since format 4), against the whole-document JSON of formats 0-3, which V8 cannot make past
// ~350,000 photos (its strings end at 2^29 - 24 characters).
//
//   npx tsx bench/catalog-bench.ts [--files 1000000]
//
// The entries are synthetic but shaped like real ones: a path in dated folders, a content hash, a
// pHash and the 61 variant hashes (488 bytes, 976 hex digits in formats 0-3: most of an entry), a vector
// row and its checksum.
// Then the journal (format 5, catalog-journal.ts): a watcher's save of one new photo, and opening
// with 1,000 such saves in the journal, then with the journal at its limit.
// Opening is timed in a fresh process (its peak memory is then the open's alone), as the app opens it.
import { spawnSync } from 'node:child_process';
import { mkdirSync, rmSync, statSync } from 'node:fs';
import { availableParallelism, cpus, totalmem } from 'node:os';
import { join } from 'node:path';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { CATALOG_FORMAT_VERSION, openCatalog, type CatalogData, type CatalogEntry } from '../electron/engine/catalog.ts';
import { JOURNAL_MIN_BYTES, JOURNAL_SHARE } from '../electron/engine/catalog-file.ts';
import { bytesFromHex } from '../electron/engine/phash.ts';

const args = process.argv.slice(2);
const option = (name: string, fallback: string) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : fallback;
};

// A reproducible stream of hex digits (xorshift), so every entry differs like real hashes do.
let state = 0x9e3779b9;
const hex = (digits: number) => {
  const words: string[] = [];
  for (let length = 0; length < digits; length += 8) {
    state ^= state << 13;
    state ^= state >>> 17;
    state ^= state << 5;
    words.push((state >>> 0).toString(16).padStart(8, '0'));
  }
  // A flat string of exactly `digits` characters, as JSON.parse makes them (not a slice of a longer one).
  return JSON.parse(JSON.stringify(words.join('').slice(0, digits))) as string;
};
/** A catalog of `count` synthetic photos, each entry shaped like a real one; the variant hashes as bytes (format 4) or hex (formats 0-3). */
function syntheticCatalog(count: number, variants: 'bytes' | 'hex' = 'bytes'): CatalogData {
  const files: CatalogEntry[] = Array.from({ length: count }, (_, i) => ({
    path: `/home/someone/Pictures/${2005 + (i % 20)}/${2005 + (i % 20)}-${String(1 + (i % 12)).padStart(2, '0')} trip ${Math.floor(i / 500)}/IMG_${String(i).padStart(8, '0')}.jpg`,
    size: 2_000_000 + i,
    mtimeMs: 1_600_000_000_000 + i * 1000.25,
    contentHash: hex(32),
    format: 'jpeg',
    width: 4032,
    height: 3024,
    content: null,
    takenAt: new Date(1_600_000_000_000 + i * 1000).toISOString(),
    phash: hex(16),
    phashVariants: variants === 'bytes' ? bytesFromHex(hex(61 * 16)) : (hex(61 * 16) as unknown as Uint8Array),
    vectorRow: i,
    vectorHash: hex(16),
    status: 'ok',
    error: null,
  }));
  return {
    formatVersion: CATALOG_FORMAT_VERSION,
    embedding: { model: 'mobilenet_v2_140_224', sha256: hex(64), dimension: 1792, views: ['full'], signals: 2 },
    vectorRows: count,
    vectorGeneration: 1,
    folders: [{ path: '/home/someone/Pictures', lastScanAt: new Date().toISOString() }],
    files,
    notDuplicates: [],
    settings: {},
  };
}

// A full garbage collection before memory is read, so that what is counted is what is held (the
// hex made for each synthetic entry is garbage once it is bytes).
setFlagsFromString('--expose-gc');
const collectGarbage = runInNewContext('gc') as () => void;
/** The JS heap and the Buffers' bytes outside it (the variant hashes), after a full collection. */
const held = () => {
  collectGarbage();
  collectGarbage(); // the second frees the backing stores of the Buffers the first collected (as in tests/vectors.test.ts)
  const { heapUsed, external } = process.memoryUsage();
  return heapUsed + external;
};

const mib = (bytes: number) => `${(bytes / 2 ** 20).toFixed(0)} MiB`;
const seconds = (ms: number) => `${(ms / 1000).toFixed(1)} s`;

if (args[0] === '--open-only' || args[0] === '--old-layout') {
  // Children, so that a failure of the old layout (a RangeError, or the heap running out) is
  // reported rather than fatal, and so that the open's peak memory is its own.
  if (args[0] === '--old-layout') {
    // Formats 0-3: one JSON string (as lowdb's JSONFile made it, indented).
    const data = syntheticCatalog(Number(args[1]), 'hex');
    const started = performance.now();
    let outcome: string;
    try {
      const length = JSON.stringify(data, null, 2).length;
      outcome = `made in ${seconds(performance.now() - started)}: ${mib(length)}`;
    } catch (error) {
      outcome = `**fails** after ${seconds(performance.now() - started)}: ${(error as Error).name}: ${(error as Error).message}`;
    }
    console.log(JSON.stringify({ outcome }));
    process.exit(0);
  }
  // Open the catalog as the engine does (read, check every entry, migrate).
  const started = performance.now();
  const { db, recovered } = await openCatalog(args[1]);
  const ms = performance.now() - started;
  console.log(JSON.stringify({ ms, files: db.data.files.length, recovered, maxRss: process.resourceUsage().maxRSS * 1024, held: held() }));
  process.exit(0);
}

/** Runs this file as a child with `childArgs`; its last line of output, parsed, or null when it died (and why). */
function child<T>(childArgs: string[]): T | string {
  const run = spawnSync(process.execPath, ['--import', 'tsx', import.meta.filename, ...childArgs], { encoding: 'utf8', maxBuffer: 1 << 20 });
  if (run.status !== 0) return `**fails**: the process ended with ${run.signal ?? `status ${run.status}`} (${/heap out of memory/.test(run.stderr) ? 'JavaScript heap out of memory' : run.stderr.trim().split('\n').pop()})`;
  return JSON.parse(run.stdout.trim().split('\n').pop()!) as T;
}

const count = Number(option('files', '1000000'));
const work = join(import.meta.dirname, '..', '.bench', 'catalog-bench');
rmSync(work, { recursive: true, force: true });
mkdirSync(work, { recursive: true });
const catalogPath = join(work, 'catalog.json');
const rows: [string, string][] = [];

const old = child<{ outcome: string }>(['--old-layout', String(count)]);
rows.push(['formats 0-3: the whole document as one JSON string (indented, as written before)', typeof old === 'string' ? old : old.outcome]);
const heldBefore = held();
const data = syntheticCatalog(count);
rows.push(['the entries in memory (JS heap and Buffers)', mib(held() - heldBefore)]);

// Format 4: lines, written a piece at a time through the catalog's lowdb adapter (temp file, fsync, rename).
const { db } = await openCatalog(catalogPath);
db.data = data;
const rssBefore = process.memoryUsage().rss;
const started = performance.now();
await db.write();
const saveMs = performance.now() - started;
rows.push(['formats 4-5: a whole save (lines, temp file, fsync, rename)', `${seconds(saveMs)}, file ${mib(statSync(catalogPath).size)}, RSS grew ${mib(Math.max(0, process.memoryUsage().rss - rssBefore))}`]);

type Opened = { ms: number; files: number; recovered: string | null; maxRss: number; held: number };
/** Opens the catalog in a fresh process; `files` is how many it must hold. */
const openFresh = (files: number): Opened => {
  const opened = child<Opened>(['--open-only', catalogPath]);
  if (typeof opened === 'string') throw new Error(`the open failed: ${opened}`);
  if (opened.files !== files || opened.recovered) throw new Error(`opened ${opened.files} of ${files} files (${opened.recovered})`);
  return opened;
};
const opened = openFresh(count);
rows.push(['formats 4-5: open in a fresh process (read, check each entry, migrate)', `${seconds(opened.ms)}, peak RSS ${mib(opened.maxRss)}, JS heap and Buffers after it ${mib(opened.held)}`]);

// Saves between whole writes append what changed to the journal (catalog-journal.ts). A watcher's
// save: one new photo.
const { file } = await openCatalog(catalogPath);
const added: CatalogEntry[] = [];
const journalSaves: number[] = [];
for (let i = 0; i < 1000; i++) {
  const entry = { ...syntheticCatalog(1).files[0], path: `/home/someone/Pictures/new/IMG_${i}.jpg` };
  added.push(entry);
  data.files.push(entry);
  const at = performance.now();
  const kind = await file.save(data, () => data.files, { put: [entry], removed: [] });
  journalSaves.push(performance.now() - at);
  if (kind !== 'journal') throw new Error(`save ${i + 1} wrote the catalog whole`);
}
journalSaves.sort((a, b) => a - b);
const journalBytes = () => statSync(`${catalogPath}.journal`).size;
rows.push([
  "a watcher's save: one new photo appended to the journal (1,000 of them, one after another)",
  `median ${journalSaves[500].toFixed(1)} ms, slowest ${journalSaves[999].toFixed(1)} ms (a whole save: ${seconds(saveMs)}); journal ${mib(journalBytes())}`,
]);
const withSaves = openFresh(count + 1000);
rows.push(['open with those 1,000 saves in the journal', `${seconds(withSaves.ms)}, peak RSS ${mib(withSaves.maxRss)}`]);
// The most the journal holds before the next save writes the catalog whole: a tenth of the file.
const limit = Math.max(JOURNAL_MIN_BYTES, statSync(catalogPath).size * JOURNAL_SHARE);
const changedCount = Math.floor(((limit - journalBytes()) * 0.95) / (journalBytes() / 1000));
const changed = data.files.slice(0, changedCount).map((entry) => ({ ...entry, mtimeMs: entry.mtimeMs + 1 }));
data.files.splice(0, changedCount, ...changed);
const bigStarted = performance.now();
if ((await file.save(data, () => data.files, { put: changed, removed: [] })) !== 'journal') throw new Error('the large save wrote the catalog whole');
const bigMs = performance.now() - bigStarted;
const full = openFresh(count + 1000);
rows.push([
  `open with the journal near its limit (a tenth of the catalog file: one more save of ${changedCount.toLocaleString('en')} changed photos, ${seconds(bigMs)})`,
  `${seconds(full.ms)}, peak RSS ${mib(full.maxRss)}; journal ${mib(journalBytes())}`,
]);
rmSync(work, { recursive: true, force: true });

console.log(`### The catalog file at ${count.toLocaleString('en')} photos\n`);
console.log(`Machine: ${cpus()[0]?.model ?? 'unknown CPU'}, ${availableParallelism()} cores, ${(totalmem() / 2 ** 30).toFixed(0)} GiB RAM; Node ${process.version}; ${new Date().toISOString().slice(0, 10)}`);
console.log(`Command: npx tsx bench/catalog-bench.ts ${args.join(' ')}\n`);
console.log('| measurement | result |\n|---|---|');
for (const [what, value] of rows) console.log(`| ${what} | ${value} |`);
