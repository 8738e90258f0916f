// Where a worker thread's module is, and how to start it, for the engine's two kinds of worker
// (decode-heic-worker, candidate-worker). From source under tsx the worker is a .ts file next to
// its caller; compiled in place it is the .js next to it; a bundled build passes its own path.
import { fileURLToPath } from 'node:url';

/** The worker module `name` next to the module at `callerUrl`, with the caller's own extension. */
export function workerFileBeside(callerUrl: string, name: string): string {
  const extension = callerUrl.endsWith('.ts') ? '.ts' : '.js';
  return fileURLToPath(new URL(`./${name}${extension}`, callerUrl));
}

/**
 * Worker threads inherit process.execArgv, which under tsx already holds its loader
 * (`--import tsx`, or `--require …/preflight.cjs --import …/loader.mjs` for the tsx CLI). Only when a
 * TypeScript worker is asked for without it (tsx registered through its API, say) add it ourselves.
 */
export function execArgvFor(workerFile: string): string[] | undefined {
  if (!workerFile.endsWith('.ts')) return undefined;
  if (process.execArgv.some((arg) => arg.includes('tsx'))) return undefined;
  return [...process.execArgv, '--import', 'tsx'];
}
