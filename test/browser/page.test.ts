/// <reference lib="dom" />
/**
 * The file page in a real browser: headless Chromium over a real server (under --prefix) on a
 * temp directory. Lists, sorts, uploads with progress, creates, renames and deletes folders,
 * shows locks and readable errors, and never runs a file name as HTML. Screenshots go to
 * test-output/browser/ (git-ignored) for a person to look at.
 */
import { expect } from 'chai';
import { createHash, randomBytes } from 'node:crypto';
import { mkdir, readFile, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { dialogAnswer, dialogCancel, launchChromium, names, rowFor, toast } from './chromium.js';
import { lockBody, makeTempDir, repoRoot, startTestServer, type TestServer } from '../helpers/server.js';

const XSS = '<img src=x onerror=alert(1)>.txt';
const ODD = '# 100% ünïcödé 😀 a&b.txt';
const SHOTS = join(repoRoot, 'test-output', 'browser');
const sha = (b: Buffer): string => createHash('sha256').update(b).digest('hex');

describe('browser page (headless Chromium)', function () {
  this.timeout(60_000);
  let srv: TestServer;
  let browser: Browser;
  let context: BrowserContext;
  let page: Page;
  let dialogs: string[];
  let pageErrors: string[];
  /** HTTP statuses a test provokes on purpose (Chromium logs every 4xx fetch to the console). */
  let expectedStatuses: number[];
  let tmp: string;
  const url = (p = '/'): string => `${srv.base}/dav${p}`;

  before(async () => {
    srv = await startTestServer({ prefix: '/dav', lockStore: 'memory' });
    tmp = await makeTempDir('upload');
    await mkdir(join(srv.root, 'docs'));
    await mkdir(join(srv.root, 'photos 2024'));
    await writeFile(join(srv.root, 'docs', 'inside.txt'), 'inside\n');
    await writeFile(join(srv.root, 'a b.txt'), 'spaces\n');
    await writeFile(join(srv.root, 'big.bin'), randomBytes(300_000));
    await writeFile(join(srv.root, ODD), 'odd name\n');
    await writeFile(join(srv.root, XSS), 'not html\n');
    browser = await launchChromium();
    await mkdir(SHOTS, { recursive: true });
  });

  beforeEach(async () => {
    dialogs = [];
    pageErrors = [];
    expectedStatuses = [];
    context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
    page = await context.newPage();
    page.on('dialog', (d) => {
      dialogs.push(d.message());
      void d.dismiss();
    });
    page.on('pageerror', (e) => pageErrors.push(String(e)));
    page.on('console', (m) => {
      const failed = /^Failed to load resource: the server responded with a status of (\d+)/.exec(m.text());
      if (m.type() === 'error' && !(failed && expectedStatuses.includes(Number(failed[1])))) pageErrors.push(m.text());
    });
  });

  afterEach(async () => {
    await context.close();
  });

  /** A test that also fails when any alert/confirm/prompt fired or the page logged an error. */
  const test = (title: string, fn: () => Promise<void>): Mocha.Test =>
    it(title, async () => {
      await fn();
      expect(dialogs, 'no alert/confirm/prompt ever fires').to.deep.equal([]);
      expect(pageErrors, 'no script errors, failed loads or CSP violations').to.deep.equal([]);
    });

  after(async () => {
    await browser?.close();
    await srv?.close();
    await rm(tmp, { recursive: true, force: true });
  });

  test('lists a folder with breadcrumbs, sizes, dates and working download links', async () => {
    await page.goto(url('/'));
    expect(await page.title()).to.equal('Home · Files');
    expect(await names(page)).to.deep.equal(['docs', 'photos 2024', ODD, XSS, 'a b.txt', 'big.bin']);
    expect((await rowFor(page, 'big.bin').locator('td.size').textContent())!.trim()).to.equal('293 KiB');
    expect(await rowFor(page, 'docs').locator('td.size').textContent()).to.equal('');
    // Dates are rewritten in the visitor's locale; the machine-readable value stays.
    const dt = await rowFor(page, 'a b.txt').locator('td.mtime time').getAttribute('datetime');
    expect(new Date(dt!).getTime()).to.equal(Math.floor((await stat(join(srv.root, 'a b.txt'))).mtimeMs));
    // Every file link downloads exactly that file's bytes, odd names included.
    const fetched = await page.$$eval('tr.entry:not(.dir) td.name a', (links) =>
      Promise.all(links.map(async (a) => [(a as HTMLAnchorElement).textContent, await (await fetch((a as HTMLAnchorElement).href)).text()])),
    );
    for (const [name, text] of fetched) expect(text, name!).to.equal(await readFile(join(srv.root, name!), 'utf8'));
    // Into a folder and back through the breadcrumbs.
    await page.click('tr.entry >> text=docs/');
    await page.waitForURL(url('/docs/'));
    expect(await names(page)).to.deep.equal(['inside.txt']);
    expect(await page.$$eval('.crumbs a', (as) => as.map((a) => [a.textContent, a.getAttribute('href')]))).to.deep.equal([
      ['Home', '/dav/'],
      ['docs', '/dav/docs/'],
    ]);
    await page.click('.crumbs >> text=Home');
    await page.waitForURL(url('/'));
  });

  test('sorts by name, size and date (folders first)', async () => {
    await page.goto(url('/'));
    await page.click('th.size a');
    expect(await names(page)).to.deep.equal(['docs', 'photos 2024', 'a b.txt', ODD, XSS, 'big.bin']);
    await page.click('th.size a');
    expect(await names(page)).to.deep.equal(['photos 2024', 'docs', 'big.bin', XSS, ODD, 'a b.txt']);
    expect(await page.getAttribute('th.size', 'aria-sort')).to.equal('descending');
    await page.click('th.name a');
    await page.click('th.name a');
    expect((await names(page))[0]).to.equal('photos 2024');
    await page.click('th.mtime a');
    expect(await page.getAttribute('th.mtime', 'aria-sort')).to.equal('ascending');
  });

  test('shows a file named like an HTML tag as text', async () => {
    await page.goto(url('/'));
    const label = page.locator('tr.entry .label', { hasText: XSS });
    expect(await label.isVisible()).to.equal(true);
    expect(await label.textContent()).to.equal(XSS);
    expect(await page.locator('main img').count()).to.equal(0);
    await page.click(`tr.entry[data-name="${XSS.replace(/"/g, '\\"')}"] button[data-op="rename"]`);
    expect(await page.inputValue('#dialog-input')).to.equal(XSS);
    expect(await page.textContent('#dialog-text')).to.contain(XSS);
    await page.click('#dialog-cancel');
    expect(await page.locator('img').count()).to.equal(0);
  });

  test('uploads a 20 MiB file with moving progress bars and the right bytes on disk', async () => {
    const data = randomBytes(20 * 1024 * 1024);
    const file = join(tmp, 'twenty MiB #1 ü.bin');
    await writeFile(file, data);
    await page.goto(url('/docs/'));
    // Slow the upload down so progress is observable (loopback would finish in a few ms).
    const cdp = await context.newCDPSession(page);
    await cdp.send('Network.enable');
    await cdp.send('Network.emulateNetworkConditions', { offline: false, latency: 0, downloadThroughput: -1, uploadThroughput: 8 * 1024 * 1024 });
    // A string, not a function: tsx would wrap a named function in a helper the page lacks.
    await page.evaluate(`(() => {
      window.samples = [];
      const tick = () => {
        const one = document.querySelector('#upload-list progress');
        window.samples.push([document.getElementById('overall-progress').value, one ? one.value : -1]);
        requestAnimationFrame(tick);
      };
      tick();
    })()`);
    await page.setInputFiles('#file-input', file);
    await page.waitForFunction(() => (document.getElementById('overall-progress') as HTMLProgressElement).value > 0.3);
    await page.screenshot({ path: join(SHOTS, 'desktop-uploading.png') });
    await rowFor(page, 'twenty MiB #1 ü.bin').waitFor({ timeout: 30_000 });
    const samples = (await page.evaluate(() => (window as unknown as { samples: number[][] }).samples)) as number[][];
    const overallMid = samples.filter(([o]) => o! > 0.05 && o! < 0.95).map(([o]) => o!);
    const fileMid = samples.filter(([, f]) => f! > 0.05 && f! < 0.95);
    expect(new Set(overallMid).size, 'overall bar took several intermediate values').to.be.greaterThan(2);
    expect(fileMid.length, 'per-file bar moved').to.be.greaterThan(2);
    expect(await page.locator('#overall-progress').evaluate((e) => (e as HTMLProgressElement).value)).to.equal(1);
    expect(await page.textContent('#upload-list .ustatus')).to.equal('Done');
    expect((await rowFor(page, 'twenty MiB #1 ü.bin').locator('td.size').textContent())!.trim()).to.equal('20 MiB');
    const onDisk = await readFile(join(srv.root, 'docs', 'twenty MiB #1 ü.bin'));
    expect(onDisk.length).to.equal(data.length);
    expect(sha(onDisk)).to.equal(sha(data));
    await cdp.detach();
  });

  test('uploads several files at once, odd names intact, and asks before replacing', async () => {
    await page.goto(url('/'));
    const files = [
      { name: ODD, mimeType: 'text/plain', buffer: Buffer.from('replaced\n') },
      { name: 'new % file #2 🎉.txt', mimeType: 'text/plain', buffer: Buffer.from('new\n') },
      { name: 'plain.txt', mimeType: 'text/plain', buffer: Buffer.from('plain\n') },
    ];
    await page.setInputFiles('#file-input', files);
    // ODD already exists: the page asks first.
    await page.locator('dialog#dialog').waitFor({ state: 'visible' });
    expect(await page.textContent('#dialog-text')).to.contain(ODD);
    await page.click('#dialog-ok');
    await rowFor(page, 'plain.txt').waitFor();
    await rowFor(page, 'new % file #2 🎉.txt').waitFor();
    expect(await page.locator('#upload-list li.done').count()).to.equal(3);
    expect(await page.textContent('#overall-label')).to.equal('Uploaded 3 of 3');
    expect(await readFile(join(srv.root, ODD), 'utf8')).to.equal('replaced\n');
    expect(await readFile(join(srv.root, 'new % file #2 🎉.txt'), 'utf8')).to.equal('new\n');
    expect(await readFile(join(srv.root, 'plain.txt'), 'utf8')).to.equal('plain\n');
  });

  test('uploads by drag and drop', async () => {
    await page.goto(url('/docs/'));
    const dt = await page.evaluateHandle(() => {
      const d = new DataTransfer();
      d.items.add(new File(['dropped bytes'], 'dropped 🪂.txt', { type: 'text/plain' }));
      return d;
    });
    await page.dispatchEvent('main', 'dragenter', { dataTransfer: dt });
    expect(await page.isVisible('#drop-overlay')).to.equal(true);
    await page.dispatchEvent('main', 'drop', { dataTransfer: dt });
    await rowFor(page, 'dropped 🪂.txt').waitFor();
    expect(await page.isVisible('#drop-overlay')).to.equal(false);
    expect(await readFile(join(srv.root, 'docs', 'dropped 🪂.txt'), 'utf8')).to.equal('dropped bytes');
  });

  test('creates, renames and deletes a folder', async () => {
    await page.goto(url('/'));
    await page.click('#new-folder');
    await dialogAnswer(page, 'Neu #1 100% 😀');
    await rowFor(page, 'Neu #1 100% 😀/').waitFor();
    expect((await stat(join(srv.root, 'Neu #1 100% 😀'))).isDirectory()).to.equal(true);
    await toast(page, 'Created the folder "Neu #1 100% 😀".', 'ok');
    // Focus lands on the new folder (not on <body>) after the listing is redrawn.
    expect(await page.evaluate(() => document.activeElement?.closest('tr.entry')?.getAttribute('data-name'))).to.equal('Neu #1 100% 😀');

    await rowFor(page, 'Neu #1 100% 😀/').locator('button[data-op="rename"]').click();
    expect(await page.inputValue('#dialog-input')).to.equal('Neu #1 100% 😀');
    await dialogAnswer(page, 'Renamed & done');
    await rowFor(page, 'Renamed & done/').waitFor();
    expect(await names(page)).to.not.include('Neu #1 100% 😀');
    expect((await stat(join(srv.root, 'Renamed & done'))).isDirectory()).to.equal(true);
    expect(await readdir(srv.root)).to.not.include('Neu #1 100% 😀');

    // Its link opens it (prefix and encoding honoured).
    await rowFor(page, 'Renamed & done/').locator('td.name a').click();
    await page.waitForURL(url('/Renamed%20&%20done/'));
    expect(await page.textContent('.empty')).to.contain('empty');
    await page.goBack();

    await rowFor(page, 'Renamed & done/').locator('button[data-op="delete"]').click();
    expect(await page.textContent('#dialog-text')).to.contain('Renamed & done');
    await dialogAnswer(page);
    await page.waitForFunction(() => !document.querySelector('tr.entry[data-name="Renamed & done"]'));
    expect(await readdir(srv.root)).to.not.include('Renamed & done');
  });

  test('rename keeps the dialog open with a message while the name is invalid, and cancel leaves things alone', async () => {
    await writeFile(join(srv.root, 'mover.txt'), 'moving\n');
    await page.goto(url('/'));
    await rowFor(page, 'mover.txt').locator('button[data-op="delete"]').click();
    await dialogCancel(page);
    expect(await readFile(join(srv.root, 'mover.txt'), 'utf8')).to.equal('moving\n');
    await rowFor(page, 'mover.txt').locator('button[data-op="rename"]').click();
    // The dialog has an accessible name and a labelled input.
    expect(await page.getAttribute('dialog#dialog', 'aria-labelledby')).to.equal('dialog-title');
    expect(await page.textContent('label[for="dialog-input"]')).to.equal('New name');
    for (const [bad, why] of [
      ['photos 2024/x.txt', 'A name cannot contain "/" or "\\".'],
      ['a b.txt', 'Something named "a b.txt" is already here.'],
      ['.davmeta', 'That name is reserved by the server.'],
    ]) {
      await page.fill('#dialog-input', bad!);
      await page.click('#dialog-ok');
      expect(await page.textContent('#dialog-error')).to.equal(why);
      expect(await page.isVisible('dialog#dialog'), 'the dialog stays open').to.equal(true);
      expect(await page.inputValue('#dialog-input'), 'the text is kept').to.equal(bad);
      expect(await page.getAttribute('#dialog-input', 'aria-invalid')).to.equal('true');
    }
    await page.fill('#dialog-input', 'moved #1.txt');
    await page.click('#dialog-ok');
    await rowFor(page, 'moved #1.txt').waitFor();
    expect(await readFile(join(srv.root, 'moved #1.txt'), 'utf8')).to.equal('moving\n');
  });

  test('says who holds a lock, offers no delete or rename on locked items, and explains a 423 in words', async () => {
    expectedStatuses = [423, 405];
    await writeFile(join(srv.root, 'locked.txt'), 'locked\n');
    await writeFile(join(srv.root, 'later.txt'), 'later\n');
    const res = await srv.req('LOCK', '/dav/locked.txt', { headers: { 'Content-Type': 'application/xml', Timeout: 'Second-600' }, body: lockBody() });
    expect(res.status).to.equal(200);
    await page.goto(url('/'));
    const row = rowFor(page, 'locked.txt');
    expect(await row.getAttribute('class')).to.contain('is-locked');
    expect(await row.locator('.badge.locked').textContent()).to.equal('Locked by test@example.com');
    expect(await row.locator('button[data-op]').count(), 'no delete/rename on a locked item').to.equal(0);
    expect(await row.locator('a.op[download]').count(), 'download is still offered').to.equal(1);
    // Selected and deleted in a batch: the page says who holds the lock instead of trying.
    await row.locator('.pick').check();
    await page.click('#sel-delete');
    await toast(page, 'Cannot delete "locked.txt": it is locked by test@example.com.');
    await page.click('#sel-clear');
    // Locked after the page was drawn: the server's 423 becomes a sentence.
    const late = await srv.req('LOCK', '/dav/later.txt', { headers: { 'Content-Type': 'application/xml' }, body: lockBody() });
    expect(late.status).to.equal(200);
    await rowFor(page, 'later.txt').locator('button[data-op="delete"]').click();
    await dialogAnswer(page);
    const text = await toast(page, '"later.txt" is locked');
    expect(text).to.not.match(/<\?xml|<D:|lock-token-submitted/);
    expect(await readFile(join(srv.root, 'later.txt'), 'utf8')).to.equal('later\n');
    // After the refresh the row shows its lock too.
    await rowFor(page, 'later.txt').locator('.badge.locked').waitFor();
    // A folder name that exists (typed past the page's own check by a race): 405 becomes a sentence too.
    await mkdir(join(srv.root, 'raced'));
    await page.click('#new-folder');
    await dialogAnswer(page, 'raced');
    await toast(page, 'something named "raced" already exists');
    expect(await page.textContent('#toasts')).to.not.match(/<\?xml|<D:/);
    await srv.req('UNLOCK', '/dav/locked.txt', { headers: { 'Lock-Token': String(res.headers['lock-token']) } });
    await srv.req('UNLOCK', '/dav/later.txt', { headers: { 'Lock-Token': String(late.headers['lock-token']) } });
  });

  test('toasts stay in the viewport wherever the page is scrolled; destructive dialogs start on Cancel', async () => {
    await mkdir(join(srv.root, 'long'), { recursive: true });
    await Promise.all(Array.from({ length: 80 }, (_, i) => writeFile(join(srv.root, 'long', `f${String(i).padStart(2, '0')}.txt`), 'x')));
    await page.goto(url('/long/'));
    await page.evaluate(() => window.scrollTo(0, document.body.scrollHeight));
    await rowFor(page, 'f79.txt').locator('button[data-op="delete"]').click();
    await page.locator('dialog#dialog').waitFor();
    expect(await page.evaluate(() => document.activeElement?.id), 'the safe button has focus').to.equal('dialog-cancel');
    await page.keyboard.press('Enter'); // Enter on Cancel: nothing deleted
    await page.locator('dialog#dialog').waitFor({ state: 'hidden' });
    expect((await readdir(join(srv.root, 'long'))).length).to.equal(80);
    await rowFor(page, 'f79.txt').locator('button[data-op="delete"]').click();
    await dialogAnswer(page);
    const t = page.locator('#toasts .toast.ok', { hasText: 'Deleted "f79.txt".' });
    await t.waitFor();
    const box = (await t.boundingBox())!;
    expect(box.y + box.height, 'the toast is inside the viewport').to.be.at.most(800);
    expect(box.y).to.be.greaterThan(0);
    expect(await page.evaluate(() => window.scrollY), 'nothing scrolled the page').to.be.greaterThan(500);
    // It dismisses itself (errors stay longer, and both have a close button).
    await t.waitFor({ state: 'detached', timeout: 8000 });
    await rm(join(srv.root, 'long'), { recursive: true });
  });

  test('renders well at desktop and phone width (screenshots in test-output/browser/)', async () => {
    await page.goto(url('/'));
    await page.screenshot({ path: join(SHOTS, 'desktop.png'), fullPage: true });
    await page.setInputFiles('#file-input', [{ name: 'shot.txt', mimeType: 'text/plain', buffer: Buffer.from('x') }]);
    await rowFor(page, 'shot.txt').waitFor();
    await page.screenshot({ path: join(SHOTS, 'desktop-after-upload.png'), fullPage: true });

    const phone = await browser.newContext({ viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true, deviceScaleFactor: 2 });
    try {
      const p = await phone.newPage();
      p.on('dialog', (d) => {
        dialogs.push(d.message());
        void d.dismiss();
      });
      await p.goto(url('/'));
      // Nothing sticks out sideways at phone width.
      expect(await p.evaluate(() => document.documentElement.scrollWidth)).to.be.at.most(390);
      expect(await p.isVisible('tr.entry .meta')).to.equal(true);
      expect(await p.isVisible('td.mtime')).to.equal(false);
      // The column headers are hidden at phone width; the sort bar replaces them.
      await p.click('.sortbar >> text=Size');
      await p.waitForURL(/sort=size/);
      expect(await p.textContent('.sortbar a[aria-current]')).to.equal('Size ▲');
      await p.screenshot({ path: join(SHOTS, 'phone.png'), fullPage: true });
      await rowFor(p, 'a b.txt').locator('button[data-op="rename"]').click();
      await p.locator('dialog#dialog').waitFor({ state: 'visible' });
      await p.screenshot({ path: join(SHOTS, 'phone-rename.png') });
      await p.click('#dialog-cancel');
      // No "drop files here" on a touch screen.
      await mkdir(join(srv.root, 'empty on phone'));
      await p.goto(url('/empty%20on%20phone/'));
      expect(await p.textContent('p.empty')).to.contain('This folder is empty.');
      expect(await p.isVisible('.drop-hint')).to.equal(false);
    } finally {
      await phone.close();
    }
    const dark = await browser.newContext({ viewport: { width: 1024, height: 700 }, colorScheme: 'dark' });
    try {
      const p = await dark.newPage();
      await p.goto(url('/'));
      await p.screenshot({ path: join(SHOTS, 'desktop-dark.png') });
    } finally {
      await dark.close();
    }
    for (const f of ['desktop.png', 'phone.png', 'desktop-dark.png']) expect((await stat(join(SHOTS, f))).size).to.be.greaterThan(5000);
  });
});
