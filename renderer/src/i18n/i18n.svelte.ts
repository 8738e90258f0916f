// The i18n layer: a typed dictionary per language and one reactive "current language".
// Components read `i18n.t.section.key` (or call it with values); reading it inside a template or
// $derived subscribes to the language, so switching re-renders every string.
import type { Language } from '../../../electron/shared/api.ts';
import { en, type Messages } from './en.ts';
import { zhCN } from './zh-CN.ts';

export const languages: readonly Language[] = ['en', 'zh-CN'];

const dictionaries: Record<Language, Messages> = { en, 'zh-CN': zhCN };

/** The best language for a browser locale list, e.g. navigator.languages. */
export function pickLanguage(preferred: readonly string[]): Language {
  for (const tag of preferred) {
    const lower = tag.toLowerCase();
    if (lower.startsWith('zh')) return 'zh-CN';
    if (lower.startsWith('en')) return 'en';
  }
  return 'en';
}

class I18n {
  language = $state<Language>('en');
  t: Messages = $derived(dictionaries[this.language]);

  set(language: Language): void {
    this.language = language;
    document.documentElement.lang = language;
  }
}

export const i18n = new I18n();
