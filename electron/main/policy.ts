// The security rules as pure functions (no Electron, tested under Node): the pages' Content-Security-
// Policy, which URLs are our own pages, and which requests the session lets through.
import { THUMBNAIL_SCHEME } from '../shared/ipc-contract.ts';

/** Scheme and host of the packaged renderer: pages load from app://bundle/index.html, not file://. */
export const APP_SCHEME = 'app';
export const APP_HOST = 'bundle';
export const APP_ORIGIN = `${APP_SCHEME}://${APP_HOST}`;

/**
 * The page's CSP: scripts, fonts and connections only from our own origin; images also from the
 * thumbnail scheme and blob: URLs; no objects, frames, forms or base changes. Development (the Vite
 * dev server) also needs the HMR WebSocket.
 */
export function contentSecurityPolicy(devServerOrigin: string | null): string {
  const directives = [
    "default-src 'self'",
    "script-src 'self'",
    // Svelte 5 builds the DOM from HTML templates, so static style="" attributes need 'unsafe-inline'
    // for styles (never for scripts).
    "style-src 'self' 'unsafe-inline'",
    // blob: shows a photo dropped on the page (URL.createObjectURL) before it is searched for.
    `img-src 'self' blob: ${THUMBNAIL_SCHEME}:`,
    "font-src 'self'",
    devServerOrigin ? `connect-src 'self' ${devServerOrigin.replace(/^http/, 'ws')}` : "connect-src 'self'",
    "object-src 'none'",
    "frame-src 'none'",
    "worker-src 'self'",
    "base-uri 'none'",
    "form-action 'none'",
    "frame-ancestors 'none'",
  ];
  return directives.join('; ');
}

/** True for URLs of our own pages (packaged app, or the dev server in development). */
export function isAppUrl(url: string, devServerOrigin: string | null): boolean {
  const origin = originOfUrl(url);
  return origin !== null && (origin === APP_ORIGIN || origin === devServerOrigin);
}

/** Requests the session lets through: our schemes, local blob/data URLs, and the dev server. Nothing remote. */
export function isAllowedRequest(url: string, devServerOrigin: string | null): boolean {
  let protocol: string;
  try {
    protocol = new URL(url).protocol;
  } catch {
    return false;
  }
  if ([`${APP_SCHEME}:`, `${THUMBNAIL_SCHEME}:`, 'devtools:', 'data:', 'blob:'].includes(protocol)) return true;
  if (devServerOrigin === null) return false;
  const origin = originOfUrl(url);
  return origin === devServerOrigin || origin === devServerOrigin.replace(/^http/, 'ws');
}

function originOfUrl(url: string): string | null {
  try {
    const parsed = new URL(url);
    return `${parsed.protocol}//${parsed.host}`;
  } catch {
    return null;
  }
}
