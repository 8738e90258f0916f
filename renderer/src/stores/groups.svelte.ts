// Duplicate groups and the review of them: which tab and group is current, which photos are marked
// for removal, and the actions (remove to trash / folder, undo, not duplicates).
// Invariant: a group never has all of its photos marked; toggle() and auto-select keep one.
import { SvelteMap } from 'svelte/reactivity';
import type { DuplicateGroup, GroupsResult, PhotoFacts, RemoveRequest, RemoveResult } from '../../../electron/shared/api.ts';
import type { GroupKind, ScanProblem } from '../../../electron/engine/types.ts';
import { dedup, errorMessage } from '../lib/api.ts';
import { autoMarks, type Rule } from '../lib/rules.ts';
import { baseName, formatBytes } from '../lib/format.ts';
import { i18n } from '../i18n/i18n.svelte.ts';
import { ui } from './ui.svelte.ts';

export const kinds: readonly GroupKind[] = ['exact', 'near', 'similar'];

export type Destination = RemoveRequest['destination'];

interface Summary {
  files: number;
  bytes: number;
}

function countKinds(groups: readonly DuplicateGroup[]): Record<GroupKind, number> {
  const counts: Record<GroupKind, number> = { exact: 0, near: 0, similar: 0 };
  for (const g of groups) counts[g.kind] += 1;
  return counts;
}

class GroupsStore {
  all = $state.raw<DuplicateGroup[]>([]);
  problems = $state.raw<ScanProblem[]>([]);
  status = $state<'loading' | 'ready' | 'error'>('loading');
  error = $state<string | null>(null);
  tab = $state<GroupKind>('exact');
  currentId = $state<string | null>(null);
  /** groupId -> paths marked for removal. */
  marks = new SvelteMap<string, ReadonlySet<string>>();
  rule = $state<Rule>({ name: 'largest', preferredFolder: null });
  destination = $state<Destination>({ kind: 'trash' });
  busy = $state(false);
  canUndo = $state(false);

  byId = $derived(new Map(this.all.map((g) => [g.id, g])));
  counts = $derived(countKinds(this.all));
  visible = $derived(this.all.filter((g) => g.kind === this.tab));
  currentIndex = $derived(this.visible.findIndex((g) => g.id === this.currentId));
  current = $derived(this.currentIndex >= 0 ? this.visible[this.currentIndex]! : null);
  summary: Summary = $derived.by(() => {
    const seen = new Set<string>();
    let bytes = 0;
    for (const [groupId, paths] of this.marks) {
      const group = this.byId.get(groupId);
      if (!group) continue;
      for (const f of group.files) {
        if (paths.has(f.path) && !seen.has(f.path)) {
          seen.add(f.path);
          bytes += f.size;
        }
      }
    }
    return { files: seen.size, bytes };
  });

  #loadedOnce = false;

  /** Listens for group changes pushed by main (watcher, scans). Returns the unsubscribe. */
  listen(): () => void {
    return dedup().groups.onChanged((result) => this.set(result));
  }

  async load(): Promise<void> {
    try {
      this.set(await dedup().groups.list());
    } catch (error) {
      this.status = 'error';
      this.error = errorMessage(error);
    }
    void this.refreshUndo();
  }

  set(result: GroupsResult): void {
    const previousIndex = Math.max(0, this.currentIndex);
    this.all = result.groups;
    this.problems = result.errors;
    this.status = 'ready';
    this.error = null;
    this.#pruneMarks();
    if (!this.#loadedOnce) {
      this.#loadedOnce = true;
      const firstWithGroups = kinds.find((k) => this.counts[k] > 0);
      if (firstWithGroups && this.counts[this.tab] === 0) this.tab = firstWithGroups;
    }
    if (this.currentIndex < 0) {
      const list = this.visible;
      this.currentId = list.length > 0 ? list[Math.min(previousIndex, list.length - 1)]!.id : null;
    }
  }

  /** Drops marks of groups that are gone or of photos no longer in their group. */
  #pruneMarks(): void {
    for (const [groupId, paths] of [...this.marks]) {
      const group = this.byId.get(groupId);
      if (!group) {
        this.marks.delete(groupId);
        continue;
      }
      const kept = new Set(group.files.filter((f) => paths.has(f.path)).map((f) => f.path));
      if (kept.size === 0 || kept.size >= group.files.length) this.marks.delete(groupId);
      else if (kept.size !== paths.size) this.marks.set(groupId, kept);
    }
  }

  setTab(kind: GroupKind): void {
    if (this.tab === kind) return;
    this.tab = kind;
    this.currentId = this.visible[0]?.id ?? null;
  }

  nextTab(delta: 1 | -1): void {
    const i = kinds.indexOf(this.tab);
    this.setTab(kinds[(i + delta + kinds.length) % kinds.length]!);
  }

  select(groupId: string): void {
    this.currentId = groupId;
  }

  move(delta: number): void {
    const list = this.visible;
    if (list.length === 0) return;
    const from = this.currentIndex < 0 ? (delta > 0 ? -1 : list.length) : this.currentIndex;
    const to = Math.min(list.length - 1, Math.max(0, from + delta));
    this.currentId = list[to]!.id;
  }

  isMarked(groupId: string, path: string): boolean {
    return this.marks.get(groupId)?.has(path) ?? false;
  }

  markedCount(groupId: string): number {
    return this.marks.get(groupId)?.size ?? 0;
  }

  /** Whether the photo may switch state: unmarking always; marking only if another photo stays kept. */
  canToggle(group: DuplicateGroup, path: string): boolean {
    if (this.isMarked(group.id, path)) return true;
    return this.markedCount(group.id) + 1 < group.files.length;
  }

  toggle(group: DuplicateGroup, path: string): void {
    if (!this.canToggle(group, path)) return;
    const next = new Set(this.marks.get(group.id) ?? []);
    if (next.has(path)) next.delete(path);
    else next.add(path);
    if (next.size === 0) this.marks.delete(group.id);
    else this.marks.set(group.id, next);
  }

  /** Toggles the n-th photo (0-based) of the current group. */
  toggleIndex(n: number): void {
    const group = this.current;
    const file = group?.files[n];
    if (group && file) this.toggle(group, file.path);
  }

  autoSelect(group: DuplicateGroup): void {
    const marked = autoMarks(group.files, this.rule);
    if (marked.size === 0) this.marks.delete(group.id);
    else this.marks.set(group.id, marked);
  }

  autoSelectTab(): void {
    for (const group of this.visible) this.autoSelect(group);
  }

  clearMarks(): void {
    this.marks.clear();
  }

  async chooseFolderDestination(): Promise<void> {
    try {
      const path = await dedup().files.pickDestination();
      if (path) this.destination = { kind: 'folder', path };
    } catch (error) {
      ui.notify('error', i18n.t.common.errorPrefix(errorMessage(error)));
    }
  }

  markedFiles(group: DuplicateGroup): PhotoFacts[] {
    const paths = this.marks.get(group.id);
    return paths ? group.files.filter((f) => paths.has(f.path)) : [];
  }

  /** Removes the marked photos of one group. */
  async removeGroup(group: DuplicateGroup): Promise<void> {
    await this.#removeGroups([group]);
  }

  /** Removes the marked photos of every group (one request, and so one undo step, per group). */
  async removeAllMarked(): Promise<void> {
    await this.#removeGroups(this.all.filter((g) => this.markedCount(g.id) > 0));
  }

  async #removeGroups(targets: DuplicateGroup[]): Promise<void> {
    if (this.busy || targets.length === 0) return;
    this.busy = true;
    let doneCount = 0;
    let freed = 0;
    const refused: string[] = [];
    try {
      for (const group of targets) {
        const files = this.markedFiles(group);
        if (files.length === 0 || files.length >= group.files.length) continue;
        const result: RemoveResult = await dedup().files.remove({
          groupId: group.id,
          items: files.map((f) => ({ path: f.path, size: f.size, mtimeMs: f.mtimeMs })),
          destination: $state.snapshot(this.destination),
        });
        const done = new Set(result.done.map((d) => d.path));
        doneCount += done.size;
        freed += files.filter((f) => done.has(f.path)).reduce((sum, f) => sum + f.size, 0);
        for (const r of result.refused) refused.push(`${baseName(r.path)}: ${r.reason}`);
      }
      if (refused.length > 0) {
        ui.notify('error', `${i18n.t.groups.removed(doneCount, formatBytes(freed))} ${i18n.t.groups.refused(refused.length)}`, {
          details: refused,
          undo: doneCount > 0,
        });
      } else {
        ui.notify('success', i18n.t.groups.removed(doneCount, formatBytes(freed)), { undo: doneCount > 0 });
      }
    } catch (error) {
      ui.notify('error', i18n.t.common.errorPrefix(errorMessage(error)));
    } finally {
      this.busy = false;
    }
    await this.load();
  }

  async undo(): Promise<void> {
    if (this.busy) return;
    this.busy = true;
    try {
      const result = await dedup().files.undo();
      if (result.restored.length === 0 && result.failed.length === 0) {
        ui.notify('info', i18n.t.groups.nothingToUndo);
      } else if (result.failed.length > 0) {
        ui.notify('error', `${i18n.t.groups.undone(result.restored.length)} ${i18n.t.groups.undoFailed(result.failed.length)}`, {
          details: result.failed.map((f) => `${baseName(f.path)}: ${f.reason}`),
        });
      } else {
        ui.notify('success', i18n.t.groups.undone(result.restored.length));
      }
    } catch (error) {
      ui.notify('error', i18n.t.common.errorPrefix(errorMessage(error)));
    } finally {
      this.busy = false;
    }
    await this.load();
  }

  async notDuplicates(group: DuplicateGroup): Promise<void> {
    if (this.busy) return;
    this.busy = true;
    try {
      await dedup().groups.notDuplicates(group.files.map((f) => f.path));
      this.marks.delete(group.id);
      ui.notify('info', i18n.t.groups.dismissed);
    } catch (error) {
      ui.notify('error', i18n.t.common.errorPrefix(errorMessage(error)));
    } finally {
      this.busy = false;
    }
    await this.load();
  }

  async refreshUndo(): Promise<void> {
    try {
      this.canUndo = await dedup().files.canUndo();
    } catch {
      this.canUndo = false;
    }
  }
}

export const groups = new GroupsStore();
