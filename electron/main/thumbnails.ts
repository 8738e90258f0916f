// The thumbnail protocol: dedup-thumb://local/<small|large>?path=<absolute path>. The URL is checked here,
// then the engine process (which owns the catalog and sharp) checks the file against the catalog and
// returns a cached JPEG, which is served only if it lies inside the thumbnail cache.
import { readFile } from 'node:fs/promises';
import { resolve, sep } from 'node:path';
import { protocol } from 'electron';
import { parseThumbnailUrl } from '../engine/thumbnail-cache.ts';
import { RemoteError, type RemoteEngine } from '../shared/engine-protocol.ts';
import { THUMBNAIL_SCHEME } from '../shared/ipc-contract.ts';

export function registerThumbnailProtocol(engine: Pick<RemoteEngine, 'thumbnail'>, cacheDir: string): void {
  const cacheRoot = resolve(cacheDir) + sep;
  protocol.handle(THUMBNAIL_SCHEME, async (request) => {
    const parsed = parseThumbnailUrl(request.url);
    if (!parsed.ok) return new Response(parsed.reason, { status: 400 });
    let file: string;
    try {
      file = resolve(await engine.thumbnail(parsed.value.path, parsed.value.size));
    } catch (error) {
      const refused = error instanceof RemoteError && error.remoteName === 'ThumbnailRefused';
      return new Response(refused ? 'Forbidden' : 'Thumbnail not available', { status: refused ? 403 : 404 });
    }
    if (!file.startsWith(cacheRoot)) return new Response('Forbidden', { status: 403 });
    const body = await readFile(file).catch(() => null);
    if (!body) return new Response('Thumbnail not available', { status: 404 });
    return new Response(new Uint8Array(body), {
      status: 200,
      headers: { 'Content-Type': 'image/jpeg', 'Cache-Control': 'no-store', 'X-Content-Type-Options': 'nosniff' },
    });
  });
}
