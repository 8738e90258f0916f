// Settings: a saved copy from main and an editable draft; the provider actually in use.
import type { AppSettings, Language, ProviderInfo } from '../../../electron/shared/api.ts';
import { dedup, errorMessage } from '../lib/api.ts';
import { i18n } from '../i18n/i18n.svelte.ts';
import { ui } from './ui.svelte.ts';

type Draft = Omit<AppSettings, 'language'>;

function draftOf(s: AppSettings): Draft {
  const { language: _language, ...rest } = s;
  return rest;
}

class SettingsStore {
  saved = $state.raw<AppSettings | null>(null);
  draft = $state<Draft | null>(null);
  provider = $state.raw<ProviderInfo | null>(null);
  status = $state<'loading' | 'ready' | 'error'>('loading');
  error = $state<string | null>(null);
  saving = $state(false);

  dirty = $derived.by(() => {
    if (!this.saved || !this.draft) return false;
    const saved = draftOf(this.saved);
    return (Object.keys(saved) as (keyof Draft)[]).some((k) => saved[k] !== this.draft![k]);
  });
  valid = $derived(this.draft === null || this.draft.similarCosine < this.draft.nearCosine);

  async load(): Promise<void> {
    try {
      const s = await dedup().settings.get();
      this.#apply(s);
      this.status = 'ready';
      this.error = null;
    } catch (error) {
      this.status = 'error';
      this.error = errorMessage(error);
    }
    void this.loadProvider();
  }

  async loadProvider(): Promise<void> {
    try {
      this.provider = await dedup().settings.provider();
    } catch {
      this.provider = null;
    }
  }

  reset(): void {
    if (this.saved) this.draft = draftOf(this.saved);
  }

  /** Saves the draft. Returns true when something was saved (the groups may have changed). */
  async save(): Promise<boolean> {
    if (!this.draft || !this.dirty || !this.valid) return false;
    this.saving = true;
    try {
      const providerChanged = this.saved?.executionProvider !== this.draft.executionProvider;
      this.#apply(await dedup().settings.update($state.snapshot(this.draft)));
      ui.notify('success', i18n.t.settings.saved);
      if (providerChanged) void this.loadProvider();
      return true;
    } catch (error) {
      ui.notify('error', i18n.t.common.errorPrefix(errorMessage(error)));
      return false;
    } finally {
      this.saving = false;
    }
  }

  /** Switches the language at once and remembers it. */
  async setLanguage(language: Language): Promise<void> {
    i18n.set(language);
    try {
      const s = await dedup().settings.update({ language });
      this.saved = s;
    } catch (error) {
      ui.notify('error', i18n.t.common.errorPrefix(errorMessage(error)));
    }
  }

  #apply(s: AppSettings): void {
    this.saved = s;
    this.draft = draftOf(s);
    if (s.language !== i18n.language) i18n.set(s.language);
  }
}

export const settings = new SettingsStore();
