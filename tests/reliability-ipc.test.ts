// Fuzzing what the renderer can reach (seeded: RELIABILITY_SEED replays a run): every IPC channel of
// electron/shared/ipc-contract.ts with wrong types, huge payloads and path traversal; the handlers
// behind the contract with the real engine, over the real engine protocol; and main's thumbnail
// protocol handler (electron/main/thumbnails.ts, with only Electron's `protocol` stubbed), which must
// serve catalogued photos inside catalogued folders and nothing else.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { copyFile, mkdir, readdir, symlink, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { DeleteJournal, FolderTrash } from '../electron/engine/trash.ts';
import { DEFAULT_SETTINGS } from '../electron/engine/index.ts';
import { createEngineProcess } from '../electron/engine-process/handlers.ts';
import { AppSettingsStore } from '../electron/main/app-settings.ts';
import { createInvokeHandlers, type Desktop } from '../electron/main/ipc-handlers.ts';
import { ScanRunner } from '../electron/main/scans.ts';
import { createClient, remoteEngine, serve, type MessageChannelLike, type RemoteEngine } from '../electron/shared/engine-protocol.ts';
import {
  invokeChannels,
  LIMITS,
  pathProblem,
  registerInvokeHandlers,
  thumbnailUrl,
  validatePayload,
  type InvokeChannel,
  type SenderInfo,
} from '../electron/shared/ipc-contract.ts';
import { installElectronStub, protocolHandler, type ProtocolHandler } from './helpers/fault-electron.ts';
import { snapshotTree } from './helpers/fault-kill.ts';
import { prng, seedFromEnv, type Prng } from './helpers/fault-prng.ts';
import { photo, REPO_ROOT, removeDir, tempDir } from './helpers/photos.ts';

const SEED = seedFromEnv(4242);

// ---------------------------------------------------------------------------------------------
// Generated values.

type Kind = 'none' | 'path' | 'paths' | 'optionalPaths' | 'remove' | 'query' | 'queryPick' | 'settings';

/** The payload kind of every invoke channel (a channel missing here fails to compile). */
const KINDS: Record<InvokeChannel, Kind> = {
  'folders:list': 'none',
  'folders:pick': 'none',
  'folders:add': 'paths',
  'folders:remove': 'path',
  'scan:start': 'optionalPaths',
  'scan:cancel': 'none',
  'groups:list': 'none',
  'groups:not-duplicates': 'paths',
  'files:remove': 'remove',
  'files:undo': 'none',
  'files:can-undo': 'none',
  'files:open': 'path',
  'files:reveal': 'path',
  'files:pick-destination': 'none',
  'query:by-path': 'query',
  'query:pick': 'queryPick',
  'settings:get': 'none',
  'settings:update': 'settings',
  'settings:provider': 'none',
};
const PATH_COUNTS: Partial<Record<InvokeChannel, [number, number]>> = { 'folders:add': [1, LIMITS.folders], 'groups:not-duplicates': [2, LIMITS.files] };

/** Keys no payload may carry (strict objects), some of them prototype-pollution attempts. */
const HOSTILE_KEYS = ['__proto__', 'constructor', 'prototype', 'force', 'skipChecks', 'path ', 'PATH', ''];

/** Strings meant as paths, good and bad (`base` is an absolute folder of the sandbox). */
function pathPool(base: string): string[] {
  return [
    `${base}/a.jpg`,
    `${base}/../outside/secret.jpg`,
    `${base}/sub/../a.jpg`,
    `${base}/./a.jpg`,
    `${base}//a.jpg`,
    `${base}/a.jpg\0.png`,
    `${base}/%2e%2e/outside`,
    `${base}/..`,
    '..',
    '../../etc/passwd',
    'a.jpg',
    '',
    '/',
    '/etc/passwd',
    '/proc/self/environ',
    '/dev/zero',
    'C:\\Windows\\win.ini',
    '\\\\server\\share\\a.jpg',
    'file:///etc/passwd',
    `/${'a'.repeat(LIMITS.pathLength)}`,
    `/${'x/'.repeat(2000)}`,
    `${base}/e\u0301.jpg`, // "é" decomposed
    `${base}/\u202ejpg.exe`,
    `${base}/missing.jpg`,
  ];
}

function hostileValue(random: Prng, paths: string[], depth = 0): unknown {
  switch (random.int(0, 15)) {
    case 0: return undefined;
    case 1: return null;
    case 2: return random.chance(0.5);
    case 3: return random.pick([0, -1, 1.5, Number.NaN, Infinity, -Infinity, 2 ** 53 + 1, -0, 1e308]);
    case 4: return random.pick(paths);
    case 5: return 'x'.repeat(random.int(1, 2_000_000)); // up to 2 MB
    case 6: return depth > 3 ? [] : Array.from({ length: random.int(0, 4) }, () => hostileValue(random, paths, depth + 1));
    case 7: return Array.from({ length: random.int(LIMITS.files, LIMITS.files * 3) }, (_, i) => `/p/${i}.jpg`);
    case 8: {
      let deep: unknown = {};
      for (let i = 0; i < 2000; i++) deep = { a: deep };
      return deep;
    }
    case 9: return JSON.parse('{"__proto__": {"polluted": true}, "constructor": {"prototype": {"polluted": true}}}');
    case 10: return { [random.pick(HOSTILE_KEYS)]: hostileValue(random, paths, depth + 1) };
    case 11: return new Date(random.int(0, 2 ** 40));
    case 12: return new Uint8Array(random.int(0, 100_000));
    case 13: return new Map([[random.pick(paths), 1]]);
    case 14: return Array.from({ length: random.int(1, 5) }, () => random.pick(paths));
    default: return {};
  }
}

const pathOk = (value: unknown) => pathProblem(value) === null;

/** A payload of the channel's shape with generated contents, and whether the contract must accept it. */
function shapedPayload(kind: Kind, channel: InvokeChannel, random: Prng, paths: string[], groupIds: string[]): { payload: unknown; valid: boolean } {
  const somePaths = (min: number, max: number) => {
    const n = random.chance(0.1) ? random.pick([0, max + 1, min - 1].filter((x) => x >= 0)) : random.int(min, Math.min(max, 6));
    const list = Array.from({ length: n }, () => random.pick(paths));
    return { list, valid: n >= min && n <= max && list.every(pathOk) };
  };
  switch (kind) {
    case 'none':
      return { payload: undefined, valid: true };
    case 'path': {
      const path = random.pick(paths);
      return { payload: path, valid: pathOk(path) };
    }
    case 'paths': {
      const [min, max] = PATH_COUNTS[channel]!;
      const { list, valid } = somePaths(min, max);
      return { payload: list, valid };
    }
    case 'optionalPaths': {
      if (random.chance(0.2)) return { payload: undefined, valid: true };
      const { list, valid } = somePaths(0, LIMITS.folders);
      return { payload: list, valid };
    }
    case 'query': {
      const path = random.pick(paths);
      const top = random.pick([undefined, 0, 1, 10, LIMITS.queryTop, LIMITS.queryTop + 1, 2.5, -1, Number.NaN]);
      const extra = random.chance(0.1);
      const payload: Record<string, unknown> = { path, ...(top === undefined ? {} : { top }), ...(extra ? { force: true } : {}) };
      const topOk = top === undefined || (Number.isInteger(top) && top >= 1 && top <= LIMITS.queryTop);
      return { payload, valid: pathOk(path) && topOk && !extra };
    }
    case 'queryPick': {
      const top = random.pick([undefined, 1, 50, 0, 1001, 'ten']);
      const topOk = top === undefined || (typeof top === 'number' && top >= 1 && top <= LIMITS.queryTop);
      return { payload: top === undefined ? {} : { top }, valid: topOk };
    }
    case 'settings': {
      const fields: [string, unknown, boolean][] = [
        ['nearCosine', random.pick([0.9, 1.5, -0.1, 'high']), false],
        ['similarCosine', random.pick([0.8, 2]), false],
        ['phashMaxDistance', random.pick([8, 65, 3.5]), false],
        ['rotationInvariant', random.pick([true, 'yes']), false],
        ['executionProvider', random.pick(['cpu', 'quantum']), false],
        ['includeHidden', random.pick([false, 1]), false],
        ['maxMegapixels', random.pick([200, 0, 1e9]), false],
        ['language', random.pick(['en', 'zh-CN', 'fr']), false],
        [random.pick(HOSTILE_KEYS), 1, false],
      ];
      const validity: Record<string, (v: unknown) => boolean> = {
        nearCosine: (v) => typeof v === 'number' && v >= 0 && v <= 1,
        similarCosine: (v) => typeof v === 'number' && v >= 0 && v <= 1,
        phashMaxDistance: (v) => Number.isInteger(v) && (v as number) >= 0 && (v as number) <= 64,
        rotationInvariant: (v) => typeof v === 'boolean',
        executionProvider: (v) => ['auto', 'tensorrt', 'cuda', 'webgpu', 'cpu'].includes(v as string),
        includeHidden: (v) => typeof v === 'boolean',
        maxMegapixels: (v) => typeof v === 'number' && v >= 1 && v <= 2000,
        language: (v) => v === 'en' || v === 'zh-CN',
      };
      const chosen = fields.filter(() => random.chance(0.3));
      const payload = Object.fromEntries(chosen.map(([key, value]) => [key, value]));
      return { payload, valid: chosen.every(([key, value]) => Object.hasOwn(validity, key) && validity[key](value)) };
    }
    case 'remove': {
      const groupId = random.pick([...groupIds, 'no-such-group', '', 'g'.repeat(LIMITS.groupIdLength + 1)]);
      const { list } = somePaths(1, 4);
      const sizes = list.map(() => random.pick([1234, 0, -1, 1.5, Number.MAX_SAFE_INTEGER + 2]));
      const mtimes = list.map(() => random.pick([1_700_000_000_000.5, Number.NaN, Infinity]));
      const destination = random.pick([{ kind: 'trash' }, { kind: 'folder', path: random.pick(paths) }, { kind: 'shred' }, { kind: 'trash', path: '/tmp' }]);
      const payload = { groupId, items: list.map((path, i) => ({ path, size: sizes[i], mtimeMs: mtimes[i] })), destination };
      const valid =
        groupId.length >= 1 &&
        groupId.length <= LIMITS.groupIdLength &&
        list.length >= 1 &&
        list.every(pathOk) &&
        sizes.every((s) => Number.isInteger(s) && s >= 0 && s <= Number.MAX_SAFE_INTEGER) &&
        mtimes.every(Number.isFinite) &&
        ((destination.kind === 'trash' && !('path' in destination)) || (destination.kind === 'folder' && pathOk(destination.path)));
      return { payload, valid };
    }
  }
}

/** Whether the contract must accept an arbitrary value (for kinds where that is simple to say). */
function expectedValidity(kind: Kind, channel: InvokeChannel, value: unknown): boolean | null {
  const plainObject = typeof value === 'object' && value !== null && Object.getPrototypeOf(value) === Object.prototype;
  switch (kind) {
    case 'none':
      return value === undefined;
    case 'path':
      return pathOk(value);
    case 'paths': {
      const [min, max] = PATH_COUNTS[channel]!;
      return Array.isArray(value) && value.length >= min && value.length <= max && value.every(pathOk);
    }
    case 'optionalPaths':
      return value === undefined || (Array.isArray(value) && value.length <= LIMITS.folders && value.every(pathOk));
    case 'queryPick':
    case 'settings':
    case 'remove':
    case 'query':
      // Primitives, null and arrays never pass; other objects (Map, Date, ...) are what zod makes of them.
      if (typeof value !== 'object' || value === null || Array.isArray(value)) return false;
      if (!plainObject) return null;
      if (Object.keys(value).length === 0) return kind === 'queryPick' || kind === 'settings';
      return null;
  }
}

// ---------------------------------------------------------------------------------------------
// The app's pieces without Electron: the engine process over an in-memory channel, main's handlers.

function channelPair(): [MessageChannelLike, MessageChannelLike] {
  const listeners: [((message: unknown) => void) | null, ((message: unknown) => void) | null] = [null, null];
  const end = (self: 0 | 1): MessageChannelLike => ({
    // Messages cross as structured clones, as between processes.
    post: (message) => setImmediate(() => listeners[1 - self]?.(structuredClone(message))),
    listen: (listener) => {
      listeners[self] = listener;
      return () => (listeners[self] = null);
    },
  });
  return [end(0), end(1)];
}

describe('IPC and thumbnail protocol fuzzing', () => {
  let dir: string;
  let photos: string;
  let outside: string;
  let thumbs: string;
  let remote: RemoteEngine;
  let shutdown: () => Promise<void>;
  let catalogued: string[] = [];
  let servable: Set<string>;
  let baselineGroups: string[];
  let thumbnail: ProtocolHandler;

  const groupsNow = async () => (await remote.groups()).groups.map((g) => g.files.map((f) => f.path).sort().join(' ')).sort();

  before(async () => {
    dir = await tempDir('reliability-ipc-');
    photos = join(dir, 'photos');
    outside = join(dir, 'outside');
    thumbs = join(dir, 'thumbnails');
    await mkdir(join(photos, 'sub'), { recursive: true });
    await mkdir(outside);
    await copyFile(photo('opencv-doc/fruits.jpg'), join(photos, 'a.jpg'));
    await copyFile(photo('opencv-doc/fruits.jpg'), join(photos, 'a copy.jpg'));
    await copyFile(photo('opencv-doc/baboon.jpg'), join(photos, 'b.jpg'));
    await copyFile(photo('opencv-doc/orange.jpg'), join(photos, '\u00e9.jpg')); // "é" composed
    await copyFile(photo('python3-skimage/coffee.png'), join(photos, 'sub', 'c.png'));
    await copyFile(photo('darknet/dog.jpg'), join(outside, 'secret.jpg'));
    await writeFile(join(outside, 'passwords.txt'), 'hunter2');
    await symlink(join(outside, 'secret.jpg'), join(photos, 'link-out.jpg'));
    await symlink(join(photos, 'a.jpg'), join(photos, 'link-in.jpg'));
    await symlink(outside, join(photos, 'dir-out'));
    spawnSync('mkfifo', [join(photos, 'pipe.jpg')]);

    const [mainEnd, engineEnd] = channelPair();
    const engineProcess = createEngineProcess(() => undefined);
    const server = serve(engineEnd, engineProcess.handlers);
    const client = createClient(mainEnd);
    remote = remoteEngine(client);
    await client.call('open', [{ catalogPath: join(dir, 'data', 'catalog.json'), modelDir: join(REPO_ROOT, 'models'), settings: { executionProvider: 'cpu' }, thumbnailDir: thumbs, watch: false }]);
    shutdown = async () => {
      await engineProcess.shutdown();
      server.stop();
    };
    await remote.scan([photos]);
    baselineGroups = await groupsNow();
    const names = ['a.jpg', 'a copy.jpg', 'b.jpg', '\u00e9.jpg', 'sub/c.png', 'link-out.jpg', 'link-in.jpg', 'dir-out/secret.jpg'];
    catalogued = names.map((name) => join(photos, name));
    for (const path of catalogued) assert.notEqual(await remote.fileFacts(path), null, `${path} is not catalogued`);
    // What may be shown: catalogued, and really inside the catalogued folder.
    servable = new Set(['a.jpg', 'a copy.jpg', 'b.jpg', '\u00e9.jpg', 'sub/c.png', 'link-in.jpg'].map((name) => join(photos, name)));

    installElectronStub();
    const { registerThumbnailProtocol } = await import('../electron/main/thumbnails.ts');
    registerThumbnailProtocol(remote, thumbs);
    thumbnail = protocolHandler('dedup-thumb');
  });

  after(async () => {
    await shutdown?.();
    await removeDir(dir);
  });

  test('the contract: 19 channels × 300 generated payloads; answers, never throws; refuses what it must; nothing polluted', () => {
    const random = prng(SEED);
    const paths = pathPool(photos);
    let accepted = 0;
    let refused = 0;
    for (const channel of invokeChannels) {
      const kind = KINDS[channel];
      for (let i = 0; i < 300; i++) {
        const shaped = random.chance(0.5);
        const generated = shaped ? shapedPayload(kind, channel, random, paths, ['g1']) : { payload: hostileValue(random, paths), valid: null };
        const expected = generated.valid ?? expectedValidity(kind, channel, generated.payload);
        const started = Date.now();
        const result = validatePayload(channel, [generated.payload]);
        assert.ok(Date.now() - started < 2000, `${channel}: validation took ${Date.now() - started} ms`);
        if (expected !== null) assert.equal(result.ok, expected, `${channel} (seed ${SEED}, case ${i}): ${result.ok ? 'accepted' : 'refused'} ${describeValue(generated.payload)}`);
        if (result.ok) accepted++;
        else {
          refused++;
          assert.match(result.error, new RegExp(`^${channel}: `));
        }
        // More than one argument is always refused.
        if (i % 50 === 0) assert.equal(validatePayload(channel, [generated.payload, 'extra']).ok, false);
      }
    }
    assert.equal(({} as Record<string, unknown>).polluted, undefined, 'Object.prototype was polluted');
    assert.ok(accepted > 1000 && refused > 2000, `accepted ${accepted}, refused ${refused}`);
  });

  test("thumbnail protocol: 300 generated URLs through main's handler; only catalogued photos inside catalogued folders are served", async () => {
    const random = prng(SEED + 1);
    const targets = [...catalogued, ...pathPool(photos), join(outside, 'secret.jpg'), join(outside, 'passwords.txt'), join(photos, 'pipe.jpg'), thumbs, join(dir, 'data', 'catalog.json')];
    const statuses = new Map<number, number>();
    const served = new Set<string>();
    let unparsable = 0;
    for (let i = 0; i < 300; i++) {
      const path = random.pick(targets);
      const size = random.pick(['small', 'large', 'small', 'huge', '', '../small']);
      const encoded = random.pick([
        () => encodeURIComponent(path),
        () => encodeURIComponent(path),
        () => path, // unencoded: '#', '?', '&' and '%' change what arrives
        () => encodeURIComponent(encodeURIComponent(path)),
        () => encodeURIComponent(path).replaceAll('%2F', '/'),
        () => encodeURIComponent(path.replaceAll('/', '\\')),
        () => encodeURIComponent(path).replaceAll('.', '%2e'),
        () => `${encodeURIComponent(path)}&path=${encodeURIComponent('/etc/passwd')}`,
      ])();
      const url = random.chance(0.9)
        ? `${random.pick(['dedup-thumb', 'dedup-thumb', 'file', 'app', 'DEDUP-THUMB'])}://${random.pick(['local', 'local', 'LOCAL', 'evil.example', 'local:80'])}/${size}?path=${encoded}`
        : random.chance(0.5)
          ? thumbnailUrl(path, 'small')
          : `dedup-thumb://local/small/${encodeURIComponent(path)}`;
      let request: Request;
      try {
        request = new Request(url);
      } catch {
        unparsable++; // not a URL Chromium would hand to the protocol handler either
        continue;
      }
      const response = await thumbnail(request);
      statuses.set(response.status, (statuses.get(response.status) ?? 0) + 1);
      assert.ok([200, 400, 403, 404].includes(response.status), `${url}: status ${response.status}`);
      if (response.status === 200) {
        // "/./" and "//" are let through (".." never is): the same file, once normalised.
        const parsedPath = resolve(new URL(url).searchParams.get('path') ?? '.');
        assert.ok(servable.has(parsedPath), `served ${url} (${parsedPath}), which is not a catalogued photo inside a catalogued folder`);
        served.add(parsedPath);
        const body = Buffer.from(await response.arrayBuffer());
        assert.deepEqual([...body.subarray(0, 3)], [0xff, 0xd8, 0xff], 'a JPEG');
        assert.equal(response.headers.get('Content-Type'), 'image/jpeg');
      }
    }
    assert.ok(unparsable < 30, `${unparsable} generated URLs were not URLs`);
    assert.ok(served.size >= 3, `only ${served.size} photos were ever served: the generator hardly reaches the allowed cases (${JSON.stringify([...statuses])})`);
    // The three ways out that the catalog knows of are refused as such.
    for (const path of [join(photos, 'link-out.jpg'), join(photos, 'dir-out', 'secret.jpg'), join(outside, 'secret.jpg')]) {
      assert.equal((await thumbnail(new Request(thumbnailUrl(path, 'small')))).status, 403, path);
    }
    // Whatever was made lies in the cache.
    for (const size of await readdir(thumbs)) assert.ok(['small', 'large'].includes(size));
    // And main serves nothing the engine side names outside the cache, whatever the reason.
    const { registerThumbnailProtocol } = await import('../electron/main/thumbnails.ts');
    for (const answer of ['/etc/passwd', `${thumbs}/../data/catalog.json`, `${thumbs}-evil/small/x.jpg`]) {
      registerThumbnailProtocol({ thumbnail: async () => answer }, thumbs);
      assert.equal((await protocolHandler('dedup-thumb')(new Request(thumbnailUrl(join(photos, 'a.jpg'), 'small')))).status, 403, answer);
    }
    registerThumbnailProtocol(remote, thumbs);
  });

  test('"not duplicates" with one catalogued photo among unknown paths decides nothing', async () => {
    await remote.markNotDuplicates([join(photos, 'a.jpg'), join(photos, 'missing.jpg'), '/etc/passwd']);
    await remote.markNotDuplicates([join(photos, 'a.jpg'), `${photos}/./a.jpg`]); // the same file twice
    assert.deepEqual(await groupsNow(), baselineGroups, "the photo's copies were hidden");
  });

  test('the handlers behind the contract: 400 generated calls with the real engine; no photo touched, nothing outside the catalog opened, the app keeps working', async () => {
    const random = prng(SEED + 2);
    const opened: string[] = [];
    const revealed: string[] = [];
    const desktop: Desktop = {
      pickFolders: async () => [join(photos, 'sub')],
      pickDestination: async () => join(dir, 'set aside'),
      pickImage: async () => join(photos, 'b.jpg'),
      openPath: async (path) => (opened.push(path), ''),
      showItemInFolder: (path) => revealed.push(path),
    };
    const failures: string[] = [];
    const scans = new ScanRunner(remote, { progress: () => undefined, groupsChanged: () => undefined, failed: (error) => failures.push(error.message) });
    const journal = await DeleteJournal.open({ journalPath: join(dir, 'data', 'journal.json'), catalog: remote, trash: new FolderTrash(join(dir, 'trash')) });
    const appSettings = await AppSettingsStore.open(join(dir, 'data', 'app-settings.json'), { language: 'en' });
    const handlers = createInvokeHandlers({ engine: remote, journal, scans, desktop, appSettings, onLanguageChanged: () => undefined, onUndoChanged: () => undefined });
    const registered = new Map<string, (event: { sender: SenderInfo }, ...args: unknown[]) => unknown>();
    registerInvokeHandlers(
      { handle: (channel, listener) => registered.set(channel, listener), removeHandler: (channel) => registered.delete(channel) },
      handlers,
      { senderOf: (event: { sender: SenderInfo }) => event.sender, trust: () => ({ webContentsId: 1, origins: ['app://bundle'] }) },
    );
    const sender: SenderInfo = { webContentsId: 1, frameUrl: 'app://bundle/index.html', isMainFrame: true };
    const before = { photos: await snapshotTree(photos), outside: await snapshotTree(outside) };
    const groupIds = (await remote.groups()).groups.map((g) => g.id);

    // Paths per channel: scans and folder additions stay in the sandbox; "not duplicates" never gets two
    // catalogued photos (that decision is the user's to make, and would change the groups for good).
    const hostile = pathPool(photos);
    const sandboxFolders = [photos, join(photos, 'sub'), join(dir, 'missing'), join(photos, 'a.jpg'), `${photos}/../photos`, 'relative'];
    const pathsFor = (channel: InvokeChannel): string[] =>
      channel === 'scan:start' || channel === 'folders:add'
        ? sandboxFolders
        : channel === 'groups:not-duplicates'
          ? [...hostile, join(photos, 'a.jpg')]
          : [...hostile, ...catalogued, join(photos, 'pipe.jpg'), join(outside, 'secret.jpg'), join(outside, 'passwords.txt'), photos];
    const outcomes = { ok: 0, refused: 0, failed: 0 };
    for (let i = 0; i < 400; i++) {
      const channel = random.pick(invokeChannels);
      const { payload } = random.chance(0.8) ? shapedPayload(KINDS[channel], channel, random, pathsFor(channel), groupIds) : { payload: hostileValue(random, hostile) };
      const call = Promise.resolve().then(() => registered.get(channel)!({ sender }, ...structuredClone([payload])));
      const timeout = new Promise((_, reject) => setTimeout(() => reject(new Error('hung')), 30_000).unref());
      try {
        await Promise.race([call, timeout]);
        outcomes.ok++;
      } catch (error) {
        assert.ok(error instanceof Error, `${channel}: threw a non-Error: ${String(error)}`);
        assert.notEqual(error.message, 'hung', `${channel} hung on ${describeValue(payload)}`);
        if (/invalid payload|expected one payload/.test(error.message)) outcomes.refused++;
        else outcomes.failed++;
      }
    }
    // Let background scans (folders:add, folders:pick) finish.
    for (let i = 0; i < 100 && scans.busy; i++) await new Promise((r) => setTimeout(r, 100));

    assert.deepEqual(await snapshotTree(photos), before.photos, 'a photo was moved, changed or added');
    assert.deepEqual(await snapshotTree(outside), before.outside);
    assert.deepEqual(await snapshotTree(join(dir, 'trash')), new Map(), 'something went to the trash');
    // Opened or revealed: catalogued files only (links the scan followed included), opened only if decoded.
    for (const path of [...opened, ...revealed]) assert.ok(catalogued.includes(path), `${path} was opened or revealed but is not catalogued`);
    assert.ok(!opened.includes(join(photos, 'pipe.jpg')));
    assert.deepEqual(failures.filter((message) => !/not a folder|no longer exists|cannot be/.test(message)), []);
    assert.ok(outcomes.ok > 50 && outcomes.refused > 50 && outcomes.failed > 10, JSON.stringify(outcomes));
    // The app keeps working: back to the defaults, a scan, the same groups as before the fuzzing.
    await remote.updateSettings(DEFAULT_SETTINGS);
    await remote.scan([photos]);
    assert.deepEqual(await groupsNow(), baselineGroups);
  });
});

function describeValue(value: unknown): string {
  try {
    const text = JSON.stringify(value, (_, v) => (typeof v === 'number' && !Number.isFinite(v) ? String(v) : v)) ?? String(value);
    return text.length > 200 ? `${text.slice(0, 200)}… (${text.length} chars)` : text;
  } catch {
    return String(value);
  }
}
