/// <reference lib="dom" />
/**
 * The file page in headless Chromium under the browser's Basic authentication, with --htpasswd,
 * --users (per-user roots, one read-only user) and --prefix: a read-write user lists, uploads,
 * creates and deletes a folder inside their own root; a read-only user sees no write controls and
 * a write forced through the page anyway ends in a readable message; wrong credentials get 401.
 */
import { expect } from 'chai';
import { mkdir, readFile, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { dialogAnswer, launchChromium, names, rowFor, toast, watchProblems } from './chromium.js';
import { makeTempDir, repoRoot, startTestServer, type TestServer } from '../helpers/server.js';
import { writeHtpasswd } from '../helpers/auth.js';

const SHOTS = join(repoRoot, 'test-output', 'browser');

describe('browser page under Basic authentication (headless Chromium)', function () {
  this.timeout(60_000);
  let dir: string;
  let srv: TestServer;
  let browser: Browser;
  let context: BrowserContext | undefined;
  let problems: string[];
  /** Statuses a test provokes on purpose (Chromium logs every 4xx to the console). */
  let expectedStatuses: number[];
  /** Every request the page made, with the status it got. */
  let responses: [string, string, number][];
  const url = (p = '/'): string => `${srv.base}/dav${p}`;

  before(async () => {
    dir = await makeTempDir('page-auth');
    const htpasswd = await writeHtpasswd(dir, { alice: 'alice pw', bob: 'bob pw' });
    const users = join(dir, 'users.yaml');
    await writeFile(users, 'users:\n  alice: { root: /home/alice, access: read-write }\n  bob: { root: /shared, access: read-only }\n');
    srv = await startTestServer({ prefix: '/dav', lockStore: 'memory', htpasswd, users, realm: 'Files' });
    await mkdir(join(srv.root, 'home', 'alice', 'projects'), { recursive: true });
    await writeFile(join(srv.root, 'home', 'alice', 'projects', 'plan #1.txt'), 'the plan\n');
    await writeFile(join(srv.root, 'home', 'alice', 'mine.txt'), 'mine\n');
    await mkdir(join(srv.root, 'shared', 'docs'), { recursive: true });
    await writeFile(join(srv.root, 'shared', 'readme.txt'), 'shared\n');
    await writeFile(join(srv.root, 'top-secret.txt'), 'nobody sees this\n');
    browser = await launchChromium();
    await mkdir(SHOTS, { recursive: true });
  });

  after(async () => {
    await browser?.close();
    await srv?.close();
    await rm(dir, { recursive: true, force: true });
  });

  beforeEach(() => {
    problems = [];
    expectedStatuses = [];
    responses = [];
  });

  afterEach(async () => {
    await context?.close();
    context = undefined;
  });

  /** A page in a fresh context, signed in through the page's login form as `user`. */
  async function signIn(user: string, password: string, expectOk = true): Promise<Page> {
    context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
    const page = await context.newPage();
    watchProblems(page, problems, () => expectedStatuses);
    page.on('response', (r) => responses.push([r.request().method(), new URL(r.url()).pathname + new URL(r.url()).search, r.status()]));
    await page.goto(url('/'));
    // No credentials yet: the browser lands on the sign-in form, not on a password prompt.
    await page.waitForURL(/\/dav\/\.dav\/login\?next=/);
    await page.fill('#user', user);
    await page.fill('#password', password);
    await Promise.all([page.waitForNavigation(), page.click('button[type="submit"]')]);
    if (expectOk) await page.waitForURL(url('/'));
    return page;
  }

  const test = (title: string, fn: () => Promise<void>): Mocha.Test =>
    it(title, async () => {
      await fn();
      expect(problems, 'no dialogs, script errors, failed loads or CSP violations').to.deep.equal([]);
    });

  /** True when the page's stylesheet applied (our CSS hides the icon sprite). */
  const styled = (p: Page): Promise<boolean> => p.$eval('svg.sprite', (e) => getComputedStyle(e).display === 'none');

  test('a read-write user lists their own root, downloads, uploads, creates and deletes a folder', async () => {
    const page = await signIn('alice', 'alice pw');
    expect(await names(page)).to.deep.equal(['projects', 'mine.txt']);
    expect(await page.textContent('.who .user')).to.equal('Signed in as alice');
    expect(await page.isVisible('.logout button')).to.equal(true);
    expect(await page.isVisible('#new-folder')).to.equal(true);
    expect(await page.isVisible('#upload-label')).to.equal(true);
    expect(await styled(page)).to.equal(true);
    // Both assets loaded (Chromium would retry a challenged one with the credentials it holds).
    const assets = responses.filter(([, u]) => u.includes('/.dav/assets/'));
    expect(assets.map(([, u, s]) => [u, s]).filter(([u]) => !String(u).endsWith('favicon.svg')).sort()).to.deep.include.members([
      ['/dav/.dav/assets/app.css', 200],
      ['/dav/.dav/assets/app.js', 200],
      ['/dav/.dav/assets/upload.js', 200],
      ['/dav/.dav/assets/viewer.js', 200],
    ]);

    // Into a folder: breadcrumbs are relative to alice's root, under the prefix.
    await page.click('tr.entry >> text=projects/');
    await page.waitForURL(url('/projects/'));
    expect(await page.$$eval('.crumbs a', (as) => as.map((a) => [a.textContent, a.getAttribute('href')]))).to.deep.equal([
      ['Home', '/dav/'],
      ['projects', '/dav/projects/'],
    ]);
    const text = await page.$eval('tr.entry td.name a', async (a) => (await fetch((a as HTMLAnchorElement).href)).text());
    expect(text).to.equal('the plan\n');

    // Upload a small file.
    await page.setInputFiles('#file-input', [{ name: 'up #2 ü.txt', mimeType: 'text/plain', buffer: Buffer.from('uploaded\n') }]);
    await rowFor(page, 'up #2 ü.txt').waitFor();
    expect(await page.textContent('#upload-list .ustatus')).to.equal('Done');
    expect(await readFile(join(srv.root, 'home', 'alice', 'projects', 'up #2 ü.txt'), 'utf8')).to.equal('uploaded\n');

    // Create a folder, move it up with the folder picker, then delete it; then sign out.
    await page.click('#new-folder');
    await dialogAnswer(page, 'new folder 😀');
    await rowFor(page, 'new folder 😀/').waitFor();
    expect((await stat(join(srv.root, 'home', 'alice', 'projects', 'new folder 😀'))).isDirectory()).to.equal(true);
    await rowFor(page, 'new folder 😀/').locator('.pick').check();
    await page.click('#sel-move');
    await page.locator('dialog#picker').waitFor();
    await page.locator('#picker-crumbs button', { hasText: 'Home' }).click();
    await page.locator('#picker-crumbs [aria-current]', { hasText: 'Home' }).waitFor();
    await page.click('#picker-ok');
    await page.waitForFunction(() => !document.querySelector('tr.entry[data-name="new folder 😀"]'));
    expect((await stat(join(srv.root, 'home', 'alice', 'new folder 😀'))).isDirectory()).to.equal(true);
    await page.click('.crumbs >> text=Home');
    await page.waitForURL(url('/'));
    await rowFor(page, 'new folder 😀/').locator('button[data-op="delete"]').click();
    await dialogAnswer(page);
    await page.waitForFunction(() => !document.querySelector('tr.entry[data-name="new folder 😀"]'));
    expect((await readdir(join(srv.root, 'home', 'alice'))).sort()).to.deep.equal(['mine.txt', 'projects']);
    expect(await readdir(srv.root)).to.include('top-secret.txt');
    expect(await page.locator('#toasts .toast.error').count()).to.equal(0);
    await page.screenshot({ path: join(SHOTS, 'auth-read-write.png'), fullPage: true });
    await Promise.all([page.waitForNavigation(), page.click('.logout button')]);
    await page.waitForURL(/\/dav\/\.dav\/login\?signedout=1/);
    expect(await page.textContent('#login-message')).to.equal('You are signed out.');
    await page.goto(url('/'));
    await page.waitForURL(/\/dav\/\.dav\/login\?next=/);
  });

  test('a read-only user sees no write controls, cannot write, and still views, searches and downloads', async () => {
    expectedStatuses = [403];
    const page = await signIn('bob', 'bob pw');
    expect(await names(page)).to.deep.equal(['docs', 'readme.txt']);
    expect(await styled(page)).to.equal(true);
    for (const sel of ['#upload-label', '#file-input', '#folder-input', '#new-folder', '#new-file', '#sel-move', '#sel-copy', '#sel-delete', '#editor', '#viewer-edit', '#picker-new']) {
      expect(await page.locator(sel).count(), sel).to.equal(0);
    }
    expect(await page.locator('button.op').count(), 'no rename/delete/edit buttons').to.equal(0);
    expect(await page.locator('a.op[download]').count(), 'downloads are offered').to.equal(1);
    expect(await page.textContent('.who .ro')).to.equal('read-only');
    // Selecting offers download only.
    await rowFor(page, 'readme.txt').locator('.pick').check();
    expect(await page.$$eval('#selection-bar button', (bs) => bs.map((b) => b.id))).to.deep.equal(['sel-download', 'sel-clear']);
    const [dl] = await Promise.all([page.waitForEvent('download'), page.click('#sel-download')]);
    expect(dl.suggestedFilename()).to.equal('readme.txt');
    // The viewer shows the file, without an edit button.
    await rowFor(page, 'readme.txt').locator('a.open').click();
    await page.locator('#viewer-content pre', { hasText: 'shared' }).waitFor();
    await page.keyboard.press('Escape');
    await page.screenshot({ path: join(SHOTS, 'auth-read-only.png'), fullPage: true });

    // Dropping files says why nothing happens, without sending anything.
    const dt = await page.evaluateHandle(() => {
      const d = new DataTransfer();
      d.items.add(new File(['dropped'], 'dropped.txt', { type: 'text/plain' }));
      return d;
    });
    await page.dispatchEvent('main', 'dragenter', { dataTransfer: dt });
    expect(await page.isVisible('#drop-overlay')).to.equal(false);
    await page.dispatchEvent('main', 'drop', { dataTransfer: dt });
    await toast(page, 'You have read-only access here: files cannot be uploaded.');

    // Forced anyway from the page's own script context: the server refuses with 403, shown in words.
    const forced = await page.evaluate(() =>
      Promise.all(
        [
          ['PUT', 'forced.txt'],
          ['MKCOL', 'forced-dir/'],
          ['DELETE', 'readme.txt'],
        ].map(([m, p]) => (window as unknown as { DavPage: { dav: (m: string, u: string) => Promise<{ status: number; text: string; type: string }> } }).DavPage.dav(m!, '/dav/' + p)),
      ),
    );
    expect(forced.map((r) => r.status)).to.deep.equal([403, 403, 403]);
    const msg = await page.evaluate((r) => (window as unknown as { DavPage: { describe: (...a: unknown[]) => string } }).DavPage.describe('upload', 'forced.txt', r.status, r.text, r.type), forced[0]!);
    expect(msg).to.equal('Could not upload "forced.txt": you have read-only access, so you can browse and download but not change files.');
    expect((await readdir(join(srv.root, 'shared'))).sort()).to.deep.equal(['docs', 'readme.txt']);
  });

  test('wrong credentials keep the form with a message and list nothing (the public assets still load)', async () => {
    expectedStatuses = [401];
    const page = await signIn('alice', 'not the password', false);
    expect(await page.textContent('#login-message')).to.equal('Wrong name or password.');
    expect(await page.locator('tr.entry').count()).to.equal(0);
    expect(await page.content()).to.not.contain('mine.txt');
    expect(await styled(page)).to.equal(true);
    const css = await page.goto(url('/.dav/assets/app.css'));
    expect(css!.status()).to.equal(200);
    expect(css!.headers()['content-type']).to.equal('text/css; charset=utf-8');
  });

  test("the browser's own Basic prompt still works for the page", async () => {
    context = await browser.newContext({ viewport: { width: 1024, height: 700 }, httpCredentials: { username: 'alice', password: 'alice pw' } });
    const page = await context.newPage();
    page.on('pageerror', (e) => problems.push(String(e)));
    await page.goto(url('/.dav/login?basic=1&next=%2Fdav%2Fprojects%2F'));
    await page.waitForURL(url('/projects/'));
    expect(await names(page)).to.include('plan #1.txt');
    expect(await page.textContent('.who .user')).to.equal('Signed in as alice');
    // Writes work with Basic too (no session, so no CSRF token is needed).
    await page.click('#new-folder');
    await dialogAnswer(page, 'basic made');
    await rowFor(page, 'basic made/').waitFor();
  });
});
