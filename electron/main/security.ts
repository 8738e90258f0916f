// The app's security settings applied to Electron: the custom schemes, the session (CSP header in
// development, no permissions, no remote requests) and the rules every webContents gets (no navigation
// away, no new windows, no webviews). The pure rules are in policy.ts. See docs/APP.md, "Security".
import { app, session, type IpcMainInvokeEvent, type WebContents } from 'electron';
import { THUMBNAIL_SCHEME, type SenderInfo } from '../shared/ipc-contract.ts';
import { APP_SCHEME, contentSecurityPolicy, isAllowedRequest, isAppUrl } from './policy.ts';

export { APP_HOST, APP_ORIGIN, APP_SCHEME, contentSecurityPolicy } from './policy.ts';

/** Registers the custom schemes; must run before the app is ready (and only once, with all schemes). */
export function registerPrivilegedSchemes(protocol: Electron.Protocol): void {
  protocol.registerSchemesAsPrivileged([
    { scheme: APP_SCHEME, privileges: { standard: true, secure: true, supportFetchAPI: true, corsEnabled: true, codeCache: true } },
    { scheme: THUMBNAIL_SCHEME, privileges: { standard: true, secure: true } },
  ]);
}

/** Describes the sender of an IPC call for the contract's sender check. */
export function senderInfo(event: IpcMainInvokeEvent): SenderInfo {
  const frame = event.senderFrame;
  return {
    webContentsId: event.sender.id,
    frameUrl: frame ? frame.url : null,
    isMainFrame: frame ? frame.parent === null : false,
  };
}

/**
 * Session-wide rules: the CSP header on our dev-server pages (the app:// handler sets its own), no
 * permission is ever granted, and requests may go only to our own schemes (and the dev server).
 */
export function hardenSession(devServerOrigin: string | null): void {
  const ses = session.defaultSession;
  ses.setPermissionRequestHandler((_webContents, _permission, callback) => callback(false));
  ses.setPermissionCheckHandler(() => false);
  ses.webRequest.onBeforeRequest((details, callback) => {
    callback({ cancel: !isAllowedRequest(details.url, devServerOrigin) });
  });
  if (devServerOrigin) {
    ses.webRequest.onHeadersReceived((details, callback) => {
      const headers = { ...details.responseHeaders };
      if (details.url.startsWith(devServerOrigin)) headers['Content-Security-Policy'] = [contentSecurityPolicy(devServerOrigin)];
      callback({ responseHeaders: headers });
    });
  }
}

/** Rules for every webContents the app creates: no navigation away, no new windows, no webviews. */
export function hardenWebContents(devServerOrigin: string | null): void {
  app.on('web-contents-created', (_event, contents: WebContents) => {
    contents.on('will-navigate', (event, url) => {
      if (!isAppUrl(url, devServerOrigin)) event.preventDefault();
    });
    contents.on('will-redirect', (event, url) => {
      if (!isAppUrl(url, devServerOrigin)) event.preventDefault();
    });
    contents.on('will-attach-webview', (event) => event.preventDefault());
    contents.setWindowOpenHandler(() => ({ action: 'deny' }));
  });
}
