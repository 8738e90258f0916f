// The real engine over the set: openEngine on a fresh catalog in a temp folder, scan, groups. Its
// groups are turned back into a partition of the set's files for scoring.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { openEngine } from '../../electron/engine/index.ts';
import type { GroupsResult } from '../../electron/engine/types.ts';
import type { EvalSet } from './dataset.ts';

export interface EngineRun {
  /** Each file's near or exact group, or -1. */
  nearOf: Int32Array;
  /** The similar group of each file's near group (or of the file), or -1. */
  similarOf: Int32Array;
  scanSeconds: number;
  /** groups() with rotation invariance on and off, seconds (the scan computes the same either way). */
  groupSeconds: { on: number; off: number };
  rotationOff: { nearOf: Int32Array; similarOf: Int32Array };
  errors: string[];
  files: number;
}

export async function runEngine(set: EvalSet, log: (m: string) => void): Promise<EngineRun> {
  const dir = await mkdtemp(join(tmpdir(), 'dedup-eval-'));
  try {
    const catalogPath = join(dir, 'catalog.json');
    let engine = await openEngine({ catalogPath, settings: { executionProvider: 'cpu' } });
    const started = Date.now();
    let lastLog = 0;
    const summary = await engine.scan([set.photosDir, set.editsDir], {
      onProgress: (p) => {
        if (Date.now() - lastLog > 30_000) {
          lastLog = Date.now();
          log(`  engine ${p.phase}: ${p.done}/${p.total}`);
        }
      },
    });
    const scanSeconds = (Date.now() - started) / 1000;
    let t = Date.now();
    const on = await engine.groups();
    const onSeconds = (Date.now() - t) / 1000;
    await engine.close();
    // The same catalog with rotation invariance off: only matching changes.
    engine = await openEngine({ catalogPath, settings: { executionProvider: 'cpu', rotationInvariant: false } });
    t = Date.now();
    const off = await engine.groups();
    const offSeconds = (Date.now() - t) / 1000;
    await engine.close();
    return {
      ...partition(set, on),
      scanSeconds,
      groupSeconds: { on: onSeconds, off: offSeconds },
      rotationOff: partition(set, off),
      errors: summary.errors.map((e) => `${e.path}: ${e.message}`),
      files: summary.total,
    };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

function partition(set: EvalSet, result: GroupsResult): { nearOf: Int32Array; similarOf: Int32Array } {
  const indexOf = new Map(set.files.map((f, i) => [resolve(f.path), i]));
  const nearOf = new Int32Array(set.files.length).fill(-1);
  const similarOf = new Int32Array(set.files.length).fill(-1);
  const duplicates = result.groups.filter((g) => g.kind !== 'similar');
  duplicates.forEach((group, g) => {
    for (const file of group.files) {
      const i = indexOf.get(resolve(file.path));
      if (i !== undefined) nearOf[i] = g;
    }
  });
  result.groups
    .filter((g) => g.kind === 'similar')
    .forEach((group, s) => {
      // A similar group shows one file per near group: the rest of that near group goes along.
      for (const file of group.files) {
        const i = indexOf.get(resolve(file.path));
        if (i === undefined) continue;
        similarOf[i] = s;
        if (nearOf[i] >= 0) nearOf.forEach((g, j) => g === nearOf[i] && (similarOf[j] = s));
      }
    });
  return { nearOf, similarOf };
}
