#!/usr/bin/env node
// Rebuilds models/<file>.onnx from the npm package named in models/manifest.json (nsfwjs@4.4.0),
// byte for byte, and checks it against the manifest's sha256.
// Usage: npm run build:model [-- --out <file>]   (default: overwrite the shipped model only if it matches)
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const manifest = JSON.parse(readFileSync(join(root, 'models', 'manifest.json'), 'utf8'));
const outIndex = process.argv.indexOf('--out');
const target = outIndex > 0 ? resolve(process.argv[outIndex + 1]) : join(root, 'models', manifest.file);

const work = mkdtempSync(join(tmpdir(), 'build-model-'));
try {
  const { package: pkg, version, graph } = manifest.rebuild;
  console.log(`installing ${pkg}@${version} into ${work} (TensorFlow.js itself is not needed)`);
  writeFileSync(join(work, 'package.json'), '{"private":true}');
  execFileSync('npm', ['install', '--no-audit', '--no-fund', '--ignore-scripts', '--legacy-peer-deps', '--omit=peer', `${pkg}@${version}`],
    { cwd: work, stdio: 'inherit' });
  const built = join(work, 'model.onnx');
  execFileSync(process.execPath, [join(root, 'scripts', 'model', 'tfjs2onnx.cjs'), graph, built, work], { stdio: 'inherit' });
  const sha = createHash('sha256').update(readFileSync(built)).digest('hex');
  if (sha !== manifest.sha256) {
    console.error(`built model sha256 ${sha} differs from manifest ${manifest.sha256}; not written`);
    process.exit(1);
  }
  copyFileSync(built, target);
  console.log(`ok: ${target} (sha256 ${sha}, identical to the manifest)`);
} finally {
  rmSync(work, { recursive: true, force: true });
}
