/**
 * createWebdav(): the server as middleware in a host Koa app, mounted with @koa/router and with
 * koa-mount. Hrefs, Location, Destination, If tags, lock roots and the page follow the mount
 * path; the host's own routes answer beside it; the host's authentication hands the user over.
 */
import { expect } from 'chai';
import Koa from 'koa';
import Router from '@koa/router';
import mount from 'koa-mount';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { connect, type Socket } from 'node:net';
import { createServer as createHttpsServer } from 'node:https';
import { readFileSync } from 'node:fs';
import { makeCert } from '../helpers/auth.js';
import { createWebdav, WEBDAV_METHODS, type Webdav } from '../../src/index.js';
import { makeTempDir } from '../helpers/server.js';
import { davError, ifToken, lockOk, multistatus } from '../helpers/dav.js';
import { listen, type Host } from './host.js';

const HTML = { Accept: 'text/html' };

async function exercise(host: Host, root: string, at: string): Promise<void> {
  const s = host.asTestServer(root);
  expect((await host.req('PUT', `${at}/a.txt`, { body: 'hello' })).status).to.equal(201);
  expect(await readFile(join(root, 'a.txt'), 'utf8')).to.equal('hello');
  expect((await host.req('MKCOL', `${at}/dir/`)).status).to.equal(201);
  const ms = multistatus(await host.req('PROPFIND', `${at}/`, { headers: { Depth: '1' } }));
  expect([...ms.keys()].sort()).to.deep.equal([`${at}/`, `${at}/a.txt`, `${at}/dir/`]);
  // Destination as an absolute URL and as a path, both through the mount path.
  const copy = await host.req('COPY', `${at}/a.txt`, { headers: { Destination: `${host.base}${at}/dir/b.txt` } });
  expect(copy.status).to.equal(201);
  expect(copy.headers.location).to.equal(`${at}/dir/b.txt`);
  expect((await host.req('MOVE', `${at}/dir/b.txt`, { headers: { Destination: `${at}/c.txt` } })).status).to.equal(201);
  expect(await readFile(join(root, 'c.txt'), 'utf8')).to.equal('hello');
  // Lock roots and 423 bodies name the public URL; an If tag with the public URL is understood.
  const { token, res } = await lockOk(s, `${at}/c.txt`);
  expect(res.body).to.contain(`<D:lockroot><D:href>${at}/c.txt</D:href></D:lockroot>`);
  expect(davError(await host.req('PUT', `${at}/c.txt`, { body: 'x' }), 423, 'lock-token-submitted')).to.deep.equal([`${at}/c.txt`]);
  expect((await host.req('PUT', `${at}/c.txt`, { body: 'tagged', headers: { If: `<${host.base}${at}/c.txt> (<${token}>)` } })).status).to.equal(204);
  expect((await host.req('UNLOCK', `${at}/c.txt`, { headers: { 'Lock-Token': `<${token}>` } })).status).to.equal(204);
  // The page and its assets live under the mount path too.
  const page = await host.req('GET', `${at}/`, { headers: HTML });
  expect(page.status).to.equal(200);
  expect(page.body).to.contain(`<script src="${at}/.dav/assets/app.js" defer></script>`);
  expect((await host.req('GET', `${at}/.dav/assets/app.css`)).status).to.equal(200);
  expect((await host.req('PUT', `${at}/.dav/x`, { body: 'x' })).status).to.equal(404);
  expect((await host.req('GET', `${at}/c.txt`)).body).to.equal('tagged');
}

describe('embedding: createWebdav() in a host Koa app', () => {
  let root: string;
  let webdav: Webdav | undefined;
  let host: Host | undefined;
  beforeEach(async () => {
    root = await makeTempDir('embed');
  });
  afterEach(async () => {
    await host?.close();
    await webdav?.close();
    host = webdav = undefined;
    await rm(root, { recursive: true, force: true });
  });

  it('@koa/router: router.all("/dav{/*path}") serves WebDAV at /dav beside the host routes', async () => {
    webdav = await createWebdav({ root, lockStore: 'memory' });
    const router = new Router({ methods: WEBDAV_METHODS });
    router.get('/hello', (ctx) => void (ctx.body = 'hello from the host'));
    router.all('/dav{/*path}', webdav.middleware);
    const app = new Koa();
    app.use(router.routes()).use(router.allowedMethods());
    host = await listen(app);
    await exercise(host, root, '/dav');
    expect((await host.req('GET', '/hello')).body).to.equal('hello from the host');
    // allowedMethods() with WEBDAV_METHODS leaves WebDAV answers alone (a 404 PROPFIND stays 404, not 501).
    expect((await host.req('PROPFIND', '/dav/missing', { headers: { Depth: '0' } })).status).to.equal(404);
    // Outside the mount: the host's own 404, nothing of WebDAV.
    const other = await host.req('PUT', '/elsewhere.txt', { body: 'x' });
    expect(other.status).to.equal(404);
    expect(other.headers['x-request-id']).to.equal(undefined);
    // The mount root without its slash is the collection too.
    expect(multistatus(await host.req('PROPFIND', '/dav', { headers: { Depth: '0' } })).has('/dav/')).to.equal(true);
  });

  it('koa-mount: app.use(mount("/files", middleware)) serves at /files; the host sees its URL restored', async () => {
    webdav = await createWebdav({ root, lockStore: 'memory' });
    const app = new Koa();
    const seen: string[] = [];
    app.use(async (ctx, next) => {
      await next();
      seen.push(ctx.url);
    });
    app.use(mount('/files', webdav.middleware));
    app.use((ctx) => void (ctx.body = 'host fallback'));
    host = await listen(app);
    await exercise(host, root, '/files');
    expect((await host.req('GET', '/other')).body).to.equal('host fallback');
    expect(seen).to.include('/files/c.txt');
    expect(seen.every((u) => u === '/other' || u.startsWith('/files'))).to.equal(true);
  });

  it('nested koa-mount: the whole public path is the prefix', async () => {
    webdav = await createWebdav({ root, lockStore: 'memory' });
    const inner = new Koa();
    inner.use(mount('/dav', webdav.middleware));
    const app = new Koa();
    app.use(mount('/api', inner));
    host = await listen(app);
    await exercise(host, root, '/api/dav');
  });

  it('app.use(middleware) with { prefix } when nothing mounts it', async () => {
    webdav = await createWebdav({ root, lockStore: 'memory', prefix: '/webdav' });
    const app = new Koa();
    app.use(webdav.middleware);
    app.use((ctx) => void (ctx.body = 'host'));
    host = await listen(app);
    await exercise(host, root, '/webdav');
    expect((await host.req('GET', '/index.html')).body).to.equal('host');
  });

  it('refuses to serve one instance at two mount paths, with a clear error', async () => {
    webdav = await createWebdav({ root, lockStore: 'memory' });
    const errors: string[] = [];
    const app = new Koa();
    app.silent = true;
    app.on('error', (e: Error) => errors.push(e.message));
    app.use(mount('/one', webdav.middleware));
    app.use(mount('/two', webdav.middleware));
    host = await listen(app);
    expect((await host.req('PUT', '/one/a.txt', { body: 'x' })).status).to.equal(201);
    expect((await host.req('GET', '/two/a.txt')).status).to.equal(500);
    expect(errors.join()).to.match(/serves \/one but a request came through \/two: create one createWebdav\(\) per mount path/);
  });

  it('ctx.state.user from the host app is the WebDAV user (locks remember it), and the host gets its object back', async () => {
    webdav = await createWebdav({ root, lockStore: 'memory' });
    const after: unknown[] = [];
    const router = new Router({ methods: WEBDAV_METHODS });
    const hostAuth = async (ctx: Koa.Context, next: Koa.Next): Promise<void> => {
      const who = ctx.get('x-user');
      if (who) ctx.state.user = { username: who, roles: ['staff'] };
      await next();
      after.push(ctx.state.user);
    };
    router.all('/dav{/*path}', hostAuth, webdav.middleware);
    const app = new Koa();
    app.use(router.routes());
    host = await listen(app);
    const s = host.asTestServer(root);
    await writeFile(join(root, 'f.txt'), 'f');
    const { token } = await lockOk(s, '/dav/f.txt', { headers: { 'X-User': 'alice' } });
    // Another user holds the token but not the lock: RFC 4918 6.4, the lock belongs to alice.
    expect((await host.req('PUT', '/dav/f.txt', { body: 'x', headers: { 'X-User': 'bob', ...ifToken(token) } })).status).to.equal(423);
    expect((await host.req('UNLOCK', '/dav/f.txt', { headers: { 'X-User': 'bob', 'Lock-Token': `<${token}>` } })).status).to.equal(403);
    expect((await host.req('PUT', '/dav/f.txt', { body: 'alice', headers: { 'X-User': 'alice', ...ifToken(token) } })).status).to.equal(204);
    expect(after[0]).to.deep.equal({ username: 'alice', roles: ['staff'] });
    const page = await host.req('GET', '/dav/', { headers: { ...HTML, 'X-User': 'alice' } });
    expect(page.body).to.contain('Signed in as <strong>alice</strong>');
  });

  it('authenticate(ctx): null is 401 with a Basic challenge; { readOnly } makes a read-only user', async () => {
    webdav = await createWebdav({
      root,
      lockStore: 'memory',
      realm: 'Host',
      authenticate: (ctx) => {
        const t = ctx.get('authorization');
        if (t === 'Bearer rw') return 'writer';
        if (t === 'Bearer ro') return { name: 'reader', readOnly: true };
        return null;
      },
    });
    const app = new Koa();
    app.use(mount('/dav', webdav.middleware));
    host = await listen(app);
    const anon = await host.req('GET', '/dav/');
    expect(anon.status).to.equal(401);
    expect(anon.headers['www-authenticate']).to.equal('Basic realm="Host", charset="UTF-8"');
    expect((await host.req('OPTIONS', '/dav/')).status).to.equal(200);
    expect((await host.req('PUT', '/dav/w.txt', { body: 'w', headers: { Authorization: 'Bearer rw' } })).status).to.equal(201);
    const ro = await host.req('PUT', '/dav/r.txt', { body: 'r', headers: { Authorization: 'Bearer ro' } });
    expect(ro.status).to.equal(403);
    expect(ro.body).to.contain('Read-only access');
    expect((await host.req('GET', '/dav/w.txt', { headers: { Authorization: 'Bearer ro' } })).body).to.equal('w');
    expect((await host.req('GET', '/dav/.dav/assets/app.js')).status).to.equal(200);
  });

  it('a users file gives host-authenticated users their own roots; unknown users get 403', async () => {
    const dir = await makeTempDir('embed-users');
    try {
      const users = join(dir, 'users.yaml');
      await writeFile(users, 'users:\n  alice: { root: /alice, access: rw }\n');
      webdav = await createWebdav({ root, lockStore: 'memory', users, authenticate: (ctx) => ctx.get('x-user') || null });
      const app = new Koa();
      app.use(mount('/dav', webdav.middleware));
      host = await listen(app);
      expect((await host.req('PUT', '/dav/mine.txt', { body: 'm', headers: { 'X-User': 'alice' } })).status).to.equal(201);
      expect(await readFile(join(root, 'alice', 'mine.txt'), 'utf8')).to.equal('m');
      const ms = multistatus(await host.req('PROPFIND', '/dav/', { headers: { Depth: '1', 'X-User': 'alice' } }));
      expect([...ms.keys()].sort()).to.deep.equal(['/dav/', '/dav/mine.txt']);
      expect((await host.req('GET', '/dav/', { headers: { 'X-User': 'mallory' } })).status).to.equal(403);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('close() flushes the file lock store: a new instance over the same root knows the lock', async () => {
    webdav = await createWebdav({ root });
    const app = new Koa();
    app.use(mount('/dav', webdav.middleware));
    host = await listen(app);
    await writeFile(join(root, 'f.txt'), 'f');
    const { token } = await lockOk(host.asTestServer(root), '/dav/f.txt');
    await host.close();
    await webdav.close();
    webdav = await createWebdav({ root });
    const app2 = new Koa();
    app2.use(mount('/dav', webdav.middleware));
    host = await listen(app2);
    expect((await host.req('PUT', '/dav/f.txt', { body: 'x' })).status).to.equal(423);
    expect((await host.req('PUT', '/dav/f.txt', { body: 'x', headers: ifToken(token) })).status).to.equal(204);
  });

  it('security guards: the Host check (421) on anonymous requests, allowedHosts (the forwarded host too), HSTS behind a proxy', async () => {
    // Default: anonymous requests are checked as on an anonymous CLI server (a rebinding page
    // could otherwise drive the files through the browser); allowedHosts '*' turns that off.
    webdav = await createWebdav({ root, lockStore: 'memory' });
    let app = new Koa();
    app.use(mount('/dav', webdav.middleware));
    host = await listen(app);
    expect((await host.req('PROPFIND', '/dav/', { headers: { Depth: '0', Host: 'rebound.example' } })).status).to.equal(421);
    expect((await host.req('PROPFIND', '/dav/', { headers: { Depth: '0' } })).status).to.equal(207);
    await host.close();
    await webdav.close();
    webdav = await createWebdav({ root, lockStore: 'memory', allowedHosts: '*' });
    app = new Koa();
    app.use(mount('/dav', webdav.middleware));
    host = await listen(app);
    expect((await host.req('PROPFIND', '/dav/', { headers: { Depth: '0', Host: 'rebound.example' } })).status).to.equal(207);
    await host.close();
    await webdav.close();
    // allowedHosts turns the DNS-rebinding guard on: loopback names and the listed ones only.
    webdav = await createWebdav({ root, lockStore: 'memory', allowedHosts: 'files.example', trustProxy: true, hsts: 600 });
    app = new Koa();
    app.use(mount('/dav', webdav.middleware));
    host = await listen(app);
    const refused = await host.req('PUT', '/dav/x.txt', { body: 'x', headers: { Host: 'rebound.example' } });
    expect(refused.status).to.equal(421);
    expect(refused.body).to.contain('--allowed-hosts');
    expect((await host.req('PROPFIND', '/dav/', { headers: { Depth: '0' } })).status).to.equal(207);
    const named = await host.req('PROPFIND', '/dav/', { headers: { Depth: '0', Host: 'files.example', 'X-Forwarded-Proto': 'https' } });
    expect(named.status).to.equal(207);
    expect(named.headers['strict-transport-security']).to.equal('max-age=600');
    // Behind the proxy the forwarded host is checked too.
    expect((await host.req('PROPFIND', '/dav/', { headers: { Depth: '0', 'X-Forwarded-Host': 'rebound.example' } })).status).to.equal(421);
    // Outside the mount the host app answers whatever the Host.
    expect((await host.req('GET', '/other', { headers: { Host: 'rebound.example' } })).status).to.equal(404);
  });

  it('guard(server): connections past maxClientConnections get 429, slow bodies 408, both counted in webdav.metrics', async function () {
    this.timeout(20_000);
    webdav = await createWebdav({ root, lockStore: 'memory', metrics: true, maxClientConnections: 2, bodyTimeout: 1, minBodyRate: 1000 });
    const app = new Koa();
    // The cut connection reaches Koa's app.on('error') as the parser's HPE_* error (a client gone).
    const koaErrors: string[] = [];
    app.on('error', (e: NodeJS.ErrnoException) => koaErrors.push(String(e.code)));
    app.use(mount('/dav', webdav.middleware));
    host = await listen(app);
    const stats = webdav.guard(host.server);
    const port = Number(new URL(host.base).port);
    const open = (): Promise<Socket> =>
      new Promise((resolve, reject) => {
        const s = connect({ port, host: '127.0.0.1' }, () => resolve(s));
        s.once('error', reject);
      });
    const answer = (s: Socket): Promise<string> =>
      new Promise((resolve) => {
        let text = '';
        s.on('data', (d: Buffer) => (text += d.toString('latin1')));
        s.on('close', () => resolve(text));
        s.on('error', () => undefined);
      });
    const held: Socket[] = [];
    try {
      const slow = await open();
      held.push(slow);
      const slowAnswer = answer(slow);
      slow.write('PUT /dav/slow.bin HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 100000\r\n\r\nxyz');
      held.push(await open());
      const extra = await open();
      held.push(extra);
      const extraAnswer = answer(extra);
      extra.write('GET /hello HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n');
      expect(await extraAnswer).to.match(/^HTTP\/1\.1 429 /);
      expect(await slowAnswer).to.match(/^HTTP\/1\.1 408 /);
    } finally {
      for (const s of held) s.destroy();
    }
    expect(stats).to.deep.equal({ slowBodies: 1, refusedConnections: 1 });
    expect(koaErrors.every((c) => c.startsWith('HPE_') || c === 'ECONNRESET'), koaErrors.join()).to.equal(true);
    const text = await webdav.metrics!.metrics();
    expect(text).to.match(/^webdav_slow_bodies_cut_total 1$/m);
    expect(text).to.match(/^webdav_connections_refused_total 1$/m);
    // Nothing of the cut upload is left.
    await new Promise((r) => setTimeout(r, 200));
    expect((await host.req('GET', '/dav/slow.bin')).status).to.equal(404);
  });

  it('guard(server) on an https server: a connection past the cap is closed, no plain-text 429 into the TLS stream', async () => {
    webdav = await createWebdav({ root, lockStore: 'memory', maxClientConnections: 1 });
    const app = new Koa();
    app.use(mount('/dav', webdav.middleware));
    const { cert, key } = makeCert(root);
    const server = createHttpsServer({ cert: readFileSync(cert), key: readFileSync(key) }, app.callback());
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    const stats = webdav.guard(server);
    const port = (server.address() as { port: number }).port;
    const raw = (): Promise<{ socket: Socket; answer: Promise<string> }> =>
      new Promise((resolve, reject) => {
        const socket = connect({ port, host: '127.0.0.1' }, () => {
          const answer = new Promise<string>((done) => {
            let text = '';
            socket.on('data', (d: Buffer) => (text += d.toString('latin1')));
            socket.on('close', () => done(text));
          });
          resolve({ socket, answer });
        });
        socket.once('error', reject);
      });
    const first = await raw();
    try {
      const second = await raw();
      second.socket.on('error', () => undefined);
      expect(await second.answer).to.equal('');
      expect(stats.refusedConnections).to.equal(1);
    } finally {
      first.socket.destroy();
      await new Promise<void>((r) => {
        server.close(() => r());
        server.closeAllConnections();
      });
    }
  });

  it('reports bad options at creation', async () => {
    await mkdir(join(root, 'x'));
    let err: unknown;
    try {
      await createWebdav({ root, htpasswd: join(root, 'h'), authenticate: () => 'a' });
    } catch (e) {
      err = e;
    }
    expect(String(err)).to.match(/either authenticate or htpasswd/);
    err = undefined;
    try {
      await createWebdav({ root, lockStore: 'bogus' });
    } catch (e) {
      err = e;
    }
    expect(String(err)).to.match(/invalid lock store/);
  });
});
