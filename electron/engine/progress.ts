// Progress reports (counts, rate, ETA), throttled so a fast scan does not flood its listener.
import type { ScanPhase, ScanProgress } from './types.ts';

export class ProgressReporter {
  private phase: ScanPhase = 'listing';
  private done = 0;
  private total = 0;
  private startedAt = Date.now();
  private lastSentAt = 0;
  private currentPath: string | null = null;

  constructor(private readonly listener: ((progress: ScanProgress) => void) | undefined, private readonly intervalMs = 100) {}

  start(phase: ScanPhase, total: number): void {
    this.phase = phase;
    this.total = total;
    this.done = 0;
    this.startedAt = Date.now();
    this.send(true);
  }

  advance(currentPath: string | null): void {
    this.done++;
    this.currentPath = currentPath;
    this.send(this.done === this.total);
  }

  snapshot(): ScanProgress {
    const seconds = (Date.now() - this.startedAt) / 1000;
    const ratePerSecond = seconds > 0 ? this.done / seconds : 0;
    const remaining = this.total - this.done;
    const etaSeconds = ratePerSecond > 0 ? remaining / ratePerSecond : null;
    return { phase: this.phase, done: this.done, total: this.total, ratePerSecond, etaSeconds, currentPath: this.currentPath };
  }

  send(force = false): void {
    if (!this.listener) return;
    const now = Date.now();
    if (!force && now - this.lastSentAt < this.intervalMs) return;
    this.lastSentAt = now;
    this.listener(this.snapshot());
  }
}
