// The only way out of the page: the API the preload exposes as window.dedup (tests install their own).
import type { DedupApi } from '../../../electron/shared/api.ts';

export function hasApi(): boolean {
  return typeof window !== 'undefined' && typeof window.dedup === 'object' && window.dedup !== null;
}

/** window.dedup; throws when the preload did not provide it (App shows a message instead of the screens). */
export function dedup(): DedupApi {
  if (!hasApi()) throw new Error('window.dedup is missing');
  return window.dedup;
}

/** A readable message from anything thrown (IPC errors arrive as Error with the main-side message). */
export function errorMessage(error: unknown): string {
  if (error instanceof Error) {
    // Electron prefixes remote errors with "Error invoking remote method '<channel>': Error: ".
    return error.message.replace(/^Error invoking remote method '[^']*': (?:\w*Error: )?/, '');
  }
  return String(error);
}
