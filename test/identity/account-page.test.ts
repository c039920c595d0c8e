/**
 * The account page in headless Chromium, signed in through the page's form (a session, with its
 * CSRF token on every change): make an app password (shown once, then it
 * works), make a share link (it works without an account), see both listed with last use and
 * use counts, revoke both (they stop working at once).
 */
import { expect } from 'chai';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { launchChromium } from '../browser/chromium.js';
import { startIdentityServer, type IdentityServer } from './helpers.js';

describe('identity: the account page (app passwords and share links) in a browser', function () {
  this.timeout(120_000);
  let s: IdentityServer;

  beforeEach(async () => {
    s = await startIdentityServer({ alice: 'a-pw' }, 'users:\n  alice: { root: /alice, access: rw }\n');
    await mkdir(join(s.root, 'alice/docs'), { recursive: true });
    await writeFile(join(s.root, 'alice/docs/a.txt'), 'A');
  });
  afterEach(() => s.close());

  it('makes, lists and revokes app passwords and links', async () => {
    const browser = await launchChromium();
    try {
      const page = await browser.newPage();
      page.on('dialog', (d) => void d.accept());
      // Signed in through the page's form: a session cookie, and its CSRF token on every change.
      await page.goto(`${s.base}/.dav/account`);
      expect(page.url()).to.include('/.dav/login');
      await page.fill('#user', 'alice');
      await page.fill('#password', 'a-pw');
      await Promise.all([page.waitForURL(/\/\.dav\/account$/), page.click('button[type=submit]')]);
      expect(await page.locator('.who strong').textContent()).to.equal('alice');
      expect(await page.locator('link[href$="app.css"]').count()).to.equal(1);

      await page.fill('#ap-form input[name=label]', 'phone');
      await page.fill('#ap-form input[name=scope]', '/docs');
      await page.check('#ap-form input[name=readOnly]');
      await page.click('#ap-form button[type=submit]');
      const password = (await page.locator('#ap-password').textContent())!;
      expect(password).to.match(/^dav_[a-z2-7]{8}_[a-z2-7]{32}$/);
      const phone = s.as('alice', password);
      expect((await phone('GET', '/docs/a.txt')).body).to.equal('A');
      expect((await phone('PUT', '/docs/b.txt', {}, 'b')).status).to.equal(403);
      // An app password opens WebDAV, never a page session (that would drop its scope).
      const form = { 'Content-Type': 'application/x-www-form-urlencoded', Origin: s.base };
      const login = await s.req('POST', '/.dav/login', { headers: form, body: `user=alice&password=${encodeURIComponent(password)}` });
      expect(login.status).to.equal(401);
      expect(String(login.headers['set-cookie'] ?? '')).to.not.include('dav_session=v1');
      expect((await s.req('POST', '/.dav/login', { headers: form, body: 'user=alice&password=a-pw' })).status).to.equal(303);
      await page.reload();
      const apRow = page.locator('#ap-list tr');
      await apRow.first().waitFor();
      expect(await apRow.first().locator('td').allTextContents()).to.include.members(['phone', '/docs', 'read-only']);
      expect(await apRow.first().locator('td').nth(4).textContent()).to.match(/ UTC from 127\.0\.0\.1$/);

      await page.fill('#sh-form input[name=path]', '/docs');
      await page.fill('#sh-form input[name=maxDownloads]', '3');
      await page.click('#sh-form button[type=submit]');
      const url = (await page.locator('#sh-url').getAttribute('href'))!;
      expect(url).to.match(/^\/\.dav\/s\/[A-Za-z0-9_-]{32}\/$/);
      expect((await s.req('GET', `${url}a.txt`)).body).to.equal('A');
      await page.reload();
      const shRow = page.locator('#sh-list tr');
      await shRow.first().waitFor();
      expect(await shRow.first().locator('td').nth(4).textContent()).to.equal('1 / 3');

      await shRow.first().locator('button', { hasText: 'Revoke' }).click();
      await shRow.first().waitFor({ state: 'detached' });
      expect((await s.req('GET', `${url}a.txt`)).status).to.equal(404);
      await apRow.first().locator('button', { hasText: 'Revoke' }).click();
      await apRow.first().waitFor({ state: 'detached' });
      expect((await phone('GET', '/docs/a.txt')).status).to.equal(401);
      expect(await page.locator('#messages .toast.error').count()).to.equal(0);
    } finally {
      await browser.close();
    }
  });
});
