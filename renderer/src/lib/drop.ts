// Dropping onto the window: a folder is added (and main scans it); an image is used to find similar photos.
import { dedup, errorMessage } from './api.ts';
import { i18n } from '../i18n/i18n.svelte.ts';
import { folders } from '../stores/folders.svelte.ts';
import { looksLikeImage, query } from '../stores/query.svelte.ts';
import { ui } from '../stores/ui.svelte.ts';

interface Dropped {
  folders: string[];
  image: File | null;
  other: number;
}

/** Reads the drop at once: a DataTransfer is emptied when the event handler returns. */
function readDrop(data: DataTransfer): Dropped {
  const result: Dropped = { folders: [], image: null, other: 0 };
  for (const item of Array.from(data.items)) {
    if (item.kind !== 'file') continue;
    const entry = item.webkitGetAsEntry?.() ?? null;
    const file = item.getAsFile();
    if (!file) continue;
    if (entry?.isDirectory) result.folders.push(dedup().files.pathForFile(file));
    else if (looksLikeImage(file)) result.image ??= file;
    else result.other += 1;
  }
  return result;
}

export function handleDrop(data: DataTransfer): void {
  const dropped = readDrop(data);
  void act(dropped);
}

async function act(dropped: Dropped): Promise<void> {
  try {
    if (dropped.folders.length > 0) {
      // Main adds the folders and scans them; the progress banner follows the scan's events.
      ui.show('folders');
      await folders.add(dropped.folders);
      ui.notify('info', i18n.t.folders.addedNotScanned);
    } else if (dropped.image) {
      ui.show('query');
      await query.byFile(dropped.image);
    } else if (dropped.other > 0) {
      ui.notify('error', i18n.t.query.notImage);
    }
  } catch (error) {
    ui.notify('error', i18n.t.common.errorPrefix(errorMessage(error)));
  }
}
