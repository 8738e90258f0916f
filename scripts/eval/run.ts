// npm run eval: the matching-quality evaluation (docs/QUALITY.md, docs/quality-pr.png).
//   npm run eval -- [--photos DIR] [--originals 60] [--seed 7] [--work .eval] [--no-engine] [--no-findimagedupes]
// 1. builds the set (source photos + seeded edited copies, under .eval/),
// 2. computes every file's signals with the engine's decode.ts / model.ts (cached under .eval/),
// 3. scores every pair with match.ts, chooses thresholds on the tune half, checks them on the test half,
// 4. groups with group.ts at the shipped defaults, runs the real engine (openEngine, scan, groups)
//    and findimagedupes over the same files, and writes the report.
import { mkdir } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { CROP_WINDOWS } from '../../electron/engine/decode.ts';
import { DEFAULT_SETTINGS, MODEL_VIEWS } from '../../electron/engine/defaults.ts';
import { MATCH_LIMITS } from '../../electron/engine/match.ts';
import { buildEvalSet } from './dataset.ts';
import { EDITS } from './edits.ts';
import { runEngine, type EngineRun } from './engine-run.ts';
import { findimagedupesVersion, runFindimagedupes, type FindimagedupesRun } from './findimagedupes.ts';
import { labelPairs, scorePartition, scoreSimilar } from './metrics.ts';
import { computeEvidence } from './pairs.ts';
import { ablations, costPerImage, singleSignalCurves } from './ablations.ts';
import { writeReport, type Results } from './report.ts';
import { computeSignals, signatureOf } from './signals.ts';
import { simulateGroups } from './simulate.ts';
import { candidatesOf, GRID, sweep, tune, type Thresholds, type TuneScore } from './tune.ts';

const REPO = resolve(import.meta.dirname, '..', '..');
const { values: args } = parseArgs({
  options: {
    photos: { type: 'string', default: process.env.PHOTO_DEDUP_SHARED ? join(process.env.PHOTO_DEDUP_SHARED, 'photos') : resolve(REPO, '..', 'shared', 'photos') },
    originals: { type: 'string', default: '60' },
    seed: { type: 'string', default: '7' },
    work: { type: 'string', default: join(REPO, '.eval') },
    'no-engine': { type: 'boolean', default: false },
    'no-findimagedupes': { type: 'boolean', default: false },
  },
});

/** What a threshold choice must meet on the tune half (its groups): the precision target with room, and few other shots called near. */
const TARGET = { minPrecision: 0.995, maxSimilarShare: 0.005 };

const log = (message: string) => console.error(message);
const timings: Record<string, number> = {};
async function timed<T>(name: string, work: () => Promise<T> | T): Promise<T> {
  const started = Date.now();
  const result = await work();
  timings[name] = (Date.now() - started) / 1000;
  log(`${name}: ${timings[name].toFixed(1)} s`);
  return result;
}

const started = Date.now();
const workDir = resolve(args.work!);
await mkdir(workDir, { recursive: true });
const set = await timed('set', () => buildEvalSet({ photosDir: resolve(args.photos!), workDir, originals: Number(args.originals), seed: Number(args.seed), log }));
log(`${set.files.length} files: ${set.truth.photos.length} source photos, ${set.files.length - set.truth.photos.length} edited copies of ${set.edited.length} originals`);
const signals = await timed('signals', () => computeSignals(set.files, { cacheDir: workDir, trimBorders: true, log }));
const labels = labelPairs(set);

// Every pair, as the engine sees it (its views and crop windows).
const table = await timed('pairs', () => computeEvidence(signals.map((s) => signatureOf(s, MODEL_VIEWS, CROP_WINDOWS)), MODEL_VIEWS));
const candidates = { tune: candidatesOf(table, labels, 'tune'), test: candidatesOf(table, labels, 'test'), all: candidatesOf(table, labels, 'all') };

// Thresholds: the shipped defaults, and what the search finds on the tune half (they should agree).
const shipped: Thresholds = { settings: { ...DEFAULT_SETTINGS }, limits: { ...MATCH_LIMITS } };
// The search scores the groups group.ts makes on the tune half: what the user sees.
const groupScore = (t: Thresholds, subset: 'tune' | 'test'): TuneScore => {
  const groups = simulateGroups(table, t);
  const report = scorePartition(set, labels, groups.nearOf, subset);
  const similar = scoreSimilar(set, labels, groups.nearOf, groups.similarOf, subset);
  return { ...report.overall, similarNear: similar.inNear, similarShare: similar.total ? similar.inNear / similar.total : 0 };
};
const tuned = await timed('tuning', () => tune((t) => groupScore(t, 'tune'), shipped, TARGET));
const split = {
  shipped: { tune: groupScore(shipped, 'tune'), test: groupScore(shipped, 'test') },
  tuned: { tune: tuned.score, test: groupScore(tuned.thresholds, 'test') },
};
const sweeps = Object.fromEntries((Object.keys(GRID) as (keyof typeof GRID)[]).map((knob) => [knob, sweep(candidates.all, shipped, knob, GRID[knob])]));

// Groups, at the defaults, rotation invariance on and off (group.ts over the table).
const simulated = await timed('grouping', () => ({
  on: simulateGroups(table, shipped),
  off: simulateGroups(table, { ...shipped, settings: { ...shipped.settings, rotationInvariant: false } }),
  tuned: simulateGroups(table, tuned.thresholds),
}));

// The similar tier's threshold: where other shots land, and how many unrelated pairs come along.
const similarSweep = await timed('similar tier', () =>
  [0.75, 0.8, 0.85, 0.88, 0.9].map((similarCosine) => {
    const groups = simulateGroups(table, { ...shipped, settings: { ...shipped.settings, similarCosine } });
    return { similarCosine, tune: scoreSimilar(set, labels, groups.nearOf, groups.similarOf, 'tune'), test: scoreSimilar(set, labels, groups.nearOf, groups.similarOf, 'test') };
  }),
);
const curves = await timed('curves', () => singleSignalCurves(table, labels));
const groupSweep = await timed('group curve', () =>
  GRID.detailMax.map((value) => ({ value, score: scorePartition(set, labels, simulateGroups(table, { ...shipped, limits: { ...shipped.limits, detailMax: value } }).nearOf).overall })),
);
const extra = await timed('ablations', () => ablations(set, labels, signals, workDir));
const cost = await timed('cost', () => costPerImage(set, 40));

let engine: EngineRun | null = null;
if (!args['no-engine']) engine = await timed('engine', () => runEngine(set, log));

let fid: { version: string; runs: FindimagedupesRun[] } | null = null;
const fidVersion = args['no-findimagedupes'] ? null : findimagedupesVersion();
if (fidVersion) fid = { version: fidVersion, runs: await timed('findimagedupes', () => runFindimagedupes(set, workDir, ['90%', '80%', '85%', '95%', '98%'])) };
else if (!args['no-findimagedupes']) log('findimagedupes is not installed (apt-get install findimagedupes): its row is left out');

timings.total = (Date.now() - started) / 1000;
const results: Results = { set, labels, table, shipped, tuned, split, candidates, sweeps, simulated, similarSweep, groupSweep, curves, extra, cost, engine, fid, timings, target: TARGET, edits: EDITS };
await writeReport(results, join(REPO, 'docs'));
log(`total: ${timings.total.toFixed(0)} s; wrote docs/QUALITY.md and docs/quality-pr.png`);
