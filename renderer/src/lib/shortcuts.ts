// Keyboard shortcuts of the review flow: one keydown handler, dispatching on what is showing.
import { groups } from '../stores/groups.svelte.ts';
import { ui } from '../stores/ui.svelte.ts';

/** Keys typed into a form field are not shortcuts. */
function isTyping(target: EventTarget | null): boolean {
  if (!(target instanceof HTMLElement)) return false;
  const tag = target.tagName;
  return tag === 'INPUT' || tag === 'TEXTAREA' || tag === 'SELECT' || target.isContentEditable;
}

export function openCompare(): void {
  const group = groups.current;
  if (!group || group.files.length < 2) return;
  ui.compare = { groupId: group.id, left: 0, right: 1 };
}

function compareKeys(event: KeyboardEvent): boolean {
  const state = ui.compare!;
  const group = groups.byId.get(state.groupId);
  if (!group) {
    ui.compare = null;
    return true;
  }
  const n = group.files.length;
  const nextRight = (delta: number) => {
    let r = state.right;
    do r = (r + delta + n) % n;
    while (r === state.left);
    ui.compare = { ...state, right: r };
  };
  switch (event.key) {
    case 'Escape':
    case 'c':
      ui.compare = null;
      return true;
    case 'ArrowRight':
      nextRight(1);
      return true;
    case 'ArrowLeft':
      nextRight(-1);
      return true;
    case '1':
      groups.toggle(group, group.files[state.left]!.path);
      return true;
    case '2':
      groups.toggle(group, group.files[state.right]!.path);
      return true;
    default:
      return false; // zoom keys are handled by the compare view itself
  }
}

function reviewKeys(event: KeyboardEvent): boolean {
  const group = groups.current;
  const key = event.key;
  if ((event.ctrlKey || event.metaKey) && key.toLowerCase() === 'z') {
    void groups.undo();
    return true;
  }
  if (event.ctrlKey || event.metaKey || event.altKey) return false;
  if (/^[1-9]$/.test(key)) {
    groups.toggleIndex(Number(key) - 1);
    return true;
  }
  switch (key) {
    case 'j':
    case 'ArrowDown':
      groups.move(1);
      return true;
    case 'k':
    case 'ArrowUp':
      groups.move(-1);
      return true;
    case 'a':
      if (group) groups.autoSelect(group);
      return true;
    case 'A':
      groups.autoSelectTab();
      return true;
    case 'Delete':
    case 'Backspace':
      if (group) void groups.removeGroup(group);
      return true;
    case 'n':
      if (group) void groups.notDuplicates(group);
      return true;
    case 'u':
      void groups.undo();
      return true;
    case 'c':
      openCompare();
      return true;
    case '[':
      groups.nextTab(-1);
      return true;
    case ']':
      groups.nextTab(1);
      return true;
    default:
      return false;
  }
}

export function handleKeydown(event: KeyboardEvent): void {
  if (isTyping(event.target)) return;
  let handled = false;
  if (event.key === '?') {
    ui.helpOpen = !ui.helpOpen;
    handled = true;
  } else if (ui.helpOpen) {
    if (event.key === 'Escape') {
      ui.helpOpen = false;
      handled = true;
    }
  } else if (ui.compare) {
    handled = compareKeys(event);
  } else if (ui.screen === 'groups') {
    handled = reviewKeys(event);
  }
  if (handled) event.preventDefault();
}
