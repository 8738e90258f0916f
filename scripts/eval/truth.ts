// Ground truth for the evaluation: which photos of the source folder are the same photo, which are
// the same scene (another shot), which are arguable, and which are distinct shots of one subject.
// The source is the manifest's look_alike_groups (checked by eye when the folder was assembled),
// classified here by kind, plus a few pairs found by eye that the manifest does not list.
import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';

/**
 * How two photos relate.
 * - dup: the same photo (resized, re-encoded, edited): must share a near-duplicate group.
 * - similar: another shot of the same scene (burst, video frame, stereo pair): belongs in the
 *   "similar" tier and must NOT be called a near-duplicate.
 * - arguable: heavy artistic filters of one photo; any verdict is accepted, none is counted.
 * - subject: distinct photos of the same subject or place: never near; "similar" is accepted.
 * - none: unrelated.
 */
export type Relation = 'dup' | 'similar' | 'arguable' | 'subject' | 'none';

/** Kinds of the manifest's look-alike groups, by their first file. */
const GROUP_KINDS: Record<string, Exclude<Relation, 'none'>> = {
  'libdlib19.1/frame_000100.jpg': 'similar', // consecutive video frames
  'libdlib19.1/frame_000117.jpg': 'similar',
  'opencv-doc/basketball1.png': 'similar', // consecutive frames (optical-flow test pair)
  'opencv-doc/rubberwhale1.png': 'similar',
  'python3-skimage/motorcycle_left.png': 'similar', // stereo pair
  'gimp-help-en/artistic-taj-clothify.jpg': 'arguable', // GIMP filter demos, some no longer the same picture
};

/**
 * Pairs the manifest does not list, found by looking at the photos (docs/QUALITY.md lists them).
 * Everything else in the folder counts as distinct.
 */
const EXTRA_GROUPS: { kind: Exclude<Relation, 'none'>; files: string[]; why: string }[] = [
  {
    kind: 'similar',
    files: Array.from({ length: 31 }, (_, i) => `libdlib19.1/frame_000${100 + i}.jpg`),
    why: 'one continuous video: the manifest splits it in two groups, but frames 116 and 117 are consecutive frames of the same scene',
  },
  { kind: 'similar', files: ['opencv-doc/leuvenA.jpg', 'opencv-doc/leuvenB.jpg'], why: 'one street at two exposures' },
  { kind: 'similar', files: ['opencv-doc/aloeL.jpg', 'opencv-doc/aloeR.jpg'], why: 'stereo pair' },
  { kind: 'similar', files: ['opencv-doc/left.jpg', 'opencv-doc/right.jpg'], why: 'stereo pair' },
  { kind: 'similar', files: ['opencv-doc/graf1.png', 'opencv-doc/graf3.png'], why: 'one wall from two viewpoints' },
  { kind: 'similar', files: ['opencv-doc/aero1.jpg', 'opencv-doc/aero3.jpg'], why: 'one town from two aerial viewpoints' },
  { kind: 'dup', files: ['opencv-doc/ela_original.jpg', 'opencv-doc/ela_modified.jpg'], why: 'one photo, an object painted out and re-cropped' },
  {
    kind: 'arguable',
    files: ['gimp-help-en/artistic-taj-clothify.jpg', 'gimp-help-en/artistic-taj-predator.jpg', 'gimp-help-en/decor-taj-carve-it.jpg'],
    why: 'more GIMP filter demos of the same Taj Mahal photo, not in the manifest group',
  },
  // kphotoalbum: name, name_2 (name_1, name_2...) are other shots of the same people or place.
  ...['bar55', 'donna', 'jesper', 'pool', 'skagen', 'spiff'].map((name) => ({
    kind: 'subject' as const,
    files: [`kphotoalbum/${name}.jpg`, `kphotoalbum/${name}_2.jpg`],
    why: 'another shot of the same people or place',
  })),
  { kind: 'subject', files: ['kphotoalbum/grand_canyon_1.jpg', 'kphotoalbum/grand_canyon_2.jpg', 'kphotoalbum/grand_canyon_3.jpg'], why: 'one place, three shots' },
  { kind: 'subject', files: ['kphotoalbum/new_wave_1.jpg', 'kphotoalbum/new_wave_2.jpg'], why: 'one place, two shots' },
  { kind: 'subject', files: ['libdlib19.1/000179_02159509.jpg', 'libdlib19.1/Tom_Cruise_avp_2014_4.jpg'], why: 'two face crops of different people' },
];

export interface SourcePhoto {
  /** Path relative to the source folder, e.g. "kphotoalbum/bar55.jpg". */
  file: string;
}

export interface SourceTruth {
  photos: string[];
  /** Index of each photo's same-photo cluster (manifest duplicates merged). */
  dupCluster: Map<string, number>;
  /** Pairwise relations other than dup/none, keyed "a\tb" with a < b. */
  relations: Map<string, Exclude<Relation, 'dup' | 'none'>>;
  /** One photo per same-photo cluster and per other look-alike group: the photos that get edited copies. */
  distinct: string[];
  /** Connected components over every relation: kept on one side of the held-out split. */
  family: Map<string, number>;
  /** For the report: the groups by kind. */
  groups: { kind: Exclude<Relation, 'none'>; files: string[]; source: 'manifest' | 'by eye'; why?: string }[];
}

const IMAGE_EXTENSIONS = /\.(jpe?g|png|webp|avif|tiff?|gif|heic|heif)$/i;

export function pairKey(a: string, b: string): string {
  return a < b ? `${a}\t${b}` : `${b}\t${a}`;
}

/** Reads the folder's manifest.json when there is one; otherwise every image counts as distinct. */
export function loadSourceTruth(photosDir: string): SourceTruth {
  const manifestPath = join(photosDir, 'manifest.json');
  let photos: string[];
  let lookAlikes: string[][] = [];
  if (existsSync(manifestPath)) {
    const manifest = JSON.parse(readFileSync(manifestPath, 'utf8')) as { photos: { file: string }[]; look_alike_groups?: string[][] };
    photos = manifest.photos.map((p) => p.file);
    lookAlikes = manifest.look_alike_groups ?? [];
  } else {
    photos = listImagesSync(photosDir).map((path) => relative(photosDir, path));
  }
  photos.sort();
  const known = new Set(photos);

  const groups: SourceTruth['groups'] = lookAlikes.map((files) => ({ kind: GROUP_KINDS[files[0]] ?? 'dup', files, source: 'manifest' as const }));
  for (const extra of EXTRA_GROUPS) {
    if (extra.files.every((f) => known.has(f))) groups.push({ kind: extra.kind, files: extra.files, source: 'by eye', why: extra.why });
  }

  // Same-photo clusters: union of the dup groups.
  const parent = new Map(photos.map((p) => [p, p]));
  const find = (x: string): string => {
    while (parent.get(x) !== x) x = parent.get(x)!;
    return x;
  };
  for (const group of groups) if (group.kind === 'dup') for (const f of group.files.slice(1)) parent.set(find(f), find(group.files[0]));
  const clusterIds = new Map<string, number>();
  const dupCluster = new Map<string, number>();
  for (const p of photos) {
    const root = find(p);
    if (!clusterIds.has(root)) clusterIds.set(root, clusterIds.size);
    dupCluster.set(p, clusterIds.get(root)!);
  }

  // Other relations hold between photos of different same-photo clusters.
  const relations = new Map<string, Exclude<Relation, 'dup' | 'none'>>();
  const rank = { arguable: 3, similar: 2, subject: 1 } as const;
  for (const group of groups) {
    if (group.kind === 'dup') continue;
    for (const a of group.files) {
      for (const b of group.files) {
        if (a >= b || dupCluster.get(a) === dupCluster.get(b)) continue;
        const key = pairKey(a, b);
        const previous = relations.get(key);
        if (!previous || rank[group.kind] > rank[previous]) relations.set(key, group.kind);
      }
    }
  }

  // Families: every look-alike group joined, so a split never separates related photos.
  for (const group of groups) for (const f of group.files.slice(1)) parent.set(find(f), find(group.files[0]));
  const familyIds = new Map<string, number>();
  const family = new Map<string, number>();
  for (const p of photos) {
    const root = find(p);
    if (!familyIds.has(root)) familyIds.set(root, familyIds.size);
    family.set(p, familyIds.get(root)!);
  }

  // One photo per manifest look-alike group (its first, as listed) and every photo in none.
  const inGroup = new Set(lookAlikes.flat());
  const distinct = [...photos.filter((p) => !inGroup.has(p)), ...lookAlikes.map((g) => g[0]).filter((p) => known.has(p))].sort();
  return { photos, dupCluster, relations, distinct, family, groups };
}

function listImagesSync(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir)) {
    if (name.startsWith('.')) continue;
    const full = join(dir, name);
    if (statSync(full).isDirectory()) out.push(...listImagesSync(full));
    else if (IMAGE_EXTENSIONS.test(name)) out.push(full);
  }
  return out;
}
