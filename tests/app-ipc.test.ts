// The IPC contract: payload validation, the sender check, and the typed register / invoke helpers
// (driven through small stand-ins for ipcMain and ipcRenderer: the Electron binary is not needed).
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  LIMITS,
  createInvoker,
  eventChannels,
  invokeChannels,
  ipcContract,
  isTrustedSender,
  originOf,
  pathProblem,
  registerInvokeHandlers,
  sendEvent,
  subscribe,
  thumbnailUrl,
  validatePayload,
  validateResult,
  type InvokeHandlers,
  type SenderInfo,
  type SenderTrust,
} from '../electron/shared/ipc-contract.ts';

const goodRemove = {
  groupId: 'g1',
  items: [{ path: '/photos/a.jpg', size: 1234, mtimeMs: 1700000000000.5 }],
  destination: { kind: 'trash' },
};

describe('paths', () => {
  test('absolute POSIX paths pass', () => {
    assert.equal(pathProblem('/home/me/Photos/a b.jpg', 'linux'), null);
    assert.equal(pathProblem('/', 'linux'), null);
    assert.equal(pathProblem('/photos/..hidden/a.jpg', 'linux'), null); // a name starting with "..", not a segment
  });

  test('relative, NUL, traversal, empty, overlong and non-string paths fail', () => {
    assert.equal(pathProblem('photos/a.jpg', 'linux'), 'path is not absolute');
    assert.equal(pathProblem('./a.jpg', 'linux'), 'path is not absolute');
    assert.equal(pathProblem('/photos/a.jpg\0.png', 'linux'), 'path contains NUL');
    assert.equal(pathProblem('/photos/../etc/passwd', 'linux'), 'path contains ".."');
    assert.equal(pathProblem('/photos/..', 'linux'), 'path contains ".."');
    assert.equal(pathProblem('', 'linux'), 'empty path');
    assert.equal(pathProblem('/' + 'a'.repeat(LIMITS.pathLength), 'linux'), 'path too long');
    assert.equal(pathProblem(42, 'linux'), 'not a string');
    assert.equal(pathProblem(null, 'linux'), 'not a string');
  });

  test('Windows rules: drive and UNC paths are absolute, backslash traversal fails', () => {
    assert.equal(pathProblem('C:\\Users\\me\\a.jpg', 'win32'), null);
    assert.equal(pathProblem('\\\\nas\\photos\\a.jpg', 'win32'), null);
    assert.equal(pathProblem('C:a.jpg', 'win32'), 'path is not absolute');
    assert.equal(pathProblem('/a.jpg', 'win32'), 'path is not absolute');
    assert.equal(pathProblem('C:\\photos\\..\\secret', 'win32'), 'path contains ".."');
    assert.equal(pathProblem('C:\\Users\\a.jpg', 'linux'), 'path is not absolute');
  });
});

describe('payload validation', () => {
  test('good payloads pass', () => {
    assert.deepEqual(validatePayload('files:remove', [goodRemove]), { ok: true, value: goodRemove });
    assert.equal(validatePayload('folders:list', []).ok, true);
    assert.equal(validatePayload('folders:list', [undefined]).ok, true);
    assert.equal(validatePayload('scan:start', []).ok, true);
    assert.equal(validatePayload('scan:start', [['/photos', '/more']]).ok, true);
    assert.equal(validatePayload('query:by-path', [{ path: '/a.jpg', top: 10 }]).ok, true);
    assert.equal(validatePayload('settings:update', [{ language: 'zh-CN', nearCosine: 0.9 }]).ok, true);
    assert.equal(validatePayload('settings:update', [{}]).ok, true);
    const toFolder = { ...goodRemove, destination: { kind: 'folder', path: '/dupes' } };
    assert.equal(validatePayload('files:remove', [toFolder]).ok, true);
  });

  test('wrong types fail', () => {
    assert.equal(validatePayload('folders:remove', [42]).ok, false);
    assert.equal(validatePayload('folders:add', ['/photos']).ok, false); // must be an array
    assert.equal(validatePayload('files:remove', [{ ...goodRemove, items: [{ path: '/a.jpg', size: '1', mtimeMs: 1 }] }]).ok, false);
    assert.equal(validatePayload('files:remove', [{ ...goodRemove, items: [{ path: '/a.jpg', size: -1, mtimeMs: 1 }] }]).ok, false);
    assert.equal(validatePayload('files:remove', [{ ...goodRemove, items: [{ path: '/a.jpg', size: 1, mtimeMs: Number.NaN }] }]).ok, false);
    assert.equal(validatePayload('files:remove', [{ ...goodRemove, destination: { kind: 'shred' } }]).ok, false);
    assert.equal(validatePayload('settings:update', [{ nearCosine: 2 }]).ok, false);
    assert.equal(validatePayload('settings:update', [{ language: 'fr' }]).ok, false);
    assert.equal(validatePayload('query:by-path', [{ path: '/a.jpg', top: 0 }]).ok, false);
    assert.equal(validatePayload('folders:list', ['surprise']).ok, false);
  });

  test('unknown keys fail (no smuggling extra fields)', () => {
    assert.equal(validatePayload('settings:update', [{ language: 'en', __proto__x: 1 }]).ok, false);
    assert.equal(validatePayload('files:remove', [{ ...goodRemove, force: true }]).ok, false);
    assert.equal(validatePayload('files:remove', [{ ...goodRemove, items: [{ ...goodRemove.items[0], skipChecks: true }] }]).ok, false);
  });

  test('huge arrays and extra arguments fail', () => {
    const many = Array.from({ length: LIMITS.files + 1 }, (_, i) => ({ path: `/p/${i}.jpg`, size: 1, mtimeMs: 1 }));
    assert.equal(validatePayload('files:remove', [{ ...goodRemove, items: many }]).ok, false);
    assert.equal(validatePayload('files:remove', [{ ...goodRemove, items: [] }]).ok, false);
    const folders = Array.from({ length: LIMITS.folders + 1 }, (_, i) => `/f${i}`);
    assert.equal(validatePayload('folders:add', [folders]).ok, false);
    assert.equal(validatePayload('groups:not-duplicates', [['/only-one.jpg']]).ok, false);
    assert.equal(validatePayload('folders:remove', ['/a', '/b']).ok, false);
    assert.equal(validatePayload('files:remove', [{ ...goodRemove, groupId: 'x'.repeat(LIMITS.groupIdLength + 1) }]).ok, false);
  });

  test('relative, NUL and traversal paths fail inside every path-carrying payload', () => {
    const bad = ['a.jpg', '/a\0.jpg', '/photos/../../etc/passwd'];
    for (const path of bad) {
      assert.equal(validatePayload('folders:remove', [path]).ok, false, path);
      assert.equal(validatePayload('files:open', [path]).ok, false, path);
      assert.equal(validatePayload('files:reveal', [path]).ok, false, path);
      assert.equal(validatePayload('folders:add', [[path]]).ok, false, path);
      assert.equal(validatePayload('scan:start', [[path]]).ok, false, path);
      assert.equal(validatePayload('query:by-path', [{ path }]).ok, false, path);
      assert.equal(validatePayload('groups:not-duplicates', [['/ok.jpg', path]]).ok, false, path);
      assert.equal(validatePayload('files:remove', [{ ...goodRemove, items: [{ path, size: 1, mtimeMs: 1 }] }]).ok, false, path);
      assert.equal(validatePayload('files:remove', [{ ...goodRemove, destination: { kind: 'folder', path } }]).ok, false, path);
    }
  });

  test('results are checked against their schemas too', () => {
    assert.equal(validateResult('files:can-undo', true).ok, true);
    assert.equal(validateResult('files:can-undo', 'yes').ok, false);
    assert.equal(validateResult('folders:list', [{ path: '/p', lastScanAt: null, fileCount: 3 }]).ok, true);
    assert.equal(validateResult('folders:list', [{ path: '/p', fileCount: 3 }]).ok, false);
  });

  test('every channel is declared with a kind and schemas', () => {
    assert.equal(invokeChannels.length + eventChannels.length, Object.keys(ipcContract).length);
    assert.deepEqual([...eventChannels].sort(), ['groups:changed', 'scan:progress']);
    for (const channel of invokeChannels) assert.equal(ipcContract[channel].kind, 'invoke');
  });
});

describe('sender check', () => {
  const trust: SenderTrust = { webContentsId: 7, origins: ['app://bundle'] };
  const ours: SenderInfo = { webContentsId: 7, frameUrl: 'app://bundle/index.html', isMainFrame: true };

  test('our window, top frame, our origin: trusted', () => {
    assert.equal(isTrustedSender(ours, trust), true);
    assert.equal(isTrustedSender({ ...ours, frameUrl: 'app://bundle/index.html#/groups?x=1' }, trust), true);
  });

  test('another window, a sub-frame, another origin, a gone frame, or no window yet: refused', () => {
    assert.equal(isTrustedSender({ ...ours, webContentsId: 8 }, trust), false);
    assert.equal(isTrustedSender({ ...ours, isMainFrame: false }, trust), false);
    assert.equal(isTrustedSender({ ...ours, frameUrl: 'https://evil.example/index.html' }, trust), false);
    assert.equal(isTrustedSender({ ...ours, frameUrl: 'file:///tmp/index.html' }, trust), false);
    assert.equal(isTrustedSender({ ...ours, frameUrl: 'app://bundle.evil/index.html' }, trust), false);
    assert.equal(isTrustedSender({ ...ours, frameUrl: null }, trust), false);
    assert.equal(isTrustedSender({ ...ours, frameUrl: 'not a url' }, trust), false);
    assert.equal(isTrustedSender(ours, { ...trust, webContentsId: null }), false);
  });

  test('development origin with a port', () => {
    const dev: SenderTrust = { webContentsId: 7, origins: ['http://localhost:5173'] };
    assert.equal(isTrustedSender({ ...ours, frameUrl: 'http://localhost:5173/' }, dev), true);
    assert.equal(isTrustedSender({ ...ours, frameUrl: 'http://localhost:5174/' }, dev), false);
    assert.equal(originOf('app://bundle/x/y.html'), 'app://bundle');
  });
});

// Stand-ins for ipcMain / ipcRenderer: a Map of handlers, called the way Electron calls them.
interface FakeEvent {
  sender: SenderInfo;
}
function fakeIpc() {
  const handlers = new Map<string, (event: FakeEvent, ...args: unknown[]) => unknown>();
  const ipcMain = {
    handle: (channel: string, listener: (event: FakeEvent, ...args: unknown[]) => unknown) => {
      assert.equal(handlers.has(channel), false, `${channel} registered twice`);
      handlers.set(channel, listener);
    },
    removeHandler: (channel: string) => handlers.delete(channel),
  };
  let sender: SenderInfo = { webContentsId: 1, frameUrl: 'app://bundle/index.html', isMainFrame: true };
  const listeners = new Map<string, Set<(event: unknown, ...args: unknown[]) => void>>();
  const ipcRenderer = {
    invoke: async (channel: string, ...args: unknown[]) => {
      const handler = handlers.get(channel);
      if (!handler) throw new Error(`No handler registered for '${channel}'`);
      return handler({ sender }, ...args);
    },
    on: (channel: string, listener: (event: unknown, ...args: unknown[]) => void) => {
      if (!listeners.has(channel)) listeners.set(channel, new Set());
      listeners.get(channel)!.add(listener);
    },
    removeListener: (channel: string, listener: (event: unknown, ...args: unknown[]) => void) => {
      listeners.get(channel)?.delete(listener);
    },
  };
  const webContents = {
    send: (channel: string, ...args: unknown[]) => {
      for (const listener of listeners.get(channel) ?? []) listener({ secret: 'electron event' }, ...args);
    },
  };
  return { handlers, ipcMain, ipcRenderer, webContents, setSender: (next: SenderInfo) => (sender = next) };
}

function allHandlers(calls: string[]): InvokeHandlers<FakeEvent> {
  const record = (name: string) => (payload: unknown) => {
    calls.push(`${name} ${JSON.stringify(payload)}`);
  };
  return {
    'folders:list': () => [],
    'folders:pick': () => [],
    'folders:add': () => [],
    'folders:remove': () => [],
    'scan:start': () => ({ folders: [], total: 0, added: 0, changed: 0, moved: 0, removed: 0, unchanged: 0, errors: [], durationMs: 0, cancelled: false }),
    'scan:cancel': record('scan:cancel'),
    'groups:list': () => ({ groups: [], errors: [] }),
    'groups:not-duplicates': record('groups:not-duplicates'),
    'files:remove': (request) => {
      calls.push(`files:remove ${request.items.length}`);
      return { done: [], refused: [], actionId: null };
    },
    'files:undo': () => ({ restored: [], failed: [] }),
    'files:can-undo': () => false,
    'files:open': record('files:open'),
    'files:reveal': record('files:reveal'),
    'files:pick-destination': () => null,
    'query:by-path': () => [],
    'query:pick': () => ({ path: null, hits: [] }),
    'settings:get': () => {
      throw new Error('not used');
    },
    'settings:update': () => {
      throw new Error('not used');
    },
    'settings:provider': () => ({ requested: 'auto', active: 'cpu', attempts: [] }),
  };
}

describe('register / invoke helpers', () => {
  test('registers every invoke channel; valid calls from our window reach the handler', async () => {
    const ipc = fakeIpc();
    const calls: string[] = [];
    registerInvokeHandlers(ipc.ipcMain, allHandlers(calls), {
      senderOf: (event) => event.sender,
      trust: () => ({ webContentsId: 1, origins: ['app://bundle'] }),
    });
    assert.deepEqual([...ipc.handlers.keys()].sort(), [...invokeChannels].sort());
    const invoke = createInvoker(ipc.ipcRenderer);
    await invoke('files:open', '/photos/a.jpg');
    await invoke('scan:cancel');
    const result = await invoke('files:remove', goodRemove as never);
    assert.deepEqual(result, { done: [], refused: [], actionId: null });
    assert.deepEqual(calls, ['files:open "/photos/a.jpg"', 'scan:cancel undefined', 'files:remove 1']);
  });

  test('invalid payloads and untrusted senders are refused before the handler runs', async () => {
    const ipc = fakeIpc();
    const calls: string[] = [];
    const refusals: string[] = [];
    registerInvokeHandlers(ipc.ipcMain, allHandlers(calls), {
      senderOf: (event) => event.sender,
      trust: () => ({ webContentsId: 1, origins: ['app://bundle'] }),
      onRefused: (channel, reason) => refusals.push(`${channel}: ${reason}`),
    });
    const invoke = createInvoker(ipc.ipcRenderer);
    await assert.rejects(invoke('files:open', '../etc/passwd'), /invalid payload/);
    await assert.rejects(ipc.ipcRenderer.invoke('files:open', '/a.jpg', 'extra'), /expected one payload argument/);
    ipc.setSender({ webContentsId: 2, frameUrl: 'app://bundle/index.html', isMainFrame: true });
    await assert.rejects(invoke('files:open', '/photos/a.jpg'), /untrusted sender/);
    assert.deepEqual(calls, []);
    assert.equal(refusals.length, 3);
  });

  test('the unregister function removes every handler', () => {
    const ipc = fakeIpc();
    const unregister = registerInvokeHandlers(ipc.ipcMain, allHandlers([]), {
      senderOf: (event) => event.sender,
      trust: () => ({ webContentsId: 1, origins: [] }),
    });
    unregister();
    assert.equal(ipc.handlers.size, 0);
  });

  test('events reach subscribers with the data only, and unsubscribe stops them', () => {
    const ipc = fakeIpc();
    const seen: unknown[][] = [];
    const unsubscribe = subscribe(ipc.ipcRenderer, 'groups:changed', (...args) => seen.push(args));
    sendEvent(ipc.webContents, 'groups:changed', { groups: [], errors: [] });
    unsubscribe();
    sendEvent(ipc.webContents, 'groups:changed', { groups: [], errors: [] });
    assert.deepEqual(seen, [[{ groups: [], errors: [] }]]);
  });
});

test('thumbnail URLs keep any path intact in the query', () => {
  const path = '/photos/a b/#1 ?x=%20&.jpg';
  const url = new URL(thumbnailUrl(path, 'small'));
  assert.equal(url.protocol, 'dedup-thumb:');
  assert.equal(url.pathname, '/small');
  assert.equal(url.searchParams.get('path'), path);
});
