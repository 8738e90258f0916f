// Scan progress. Driven by the progress events (main may start a scan itself, e.g. after the folder
// dialog), so the banner shows whoever started the scan. When a scan ends, folders and groups reload.
import type { ScanProgress, ScanSummary } from '../../../electron/shared/api.ts';
import { dedup, errorMessage } from '../lib/api.ts';
import { i18n } from '../i18n/i18n.svelte.ts';
import { folders } from './folders.svelte.ts';
import { groups } from './groups.svelte.ts';
import { ui } from './ui.svelte.ts';

class ScanStore {
  progress = $state.raw<ScanProgress | null>(null);
  /** start() was called and has not resolved yet. */
  starting = $state(false);
  cancelling = $state(false);
  running = $derived(this.starting || (this.progress !== null && this.progress.phase !== 'done'));

  listen(): () => void {
    return dedup().scan.onProgress((p) => {
      this.progress = p;
      if (p.phase === 'done' && !this.starting) void this.#finished();
    });
  }

  async start(paths?: string[]): Promise<void> {
    if (this.starting) return;
    this.starting = true;
    try {
      const summary = await dedup().scan.start(paths);
      this.#report(summary);
    } catch (error) {
      ui.notify('error', i18n.t.scan.failed(errorMessage(error)));
    } finally {
      this.starting = false;
      this.cancelling = false;
      this.progress = null;
    }
    await this.#finished();
  }

  async cancel(): Promise<void> {
    this.cancelling = true;
    try {
      await dedup().scan.cancel();
    } catch (error) {
      this.cancelling = false;
      ui.notify('error', i18n.t.common.errorPrefix(errorMessage(error)));
    }
  }

  #report(summary: ScanSummary): void {
    const t = i18n.t.scan;
    if (summary.cancelled) {
      ui.notify('info', t.cancelled);
      return;
    }
    const text = t.finished(summary.total, summary.added, summary.changed, summary.removed);
    if (summary.errors.length > 0) {
      ui.notify('error', `${text} ${t.errors(summary.errors.length)}`, {
        details: summary.errors.slice(0, 5).map((e) => `${e.path}: ${e.message}`),
      });
    } else {
      ui.notify('success', text);
    }
  }

  async #finished(): Promise<void> {
    if (!this.starting) {
      this.progress = null;
      this.cancelling = false;
    }
    await Promise.all([folders.load(), groups.load()]);
  }
}

export const scan = new ScanStore();
