// The evaluation set: every photo of the source folder (the ready-made look-alikes and all the
// distractors) plus edited copies of a seeded subset of the distinct photos. The copies are written
// once under .eval/ and reused while the recipe (seed, subset size, edit list) is unchanged.
import { existsSync, readFileSync } from 'node:fs';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { extname, join } from 'node:path';
import sharp from 'sharp';
import { drawEditParams, EDITS, type EditParams, type EditSpec } from './edits.ts';
import { loadSourceTruth, pairKey, type Relation, type SourceTruth } from './truth.ts';

export interface EvalFile {
  /** Absolute path. */
  path: string;
  /** Short name for reports: "kphotoalbum/bar55.jpg" or "edits/kphotoalbum__bar55/rot90.jpg". */
  name: string;
  /** The source photo it shows (itself for a source photo). */
  source: string;
  /** null for the source photos themselves. */
  edit: EditSpec | null;
}

export interface EvalSet {
  photosDir: string;
  editsDir: string;
  files: EvalFile[];
  truth: SourceTruth;
  /** The originals that got edited copies. */
  edited: string[];
  /** Held-out split by family: 'tune' or 'test' for every source photo. */
  half: Map<string, 'tune' | 'test'>;
}

/** mulberry32: a small seeded generator, so the subset and split are the same on every machine. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function shuffled<T>(items: T[], random: () => number): T[] {
  const out = [...items];
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [out[i], out[j]] = [out[j], out[i]];
  }
  return out;
}

export async function buildEvalSet(options: { photosDir: string; workDir: string; originals: number; seed: number; log: (m: string) => void }): Promise<EvalSet> {
  const truth = loadSourceTruth(options.photosDir);
  const random = seededRandom(options.seed);
  const edited = shuffled(truth.distinct, random).slice(0, options.originals).sort();
  const params = new Map(edited.map((file) => [file, drawEditParams(random)]));

  // Held-out split: whole families (a photo and all its look-alikes) go to one side.
  const familyIds = [...new Set(truth.family.values())].sort((a, b) => a - b);
  const splitRandom = seededRandom(options.seed + 1);
  const familyHalf = new Map(familyIds.map((id) => [id, splitRandom() < 0.5 ? ('tune' as const) : ('test' as const)]));
  const half = new Map(truth.photos.map((p) => [p, familyHalf.get(truth.family.get(p)!)!]));

  const editsDir = join(options.workDir, 'edits');
  const recipe = JSON.stringify({ seed: options.seed, edited, edits: EDITS.map((e) => e.name), version: 2 });
  const recipePath = join(editsDir, 'recipe.json');
  const fresh = existsSync(recipePath) && readFileSync(recipePath, 'utf8') === recipe;
  if (!fresh) {
    options.log(`writing ${edited.length * EDITS.length} edited copies of ${edited.length} originals to ${editsDir}`);
    await rm(editsDir, { recursive: true, force: true });
    await mkdir(editsDir, { recursive: true });
    let next = 0;
    // Two at a time: the machine is shared.
    await Promise.all(
      [0, 1].map(async () => {
        while (next < edited.length) {
          const file = edited[next++];
          await writeEdits(options.photosDir, file, join(editsDir, folderName(file)), params.get(file)!);
        }
      }),
    );
    await writeFile(recipePath, recipe);
  }

  const files: EvalFile[] = truth.photos.map((file) => ({ path: join(options.photosDir, file), name: file, source: file, edit: null }));
  for (const file of edited) {
    for (const edit of EDITS) {
      const name = `edits/${folderName(file)}/${editFileName(file, edit)}`;
      files.push({ path: join(options.workDir, name), name, source: file, edit });
    }
  }
  return { photosDir: options.photosDir, editsDir, files, truth, edited, half };
}

function folderName(file: string): string {
  return file.replace(/\//g, '__').replace(extname(file), '');
}

async function writeEdits(photosDir: string, file: string, dir: string, params: EditParams): Promise<void> {
  await mkdir(dir, { recursive: true });
  const source = join(photosDir, file);
  const meta = await sharp(source).metadata();
  const swapped = (meta.orientation ?? 1) >= 5;
  const size = { width: swapped ? meta.height! : meta.width!, height: swapped ? meta.width! : meta.height! };
  for (const edit of EDITS) {
    await edit.make(source, join(dir, editFileName(file, edit)), size, params);
  }
}

/** A byte copy keeps its source's extension; other copies get their edit's format. */
function editFileName(file: string, edit: EditSpec): string {
  return edit.name === 'copy' ? `copy${extname(file)}` : `${edit.name}.${edit.extension}`;
}

/** How two files of the set relate, from their sources. */
export function relationOf(set: EvalSet, a: EvalFile, b: EvalFile): Relation {
  if (a.source === b.source) return 'dup';
  const { dupCluster, relations } = set.truth;
  if (dupCluster.get(a.source) === dupCluster.get(b.source)) return 'dup';
  return relations.get(pairKey(a.source, b.source)) ?? 'none';
}
