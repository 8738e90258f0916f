// The renderer in Chromium, bound to the real engine and a real folder trash (tests/helpers/ui-harness.ts):
// scan, review, auto-select, remove to trash, undo, not duplicates, compare, query by drop, settings,
// Chinese UI; and a 10,000-group list that stays virtualised.
// Run: npx tsx --test tests/ui.test.ts   (UPDATE_SCREENSHOTS=1 also rewrites docs/screenshots/*.png)
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { copyFile, mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { basename, join, resolve } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import sharp from 'sharp';
import { openEngine } from '../electron/engine/index.ts';
import type { Engine } from '../electron/engine/types.ts';
import { autoMarks, pickKeeper } from '../renderer/src/lib/rules.ts';
import { createFakeBackend, fakeSourceOf } from './helpers/fake-api.ts';
import { copyPhoto, DISTINCT_PHOTOS, editPhoto, photo, removeDir, tempDir } from './helpers/photos.ts';
import { buildRenderer, CHROMIUM_PATH, createEngineBackend, launchChromium, startUiHarness, type UiHarness } from './helpers/ui-harness.ts';

const REPO_ROOT = resolve(import.meta.dirname, '..');
const SCREENSHOTS = join(REPO_ROOT, 'docs', 'screenshots');
const UPDATE = process.env.UPDATE_SCREENSHOTS === '1';
const MAX_SCREENSHOT_BYTES = 200_000;

async function dismissToasts(page: Page): Promise<void> {
  const close = page.locator('[data-testid="toast"] button.close');
  while ((await close.count()) > 0) await close.first().click();
}

/** Saves a screenshot when UPDATE_SCREENSHOTS=1, palette-quantised when a plain PNG is too large. */
async function screenshot(page: Page, name: string): Promise<void> {
  if (!UPDATE) return;
  await dismissToasts(page); // toasts from earlier steps would hide parts of the screen
  await page.waitForTimeout(300); // transitions (progress bar) settle
  await page.waitForFunction(() => Array.from((globalThis as any).document.images as any[]).every((img) => img.complete));
  const raw = await page.screenshot();
  let png = raw;
  // Photos make big PNGs: fewer palette colours until the file is small enough.
  for (const [colours, dither] of [[256, 1], [128, 0.8], [64, 0.5], [32, 0]] as const) {
    if (png.length <= MAX_SCREENSHOT_BYTES) break;
    png = await sharp(raw).png({ palette: true, colours, dither, compressionLevel: 9, effort: 10 }).toBuffer();
  }
  if (png.length > MAX_SCREENSHOT_BYTES) {
    // Still too big (a large photo on screen): three quarters of the size.
    const { width = 1280 } = await sharp(raw).metadata();
    png = await sharp(raw).resize({ width: Math.round(width * 0.75) }).png({ palette: true, colours: 128, compressionLevel: 9, effort: 10 }).toBuffer();
  }
  assert.ok(png.length <= MAX_SCREENSHOT_BYTES, `${name}.png is ${png.length} bytes`);
  await mkdir(SCREENSHOTS, { recursive: true });
  await writeFile(join(SCREENSHOTS, `${name}.png`), png);
}

describe('auto-select rules', () => {
  const file = (path: string, width: number, size: number, mtimeMs: number, takenAt: string | null = null) => ({
    path,
    folder: path.slice(0, path.lastIndexOf('/')),
    size,
    mtimeMs,
    format: 'jpeg',
    width,
    height: width,
    takenAt,
    contentHash: null,
  });
  const day = (n: number) => Date.UTC(2020, 0, n);
  const big = file('/a/big.jpg', 4000, 3_000_000, day(3));
  const bigger = file('/a/bigger-bytes.jpg', 4000, 3_500_000, day(2));
  // Modified last, but taken first.
  const small = file('/b/small.jpg', 1000, 200_000, day(9), '2001-01-01T10:00:00');
  const copy = file('/a/backup/big.jpg', 4000, 3_000_000, day(5));

  test('largest keeps the highest resolution, then the largest file', () => {
    assert.equal(pickKeeper([small, big, bigger], { name: 'largest', preferredFolder: null }).path, bigger.path);
  });
  test('exact copies: the older, less deeply filed one is kept', () => {
    assert.equal(pickKeeper([copy, big], { name: 'largest', preferredFolder: null }).path, big.path);
  });
  test('oldest uses the capture date before the file date', () => {
    assert.equal(pickKeeper([big, bigger, small], { name: 'oldest', preferredFolder: null }).path, small.path);
  });
  test('preferred folder wins; without a photo there, largest applies', () => {
    assert.equal(pickKeeper([big, small], { name: 'folder', preferredFolder: '/b' }).path, small.path);
    assert.equal(pickKeeper([big, small], { name: 'folder', preferredFolder: '/elsewhere' }).path, big.path);
  });
  test('every photo but one is marked, never all', () => {
    const marks = autoMarks([big, bigger, small], { name: 'largest', preferredFolder: null });
    assert.deepEqual([...marks].sort(), [big.path, small.path].sort());
    assert.equal(autoMarks([big], { name: 'largest', preferredFolder: null }).size, 0);
  });
});

const skip = existsSync(CHROMIUM_PATH) ? false : `no Chromium at ${CHROMIUM_PATH} (apt-get install chromium, or set CHROMIUM_PATH)`;

describe('renderer on the real engine', { skip }, () => {
  let dir: string;
  let library: string;
  let probeDir: string;
  let trashDir: string;
  let engine: Engine;
  let browser: Browser;
  let ui: UiHarness;
  let page: Page;
  /** file name in the library -> which original it shows */
  const names = {
    dog: 'dog.jpg',
    dogResized: 'dog_resized.jpg',
    fruits: 'fruits.jpg',
    fruitsCopy: 'fruits (copy).jpg',
    horses: 'horses.jpg',
    probe: 'horses_probe.jpg',
  };

  before(async () => {
    dir = await tempDir('dedup-ui-');
    library = join(dir, 'Photos');
    probeDir = join(dir, 'Downloads');
    trashDir = join(dir, 'trash');
    // Ten distinct photos, a resized copy of one (near duplicate) and a byte copy of another (exact).
    for (const relative of DISTINCT_PHOTOS) await copyPhoto(relative, join(library, basename(relative)));
    await editPhoto('darknet/dog.jpg', 'resize', join(library, 'resized', names.dogResized));
    await mkdir(join(library, 'backup'), { recursive: true });
    await copyFile(photo('opencv-doc/fruits.jpg'), join(library, 'backup', names.fruitsCopy));
    // A recompressed copy of horses.jpg outside the library: dropped to query.
    await editPhoto('darknet/horses.jpg', 'recompress', join(probeDir, names.probe));

    const distDir = join(dir, 'dist');
    await buildRenderer(distDir);
    engine = await openEngine({ catalogPath: join(dir, 'catalog', 'catalog.json'), settings: { executionProvider: 'cpu' } });
    browser = await launchChromium();
    ui = await startUiHarness({
      browser,
      distDir,
      dropRoot: probeDir,
      thumbnailSource: (path) => (engine.fileFacts(path) ? path : null),
      makeBackend: (plumbing) =>
        createEngineBackend({ engine, trashDir, journalPath: join(dir, 'catalog', 'journal.json'), ...plumbing }),
    });
    page = ui.page;
  });

  after(async () => {
    await ui?.close();
    await browser?.close();
    await engine?.close();
    if (dir) await removeDir(dir);
  });

  test('an empty catalog says what to do next', async () => {
    await page.getByText('No folders yet').waitFor();
    await page.getByText('drag a folder onto this window', { exact: false }).waitFor();
    await screenshot(page, 'folders-empty');
  });

  test('adding a folder scans it, with progress, and shows its groups', async () => {
    ui.dialogs.folders.push([library]);
    // The engine always reports the last file of a phase, so a 'reading' event with done > 0 comes.
    const held = ui.holdProgress((p) => p.phase === 'reading' && p.done > 0);
    await page.getByRole('button', { name: 'Add folder…' }).first().click();
    const progress = await held;
    const banner = page.getByTestId('scan-progress');
    await banner.waitFor();
    assert.match(await banner.innerText(), /Reading photos/);
    assert.match(await banner.innerText(), new RegExp(`${progress.done} of ${progress.total}`));
    assert.match(await banner.innerText(), new RegExp(basename(progress.currentPath!).replace(/[.()]/g, '\\$&')));
    assert.match(await banner.innerText(), /photos\/s/);
    await screenshot(page, 'scan-progress');
    ui.releaseProgress();
    await banner.waitFor({ state: 'detached' });

    const row = page.getByTestId('folder-row');
    await row.getByText('12 photos').waitFor();
    assert.match(await row.innerText(), /Last scanned/);
    await page.locator('[data-screen="groups"] .badge').getByText('2').waitFor();
    await screenshot(page, 'folders');
  });

  test('groups: exact and near tabs show the copies with their facts', async () => {
    await page.locator('[data-screen="groups"]').click();
    const exact = page.locator('[role="tab"][data-kind="exact"]');
    assert.equal(await exact.getAttribute('aria-selected'), 'true');
    const group = page.getByTestId('group');
    await group.first().waitFor();
    assert.equal(await group.count(), 1);
    const tiles = group.first().getByTestId('tile');
    assert.deepEqual((await tiles.allInnerTexts()).map((t) => t.includes('512×480')), [true, true]);
    assert.deepEqual(
      new Set(await tiles.evaluateAll((els) => els.map((e) => (e as any).dataset.path.split('/').pop()))),
      new Set([names.fruits, names.fruitsCopy]),
    );
    await page.locator('[role="tab"][data-kind="near"]').click();
    const near = page.getByTestId('group').first();
    await near.getByTestId('tile').nth(1).waitFor();
    assert.match(await near.innerText(), /match/);
    await screenshot(page, 'groups');
    await page.locator('[role="tab"][data-kind="exact"]').click();
  });

  test('review: auto-select keeps one, delete moves the copy to the trash, undo brings it back', async () => {
    const group = page.getByTestId('group').first();
    await group.click();
    await page.keyboard.press('a');
    const marked = group.locator('[data-testid="tile"][aria-pressed="true"]');
    await marked.first().waitFor();
    assert.equal(await marked.count(), 1);
    // The photo still kept cannot be marked too: the last copy of a group is never removable.
    const kept = group.locator('[data-testid="tile"][aria-pressed="false"]');
    assert.equal(await kept.isDisabled(), true);
    for (const key of ['1', '2']) await page.keyboard.press(key);
    assert.ok((await group.locator('[data-testid="tile"][aria-pressed="true"]').count()) < 2, 'never all marked');
    await page.keyboard.press('a');
    assert.match(await page.getByTestId('summary').innerText(), /1 photo marked · 80\.5 KB to free/);

    const victim = (await marked.getAttribute('data-path'))!;
    assert.ok(existsSync(victim));
    await page.keyboard.press('Delete');
    await page.getByText('1 photo removed', { exact: false }).waitFor();
    assert.equal(existsSync(victim), false, 'the file left its folder');
    assert.deepEqual(await readdir(join(trashDir, 'files')), [basename(victim)]);
    await page.locator('[role="tab"][data-kind="exact"] .count').getByText('0').waitFor();

    await page.keyboard.press('u');
    await page.getByText('1 photo restored.').waitFor();
    assert.equal(existsSync(victim), true, 'undo put the file back');
    assert.deepEqual(await readdir(join(trashDir, 'files')), []);
    await page.locator('[role="tab"][data-kind="exact"] .count').getByText('1').waitFor();
  });

  test('"move to folder" moves the marked copy there; the toast\'s Undo brings it back', async () => {
    await dismissToasts(page);
    const destination = join(dir, 'Removed');
    await mkdir(destination);
    ui.dialogs.destination.push(destination);
    await page.getByTestId('destination').selectOption('pick');
    await page.waitForFunction(() => (globalThis as any).document.querySelector('[data-testid="destination"]').value === 'folder');
    assert.equal(await page.getByTestId('destination').locator('option:checked').innerText(), 'Folder: Removed');
    const group = page.getByTestId('group').first();
    await group.getByTestId('auto').click();
    const victim = (await group.locator('[data-testid="tile"][aria-pressed="true"]').getAttribute('data-path'))!;
    await page.getByTestId('remove-all').click();
    const toast = page.getByTestId('toast').filter({ hasText: '1 photo removed' });
    await toast.waitFor();
    assert.equal(existsSync(victim), false);
    assert.deepEqual(await readdir(destination), [basename(victim)]);
    await toast.getByRole('button', { name: 'Undo' }).click();
    await page.getByText('1 photo restored.').first().waitFor();
    assert.equal(existsSync(victim), true);
    assert.deepEqual(await readdir(destination), []);
    await page.getByTestId('destination').selectOption('trash');
  });

  test('compare shows two photos side by side and zooms', async () => {
    await page.locator('[role="tab"][data-kind="near"]').click();
    await page.getByTestId('group').first().click();
    await page.keyboard.press('c');
    const compare = page.getByTestId('compare');
    await compare.waitFor();
    const panes = compare.getByTestId('compare-pane');
    assert.equal(await panes.count(), 2);
    await page.waitForFunction(() =>
      Array.from((globalThis as any).document.querySelectorAll('[data-testid="compare-pane"] img') as any[]).every((i) => i.naturalWidth > 0),
    );
    assert.match(await panes.nth(0).innerText(), /768×576/);
    assert.match(await panes.nth(1).innerText(), /384×288/);
    await page.keyboard.press('+');
    assert.equal(await compare.getByTestId('zoom').innerText(), '100%');
    const width = await panes.nth(0).locator('img').evaluate((img) => (img as any).getBoundingClientRect().width);
    assert.equal(Math.round(width), 768, 'at 100% the photo is shown at its real pixel size');
    await page.keyboard.press('0');
    assert.equal(await compare.getByRole('button', { name: 'Fit', exact: true }).getAttribute('aria-pressed'), 'true');
    await screenshot(page, 'compare');
    await page.keyboard.press('Escape');
    await compare.waitFor({ state: 'detached' });
  });

  test('? shows the keyboard shortcuts', async () => {
    await page.keyboard.press('?');
    const help = page.getByTestId('help');
    await help.waitFor();
    assert.match(await help.innerText(), /Next group/);
    await screenshot(page, 'help');
    await page.keyboard.press('Escape');
    await help.waitFor({ state: 'detached' });
  });

  test('"not duplicates" dismisses a group for good', async () => {
    await page.keyboard.press('n');
    await page.getByText('Marked as not duplicates', { exact: false }).waitFor();
    await page.locator('[role="tab"][data-kind="near"] .count').getByText('0').waitFor();
    const { groups } = await engine.groups();
    assert.equal(groups.filter((g) => g.kind === 'near').length, 0);
    await page.locator('[role="tab"][data-kind="exact"]').click();
  });

  test('dropping a photo finds the original first, with its score', async () => {
    const bytes = await readFile(join(probeDir, names.probe));
    await page.evaluate(
      ({ name, b64 }) => {
        const g = globalThis as any;
        const data = Uint8Array.from(g.atob(b64), (c: string) => c.charCodeAt(0));
        const transfer = new g.DataTransfer();
        transfer.items.add(new g.File([data], name, { type: 'image/jpeg' }));
        g.dispatchEvent(new g.DragEvent('dragenter', { dataTransfer: transfer, bubbles: true, cancelable: true }));
        g.document.body.dispatchEvent(new g.DragEvent('drop', { dataTransfer: transfer, bubbles: true, cancelable: true }));
      },
      { name: names.probe, b64: bytes.toString('base64') },
    );
    const hits = page.getByTestId('hit');
    await hits.first().waitFor();
    assert.equal(basename((await hits.first().getAttribute('data-path'))!), names.horses);
    const score = await hits.first().getByTestId('hit-score').innerText();
    const pct = Number(/([\d.]+)%/.exec(score)?.[1]);
    assert.ok(pct > 90 && pct <= 100, `score ${score}`);
    assert.match(await page.getByTestId('query-screen').innerText(), /Most similar to horses_probe\.jpg/);
    await hits.first().getByRole('button', { name: 'Show in folder' }).click();
    await page.waitForFunction(() => true);
    assert.ok(ui.revealed.some((p) => basename(p) === names.horses));
    await screenshot(page, 'query');
  });

  test('settings show the thresholds and the provider in use', async () => {
    await page.locator('[data-screen="settings"]').click();
    await page.getByTestId('provider-active').getByText('In use: CPU').waitFor();
    const near = page.getByRole('spinbutton', { name: 'Near duplicate similarity' });
    assert.equal(Number(await near.inputValue()), engine.settings().nearCosine);
    await screenshot(page, 'settings');
  });

  test('switching to Chinese translates the UI and is remembered', async () => {
    await page.getByTestId('language').selectOption('zh-CN');
    await page.locator('[data-screen="groups"]').getByText('重复照片').waitFor();
    await page.getByRole('heading', { name: '设置' }).waitFor();
    assert.equal(await page.evaluate(() => (globalThis as any).document.documentElement.lang), 'zh-CN');
    assert.equal((await page.evaluate(() => (globalThis as any).dedup.settings.get())).language, 'zh-CN');
    await page.locator('[data-screen="groups"]').click();
    await page.getByRole('tab', { name: /完全相同/ }).waitFor();
    await page.getByTestId('group').first().click();
    await page.keyboard.press('a');
    await page.getByText('已标记 1 张照片', { exact: false }).waitFor();
    await screenshot(page, 'groups-zh-CN');
    await page.locator('[data-screen="settings"]').click();
    await page.getByTestId('language').selectOption('en');
    await page.getByRole('heading', { name: 'Settings' }).waitFor();
  });
});

describe('renderer with 10,000 groups', { skip }, () => {
  let browser: Browser;
  let ui: UiHarness;
  let dir: string;

  before(async () => {
    dir = await tempDir('dedup-ui-big-');
    await buildRenderer(join(dir, 'dist'));
    browser = await launchChromium();
    const photos = DISTINCT_PHOTOS.map(photo);
    ui = await startUiHarness({
      browser,
      distDir: join(dir, 'dist'),
      dropRoot: dir,
      thumbnailSource: fakeSourceOf,
      // The virtualisation is the renderer's own: synthetic groups (of real photos) stand in for a
      // 20,000-photo scan, which would take minutes.
      makeBackend: async ({ emit }) => createFakeBackend({ groupCount: 10_000, photos, emit }),
    });
  });

  after(async () => {
    await ui?.close();
    await browser?.close();
    if (dir) await removeDir(dir);
  });

  test('the list renders only the rows in view, from top to bottom', async () => {
    const { page } = ui;
    await page.locator('[data-screen="groups"] .badge').getByText('10K').waitFor();
    await page.locator('[data-screen="groups"]').click();
    const exact = Number(await page.locator('[role="tab"][data-kind="exact"] .count').innerText().then((t) => t.replace(/,/g, '')));
    assert.ok(exact > 5000);
    await page.getByTestId('group').first().waitFor();
    const rows = async () => page.getByTestId('group').count();
    assert.ok((await rows()) < 30, `rows in the DOM at the top: ${await rows()}`);

    // Jump to the end by scrolling the list: the last group appears, the DOM stays small.
    const started = Date.now();
    for (let i = 0; i < 6; i++) {
      await page.getByTestId('group-list').locator('> div').evaluate((el) => ((el as any).scrollTop = (el as any).scrollHeight));
      await page.waitForTimeout(100);
    }
    await page.getByText(`#${exact}`, { exact: true }).waitFor();
    assert.ok((await rows()) < 30, `rows in the DOM at the bottom: ${await rows()}`);
    assert.ok(Date.now() - started < 5000);

    // Keyboard review far down the list: j moves the current group, which stays in view.
    await page.getByText(`#${exact}`, { exact: true }).click();
    await page.keyboard.press('k');
    const current = page.locator('[data-testid="group"][aria-current="true"]');
    assert.match(await current.innerText(), new RegExp(`#${exact - 1}\\b`));
    await page.keyboard.press('A');
    await page.getByTestId('summary').getByText('to free', { exact: false }).waitFor();
    await screenshot(page, 'groups-10000');
  });
});
