/**
 * The file page under authentication, over plain HTTP: --htpasswd + --users + --prefix. Links and
 * breadcrumbs follow the user's own root; a read-only user's page carries no write controls and
 * the server refuses their writes with a plain-text 403; assets load without credentials (and
 * never reach storage); wrong credentials are 401.
 */
import { expect } from 'chai';
import { mkdir, readdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { makeTempDir, startTestServer, type TestServer } from '../helpers/server.js';
import { basic, writeHtpasswd } from '../helpers/auth.js';

const HTML = { Accept: 'text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8' };
const ALICE = basic('alice', 'alice pw');
const BOB = basic('bob', 'bob pw');
const rowNames = (html: string): string[] => [...html.matchAll(/<tr class="entry[^"]*" data-name="([^"]*)"/g)].map((m) => m[1]!);

describe('browser page under authentication (HTTP)', () => {
  let dir: string;
  let srv: TestServer;

  before(async () => {
    dir = await makeTempDir('page-auth');
    const htpasswd = await writeHtpasswd(dir, { alice: 'alice pw', bob: 'bob pw', '<b>eve</b>': 'eve pw' });
    const users = join(dir, 'users.json');
    await writeFile(
      users,
      JSON.stringify({
        users: {
          alice: { root: '/home/alice', access: 'read-write' },
          bob: { root: '/shared', access: 'read-only' },
          '<b>eve</b>': { root: '/shared', access: 'read-write' },
        },
      }),
    );
    srv = await startTestServer({ prefix: '/dav', lockStore: 'memory', htpasswd, users });
    await mkdir(join(srv.root, 'home', 'alice', 'projects'), { recursive: true });
    await writeFile(join(srv.root, 'home', 'alice', 'projects', 'plan.txt'), 'plan');
    await writeFile(join(srv.root, 'home', 'alice', 'mine.txt'), 'mine');
    await mkdir(join(srv.root, 'shared', 'docs'), { recursive: true });
    await writeFile(join(srv.root, 'shared', 'readme.txt'), 'shared');
    await writeFile(join(srv.root, 'top-secret.txt'), 'nobody sees this');
  });
  after(async () => {
    await srv.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('asks a browser without credentials, or with wrong ones, to sign in (401 + Basic challenge)', async () => {
    for (const auth of [undefined, basic('alice', 'wrong'), basic('nobody', 'alice pw')]) {
      const res = await srv.req('GET', '/dav/', { headers: auth ? { ...HTML, Authorization: auth } : HTML });
      expect(res.status, String(auth)).to.equal(401);
      expect(res.headers['www-authenticate']).to.match(/^Basic realm="[^"]+", charset="UTF-8"$/);
      expect(res.body).to.not.contain('mine.txt').and.not.contain('readme.txt').and.not.contain('top-secret');
    }
  });

  it('lists the read-write user their own root, with links, breadcrumbs and write controls relative to it', async () => {
    const res = await srv.req('GET', '/dav/projects/', { headers: { ...HTML, Authorization: ALICE } });
    expect(res.status).to.equal(200);
    expect(rowNames(res.body)).to.deep.equal(['plan.txt']);
    expect(res.body).to.contain('<li><a href="/dav/">Home</a></li><li><a href="/dav/projects/" aria-current="page">projects</a></li>');
    expect(res.body).to.contain('href="/dav/projects/plan.txt"');
    expect(res.body).to.contain('data-base="/dav/projects/" data-root="/dav/" data-access="read-write"');
    expect(res.body).to.contain('<div class="actions" id="write-actions">');
    expect(res.body).to.contain('data-op="rename"').and.contain('data-op="delete"');
    expect(res.body).to.contain('<span>Signed in as <strong>alice</strong></span>');
    expect(res.body).to.not.contain('home/alice').and.not.contain('top-secret');
    const root = await srv.req('GET', '/dav/', { headers: { ...HTML, Authorization: ALICE } });
    expect(rowNames(root.body)).to.deep.equal(['projects', 'mine.txt']);
    // The link downloads the file it names.
    const dl = await srv.req('GET', '/dav/projects/plan.txt', { headers: { Authorization: ALICE } });
    expect(dl.status).to.equal(200);
    expect(dl.body).to.equal('plan');
  });

  it('gives a read-only user the page without write controls', async () => {
    const res = await srv.req('GET', '/dav/', { headers: { ...HTML, Authorization: BOB } });
    expect(res.status).to.equal(200);
    expect(rowNames(res.body)).to.deep.equal(['docs', 'readme.txt']);
    expect(res.body).to.contain('data-access="read-only"');
    expect(res.body).to.not.contain('id="write-actions"').and.not.contain('id="file-input"').and.not.contain('id="sel-delete"').and.not.contain('id="editor"');
    expect(res.body).to.not.contain('data-op="rename"').and.not.contain('data-op="delete"');
    expect(res.body).to.contain('<span class="ro" title="You can browse and download, not change files">read-only</span>');
    const empty = await srv.req('GET', '/dav/docs/', { headers: { ...HTML, Authorization: BOB } });
    expect(empty.body).to.contain('<p class="empty">This folder is empty.</p>');
  });

  it('refuses every write of a read-only user with a plain-text 403 the page can put in words', async () => {
    const writes: [string, string, Record<string, string>][] = [
      ['PUT', '/dav/new.txt', {}],
      ['MKCOL', '/dav/newdir/', {}],
      ['MOVE', '/dav/readme.txt', { Destination: `${srv.base}/dav/moved.txt` }],
      ['DELETE', '/dav/readme.txt', {}],
    ];
    for (const [method, path, headers] of writes) {
      const res = await srv.req(method, path, { headers: { ...headers, Authorization: BOB }, body: method === 'PUT' ? 'x' : undefined });
      expect(res.status, method).to.equal(403);
      expect(res.headers['content-type']).to.equal('text/plain; charset=utf-8');
      expect(res.body).to.equal('Read-only access\n');
    }
    expect((await readdir(join(srv.root, 'shared'))).sort()).to.deep.equal(['docs', 'readme.txt']);
  });

  it('lets the read-write user upload, create, move and delete inside their root only', async () => {
    const auth = { Authorization: ALICE };
    expect((await srv.req('PUT', '/dav/up%20%231.txt', { headers: { ...auth, 'If-None-Match': '*' }, body: 'up' })).status).to.equal(201);
    expect((await srv.req('MKCOL', '/dav/made/', { headers: auth })).status).to.equal(201);
    const move = await srv.req('MOVE', '/dav/up%20%231.txt', { headers: { ...auth, Destination: `${srv.base}/dav/made/up%20%231.txt`, Overwrite: 'F' } });
    expect(move.status).to.equal(201);
    expect(await readdir(join(srv.root, 'home', 'alice', 'made'))).to.deep.equal(['up #1.txt']);
    expect((await srv.req('DELETE', '/dav/made/', { headers: auth })).status).to.equal(204);
    expect((await readdir(join(srv.root, 'home', 'alice'))).sort()).to.deep.equal(['mine.txt', 'projects']);
    // A Destination cannot climb out of the user's root.
    const out = await srv.req('MOVE', '/dav/mine.txt', { headers: { ...auth, Destination: `${srv.base}/dav/../../top-secret.txt` } });
    expect(out.status).to.be.within(400, 499);
    expect((await readdir(srv.root)).sort()).to.include('top-secret.txt');
  });

  it('escapes the user name it shows', async () => {
    const res = await srv.req('GET', '/dav/', { headers: { ...HTML, Authorization: basic('<b>eve</b>', 'eve pw') } });
    expect(res.status).to.equal(200);
    expect(res.body).to.contain('Signed in as <strong>&lt;b&gt;eve&lt;/b&gt;</strong>');
    expect(res.body).to.not.contain('<b>eve');
  });

  it('serves the page assets without credentials, and nothing else', async () => {
    for (const name of ['app.js', 'app.css']) {
      const res = await srv.req('GET', `/dav/.dav/assets/${name}`);
      expect(res.status, name).to.equal(200);
      expect(res.headers['www-authenticate']).to.equal(undefined);
      expect(res.headers.etag).to.match(/^"[\w-]{22}"$/);
      const head = await srv.req('HEAD', `/dav/.dav/assets/${name}`);
      expect(head.status).to.equal(200);
      expect(await srv.req('GET', `/dav/.dav/assets/${name}`, { headers: { 'If-None-Match': res.headers.etag! } })).to.have.property('status', 304);
      // The same bytes as a signed-in user gets.
      const authed = await srv.req('GET', `/dav/.dav/assets/${name}`, { headers: { Authorization: ALICE } });
      expect(authed.raw.equals(res.raw)).to.equal(true);
    }
    // Unknown, repeated or misplaced asset names, and other methods, answer without listing anything.
    for (const [method, path, status] of [
      ['GET', '/dav/.dav/assets/..%2F..%2Fpackage.json', 404],
      ['GET', '/dav/.dav/assets/../../readme.txt', 404],
      ['GET', '/dav/.dav/assets/', 404],
      ['GET', '/dav/.dav/', 404],
      ['GET', '/dav/docs/.dav/assets/app.js', 401],
      ['GET', '/.dav/assets/app.js', 401],
      ['PUT', '/dav/.dav/assets/app.js', 405],
      ['DELETE', '/dav/.dav/assets/app.js', 405],
      ['PROPFIND', '/dav/.dav/assets/app.js', 405],
    ] as const) {
      const res = await srv.req(method, path, { headers: { ...HTML, Depth: '1' } });
      expect(res.status, `${method} ${path}`).to.equal(status);
      expect(res.body).to.not.contain('readme').and.not.contain('mine.txt').and.not.contain('top-secret');
    }
  });
});
