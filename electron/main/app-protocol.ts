// Serves the built renderer from app://bundle/ (not file://), with the CSP as a response header.
import { readFile } from 'node:fs/promises';
import { protocol } from 'electron';
import { appFileFor, mimeTypeOf } from './app-files.ts';
import { APP_HOST, APP_SCHEME } from './security.ts';

export function registerAppProtocol(rendererDir: string, csp: string): void {
  protocol.handle(APP_SCHEME, async (request) => {
    const file = appFileFor(request.url, rendererDir, APP_HOST);
    if (!file) return new Response('Not found', { status: 404 });
    let body: Buffer;
    try {
      body = await readFile(file);
    } catch {
      return new Response('Not found', { status: 404 });
    }
    const headers: Record<string, string> = { 'Content-Type': mimeTypeOf(file), 'X-Content-Type-Options': 'nosniff' };
    if (file.endsWith('.html')) headers['Content-Security-Policy'] = csp;
    return new Response(new Uint8Array(body), { status: 200, headers });
  });
}
