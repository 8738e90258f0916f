// Growing a real catalog with synthetic photos, for the benchmarks that need a library far larger
// than the dev photos (bench/query-bench.ts, bench/regroup-bench.ts): the seed photos are scanned by
// the engine, then made-up entries and embeddings are appended to the same catalog and vector store,
// so that the engine opens a catalog like any other.
import { join } from 'node:path';
import { writeFileAtomic } from '../electron/engine/atomic-file.ts';
import { catalogPieces, readCatalogDocument } from '../electron/engine/catalog-file.ts';
import type { CatalogData, CatalogEntry } from '../electron/engine/catalog.ts';
import { openEngine } from '../electron/engine/index.ts';
import { bytesFromHex } from '../electron/engine/phash.ts';
import { VectorStore } from '../electron/engine/vectors.ts';

/** What the caller makes up for one synthetic photo. */
export interface SyntheticPhoto {
  /** Its embedding (the same for every model view). */
  vector: Float32Array;
  /** 16 hex digits. */
  phash: string;
  /** The variant hashes, 16 hex digits each, end to end (the catalog's layout, as hex: it is made into bytes here). */
  phashVariants: string;
}

export interface SeedCatalog {
  data: CatalogData;
  store: VectorStore;
  dim: number;
  /** The number of variant hashes the engine makes per photo. */
  variantCount: number;
}

/**
 * Scans `seedDir` into a new catalog, then calls `makePhoto(seed, i)` for i = 0 .. count - 1 and
 * appends each photo (files under `workDir`/synthetic, which do not exist on disk). `makePhoto` may
 * read the seed catalog (its entries and vectors). Returns the library's size.
 */
export async function buildSyntheticLibrary(
  seedDir: string,
  catalogPath: string,
  workDir: string,
  count: (seed: SeedCatalog) => number,
  makePhoto: (seed: SeedCatalog, i: number) => SyntheticPhoto,
): Promise<number> {
  const seedEngine = await openEngine({ catalogPath });
  await seedEngine.scan([seedDir]);
  await seedEngine.close();

  const data = (await readCatalogDocument(catalogPath)) as CatalogData;
  const dim = data.embedding!.dimension;
  const views = data.embedding!.views.length;
  const template = data.files.find((f) => f.phashVariants)!;
  const store = VectorStore.open(`${catalogPath}.vectors`, dim, data.vectorRows);
  const seed: SeedCatalog = { data, store, dim, variantCount: template.phashVariants!.length / 8 };
  const total = count(seed);
  for (let first = 0; first < total; first += 1000) {
    const chunk: Float32Array[] = [];
    const entries: CatalogEntry[] = [];
    for (let i = first; i < Math.min(total, first + 1000); i++) {
      const photo = makePhoto(seed, i);
      for (let v = 0; v < views; v++) chunk.push(photo.vector);
      entries.push({
        ...template,
        path: syntheticPath(workDir, i),
        size: 2_000_000 + i,
        contentHash: `synthetic-${i}`,
        phash: photo.phash,
        phashVariants: bytesFromHex(photo.phashVariants),
        content: null,
        vectorRow: null,
        vectorHash: null,
      });
    }
    const firstRow = store.append(chunk);
    entries.forEach((entry, k) => {
      entry.vectorRow = firstRow + k * views;
      entry.vectorHash = store.hashRows(entry.vectorRow, views);
    });
    data.files.push(...entries);
  }
  data.vectorRows = store.rowCount;
  store.close();
  await writeFileAtomic(catalogPath, catalogPieces(data));
  return data.files.length;
}

/** The path buildSyntheticLibrary gives synthetic photo i. */
export function syntheticPath(workDir: string, i: number): string {
  return join(workDir, 'synthetic', String(Math.floor(i / 1000)), `${i}.jpg`);
}
