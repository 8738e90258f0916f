// HEIC decode speed of the WebAssembly fallback (decode-heic.ts), on HEICs encoded from real photos
// by heif-enc (Debian libheif-examples). Prints a markdown table; figures go to docs/BENCHMARKS.md.
//   npx tsx bench/heic-bench.ts [runs=5]
// Encoded files are kept in .bench/heic/ (git-ignored) so reruns skip the slow HEVC encode.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { cpus, loadavg, totalmem } from 'node:os';
import { join, resolve } from 'node:path';
import sharp from 'sharp';
import decodeOnThisThread from '../electron/engine/decode-heic-worker.ts';
import { closeHeicDecoder, configureHeicDecoder, decodeHeic } from '../electron/engine/decode-heic.ts';

const ROOT = resolve(import.meta.dirname, '..');
const PHOTOS = resolve(ROOT, '../shared/photos');
const CACHE = join(ROOT, '.bench/heic');
const RUNS = Number(process.argv[2] ?? 5);

interface Subject {
  label: string;
  jpeg: string;
  heic: string;
}

async function prepare(): Promise<Subject[]> {
  mkdirSync(CACHE, { recursive: true });
  // 12.0 MP at a phone's 3:4, cut from the 13 MP phone photo in shared/photos.
  const twelve = join(CACHE, 'phone-3000x4000.jpg');
  if (!existsSync(twelve)) await sharp(join(PHOTOS, 'gdk-pixbuf-tests/issue70.jpg')).rotate().resize(3000, 4000).jpeg({ quality: 92 }).toFile(twelve);
  const subjects = [
    { label: '2560×1600 (4.1 MP) wallpaper photo', jpeg: join(PHOTOS, 'plasma-workspace-wallpapers/FallenLeaf_2560x1600.jpg'), heic: join(CACHE, 'fallenleaf-2560x1600.heic') },
    { label: '3000×4000 (12.0 MP) phone photo', jpeg: twelve, heic: join(CACHE, 'phone-3000x4000.heic') },
  ];
  for (const subject of subjects) {
    if (existsSync(subject.heic)) continue;
    const result = spawnSync('heif-enc', ['-q', '85', subject.jpeg, '-o', subject.heic], { encoding: 'utf8' });
    if (result.error || result.status !== 0) throw new Error(`heif-enc failed (apt-get install -y libheif-examples): ${result.error?.message ?? result.stderr}`);
  }
  return subjects;
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
}

async function timeMs(action: () => Promise<unknown> | unknown): Promise<number> {
  const started = performance.now();
  await action();
  return performance.now() - started;
}

async function main(): Promise<void> {
  const subjects = await prepare();
  const libheifJs = JSON.parse(readFileSync(join(ROOT, 'node_modules/libheif-js/package.json'), 'utf8')).version as string;
  const rows: string[] = [];
  for (const subject of subjects) {
    const data = readFileSync(subject.heic);
    const megabytes = (data.length / 1e6).toFixed(1);

    // First decode through a fresh pool: worker start, module load, WebAssembly instantiation.
    await closeHeicDecoder();
    await configureHeicDecoder({ maxThreads: 1 });
    const cold = await timeMs(() => decodeHeic(data));

    const warm: number[] = [];
    for (let i = 0; i < RUNS; i++) warm.push(await timeMs(() => decodeHeic(data)));

    // The same decode on this thread, without the worker hop: the worker's own overhead is the difference.
    // CPU time is also recorded: on a shared machine it moves much less than wall time.
    const inThread: number[] = [];
    const cpuMs: number[] = [];
    for (let i = 0; i < RUNS; i++) {
      const before = process.cpuUsage();
      inThread.push(await timeMs(() => decodeOnThisThread({ data: new Uint8Array(data), maxPixels: 1e9 })));
      const used = process.cpuUsage(before);
      cpuMs.push((used.user + used.system) / 1000);
    }

    // Throughput: 2×cores files at once through a pool of one thread per core.
    const threads = cpus().length;
    await configureHeicDecoder({ maxThreads: threads });
    await decodeHeic(data); // start a worker
    const batch = threads * 2;
    const batchMs = await timeMs(() => Promise.all(Array.from({ length: batch }, () => decodeHeic(data))));

    // For scale: sharp (libjpeg-turbo) decoding the source JPEG of the same image to raw pixels.
    const jpeg = readFileSync(subject.jpeg);
    const jpegMs: number[] = [];
    for (let i = 0; i < RUNS; i++) jpegMs.push(await timeMs(() => sharp(jpeg).raw().toBuffer()));

    rows.push(`| ${subject.label}, ${megabytes} MB | ${cold.toFixed(0)} | ${median(warm).toFixed(0)} | ${median(inThread).toFixed(0)} | ${median(cpuMs).toFixed(0)} | ${((batch / batchMs) * 1000).toFixed(2)} (${threads} threads) | ${median(jpegMs).toFixed(0)} |`);
  }
  await closeHeicDecoder();

  const cpu = cpus();
  const [load1] = loadavg();
  console.log(`Machine: ${cpu[0]?.model.trim()} (${cpu.length} cores available), ${(totalmem() / 2 ** 30).toFixed(0)} GiB RAM; Node ${process.version}; libheif-js ${libheifJs}; ${new Date().toISOString().slice(0, 10)}; median of ${RUNS} runs; load average ${load1.toFixed(1)} at the end.\n`);
  console.log('| HEIC (q85, heif-enc) | first decode, cold pool (ms) | decode, warm worker (ms) | decode on the calling thread (ms) | CPU time of that decode (ms) | throughput (files/s) | sharp: same image as JPEG (ms) |');
  console.log('| --- | ---: | ---: | ---: | ---: | ---: | ---: |');
  for (const row of rows) console.log(row);
}

await main();
