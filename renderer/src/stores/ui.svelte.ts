// Which screen and overlay are showing, and the short messages (toasts) shown at the bottom.

export type Screen = 'folders' | 'groups' | 'query' | 'settings';

export interface Toast {
  id: number;
  kind: 'info' | 'success' | 'error';
  text: string;
  /** Extra lines (e.g. files that were refused, each with its reason). */
  details: string[];
  /** Offer an Undo button (after a removal). */
  undo: boolean;
}

export interface CompareState {
  groupId: string;
  left: number;
  right: number;
}

const TOAST_MS = 6000;

class UiStore {
  screen = $state<Screen>('folders');
  helpOpen = $state(false);
  compare = $state<CompareState | null>(null);
  dragging = $state(false);
  toasts = $state<Toast[]>([]);
  #nextId = 1;

  show(screen: Screen): void {
    this.screen = screen;
  }

  notify(kind: Toast['kind'], text: string, options: { details?: string[]; undo?: boolean } = {}): void {
    const toast: Toast = { id: this.#nextId++, kind, text, details: options.details ?? [], undo: options.undo ?? false };
    this.toasts = [...this.toasts.slice(-3), toast];
    const ms = kind === 'error' || toast.details.length > 0 ? TOAST_MS * 2 : TOAST_MS;
    setTimeout(() => this.dismiss(toast.id), ms);
  }

  dismiss(id: number): void {
    this.toasts = this.toasts.filter((t) => t.id !== id);
  }
}

export const ui = new UiStore();
