// The remembered folders: list, add (dialog or drop), remove.
import type { FolderInfo } from '../../../electron/shared/api.ts';
import { dedup, errorMessage } from '../lib/api.ts';

class FoldersStore {
  list = $state.raw<FolderInfo[]>([]);
  status = $state<'loading' | 'ready' | 'error'>('loading');
  error = $state<string | null>(null);

  /** True once any folder has been scanned (the groups screen's empty state depends on it). */
  anyScanned = $derived(this.list.some((f) => f.lastScanAt !== null));
  totalPhotos = $derived(this.list.reduce((sum, f) => sum + f.fileCount, 0));

  async load(): Promise<void> {
    try {
      this.list = await dedup().folders.list();
      this.status = 'ready';
      this.error = null;
    } catch (error) {
      this.status = 'error';
      this.error = errorMessage(error);
    }
  }

  /** Opens the folder dialog. Main adds the chosen folders and starts scanning them. */
  async pick(): Promise<string[]> {
    const chosen = await dedup().folders.pick();
    if (chosen.length > 0) await this.load();
    return chosen;
  }

  /** Adds folders; main scans them at once (progress arrives as events). */
  async add(paths: string[]): Promise<void> {
    this.list = await dedup().folders.add(paths);
    this.status = 'ready';
  }

  async remove(path: string): Promise<void> {
    this.list = await dedup().folders.remove(path);
  }
}

export const folders = new FoldersStore();
