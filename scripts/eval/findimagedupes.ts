// The same set through findimagedupes (Debian package findimagedupes), for comparison: its default
// threshold (90 %) and a few others for its precision/recall curve. Fingerprints are cached in a
// database under .eval/ keyed by the set's recipe, so only the first run pays for them.
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { EvalSet } from './dataset.ts';

export function findimagedupesVersion(): string | null {
  const result = spawnSync('dpkg-query', ['-W', '-f=${Version}', 'findimagedupes'], { encoding: 'utf8' });
  if (result.status !== 0) return spawnSync('findimagedupes', ['--version'], { encoding: 'utf8' }).status === 0 ? 'unknown version' : null;
  return result.stdout.trim();
}

export interface FindimagedupesRun {
  /** Threshold as findimagedupes takes it, e.g. "90%". */
  threshold: string;
  /** Each file's group (-1: in none). */
  groupOf: Int32Array;
  seconds: number;
  /** True when the fingerprints came from the database of an earlier run. */
  cached: boolean;
}

/** Runs findimagedupes over the set's folders at each threshold. */
export function runFindimagedupes(set: EvalSet, workDir: string, thresholds: string[]): FindimagedupesRun[] {
  const recipe = existsSync(join(set.editsDir, 'recipe.json')) ? readFileSync(join(set.editsDir, 'recipe.json')) : Buffer.from('');
  const db = join(workDir, `findimagedupes-${createHash('sha1').update(recipe).update(set.photosDir).digest('hex').slice(0, 12)}.db`);
  const indexOf = new Map(set.files.map((f, i) => [resolve(f.path), i]));
  let cached = existsSync(db);
  return thresholds.map((threshold) => {
    const started = Date.now();
    const result = spawnSync('findimagedupes', ['-R', '-q', '-f', db, '-t', threshold, set.photosDir, set.editsDir], { encoding: 'utf8', maxBuffer: 64 << 20 });
    if (result.status !== 0) throw new Error(`findimagedupes failed: ${result.stderr}`);
    const groupOf = new Int32Array(set.files.length).fill(-1);
    // One group per line, paths separated by spaces (the set's paths have none).
    result.stdout
      .split('\n')
      .filter((line) => line.trim())
      .forEach((line, group) => {
        for (const path of line.trim().split(' ')) {
          const i = indexOf.get(resolve(path));
          if (i !== undefined) groupOf[i] = group;
        }
      });
    const run = { threshold, groupOf, seconds: (Date.now() - started) / 1000, cached };
    cached = true; // later thresholds reuse the fingerprints
    return run;
  });
}
