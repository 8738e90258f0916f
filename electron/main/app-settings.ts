// Settings that belong to the app rather than the engine (the engine keeps its own in the catalog):
// today the interface language. One small JSON file in the app data folder, validated on load and
// replaced atomically on save.
import { mkdir, readFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { z } from 'zod';
import { writeFileAtomic } from '../engine/atomic-file.ts';
import type { Language } from '../shared/api.ts';
import { languageSchema } from '../shared/ipc-contract.ts';

const fileSchema = z.object({ language: languageSchema });
export type StoredAppSettings = z.infer<typeof fileSchema>;

/** The language to start with when none was chosen: Chinese for a Chinese system, else English. */
export function defaultLanguage(systemLocale: string): Language {
  return systemLocale.toLowerCase().startsWith('zh') ? 'zh-CN' : 'en';
}

export class AppSettingsStore {
  private constructor(private readonly path: string, private current: StoredAppSettings) {}

  /** Reads the file; a missing or invalid one gives the defaults. */
  static async open(path: string, defaults: StoredAppSettings): Promise<AppSettingsStore> {
    let current = defaults;
    try {
      const parsed = fileSchema.safeParse(JSON.parse(await readFile(path, 'utf8')));
      if (parsed.success) current = parsed.data;
    } catch {
      // first start, or an unreadable file: defaults
    }
    return new AppSettingsStore(path, current);
  }

  get(): StoredAppSettings {
    return { ...this.current };
  }

  async update(patch: Partial<StoredAppSettings>): Promise<StoredAppSettings> {
    this.current = fileSchema.parse({ ...this.current, ...patch });
    await mkdir(dirname(this.path), { recursive: true });
    await writeFileAtomic(this.path, JSON.stringify(this.current, null, 2));
    return this.get();
  }
}
