// Crash-test plumbing: run tests/helpers/fault-child.ts (optionally as another user), kill it with
// SIGKILL a given time after it said "ready", and take snapshots of folders (names, bytes, mtimes) to
// compare before and after.
import { spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { rmSync } from 'node:fs';
import { lstat, readdir, readFile } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { build } from 'esbuild'; // comes with tsx
import { REPO_ROOT } from './photos.ts';

const CHILD_SOURCE = join(REPO_ROOT, 'tests', 'helpers', 'fault-child.ts');
/**
 * Inside node_modules so that the bundle's package imports (sharp, onnxruntime-node, ...) resolve; one
 * per test process (several may run at once, from several checkouts), removed when it exits.
 */
const CHILD_BUNDLE = join(REPO_ROOT, 'node_modules', '.cache', 'photo-dedup-fault', `fault-child-${process.pid}.mjs`);
const MODEL_DIR = join(REPO_ROOT, 'models');

let bundled: Promise<unknown> | null = null;

/**
 * The child bundled into one plain JavaScript file (packages left external): it starts in about 0.4 s
 * instead of 1.2 s under tsx, which matters over 60 runs. Made once per test process.
 */
function childBundle(): Promise<unknown> {
  if (!bundled) {
    bundled = build({ entryPoints: [CHILD_SOURCE], bundle: true, platform: 'node', format: 'esm', packages: 'external', outfile: CHILD_BUNDLE, logLevel: 'warning' });
    process.once('exit', () => rmSync(CHILD_BUNDLE, { force: true }));
  }
  return bundled;
}

/** Longest a child may run, kill or not: every task here takes a few seconds. */
const CHILD_LIMIT_MS = 120_000;

export interface ChildRun {
  /** True when the kill came before the child finished. */
  killed: boolean;
  /** The child printed "done" (it finished its work). */
  finished: boolean;
  /** Milliseconds from "ready" to the end (kill or exit). */
  workedMs: number;
  stdout: string;
  stderr: string;
}

/**
 * Starts the child with a task; `killAfterMs` after it prints "ready" it is killed with SIGKILL
 * (null: never, it runs to the end). Rejects if the child fails on its own.
 */
export async function runChild(task: object, killAfterMs: number | null, options: { asUser?: number } = {}): Promise<ChildRun> {
  await childBundle();
  const args = [CHILD_BUNDLE, JSON.stringify({ modelDir: MODEL_DIR, ...task })];
  const asUser = options.asUser;
  const [command, argv] =
    asUser === undefined ? [process.execPath, args] : ['setpriv', [`--reuid=${asUser}`, `--regid=${asUser}`, '--clear-groups', process.execPath, ...args]];
  return new Promise((resolve, reject) => {
    const child = spawn(command, argv, { cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    let readyAt = 0;
    let killed = false;
    let timer: NodeJS.Timeout | null = null;
    child.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
      if (!readyAt && stdout.includes('ready\n')) {
        readyAt = Date.now();
        if (killAfterMs !== null) {
          timer = setTimeout(() => {
            killed = child.kill('SIGKILL');
          }, killAfterMs);
        }
      }
    });
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    // A child that hangs (never ready, never done) would hang the whole suite: it is killed after
    // CHILD_LIMIT_MS and the run fails with what it printed.
    let hung = false;
    const limit = setTimeout(() => {
      hung = true;
      child.kill('SIGKILL');
    }, CHILD_LIMIT_MS);
    child.on('error', reject);
    child.on('exit', (code, signal) => {
      clearTimeout(limit);
      if (timer) clearTimeout(timer);
      if (hung) return reject(new Error(`child hung for ${CHILD_LIMIT_MS / 1000} s (stdout: ${JSON.stringify(stdout)}; stderr: ${stderr})`));
      const finished = stdout.includes('done\n');
      const workedMs = readyAt ? Date.now() - readyAt : 0;
      if (signal === 'SIGKILL' && killed) resolve({ killed: !finished, finished, workedMs, stdout, stderr });
      else if (code === 0 && finished) resolve({ killed: false, finished, workedMs, stdout, stderr });
      else reject(new Error(`child failed (code ${code}, signal ${signal}): ${stderr}`));
    });
  });
}

export interface FileState {
  sha1: string;
  size: number;
  mtimeMs: number;
  ino: number;
}

/** Every regular file under `dir` (recursively), by path relative to `dir`. Missing dir: empty. */
export async function snapshotTree(dir: string): Promise<Map<string, FileState>> {
  const found = new Map<string, FileState>();
  async function walk(folder: string): Promise<void> {
    const entries = await readdir(folder, { withFileTypes: true }).catch(() => []);
    for (const entry of entries) {
      const full = join(folder, entry.name);
      if (entry.isDirectory()) await walk(full);
      else if (entry.isFile()) {
        const info = await lstat(full);
        const sha1 = createHash('sha1').update(await readFile(full)).digest('hex');
        found.set(relative(dir, full), { sha1, size: info.size, mtimeMs: info.mtimeMs, ino: info.ino });
      }
    }
  }
  await walk(dir);
  return found;
}

/** Content hashes with their counts. */
export function hashCounts(states: Iterable<FileState>): Map<string, number> {
  const counts = new Map<string, number>();
  for (const state of states) counts.set(state.sha1, (counts.get(state.sha1) ?? 0) + 1);
  return counts;
}

/**
 * The uid to run the engine as for permission tests: undefined when not root (permissions already
 * apply), 65534 (nobody) when root and setpriv works, null when root and it does not.
 */
export async function unprivilegedUser(): Promise<number | undefined | null> {
  if (process.getuid?.() !== 0) return undefined;
  await childBundle();
  const probe = spawnSync('setpriv', ['--reuid=65534', '--regid=65534', '--clear-groups', process.execPath, '-e', `require('fs').accessSync(${JSON.stringify(CHILD_BUNDLE)})`]);
  return probe.status === 0 ? 65534 : null;
}
