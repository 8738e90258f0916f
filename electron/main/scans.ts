// Runs scans for the main process (from the renderer, the menu, or folder additions), forwards their
// progress, tells the renderer when the groups changed, and cancels them all on request.
import { catalogChanged } from '../engine/watch.ts';
import type { GroupsResult, ScanProgress, ScanSummary } from '../engine/types.ts';
import type { RemoteEngine } from '../shared/engine-protocol.ts';

export interface ScanEvents {
  progress(progress: ScanProgress): void;
  groupsChanged(result: GroupsResult): void;
  failed(error: Error): void;
}

export class ScanRunner {
  private readonly running = new Set<AbortController>();

  constructor(private readonly engine: Pick<RemoteEngine, 'scan' | 'groups'>, private readonly events: ScanEvents) {}

  /** Scans (the given folders, or all) and resolves with the summary. */
  async run(folders?: string[]): Promise<ScanSummary> {
    const controller = new AbortController();
    this.running.add(controller);
    try {
      const summary = await this.engine.scan(folders, { signal: controller.signal, onProgress: (p) => this.events.progress(p) });
      if (catalogChanged(summary)) this.events.groupsChanged(await this.engine.groups());
      return summary;
    } finally {
      this.running.delete(controller);
    }
  }

  /** Scans in the background; failures go to `events.failed`. */
  start(folders?: string[]): void {
    this.run(folders).catch((error: unknown) => this.events.failed(error instanceof Error ? error : new Error(String(error))));
  }

  cancelAll(): void {
    for (const controller of this.running) controller.abort();
  }

  get busy(): boolean {
    return this.running.size > 0;
  }
}
