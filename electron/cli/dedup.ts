#!/usr/bin/env node
// The command-line interface over the engine: scan, groups, query. Its JSON output is a stable
// contract (see README): results on stdout, progress and logs on stderr, exit code 0 unless the
// command itself could not run.
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Command, InvalidArgumentError, Option } from 'commander';
import { openEngine } from '../engine/index.ts';
import type { DuplicateGroup, Engine, EngineSettings, GroupsResult, ScanProblem, ScanProgress, ScanSummary } from '../engine/types.ts';

/** A few real photos and edited copies shipped with the project, scanned when no folder is given. */
export const SAMPLE_FOLDER = fileURLToPath(new URL('../../samples/photos/', import.meta.url));

export function defaultCatalogPath(): string {
  if (process.env.PHOTO_DEDUP_DB) return resolve(process.env.PHOTO_DEDUP_DB);
  const home = homedir();
  const dataHome =
    process.platform === 'win32'
      ? (process.env.APPDATA ?? join(home, 'AppData', 'Roaming'))
      : process.platform === 'darwin'
        ? join(home, 'Library', 'Application Support')
        : (process.env.XDG_DATA_HOME ?? join(home, '.local', 'share'));
  return join(dataHome, 'photo-dedup', 'catalog.json');
}

interface CommonOptions {
  db: string;
  json?: boolean;
  provider?: EngineSettings['executionProvider'];
  near?: number;
  similar?: number;
  phash?: number;
  rotation?: boolean;
  hidden?: boolean;
}

function numberIn(min: number, max: number) {
  return (value: string) => {
    const n = Number(value);
    if (!Number.isFinite(n) || n < min || n > max) throw new InvalidArgumentError(`must be a number from ${min} to ${max}`);
    return n;
  };
}

function addCommonOptions(command: Command): Command {
  return command
    .option('--db <file>', 'catalog file (default: $PHOTO_DEDUP_DB or the user data folder)', defaultCatalogPath())
    .option('--json', 'print one JSON document on stdout')
    .addOption(new Option('--provider <name>', 'execution provider for the model').choices(['auto', 'tensorrt', 'cuda', 'webgpu', 'cpu']))
    .option('--near <cosine>', 'near-duplicate cosine threshold', numberIn(0, 1))
    .option('--similar <cosine>', 'similar-photo cosine threshold', numberIn(0, 1))
    .option('--phash <bits>', 'near-duplicate perceptual-hash distance (0-64)', numberIn(0, 64))
    .option('--no-rotation', 'do not match rotated or mirrored copies')
    .option('--hidden', 'also scan hidden files and folders');
}

function sessionSettings(options: CommonOptions): Partial<EngineSettings> {
  const settings: Partial<EngineSettings> = {};
  if (options.provider) settings.executionProvider = options.provider;
  if (options.near !== undefined) settings.nearCosine = options.near;
  if (options.similar !== undefined) settings.similarCosine = options.similar;
  if (options.phash !== undefined) settings.phashMaxDistance = options.phash;
  if (options.rotation === false) settings.rotationInvariant = false;
  if (options.hidden) settings.includeHidden = true;
  return settings;
}

async function withEngine<T>(options: CommonOptions, task: (engine: Engine) => Promise<T>): Promise<T> {
  const engine = await openEngine({
    catalogPath: options.db,
    settings: sessionSettings(options),
    log: (message) => process.stderr.write(`${message}\n`),
  });
  try {
    return await task(engine);
  } finally {
    await engine.close();
  }
}

// ---------------------------------------------------------------- printing

function printJson(document: unknown): void {
  process.stdout.write(JSON.stringify(document, null, 2) + '\n');
}

function formatBytes(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1024 ** 2) return `${(bytes / 1024).toFixed(1)} KB`;
  if (bytes < 1024 ** 3) return `${(bytes / 1024 ** 2).toFixed(1)} MB`;
  return `${(bytes / 1024 ** 3).toFixed(2)} GB`;
}

function printGroups(result: GroupsResult): void {
  const { groups, errors } = result;
  const label = { exact: 'exact copies', near: 'near-duplicates', similar: 'similar photos' };
  if (groups.length === 0) console.log('No duplicate groups.');
  groups.forEach((group: DuplicateGroup, i) => {
    console.log(`\n#${i + 1} ${label[group.kind]} (score ${group.score.toFixed(3)}, ${group.files.length} files)`);
    for (const file of group.files) {
      const size = file.width && file.height ? `${file.width}×${file.height}` : '?';
      console.log(`  ${file.path}  [${file.format ?? '?'} ${size}, ${formatBytes(file.size)}${file.takenAt ? `, taken ${file.takenAt}` : ''}]`);
    }
  });
  printProblems(errors);
  const counts = { exact: 0, near: 0, similar: 0 };
  for (const group of groups) counts[group.kind]++;
  console.log(`\n${counts.exact} exact, ${counts.near} near-duplicate and ${counts.similar} similar groups.`);
}

function printProblems(problems: ScanProblem[]): void {
  if (problems.length === 0) return;
  console.log(`\n${problems.length} file(s) could not be used:`);
  for (const problem of problems) console.log(`  ${problem.path}: ${problem.message}`);
}

function progressPrinter(): (progress: ScanProgress) => void {
  const tty = process.stderr.isTTY;
  let lastLineAt = 0;
  return (p) => {
    if (p.phase === 'done') {
      if (tty) process.stderr.write('\r\x1b[K');
      return;
    }
    const eta = p.etaSeconds !== null && p.done > 0 ? `, ${Math.ceil(p.etaSeconds)} s left` : '';
    const line = p.phase === 'listing' ? 'listing files…' : `${p.phase} ${p.done}/${p.total} (${p.ratePerSecond.toFixed(1)}/s${eta})`;
    if (tty) process.stderr.write(`\r\x1b[K${line}`);
    else if (Date.now() - lastLineAt > 5000 || p.done === p.total) {
      lastLineAt = Date.now();
      process.stderr.write(`${line}\n`);
    }
  };
}

function summaryLine(summary: ScanSummary): string {
  const parts = [`${summary.total} images`, `${summary.added} new`, `${summary.changed} changed`, `${summary.moved} moved`, `${summary.removed} removed`, `${summary.unchanged} unchanged`];
  return `Scanned ${summary.folders.join(', ')}: ${parts.join(', ')} in ${(summary.durationMs / 1000).toFixed(1)} s${summary.cancelled ? ' (cancelled)' : ''}.`;
}

// ---------------------------------------------------------------- commands

export function buildProgram(): Command {
  const program = new Command()
    .name('dedup')
    .description('Find exact and near-duplicate photos (content hash, perceptual hash and CNN embeddings).')
    .showHelpAfterError();

  addCommonOptions(
    program
      .command('scan')
      .description('scan folders (incrementally) and print the duplicate groups; with no folder, the bundled sample photos')
      .argument('[folders...]', 'folders to scan'),
  ).action(async (folders: string[], options: CommonOptions) => {
    const targets = folders.length > 0 ? folders : [SAMPLE_FOLDER];
    await withEngine(options, async (engine) => {
      const controller = new AbortController();
      const onInterrupt = () => {
        if (controller.signal.aborted) process.exit(130);
        process.stderr.write('\nstopping after the files in progress (Ctrl+C again to quit at once)…\n');
        controller.abort();
      };
      process.on('SIGINT', onInterrupt);
      let summary: ScanSummary;
      try {
        summary = await engine.scan(targets, { signal: controller.signal, onProgress: progressPrinter() });
      } finally {
        process.off('SIGINT', onInterrupt);
      }
      const result = await engine.groups();
      const scanned = result.groups
        .map((group) => ({ ...group, files: group.files.filter((f) => summary.folders.some((folder) => f.path.startsWith(folder))) }))
        .filter((group) => group.files.length > 1);
      if (options.json) {
        printJson({ groups: scanned, errors: summary.errors, summary });
      } else {
        process.stderr.write(summaryLine(summary) + '\n');
        printGroups({ groups: scanned, errors: summary.errors });
      }
    });
  });

  addCommonOptions(program.command('groups').description('print the duplicate groups of everything in the catalog')).action(async (options: CommonOptions) => {
    await withEngine(options, async (engine) => {
      const result = await engine.groups();
      if (options.json) printJson(result);
      else printGroups(result);
    });
  });

  addCommonOptions(
    program
      .command('query')
      .description('list the catalogued photos most similar to an image')
      .argument('<image>', 'an image file (it need not be in the catalog)')
      .option('--top <k>', 'how many results', numberIn(1, 10000), 10),
  ).action(async (image: string, options: CommonOptions & { top: number }) => {
    await withEngine(options, async (engine) => {
      const hits = await engine.query(image, { top: options.top });
      if (options.json) printJson({ results: hits.map((hit) => ({ path: hit.path, score: Math.round(hit.score * 10000) / 10000 })) });
      else if (hits.length === 0) console.log('The catalog is empty: scan a folder first.');
      else for (const hit of hits) console.log(`${hit.score.toFixed(3)}  ${hit.path}`);
    });
  });

  return program;
}

const isMain = process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url);
if (isMain) {
  buildProgram()
    .parseAsync(process.argv)
    .catch((error: Error) => {
      process.stderr.write(`dedup: ${error.message}\n`);
      process.exit(1);
    });
}
