// The trash adapter of the app: Electron's shell.trashItem (the OS trash). Electron does not say where
// the file went, so on Linux the item is found afterwards in the freedesktop.org trash folders (home
// trash, or the trash at the top of the file's mount) by original path, size and mtime: that makes
// undo exact there. On macOS and Windows the location stays unknown and undo tells the user to
// restore from the system trash (undo of "move to folder" works everywhere). See docs/APP.md.
import { lstat } from 'node:fs/promises';
import { dirname } from 'node:path';
import { shell } from 'electron';
import { findInTrashDir, linuxTrashDirsFor, restoreFromTrashDir, type FileIdentity, type TrashAdapter } from '../engine/trash.ts';

async function findInLinuxTrash(candidates: string[], path: string, identity: FileIdentity, afterMs: number): Promise<string | null> {
  for (const dir of candidates) {
    const found = await findInTrashDir(dir, path, identity, afterMs);
    if (found) return found;
  }
  return null;
}

export function osTrash(platform: NodeJS.Platform = process.platform): TrashAdapter {
  if (platform !== 'linux') {
    return {
      async trash(path) {
        await shell.trashItem(path);
        return null;
      },
    };
  }
  return {
    async trash(path) {
      const identity = await lstat(path);
      const candidates = await linuxTrashDirsFor(path); // while the file is still there
      const started = Date.now();
      await shell.trashItem(path);
      return findInLinuxTrash(candidates, path, identity, started);
    },
    restore: restoreFromTrashDir,
    async locate(path, identity, afterMs) {
      return findInLinuxTrash(await linuxTrashDirsFor(dirname(path)), path, identity, afterMs);
    },
  };
}
