// "Find similar": query by a dropped or picked image.
import type { QueryHit } from '../../../electron/shared/api.ts';
import { dedup, errorMessage } from '../lib/api.ts';

const TOP = 24;
const IMAGE_EXT = /\.(jpe?g|png|webp|avif|gif|tiff?|heic|heif|bmp|jxl)$/i;

export function looksLikeImage(file: File): boolean {
  return file.type.startsWith('image/') || IMAGE_EXT.test(file.name);
}

class QueryStore {
  path = $state<string | null>(null);
  /** A blob: URL of the dropped file, to show what was searched for. */
  preview = $state<string | null>(null);
  hits = $state.raw<QueryHit[]>([]);
  status = $state<'idle' | 'searching' | 'done' | 'error'>('idle');
  error = $state<string | null>(null);

  async byFile(file: File): Promise<void> {
    const path = dedup().files.pathForFile(file);
    this.#setPreview(URL.createObjectURL(file));
    await this.#run(path, () => dedup().query.byPath(path, TOP));
  }

  async pick(): Promise<void> {
    this.status = 'searching';
    try {
      const result = await dedup().query.pick(TOP);
      if (result.path === null) {
        this.status = this.path ? 'done' : 'idle';
        return;
      }
      this.#setPreview(null);
      this.path = result.path;
      this.hits = result.hits;
      this.status = 'done';
      this.error = null;
    } catch (error) {
      this.status = 'error';
      this.error = errorMessage(error);
    }
  }

  async #run(path: string, search: () => Promise<QueryHit[]>): Promise<void> {
    this.path = path;
    this.hits = [];
    this.status = 'searching';
    this.error = null;
    try {
      this.hits = await search();
      this.status = 'done';
    } catch (error) {
      this.status = 'error';
      this.error = errorMessage(error);
    }
  }

  #setPreview(url: string | null): void {
    if (this.preview) URL.revokeObjectURL(this.preview);
    this.preview = url;
  }
}

export const query = new QueryStore();
