// Scan pipeline benchmark: in one run on the same files, the decode ceiling (sharp decode + resize
// alone), the full engine scan, peers from Debian, an unchanged rescan of a large synthetic tree,
// and model-only throughput per batch size. Prints a markdown table with the machine.
//   npx tsx bench/scan-bench.ts [--photos N] [--rescan-files N] [--skip-peers]
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, cpus, totalmem } from 'node:os';
import { join, resolve } from 'node:path';
import sharp from 'sharp';
import { openEngine } from '../electron/engine/index.ts';
import { EmbeddingModel } from '../electron/engine/model.ts';
import { MODEL_VIEWS } from '../electron/engine/defaults.ts';
import { decodeImage } from '../electron/engine/decode.ts';
import { readFile } from 'node:fs/promises';

const args = process.argv.slice(2);
const option = (name: string, fallback: number) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? Number(args[i + 1]) : fallback;
};
const PHOTO_COUNT = option('photos', 120);
const RESCAN_FILES = option('rescan-files', 100_000);
const SKIP_PEERS = args.includes('--skip-peers');

const ROOT = resolve(import.meta.dirname, '..');
const SHARED = process.env.PHOTO_DEDUP_SHARED ?? resolve(ROOT, '..', 'shared');
const WORK = join(ROOT, '.bench');
const rows: [string, string, string][] = [];
const record = (what: string, value: string, note = '') => {
  rows.push([what, value, note]);
  console.error(`${what}: ${value} ${note}`);
};
const seconds = (ms: number) => `${(ms / 1000).toFixed(2)} s`;

/** Camera-size JPEGs: every photo of at least 2 MP, re-encoded at several qualities (distinct bytes, same decode work). */
async function makeCameraSet(dir: string, count: number): Promise<string[]> {
  if (existsSync(dir) && readdirSync(dir).length >= count) return readdirSync(dir).slice(0, count).map((f) => join(dir, f));
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  const manifest = JSON.parse(await import('node:fs').then((fs) => fs.readFileSync(join(SHARED, 'photos', 'manifest.json'), 'utf8')));
  const big = manifest.photos.filter((p: any) => p.width * p.height >= 2_000_000 && p.format === 'JPEG').map((p: any) => join(SHARED, 'photos', p.file));
  const files: string[] = [];
  for (let i = 0; files.length < count; i++) {
    const source = big[i % big.length];
    const quality = 90 - Math.floor(i / big.length) * 3;
    const target = join(dir, `${String(i).padStart(4, '0')}.jpg`);
    await sharp(source).jpeg({ quality }).toFile(target);
    files.push(target);
  }
  return files;
}

/** Milliseconds to run `work` on every file, as many at once as there are cores (like the engine's scan). */
async function timeOnAllCores(files: string[], work: (file: string) => Promise<unknown>): Promise<number> {
  const concurrency = Math.max(2, availableParallelism());
  const started = performance.now();
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < files.length) await work(files[next++]);
    }),
  );
  return performance.now() - started;
}

/** The ceiling: sharp's decode and resize to the engine's base size, nothing else. */
const decodeCeiling = (files: string[]) => timeOnAllCores(files, (file) => sharp(file).rotate().resize(448, 448, { fit: 'fill' }).raw().toBuffer());

/** The engine's own decode (one sharp decode, model input, pHash, variants, detail hash), no model. */
const engineDecodeOnly = (files: string[]) =>
  timeOnAllCores(files, async (file) => decodeImage(await readFile(file), file, { inputSize: 224, views: MODEL_VIEWS, maxMegapixels: 200, rotationVariants: true }));

function timeCommand(command: string, commandArgs: string[]): number | null {
  const which = spawnSync('which', [command]);
  if (which.status !== 0) return null;
  const started = performance.now();
  spawnSync(command, commandArgs, { stdio: 'ignore' });
  return performance.now() - started;
}

async function main() {
  mkdirSync(WORK, { recursive: true });
  const photos = await makeCameraSet(join(WORK, 'camera'), PHOTO_COUNT);
  const megapixels = (await Promise.all(photos.slice(0, 20).map((f) => sharp(f).metadata()))).map((m) => (m.width! * m.height!) / 1e6);
  const meanMp = megapixels.reduce((a, b) => a + b, 0) / megapixels.length;

  // 1. Ceiling and full scan on the same files (warm cache for both: read them once first).
  await decodeCeiling(photos.slice(0, 4));
  const ceilingMs = await decodeCeiling(photos);
  const decodeOnlyMs = await engineDecodeOnly(photos);
  const catalog = join(WORK, 'catalog', 'catalog.json');
  rmSync(join(WORK, 'catalog'), { recursive: true, force: true });
  const engine = await openEngine({ catalogPath: catalog });
  await engine.providerInfo(); // model loading is not part of the per-photo rate
  const rssBefore = process.memoryUsage().rss;
  const scanStarted = performance.now();
  const summary = await engine.scan([join(WORK, 'camera')]);
  const scanMs = performance.now() - scanStarted;
  const groupsStarted = performance.now();
  await engine.groups();
  const groupsMs = performance.now() - groupsStarted;
  const provider = (await engine.providerInfo()).active;
  await engine.close();
  record('decode + resize alone (sharp, the ceiling)', `${(photos.length / (ceilingMs / 1000)).toFixed(1)} photos/s`, `${photos.length} JPEGs, mean ${meanMp.toFixed(1)} MP`);
  const scanRate = summary.total / (scanMs / 1000);
  record(`full scan (hash, decode, ${MODEL_VIEWS.length} model view(s) on ${provider}, pHash, catalog)`, `${scanRate.toFixed(1)} photos/s`, `${((ceilingMs / scanMs) * 100).toFixed(0)} % of the ceiling`);
  record('engine decode alone (model input, pHash, variants, detail hash; no model)', `${(photos.length / (decodeOnlyMs / 1000)).toFixed(1)} photos/s`, `${((ceilingMs / decodeOnlyMs) * 100).toFixed(0)} % of the ceiling`);
  record('grouping after the scan', seconds(groupsMs), `${summary.total} photos`);
  record('RSS growth during the scan', `${((process.memoryUsage().rss - rssBefore) / 2 ** 20).toFixed(0)} MiB`);

  // 2. Peers on the same folder.
  if (!SKIP_PEERS) {
    const folder = join(WORK, 'camera');
    const peers: [string, string, string[]][] = [
      ['findimagedupes (near-duplicates)', 'findimagedupes', ['-q', '-R', folder]],
      ['jdupes (exact only)', 'jdupes', ['-r', '-q', folder]],
      ['rdfind (exact only)', 'rdfind', ['-dryrun', 'true', '-outputname', join(WORK, 'rdfind.txt'), folder]],
    ];
    for (const [label, command, commandArgs] of peers) {
      const ms = timeCommand(command, commandArgs);
      record(label, ms === null ? 'not installed' : `${(photos.length / (ms / 1000)).toFixed(1)} photos/s`, ms === null ? `apt-get install ${command}` : seconds(ms));
    }
  }

  // 3. Unchanged rescan of a large synthetic tree (tiny identical JPEGs: the first scan hashes them,
  //    reuses one embedding; the rescan is what we measure: listing + stat + comparison + catalog write).
  const tree = join(WORK, `tree-${RESCAN_FILES}`);
  if (!existsSync(join(tree, 'done'))) {
    rmSync(tree, { recursive: true, force: true });
    const tiny = await sharp({ create: { width: 16, height: 16, channels: 3, background: '#336699' } }).jpeg().toBuffer();
    for (let i = 0; i < RESCAN_FILES; i++) {
      const sub = join(tree, String(Math.floor(i / 1000)));
      if (i % 1000 === 0) mkdirSync(sub, { recursive: true });
      writeFileSync(join(sub, `${i}.jpg`), tiny);
    }
    writeFileSync(join(tree, 'done'), '');
  }
  const treeCatalog = join(WORK, 'tree-catalog', 'catalog.json');
  rmSync(join(WORK, 'tree-catalog'), { recursive: true, force: true });
  let treeEngine = await openEngine({ catalogPath: treeCatalog });
  const firstStarted = performance.now();
  await treeEngine.scan([tree]);
  const firstMs = performance.now() - firstStarted;
  await treeEngine.close();
  treeEngine = await openEngine({ catalogPath: treeCatalog });
  const rescanStarted = performance.now();
  const rescan = await treeEngine.scan([tree]);
  const rescanMs = performance.now() - rescanStarted;
  await treeEngine.close();
  record(`first scan of ${RESCAN_FILES.toLocaleString('en')} tiny identical files`, seconds(firstMs), 'read + hash each; one decode');
  record(`unchanged rescan of ${RESCAN_FILES.toLocaleString('en')} files`, seconds(rescanMs), `${rescan.unchanged} unchanged (target ≤ 10 s)`);

  // 4. Model-only throughput per batch size.
  const model = await EmbeddingModel.open({});
  let modelRate = 0;
  const input = new Float32Array(224 * 224 * 3).map((_, i) => (i * 7) % 256);
  for (const batch of [1, 8, 16, 32]) {
    const inputs = Array.from({ length: batch }, () => input);
    await model.embed(inputs);
    const started = performance.now();
    let images = 0;
    while (performance.now() - started < 3000) {
      await model.embed(inputs);
      images += batch;
    }
    const rate = images / ((performance.now() - started) / 1000);
    if (batch === 16) modelRate = rate;
    record(`model only, ${model.provider.active}, batch ${batch}`, `${rate.toFixed(1)} images/s`);
  }
  // Decode and model share the same cores here (no GPU): each photo costs the time of both, so the
  // best a perfectly overlapped scan can do is 1 / (1/decode + 1/model).
  const decodeRate = photos.length / (decodeOnlyMs / 1000);
  const bound = 1 / (1 / decodeRate + MODEL_VIEWS.length / modelRate);
  record(
    'bound for a scan on these cores (engine decode + model at batch 16, one after the other)',
    `${bound.toFixed(1)} photos/s`,
    `${((bound / (photos.length / (ceilingMs / 1000))) * 100).toFixed(0)} % of the ceiling; the full scan reached ${((scanRate / bound) * 100).toFixed(0)} % of this bound`,
  );
  await model.release();
  record('peak RSS of this run', `${(process.resourceUsage().maxRSS / 1024).toFixed(0)} MiB`);

  const cpu = cpus()[0]?.model ?? 'unknown CPU';
  console.log(`\nMachine: ${cpu}, ${availableParallelism()} cores, ${(totalmem() / 2 ** 30).toFixed(0)} GiB RAM; Node ${process.version}; ${new Date().toISOString().slice(0, 10)}`);
  console.log(`Command: npx tsx bench/scan-bench.ts ${args.join(' ')}\n`);
  console.log('| measurement | result | note |\n|---|---|---|');
  for (const [what, value, note] of rows) console.log(`| ${what} | ${value} | ${note} |`);
}

await main();
