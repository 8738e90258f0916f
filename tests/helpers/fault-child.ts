// A tiny program that uses the engine, for crash tests: the test starts it as a child process, waits
// for "ready" on its stdout, lets it work for a random time and kills it with SIGKILL.
//
//   node --import tsx tests/helpers/fault-child.ts '<json task>'
//
// (fault-kill.ts runs it bundled by esbuild, which starts in a third of the time; every task names the
// model folder, since the bundle does not live beside the engine's sources.)
//
// Tasks:
//   {"task":"scan","catalog":PATH,"folder":PATH}                      one scan of the folder
//   {"task":"catalog-write","catalog":PATH,"writes":N}                 N catalog saves (settings changes)
//   {"task":"delete","catalog":PATH,"journal":PATH,"trash":PATH,"target":PATH,"rounds":N,"keepActions":K}
//        N rounds of: remove every copy but one of the largest group (to the trash or, every other
//        round, into the target folder), then undo it. The journal keeps K actions (default 20).
//   {"task":"permissions","catalog":PATH,"folder":PATH,"sub":PATH,"paths":[PATH...]}   (as an unprivileged user)
//        scan while `sub` is made unreadable mid-scan; scan after it is readable again; scan while it
//        is unreadable from the start. Prints one JSON line: the three summaries and the catalog's
//        facts of each of `paths` after each.
// Prints "ready" once the engine is open, "done" when the work is finished.
import { chmodSync } from 'node:fs';
import { openEngine } from '../../electron/engine/index.ts';
import { DeleteJournal, FolderTrash } from '../../electron/engine/trash.ts';

interface Task {
  task: 'scan' | 'catalog-write' | 'delete' | 'permissions';
  catalog: string;
  modelDir: string;
  folder?: string;
  writes?: number;
  journal?: string;
  trash?: string;
  target?: string;
  rounds?: number;
  keepActions?: number;
  sub?: string;
  paths?: string[];
}

const task = JSON.parse(process.argv[2]) as Task;
// A small catalog journal for the write task: saves are then appends and, every dozen or so, whole writes, and kills land in both.
const journalLimit = task.task === 'catalog-write' ? 4096 : undefined;
const engine = await openEngine({ catalogPath: task.catalog, modelDir: task.modelDir, settings: { executionProvider: 'cpu' }, concurrency: 2, journalLimit });
process.stdout.write('ready\n');

if (task.task === 'scan') {
  await engine.scan([task.folder!]);
} else if (task.task === 'catalog-write') {
  const start = engine.settings().nearCosine;
  // Each save appends to the catalog's journal or writes the whole catalog; the value written last is the count of saves so far.
  for (let i = 1; i <= task.writes!; i++) await engine.updateSettings({ nearCosine: Math.min(1, start + i / 1e6) });
} else if (task.task === 'delete') {
  const journal = await DeleteJournal.open({ journalPath: task.journal!, catalog: engine, trash: new FolderTrash(task.trash!), keepActions: task.keepActions });
  for (let round = 0; round < task.rounds!; round++) {
    const group = (await engine.groups()).groups.sort((a, b) => b.files.length - a.files.length)[0];
    if (group && group.files.length > 1) {
      const items = group.files.slice(1).map((file) => ({ path: file.path, size: file.size, mtimeMs: file.mtimeMs }));
      const destination = round % 2 === 0 ? ({ kind: 'trash' } as const) : ({ kind: 'folder', path: task.target! } as const);
      await journal.remove({ groupId: group.id, items, destination });
    }
    await journal.undo();
  }
} else if (task.task === 'permissions') {
  /** Path → [format, width] as catalogued (null: not in the catalog). */
  const facts = () =>
    Object.fromEntries(
      task.paths!.map((path) => {
        const f = engine.fileFacts(path);
        return [path, f ? [f.format, f.width] : null];
      }),
    );
  let locked = false;
  const midScan = await engine.scan([task.folder!], {
    onProgress: (progress) => {
      if (progress.phase === 'reading' && !locked) {
        locked = true; // listed, not yet read: the folder becomes unreadable
        chmodSync(task.sub!, 0o000);
      }
    },
  });
  const midScanFacts = facts();
  chmodSync(task.sub!, 0o755);
  const readable = await engine.scan([task.folder!]);
  const readableFacts = facts();
  chmodSync(task.sub!, 0o000);
  const unreadable = await engine.scan([task.folder!]);
  const unreadableFacts = facts();
  chmodSync(task.sub!, 0o755);
  process.stdout.write(`${JSON.stringify({ midScan, midScanFacts, readable, readableFacts, unreadable, unreadableFacts })}\n`);
}
await engine.close();
process.stdout.write('done\n');
