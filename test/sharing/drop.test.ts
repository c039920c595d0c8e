/**
 * File drops (upload-only links) against the real server: uploads from curl, cadaver and the
 * link's page in headless Chromium; nothing of what is there ever shows (listings are empty,
 * every read is 404 whether or not the name exists, a taken name is stored under a free one);
 * nothing but uploads is allowed; nothing escapes the dropped-into folder (traversal spellings,
 * Destination headers, COPY/MOVE); the owner's locks hold; the upload limit counts only uploads
 * that were stored.
 */
import { expect } from 'chai';
import { readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ensureBuilt } from '../helpers/dav.js';
import { lockBody } from '../helpers/server.js';
import { requireProgram, run } from '../helpers/run.js';
import { launchChromium } from '../browser/chromium.js';
import { cli, hrefsOf, put, startIdentityServer, type IdentityServer } from '../identity/helpers.js';

const USERS = 'users:\n  alice: { root: /alice, access: rw }\n';

describe('sharing: file drops', function () {
  this.timeout(180_000);
  let s: IdentityServer;
  let link: string;
  const drop = (rel: string): string => join(s.root, 'alice/inbox', rel);
  const dropped = async (): Promise<string[]> => (await readdir(join(s.root, 'alice/inbox'))).sort();
  const share = async (...args: string[]): Promise<string> => {
    const r = await cli(['share', 'add', '--user', 'alice', '/inbox', '--upload-only', ...args, ...s.cliOptions]);
    expect(r.code, r.stderr).to.equal(0);
    return r.stdout.trim().split('\n').pop()!;
  };

  before(async function () {
    this.timeout(300_000);
    await ensureBuilt(); // the CLI runs from dist/
  });
  beforeEach(async () => {
    s = await startIdentityServer({ alice: 'a-pw' }, USERS, { maxUpload: 1000 });
    await put(s.root, 'alice/inbox/taken.txt', 'ORIGINAL');
    await put(s.root, 'alice/private.txt', 'PRIVATE');
    link = await share();
  });
  afterEach(() => s.close());

  it('takes uploads from curl and cadaver and shows nothing of what is there', async () => {
    const curl = requireProgram('curl', 'curl');
    const cadaver = requireProgram('cadaver', 'cadaver');
    const up = await run(curl, ['-sS', '-o', '/dev/null', '-w', '%{http_code}', '-T', '-', `${s.base}${link}from-curl.txt`], { input: 'curl bytes' });
    expect(up.stdout).to.equal('201');
    const again = await run(curl, ['-sS', '-o', '/dev/null', '-w', '%{http_code}', '-T', '-', `${s.base}${link}taken.txt`], { input: 'MINE' });
    expect(again.stdout).to.equal('201');
    await writeFile(join(s.dir, 'cad.txt'), 'cadaver bytes');
    const cad = await run(cadaver, [`${s.base}${link}`], { input: `put ${join(s.dir, 'cad.txt')} from-cadaver.txt\nls\nquit\n`, cwd: s.dir });
    expect(cad.stdout).to.include('succeeded');
    expect(cad.stdout).to.include('collection is empty');
    expect(await dropped()).to.deep.equal(['from-cadaver.txt', 'from-curl.txt', 'taken (2).txt', 'taken.txt']);
    expect(await readFile(drop('taken.txt'), 'utf8')).to.equal('ORIGINAL');
    expect(await readFile(drop('taken (2).txt'), 'utf8')).to.equal('MINE');
    expect(await readFile(drop('from-cadaver.txt'), 'utf8')).to.equal('cadaver bytes');
    // Listings are empty, and every read answers alike whether or not the name exists.
    expect(hrefsOf((await s.req('PROPFIND', link, { headers: { Depth: '1' } })).body)).to.deep.equal([link]);
    expect(hrefsOf((await s.req('PROPFIND', link, { headers: { Depth: 'infinity' } })).body)).to.deep.equal([link]);
    expect((await s.req('GET', link, { headers: { Accept: 'text/plain' } })).body).to.equal('');
    for (const name of ['taken.txt', 'from-curl.txt', 'never-there.txt']) {
      for (const m of ['GET', 'HEAD', 'PROPFIND']) {
        const r = await s.req(m, `${link}${name}`, { headers: { Depth: '0' } });
        expect(r.status, `${m} ${name}`).to.equal(404);
        expect(r.body).to.not.include('ORIGINAL');
      }
    }
    const page = await s.req('GET', link, { headers: { Accept: 'text/html' } });
    expect(page.status).to.equal(200);
    expect(page.body).to.include('id="file-input"');
    expect(page.body).to.not.include('taken');
  });

  it('allows nothing but uploads of files directly into the folder', async () => {
    const refused: [string, string, Record<string, string>, string?][] = [
      ['DELETE', 'taken.txt', {}],
      ['MKCOL', 'dir', {}],
      ['PROPPATCH', 'taken.txt', { 'Content-Type': 'application/xml' }, '<?xml version="1.0"?><D:propertyupdate xmlns:D="DAV:"><D:set><D:prop><x xmlns="urn:x">1</x></D:prop></D:set></D:propertyupdate>'],
      ['LOCK', 'taken.txt', { 'Content-Type': 'application/xml' }, lockBody()],
      ['UNLOCK', 'taken.txt', { 'Lock-Token': '<urn:uuid:00000000-0000-0000-0000-000000000000>' }],
      ['COPY', 'taken.txt', { Destination: `${s.base}${link}copy.txt` }],
      ['MOVE', 'taken.txt', { Destination: `${s.base}${link}moved.txt` }],
    ];
    for (const [m, p, h, body] of refused) {
      const r = await s.req(m, `${link}${p}`, { headers: h, body });
      expect(r.status, m).to.equal(403);
      expect(r.body).to.equal('This link only takes uploads\n');
    }
    expect((await s.req('PUT', `${link}sub/x.txt`, { body: 'x' })).status).to.be.oneOf([403, 409]);
    expect(await dropped()).to.deep.equal(['taken.txt']);
  });

  it('never escapes the folder: traversal spellings and Destination headers, COPY and MOVE out of it', async () => {
    const before = (await readdir(join(s.root, 'alice'))).sort();
    for (const t of ['../escape.txt', '..%2fescape.txt', '%2e%2e/escape.txt', '%2E%2E%2Fescape.txt', 'a/../../escape.txt', '..%5cescape.txt', '.%2e/.%2e/escape.txt', '%2e%2e%2f%2e%2e%2fescape.txt']) {
      const r = await s.req('PUT', `${link}${t}`, { body: 'ESCAPED' });
      expect(r.status, t).to.be.oneOf([400, 403, 404, 409]);
    }
    // `%252e%252e` is a literal name (decoded once): stored inside the drop, not above it.
    expect((await s.req('PUT', `${link}%252e%252e`, { body: 'literal' })).status).to.equal(201);
    const outside = [`${s.base}/private.txt`, `${s.base}/alice/stolen.txt`, `${s.base}${link}../stolen.txt`, `${s.base}${link}%2e%2e/stolen.txt`, `${s.base}/.dav/s/AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA/x`, 'http://elsewhere.example/x', `${s.base}${link}inside.txt`];
    for (const dest of outside) {
      for (const m of ['COPY', 'MOVE']) {
        const r = await s.req(m, `${link}taken.txt`, { headers: { Destination: dest, Overwrite: 'T' } });
        expect(r.status, `${m} -> ${dest}`).to.equal(403);
      }
    }
    expect(await dropped()).to.deep.equal(['%2e%2e', 'taken.txt']);
    expect(await readFile(drop('taken.txt'), 'utf8')).to.equal('ORIGINAL');
    expect((await readdir(join(s.root, 'alice'))).sort()).to.deep.equal(before);
    expect(await readFile(join(s.root, 'alice/private.txt'), 'utf8')).to.equal('PRIVATE');
    expect((await readdir(s.root)).sort()).to.deep.equal(['.davmeta', 'alice']);
  });

  it('the owner\'s locks hold through the link, and only stored uploads count against the limit', async () => {
    const alice = s.as('alice', 'a-pw');
    const lock = await alice('LOCK', '/inbox', { 'Content-Type': 'application/xml', Depth: 'infinity' }, lockBody());
    expect(lock.status).to.equal(200);
    expect((await s.req('PUT', `${link}new.txt`, { body: 'x' })).status).to.equal(423);
    expect((await alice('UNLOCK', '/inbox', { 'Lock-Token': String(lock.headers['lock-token']) })).status).to.equal(204);
    const limited = await share('--max-uploads', '1');
    expect((await s.req('PUT', `${limited}too-big.bin`, { body: 'x'.repeat(2000) })).status).to.equal(413); // --max-upload 1000
    expect((await s.req('PUT', `${limited}one.txt`, { body: 'one' })).status).to.equal(201);
    const second = await s.req('PUT', `${limited}two.txt`, { body: 'two' });
    expect(second.status).to.equal(410);
    expect(second.body).to.include('upload limit');
    expect(await dropped()).to.deep.equal(['one.txt', 'taken.txt']);
  });

  it('the link\'s page uploads picked files in a browser and shows nothing that was there', async function () {
    const browser = await launchChromium();
    try {
      const page = await browser.newPage();
      await page.goto(`${s.base}${link}`);
      expect(await page.locator('h1').textContent()).to.equal('Upload files');
      expect(await page.content()).to.not.include('taken.txt');
      await writeFile(join(s.dir, 'taken.txt'), 'from the page');
      await writeFile(join(s.dir, 'photo.jpg'), 'JPEG');
      await page.setInputFiles('#file-input', [join(s.dir, 'taken.txt'), join(s.dir, 'photo.jpg')]);
      await page.locator('#upload-list li.done').nth(1).waitFor({ timeout: 20_000 });
      expect(await page.locator('#upload-list li .ustatus').allTextContents()).to.deep.equal(['uploaded', 'uploaded']);
    } finally {
      await browser.close();
    }
    expect(await dropped()).to.deep.equal(['photo.jpg', 'taken (2).txt', 'taken.txt']);
    expect(await readFile(drop('taken (2).txt'), 'utf8')).to.equal('from the page');
  });
});
