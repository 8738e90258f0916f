// `npm run bench`: every benchmark in turn, each printing its own table with the machine and date.
// Pass --quick for a short run (fewer photos, a 20k-file rescan tree, 100k index items, a 20k-photo query and regroup library, 100k photos for the candidate searches and the catalog file).
//   npm run bench [-- --quick]
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';

const quick = process.argv.includes('--quick');
const runs: [string, string[]][] = [
  ['scan pipeline, peers, rescan, model throughput', ['bench/scan-bench.ts', ...(quick ? ['--photos', '60', '--rescan-files', '20000'] : [])]],
  ['vector index (LSH) and pHash index', ['bench/index-bench.ts', '--n', quick ? '100000' : '1000000']],
  ['drop-to-query in a large library', ['bench/query-bench.ts', '--library', quick ? '20000' : '100000']],
  ['regrouping a large library, in full and after new photos', ['bench/regroup-bench.ts', '--library', quick ? '20000' : '100000']],
  ['candidate searches at a million photos, in full and after new photos', ['bench/candidates-bench.ts', '--photos', quick ? '100000' : '1000000']],
  ['the catalog file at a million photos', ['bench/catalog-bench.ts', '--files', quick ? '100000' : '1000000']],
  ['HEIC decoding', ['bench/heic-bench.ts']],
];
let failed = 0;
for (const [title, args] of runs) {
  console.log(`\n## ${title}\n`);
  const result = spawnSync(process.execPath, ['--import', 'tsx', ...args], { stdio: 'inherit', cwd: join(import.meta.dirname, '..') });
  if (result.status !== 0) failed++;
}
process.exit(failed ? 1 : 0);
