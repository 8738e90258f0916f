// The short version of scripts/fuzz-decode.ts: 200 mutated real photos (every format, every kind of
// mutation) through decodeImage in a child process. Each must end decoded (with sane outputs) or in
// a DecodeError: no other error, no crash, no hang. The full run and its figures: docs/RELIABILITY.md.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { MUTATIONS, runFuzz } from '../scripts/fuzz-decode.ts';
import { seedFromEnv } from './helpers/fault-prng.ts';

test('decode fuzzing, 200 cases: every case decodes or is a DecodeError; no crash, no hang', async (t) => {
  const seed = seedFromEnv(20240611);
  const report = await runFuzz({ cases: 200, seed, jobs: 1, timeoutMs: 30_000 });
  t.diagnostic(`seed ${seed}: ${JSON.stringify(report.outcomes)} in ${report.wallMs} ms, slowest case ${report.caseMs.max.toFixed(0)} ms`);
  assert.equal(report.cases, 200);
  assert.deepEqual(report.failures, [], `failing cases (replay with: npx tsx scripts/fuzz-decode.ts --seed ${seed} --cases 200 --jobs 1 --out DIR)`);
  assert.equal(report.restarts, 0);
  // The seeds themselves decode (the RAW without a preview is refused, as it should be).
  for (const file of report.seedFiles) {
    if (file.name === 'tiff-named.nef') assert.match(file.unmutated, /^DecodeError: RAW file \(NEF\) has no embedded JPEG preview/);
    else if (file.name === 'claims-64250.jpg') assert.match(file.unmutated, /^DecodeError: image too large: 64250×64250/);
    else assert.match(file.unmutated, /^decoded/, file.name);
  }
  // The cases reach both outcomes and every mutation.
  assert.ok((report.outcomes.decoded ?? 0) > 20, JSON.stringify(report.outcomes));
  assert.ok(Object.keys(report.outcomes).filter((o) => o.startsWith('decode-error')).length >= 2, JSON.stringify(report.outcomes));
  assert.deepEqual(Object.keys(report.byMutation).sort(), [...MUTATIONS].sort());
});
