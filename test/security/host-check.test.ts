/**
 * DNS rebinding: a web page whose host name resolves to 127.0.0.1 reaches an anonymous
 * loopback server through the visitor's browser, with its own name in Host. Without
 * authentication only loopback names, the listen address and --allowed-hosts are served;
 * anything else is 421 and changes nothing.
 */
import { expect } from 'chai';
import { readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { makeTempDir, startTestServer, type TestServer } from '../helpers/server.js';
import { basic, writeHtpasswd } from '../helpers/auth.js';
import { raw } from './helpers.js';
import { lockBody } from '../helpers/server.js';
import Koa from 'koa';
import { createWebdav } from '../../src/index.js';
import { listen } from '../embed/host.js';

describe('security: Host check without authentication (DNS rebinding)', function () {
  this.timeout(30_000);
  let s: TestServer;
  afterEach(async () => s?.close());

  const names = async (dir: string): Promise<string[]> => (await readdir(dir)).filter((n) => n !== '.davmeta').sort();

  it('answers 421 to every method under a foreign host name, and nothing changes', async () => {
    s = await startTestServer();
    await writeFile(join(s.root, 'a.txt'), 'original');
    const evil = { Host: `rebind.attacker.example:${s.running.port}` };
    const attempts: [string, string, Record<string, string>, string?][] = [
      ['GET', '/a.txt', {}],
      ['PROPFIND', '/', { Depth: '1' }],
      ['PUT', '/a.txt', {}, 'pwned'],
      ['PUT', '/new.txt', {}, 'pwned'],
      ['DELETE', '/a.txt', {}],
      ['MKCOL', '/dir', {}],
      ['MOVE', '/a.txt', { Destination: `http://rebind.attacker.example:${s.running.port}/b.txt` }],
      ['COPY', '/a.txt', { Destination: '/c.txt' }],
      ['PROPPATCH', '/a.txt', {}, '<?xml version="1.0"?><D:propertyupdate xmlns:D="DAV:"><D:set><D:prop><x:p xmlns:x="urn:x">1</x:p></D:prop></D:set></D:propertyupdate>'],
      ['LOCK', '/a.txt', {}, lockBody()],
      ['OPTIONS', '/', {}],
    ];
    for (const [method, path, headers, body] of attempts) {
      const r = await s.req(method, path, { headers: { ...evil, ...headers }, body });
      expect(r.status, method).to.equal(421);
      expect(r.body).to.not.include('original');
    }
    expect(await names(s.root)).to.deep.equal(['a.txt']);
    expect(await readFile(join(s.root, 'a.txt'), 'utf8')).to.equal('original');
    // Names that merely contain a loopback name are foreign too.
    for (const host of ['127.0.0.1.attacker.example', 'localhost.attacker.example', 'attacker.example', '127.1', '0.0.0.0']) {
      expect((await s.req('GET', '/a.txt', { headers: { Host: host } })).status, host).to.equal(421);
    }
  });

  it('refuses a foreign name right after serving a loopback one, and serves again after (the last accepted Host is remembered)', async () => {
    s = await startTestServer();
    await writeFile(join(s.root, 'a.txt'), 'A');
    const good = `127.0.0.1:${s.running.port}`;
    for (let i = 0; i < 3; i++) {
      expect((await s.req('GET', '/a.txt', { headers: { Host: good } })).status, `round ${i}: loopback`).to.equal(200);
      expect((await s.req('GET', '/a.txt', { headers: { Host: 'attacker.example' } })).status, `round ${i}: foreign`).to.equal(421);
      expect((await s.req('GET', '/a.txt', { headers: { Host: `${good}x` } })).status, `round ${i}: near miss`).to.not.equal(200);
    }
  });

  it('serves loopback addresses, localhost, *.localhost and a request without Host', async () => {
    s = await startTestServer();
    await writeFile(join(s.root, 'a.txt'), 'A');
    const port = s.running.port;
    for (const host of [`127.0.0.1:${port}`, '127.0.0.1', `127.5.6.7:${port}`, `localhost:${port}`, 'LOCALHOST', `[::1]:${port}`, `app.localhost:${port}`, 'localhost.']) {
      const r = await s.req('GET', '/a.txt', { headers: { Host: host } });
      expect(r.status, host).to.equal(200);
    }
    const http10 = await raw(port, 'GET /a.txt HTTP/1.0\r\n\r\n');
    expect(http10.status).to.equal(200);
  });

  it('serves the names in --allowed-hosts, and any name with --allowed-hosts "*"', async () => {
    s = await startTestServer({ allowedHosts: 'nas.lan, files.example.org' });
    await writeFile(join(s.root, 'a.txt'), 'A');
    for (const host of ['nas.lan', 'NAS.lan:8080', 'files.example.org']) expect((await s.req('GET', '/a.txt', { headers: { Host: host } })).status, host).to.equal(200);
    expect((await s.req('GET', '/a.txt', { headers: { Host: 'other.lan' } })).status).to.equal(421);
    await s.close();
    s = await startTestServer({ allowedHosts: '*' });
    await writeFile(join(s.root, 'a.txt'), 'A');
    expect((await s.req('GET', '/a.txt', { headers: { Host: 'anything.example' } })).status).to.equal(200);
  });

  it('behind --trust-proxy leaves names to the proxy, unless --allowed-hosts names the public ones', async () => {
    s = await startTestServer({ trustProxy: true });
    await writeFile(join(s.root, 'a.txt'), 'A');
    expect((await s.req('GET', '/a.txt', { headers: { Host: 'files.example.org', 'X-Forwarded-Host': 'files.example.org' } })).status).to.equal(200);
    await s.close();

    s = await startTestServer({ trustProxy: true, allowedHosts: 'files.example.org' });
    await writeFile(join(s.root, 'a.txt'), 'A');
    expect((await s.req('GET', '/a.txt', { headers: { 'X-Forwarded-Host': 'files.example.org' } })).status).to.equal(200);
    expect((await s.req('GET', '/a.txt', { headers: { Host: 'rebind.attacker.example' } })).status).to.equal(421);
    expect((await s.req('PUT', '/a.txt', { headers: { 'X-Forwarded-Host': 'rebind.attacker.example' }, body: 'x' })).status).to.equal(421);
    expect(await readFile(join(s.root, 'a.txt'), 'utf8')).to.equal('A');
  });

  it('refuses a malformed --allowed-hosts entry at start-up', async () => {
    for (const bad of ['files.example.org:8080', 'http://x', 'a b']) {
      let err: unknown;
      try {
        s = await startTestServer({ allowedHosts: bad });
      } catch (e) {
        err = e;
      }
      expect((err as Error)?.message, bad).to.match(/invalid --allowed-hosts/);
    }
    s = await startTestServer();
  });

  it('leaves authenticated servers to their authentication (any Host, 401 without credentials)', async () => {
    const dir = await makeTempDir('hostauth');
    try {
      s = await startTestServer({ htpasswd: await writeHtpasswd(dir, { u: 'p' }) });
      expect((await s.req('GET', '/', { headers: { Host: 'nas.example' } })).status).to.equal(401);
      expect((await s.req('PROPFIND', '/', { headers: { Host: 'nas.example', Depth: '0', Authorization: basic('u', 'p') } })).status).to.equal(207);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('embedded (createWebdav): anonymous requests get the check, requests the host app authenticated do not', async () => {
    const root = await makeTempDir('hostembed');
    const apps: { close(): Promise<void> }[] = [];
    const serve = async (options: Omit<Parameters<typeof createWebdav>[0], 'root'>) => {
      const webdav = await createWebdav({ root, ...options });
      const app = new Koa();
      app.use(async (ctx, next) => {
        if (ctx.get('x-user')) ctx.state.user = ctx.get('x-user');
        await next();
      });
      app.use(webdav.middleware);
      const host = await listen(app);
      apps.push(host, webdav);
      return host;
    };
    try {
      await writeFile(join(root, 'a.txt'), 'original');
      const anon = await serve({});
      const evil = { Host: 'rebind.attacker.example' };
      for (const [method, path, body] of [['GET', '/a.txt'], ['PUT', '/a.txt', 'pwned'], ['DELETE', '/a.txt'], ['MKCOL', '/d']] as const) {
        expect((await anon.req(method, path, { headers: evil, body })).status, method).to.equal(421);
      }
      expect(await names(root)).to.deep.equal(['a.txt']);
      expect(await readFile(join(root, 'a.txt'), 'utf8')).to.equal('original');
      // Loopback names and any address literal (the host app's listener is not known here) pass.
      for (const h of ['localhost', '127.0.0.1', '192.0.2.7:8080', '[2001:db8::1]']) expect((await anon.req('GET', '/a.txt', { headers: { Host: h } })).status, h).to.equal(200);
      // A user the host app set (its session cookie, which a rebinding page does not have) is not checked.
      expect((await anon.req('PUT', '/mine.txt', { headers: { ...evil, 'X-User': 'alice' }, body: 'ok' })).status).to.equal(201);
      const authed = await serve({ authenticate: (ctx) => (ctx.get('authorization') ? 'bob' : null) });
      expect((await authed.req('GET', '/a.txt', { headers: evil })).status).to.equal(401);
      expect((await authed.req('GET', '/a.txt', { headers: { ...evil, Authorization: 'Bearer t' } })).status).to.equal(200);
      const named = await serve({ allowedHosts: 'files.example.org' });
      expect((await named.req('GET', '/a.txt', { headers: { Host: 'files.example.org' } })).status).to.equal(200);
      expect((await named.req('GET', '/a.txt', { headers: evil })).status).to.equal(421);
    } finally {
      for (const a of apps) await a.close();
      await rm(root, { recursive: true, force: true });
    }
  });
});
