// Locale-aware formatting of the numbers, sizes, dates and durations the screens show.
import { i18n } from '../i18n/i18n.svelte.ts';

export function formatBytes(bytes: number): string {
  const units = i18n.t.units.bytes;
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit += 1;
  }
  const digits = unit === 0 || value >= 100 ? 0 : 1;
  return `${value.toLocaleString(i18n.language, { maximumFractionDigits: digits, minimumFractionDigits: digits })} ${units[unit]}`;
}

export function formatNumber(n: number, fractionDigits = 0): string {
  return n.toLocaleString(i18n.language, { maximumFractionDigits: fractionDigits, minimumFractionDigits: fractionDigits });
}

/** Short count for badges: 950, 9,999, then 10K / 1万. */
export function formatCount(n: number): string {
  return n.toLocaleString(i18n.language, n >= 10_000 ? { notation: 'compact', maximumFractionDigits: 1 } : {});
}

/** A score in [0, 1] as a percentage with one decimal, e.g. "97.3%". */
export function formatScore(score: number): string {
  return (score * 100).toLocaleString(i18n.language, { maximumFractionDigits: 1, minimumFractionDigits: 1 }) + '%';
}

/** A date and time; `short` for narrow places (photo tiles). */
export function formatDate(date: Date | string | number, style: 'medium' | 'short' = 'medium'): string {
  const d = date instanceof Date ? date : new Date(date);
  if (Number.isNaN(d.getTime())) return i18n.t.common.unknown;
  return new Intl.DateTimeFormat(i18n.language, { dateStyle: style, timeStyle: 'short' }).format(d);
}

export function formatDuration(totalSeconds: number): string {
  const s = Math.max(0, Math.ceil(totalSeconds));
  if (s < 60) return i18n.t.units.seconds(s);
  if (s < 3600) return i18n.t.units.minutes(Math.floor(s / 60), s % 60);
  return i18n.t.units.hours(Math.floor(s / 3600), Math.floor((s % 3600) / 60));
}

/** Last part of a path (file or folder name), for either separator. */
export function baseName(path: string): string {
  const parts = path.split(/[\\/]/).filter(Boolean);
  return parts[parts.length - 1] ?? path;
}

/** The last `keep` parts of a folder path, with an ellipsis when shortened. */
export function shortFolder(path: string, keep = 2): string {
  const parts = path.split(/[\\/]/).filter(Boolean);
  if (parts.length <= keep) return path;
  return '…/' + parts.slice(-keep).join('/');
}
