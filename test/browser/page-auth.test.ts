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
import { dialogAnswer, launchChromium, names, rowFor } from './chromium.js';
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

  /** A page in a fresh context signed in as `user` (playwright answers the Basic challenge). */
  async function signIn(user: string, password: string): Promise<Page> {
    context = await browser.newContext({ viewport: { width: 1280, height: 800 }, httpCredentials: { username: user, password } });
    const page = await context.newPage();
    page.on('dialog', (d) => {
      problems.push(`dialog: ${d.message()}`);
      void d.dismiss();
    });
    page.on('pageerror', (e) => problems.push(String(e)));
    page.on('console', (m) => {
      const failed = /^Failed to load resource: the server responded with a status of (\d+)/.exec(m.text());
      if (m.type() === 'error' && !(failed && expectedStatuses.includes(Number(failed[1])))) problems.push(m.text());
    });
    page.on('response', (r) => responses.push([r.request().method(), new URL(r.url()).pathname + new URL(r.url()).search, r.status()]));
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
    const res = await page.goto(url('/'));
    expect(res!.status()).to.equal(200);
    expect(await names(page)).to.deep.equal(['projects', 'mine.txt']);
    expect(await page.textContent('.who')).to.equal('Signed in as alice');
    expect(await page.isVisible('#new-folder')).to.equal(true);
    expect(await page.isVisible('#upload-label')).to.equal(true);
    expect(await styled(page)).to.equal(true);
    // Both assets loaded (Chromium would retry a challenged one with the credentials it holds).
    const assets = responses.filter(([, u]) => u.includes('/.dav/assets/'));
    expect(assets.map(([, u, s]) => [u, s]).sort()).to.deep.equal([
      ['/dav/.dav/assets/app.css', 200],
      ['/dav/.dav/assets/app.js', 200],
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

    // Create a folder, rename it, then delete it.
    await page.click('#new-folder');
    await dialogAnswer(page, 'new folder 😀');
    await rowFor(page, 'new folder 😀/').waitFor();
    expect((await stat(join(srv.root, 'home', 'alice', 'projects', 'new folder 😀'))).isDirectory()).to.equal(true);
    await rowFor(page, 'new folder 😀/').locator('button[data-op="rename"]').click();
    await dialogAnswer(page, '/moved up');
    await page.waitForFunction(() => !document.querySelector('tr.entry[data-name="new folder 😀"]'));
    expect((await stat(join(srv.root, 'home', 'alice', 'moved up'))).isDirectory()).to.equal(true);
    await page.click('.crumbs >> text=Home');
    await page.waitForURL(url('/'));
    await rowFor(page, 'moved up/').locator('button[data-op="delete"]').click();
    await dialogAnswer(page);
    await page.waitForFunction(() => !document.querySelector('tr.entry[data-name="moved up"]'));
    expect((await readdir(join(srv.root, 'home', 'alice'))).sort()).to.deep.equal(['mine.txt', 'projects']);
    expect(await readdir(srv.root)).to.include('top-secret.txt');
    expect(await page.locator('#messages .msg.error').count()).to.equal(0);
    await page.screenshot({ path: join(SHOTS, 'auth-read-write.png'), fullPage: true });
  });

  test('a read-only user sees no write controls, and a forced write ends in a readable message', async () => {
    expectedStatuses = [403];
    const page = await signIn('bob', 'bob pw');
    expect((await page.goto(url('/')))!.status()).to.equal(200);
    expect(await names(page)).to.deep.equal(['docs', 'readme.txt']);
    expect(await styled(page)).to.equal(true);
    expect(await page.isVisible('#upload-label')).to.equal(false);
    expect(await page.isVisible('#new-folder')).to.equal(false);
    expect(await page.locator('button.op').count()).to.equal(0);
    expect(await page.textContent('.who')).to.equal('Signed in as bob · read-only: you can browse and download, not change files');
    await page.screenshot({ path: join(SHOTS, 'auth-read-only.png'), fullPage: true });
    // Downloads work.
    expect(await page.$eval('tr.entry:not(.dir) td.name a', async (a) => (await fetch((a as HTMLAnchorElement).href)).text())).to.equal('shared\n');

    // Dropping files says why nothing happens, without sending anything.
    const dt = await page.evaluateHandle(() => {
      const d = new DataTransfer();
      d.items.add(new File(['dropped'], 'dropped.txt', { type: 'text/plain' }));
      return d;
    });
    await page.dispatchEvent('main', 'dragenter', { dataTransfer: dt });
    expect(await page.isVisible('#drop-overlay')).to.equal(false);
    await page.dispatchEvent('main', 'drop', { dataTransfer: dt });
    await page.locator('#messages .msg.error', { hasText: 'You have read-only access here: files cannot be uploaded.' }).waitFor();

    // Forced anyway (the hidden controls still work): the server's 403 becomes a sentence.
    await page.setInputFiles('#file-input', [{ name: 'forced.txt', mimeType: 'text/plain', buffer: Buffer.from('no') }]);
    await page
      .locator('#messages .msg.error', { hasText: 'Could not upload "forced.txt": you have read-only access, so you can browse and download but not change files.' })
      .waitFor();
    expect(await page.textContent('#upload-list .ustatus')).to.equal('Failed');
    await page.$eval('.actions', (e) => e.removeAttribute('hidden'));
    await page.click('#new-folder');
    await dialogAnswer(page, 'forced dir');
    await page.locator('#messages .msg.error', { hasText: 'Could not create folder "forced dir": you have read-only access' }).waitFor();
    expect(responses.filter(([m]) => m === 'PUT' || m === 'MKCOL').map(([m, , s]) => [m, s])).to.deep.equal([
      ['PUT', 403],
      ['MKCOL', 403],
    ]);
    expect((await readdir(join(srv.root, 'shared'))).sort()).to.deep.equal(['docs', 'readme.txt']);
    expect(await page.textContent('#messages')).to.not.match(/<\?xml|<D:|Read-only access\b/);
  });

  test('wrong credentials get 401 and no listing (but the public assets)', async () => {
    expectedStatuses = [401];
    const page = await signIn('alice', 'not the password');
    const res = await page.goto(url('/'));
    expect(res!.status()).to.equal(401);
    expect(res!.headers()['www-authenticate']).to.equal('Basic realm="Files", charset="UTF-8"');
    expect(await page.locator('tr.entry').count()).to.equal(0);
    expect(await page.content()).to.not.contain('mine.txt');
    // The page's assets need no credentials: a browser that has none still gets them.
    const css = await page.goto(url('/.dav/assets/app.css'));
    expect(css!.status()).to.equal(200);
    expect(css!.headers()['content-type']).to.equal('text/css; charset=utf-8');
    expect((await page.goto(url('/.dav/assets/app.js')))!.status()).to.equal(200);
  });
});
