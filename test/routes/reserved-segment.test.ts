/**
 * The reserved `<prefix>/.dav/` segment: routed by @koa/router, never a stored name, never
 * listed, public routes answered without credentials and user routes only with them.
 */
import { expect } from 'chai';
import { mkdir, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { startServer, type RunningServer } from '../../src/app.js';
import type { FeatureRoutes } from '../../src/routes/index.js';
import { makeTempDir, repoRoot, request, startTestServer, type TestServer } from '../helpers/server.js';
import { basic, writeHtpasswd } from '../helpers/auth.js';
import { multistatus } from '../helpers/dav.js';

const RESERVED_BODY = /reserved for the server's own pages and endpoints/;

describe('reserved /.dav/ segment', () => {
  describe('without auth, under --prefix', () => {
    let srv: TestServer;
    before(async () => {
      srv = await startTestServer({ prefix: '/dav', lockStore: 'memory' });
      await writeFile(join(srv.root, 'a.txt'), 'a');
      // A `.dav` folder already on disk (made before the segment was reserved) stays invisible.
      await mkdir(join(srv.root, '.dav', 'assets'), { recursive: true });
      await writeFile(join(srv.root, '.dav', 'secret.txt'), 'on disk');
      await writeFile(join(srv.root, '.dav', 'assets', 'app.js'), 'stored, not the asset');
      await mkdir(join(srv.root, '.DAV'));
    });
    after(() => srv.close());

    // Types, ETags and 304 of the assets: test/browser/page-http.test.ts. Here: the route itself.
    it('serves the page assets at <prefix>/.dav/assets/NAME: the files themselves, HEAD without a body', async () => {
      for (const name of ['app.js', 'app.css']) {
        const res = await srv.req('GET', `/dav/.dav/assets/${name}`);
        expect(res.status).to.equal(200);
        expect(res.raw.equals(await readFile(join(repoRoot, 'src', 'browser', 'assets', name)))).to.equal(true);
        const head = await srv.req('HEAD', `/dav/.dav/assets/${name}`);
        expect([head.status, head.headers['content-length'], head.raw.length]).to.deep.equal([200, String(res.raw.length), 0]);
      }
    });

    it('links the assets from the page under the prefix', async () => {
      const page = await srv.req('GET', '/dav/', { headers: { Accept: 'text/html' } });
      expect(page.body).to.contain('<script src="/dav/.dav/assets/app.js" defer></script>');
      expect(page.body).to.contain('<link rel="stylesheet" href="/dav/.dav/assets/app.css">');
    });

    it('answers 404 with a clear body for unknown routes, whatever the method', async () => {
      for (const [method, path] of [
        ['GET', '/dav/.dav'],
        ['GET', '/dav/.dav/'],
        ['GET', '/dav/.dav/secret.txt'],
        ['GET', '/dav/.dav/assets/'],
        ['GET', '/dav/%2Edav/assets/app.js'],
        ['GET', '/dav/.DAV/assets/app.js'],
        ['PUT', '/dav/.dav/new.txt'],
        ['PUT', '/dav/.dav'],
        ['MKCOL', '/dav/.dav/'],
        ['MKCOL', '/dav/.dav/x/'],
        ['DELETE', '/dav/.dav/'],
        ['PROPFIND', '/dav/.dav/'],
        ['LOCK', '/dav/.dav/x'],
        ['MOVE', '/dav/.dav/secret.txt'],
        ['COPY', '/dav/.dav/secret.txt'],
      ] as const) {
        const res = await srv.req(method, path, { body: method === 'PUT' ? 'x' : undefined, headers: { Destination: '/dav/copied.txt' } });
        expect(res.status, `${method} ${path}`).to.equal(404);
        expect(res.body, `${method} ${path}`).to.match(RESERVED_BODY);
      }
      for (const name of ['nope.js', '..%2F..%2Fa.txt', 'secret.txt']) {
        const res = await srv.req('GET', `/dav/.dav/assets/${name}`);
        expect(res.status, name).to.equal(404);
        expect(res.body, name).to.equal('No such asset\n');
      }
      expect(await readdir(srv.root)).to.have.members(['a.txt', '.dav', '.DAV', '.davmeta']);
      expect(await readdir(join(srv.root, '.dav'))).to.have.members(['assets', 'secret.txt']);
    });

    it('answers 405 with Allow for a route that lacks the method (WebDAV methods included)', async () => {
      for (const method of ['PUT', 'DELETE', 'PROPFIND', 'PROPPATCH', 'MKCOL', 'LOCK', 'POST']) {
        const res = await srv.req(method, '/dav/.dav/assets/app.js', { body: method === 'PUT' ? 'x' : undefined });
        expect(res.status, method).to.equal(405);
        expect(res.headers.allow, method).to.equal('HEAD, GET');
      }
      const options = await srv.req('OPTIONS', '/dav/.dav/assets/app.js');
      expect(options.status).to.equal(200);
      expect(options.headers.allow).to.equal('HEAD, GET');
    });

    it('refuses /.dav as a COPY or MOVE destination (any spelling) and stores nothing', async () => {
      for (const method of ['COPY', 'MOVE']) {
        for (const dest of ['/dav/.dav', '/dav/.dav/', '/dav/.dav/a.txt', '/dav/%2edav/a.txt', `${srv.base}/dav/.dav/a.txt`, '/dav/.Dav/a.txt', '/dav//.dav/a.txt']) {
          const res = await srv.req(method, '/dav/a.txt', { headers: { Destination: dest } });
          expect(res.status, `${method} -> ${dest}`).to.equal(403);
          expect(res.body).to.contain('Reserved name');
        }
      }
      expect(await readFile(join(srv.root, 'a.txt'), 'utf8')).to.equal('a');
      expect(await readdir(join(srv.root, '.dav'))).to.have.members(['assets', 'secret.txt']);
    });

    it('refuses other spellings of the segment that reach storage', async () => {
      // `//.dav` is not the segment to the router, but path resolution makes it /.dav: reserved.
      expect((await srv.req('PUT', '/dav//.dav/x.txt', { body: 'x' })).status).to.equal(403);
      expect((await srv.req('GET', '/dav//.dav/secret.txt')).status).to.equal(404);
      expect((await srv.req('MKCOL', '/dav/.DAV/sub/')).status).to.equal(404);
    });

    it('never lists the segment (PROPFIND, the page, plain text)', async () => {
      const ms = multistatus(await srv.req('PROPFIND', '/dav/', { headers: { Depth: '1' } }));
      expect([...ms.keys()].sort()).to.deep.equal(['/dav/', '/dav/a.txt']);
      const html = await srv.req('GET', '/dav/', { headers: { Accept: 'text/html' } });
      expect(html.body).to.not.match(/data-name="\.dav/i);
      const text = await srv.req('GET', '/dav/', { headers: { Accept: 'text/plain' } });
      expect(text.body.trim().split('\n')).to.deep.equal(['a.txt']);
    });

    it('is only the top segment: a .dav folder deeper down is an ordinary name', async () => {
      expect((await srv.req('MKCOL', '/dav/sub/')).status).to.equal(201);
      expect((await srv.req('MKCOL', '/dav/sub/.dav/')).status).to.equal(201);
      expect((await srv.req('PUT', '/dav/sub/.dav/f.txt', { body: 'f' })).status).to.equal(201);
      expect((await srv.req('GET', '/dav/sub/.dav/f.txt')).body).to.equal('f');
      expect((await srv.req('DELETE', '/dav/sub/')).status).to.equal(204);
    });
  });

  describe('under auth, with per-user roots', () => {
    let dir: string;
    let running: RunningServer;
    let base: string;
    const ALICE = basic('alice', 'alice pw');
    // A route that needs a user and one that does not, declared the way feature modules do.
    const testRoutes: FeatureRoutes = () => [
      { methods: ['GET'], path: '/test/whoami', access: 'user', handler: (ctx) => void (ctx.body = { user: ctx.state.user ?? null, readOnly: ctx.state.readOnly ?? null }) },
      { methods: ['POST'], path: '/test/echo/:word', access: 'public', handler: (ctx) => void (ctx.body = `word=${ctx.params.word}`) },
    ];
    before(async () => {
      dir = await makeTempDir('reserved-auth');
      const root = join(dir, 'root');
      await mkdir(join(root, 'alice', '.dav'), { recursive: true });
      await writeFile(join(root, 'alice', '.dav', 'hidden.txt'), 'x');
      await writeFile(join(root, 'alice', 'mine.txt'), 'mine');
      const htpasswd = await writeHtpasswd(dir, { alice: 'alice pw', bob: 'bob pw' });
      const users = join(dir, 'users.json');
      await writeFile(users, JSON.stringify({ users: { alice: { root: '/alice', access: 'rw' }, bob: { root: '/', access: 'ro' } } }));
      running = await startServer({ root, host: '127.0.0.1', port: 0, quiet: true, lockStore: 'memory', htpasswd, users }, { log: () => undefined, routes: [testRoutes] });
      base = `http://127.0.0.1:${running.port}`;
    });
    after(async () => {
      await running.close();
      await rm(dir, { recursive: true, force: true });
    });

    it('serves public routes without credentials', async () => {
      const asset = await request(base, 'GET', '/.dav/assets/app.css');
      expect(asset.status).to.equal(200);
      expect(asset.headers['www-authenticate']).to.equal(undefined);
      const echo = await request(base, 'POST', '/.dav/test/echo/h%C3%A9llo%20there');
      expect(echo.status).to.equal(200);
      // Router params are decoded once.
      expect(echo.body).to.equal('word=héllo there');
    });

    it('runs authentication before user routes, with the user handed over', async () => {
      const anon = await request(base, 'GET', '/.dav/test/whoami');
      expect(anon.status).to.equal(401);
      expect(anon.headers['www-authenticate']).to.match(/^Basic realm=/);
      const wrong = await request(base, 'GET', '/.dav/test/whoami', { headers: { Authorization: basic('alice', 'nope') } });
      expect(wrong.status).to.equal(401);
      const alice = await request(base, 'GET', '/.dav/test/whoami', { headers: { Authorization: ALICE } });
      expect(alice.status).to.equal(200);
      expect(JSON.parse(alice.body)).to.deep.equal({ user: 'alice', readOnly: false });
      const bob = await request(base, 'GET', '/.dav/test/whoami', { headers: { Authorization: basic('bob', 'bob pw') } });
      expect(JSON.parse(bob.body)).to.deep.equal({ user: 'bob', readOnly: true });
    });

    it('unknown routes answer 404 before any credentials are asked, and never reach storage', async () => {
      const res = await request(base, 'GET', '/.dav/hidden.txt', { headers: { Authorization: ALICE } });
      expect(res.status).to.equal(404);
      expect(res.body).to.match(RESERVED_BODY);
      expect((await request(base, 'GET', '/.dav/nothing')).status).to.equal(404);
    });

    it('hides a .dav folder at the top of a user root from that user', async () => {
      const ms = multistatus(await request(base, 'PROPFIND', '/', { headers: { Depth: '1', Authorization: ALICE } }));
      expect([...ms.keys()].sort()).to.deep.equal(['/', '/mine.txt']);
      const put = await request(base, 'PUT', '/x.txt', { headers: { Authorization: ALICE }, body: 'x' });
      expect(put.status).to.equal(201);
      const copy = await request(base, 'COPY', '/x.txt', { headers: { Authorization: ALICE, Destination: '/.dav/x.txt' } });
      expect(copy.status).to.equal(403);
    });
  });
});
