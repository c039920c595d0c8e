/**
 * A lock token is the proof of owning a lock: lockdiscovery shows it only to the lock's
 * principal. Other users still see the lock (scope, depth, owner, timeout, root), without the
 * token (RFC 4918 14.1: locktoken is optional in activelock).
 */
import { expect } from 'chai';
import { rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { lockBody, makeTempDir, request, spawnCli, startTestServer, type TestServer } from '../helpers/server.js';
import { basic, writeHtpasswd } from '../helpers/auth.js';
import { DAV, ensureBuilt, findChild, multistatus, prop, single, textContent, childElements } from '../helpers/dav.js';
import { TestRedis } from '../redis/redis-server.js';

describe('security: lock tokens in lockdiscovery', function () {
  this.timeout(30_000);
  let dir: string;
  let s: TestServer;
  const alice = { Authorization: basic('alice', 'a pw') };
  const bob = { Authorization: basic('bob', 'b pw') };
  let token: string;

  before(async () => {
    dir = await makeTempDir('locktokens');
    s = await startTestServer({ htpasswd: await writeHtpasswd(dir, { alice: 'a pw', bob: 'b pw' }) });
    await writeFile(join(s.root, 'a.txt'), 'A');
    const r = await s.req('LOCK', '/a.txt', { headers: { ...alice, Depth: '0' }, body: lockBody('exclusive', '<D:href>mailto:alice@example.com</D:href>') });
    expect(r.status).to.equal(200);
    token = String(r.headers['lock-token']).slice(1, -1);
    // The LOCK answer goes to the principal: it carries the token.
    expect(r.body).to.include(token);
  });
  after(async () => {
    await s.close();
    await rm(dir, { recursive: true, force: true });
  });

  const activelock = (body: string, href: string) => {
    const ld = prop(multistatus({ status: 207, headers: { 'content-type': 'application/xml' }, body, raw: Buffer.from(body) }).get(href)!, DAV, 'lockdiscovery');
    expect(ld?.status).to.equal(200);
    const locks = childElements(ld!.el);
    expect(locks).to.have.length(1);
    return locks[0]!;
  };

  it('shows another user the lock without its token, in PROPFIND prop, allprop and Depth 1', async () => {
    const named = await s.req('PROPFIND', '/a.txt', { headers: { ...bob, Depth: '0' }, body: '<?xml version="1.0"?><D:propfind xmlns:D="DAV:"><D:prop><D:lockdiscovery/></D:prop></D:propfind>' });
    const all = await s.req('PROPFIND', '/a.txt', { headers: { ...bob, Depth: '0' } });
    const depth1 = await s.req('PROPFIND', '/', { headers: { ...bob, Depth: '1' } });
    for (const r of [named, all, depth1]) {
      expect(r.status).to.equal(207);
      expect(r.body).to.not.include(token);
      const lock = activelock(r.body, '/a.txt');
      expect(findChild(lock, DAV, 'locktoken')).to.equal(undefined);
      expect(findChild(findChild(lock, DAV, 'lockscope')!, DAV, 'exclusive')).to.not.equal(undefined);
      expect(textContent(findChild(lock, DAV, 'owner')!)).to.include('mailto:alice@example.com');
      expect(textContent(findChild(lock, DAV, 'lockroot')!).trim()).to.equal('/a.txt');
      expect(textContent(findChild(lock, DAV, 'timeout')!)).to.match(/^Second-\d+$/);
    }
    // And the lock still holds against bob.
    expect((await s.req('PUT', '/a.txt', { headers: bob, body: 'B' })).status).to.equal(423);
  });

  it('shows the principal its own token', async () => {
    const r = await s.req('PROPFIND', '/a.txt', { headers: { ...alice, Depth: '0' } });
    const lock = activelock(r.body, '/a.txt');
    expect(textContent(findChild(findChild(lock, DAV, 'locktoken')!, DAV, 'href')!).trim()).to.equal(token);
    expect(single(r).href).to.equal('/a.txt');
  });

  it('without authentication (no principals) shows every token as before', async () => {
    const anon = await startTestServer();
    try {
      await writeFile(join(anon.root, 'x.txt'), 'x');
      const l = await anon.req('LOCK', '/x.txt', { body: lockBody() });
      const t = String(l.headers['lock-token']).slice(1, -1);
      expect((await anon.req('PROPFIND', '/x.txt', { headers: { Depth: '0' } })).body).to.include(t);
    } finally {
      await anon.close();
    }
  });

  it('with --workers 2 over Redis: the principal survives the shared store, every worker hides the token from others', async function () {
    this.timeout(120_000);
    await ensureBuilt();
    const redis = await TestRedis.start();
    const root = await makeTempDir('locktokens-redis');
    const cli = await spawnCli(['--root', root, '--port', '0', '--workers', '2', '--lock-store', redis.url, '--htpasswd', join(dir, 'htpasswd')]);
    try {
      await writeFile(join(root, 'r.txt'), 'R');
      const l = await request(cli.base, 'LOCK', '/r.txt', { headers: { ...alice, Depth: '0' }, body: lockBody() });
      expect(l.status).to.equal(200);
      const t = String(l.headers['lock-token']).slice(1, -1);
      // A new connection per request: node:cluster hands them to both workers in turn.
      for (let i = 0; i < 4; i++) {
        const theirs = await request(cli.base, 'PROPFIND', '/r.txt', { headers: { ...bob, Depth: '0' } });
        expect(theirs.status).to.equal(207);
        expect(findChild(activelock(theirs.body, '/r.txt'), DAV, 'locktoken')).to.equal(undefined);
        expect(theirs.body).to.not.include(t);
        const mine = await request(cli.base, 'PROPFIND', '/r.txt', { headers: { ...alice, Depth: '0' } });
        expect(mine.body).to.include(t);
      }
    } finally {
      await cli.stop();
      await redis.stop();
      await rm(root, { recursive: true, force: true });
    }
  });
});
