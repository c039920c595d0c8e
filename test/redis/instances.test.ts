/**
 * Two server processes on one root sharing a real redis-server: locks taken through one are
 * honoured, refreshed and released through the other; expiry; a race of LOCKs across both;
 * a Redis outage (503 for writes, reads keep working) and recovery without a restart.
 */
import { expect } from 'chai';
import { rm } from 'node:fs/promises';
import { request as httpRequest } from 'node:http';
import { lockBody, makeTempDir, request, spawnCli, type CliServer, type Res } from '../helpers/server.js';
import { TestRedis } from './redis-server.js';

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const tokenOf = (r: Res): string => /^<(.+)>$/.exec(String(r.headers['lock-token']))![1]!;
const timeoutIn = (body: string): number => Number(/<D:timeout>Second-(\d+)<\/D:timeout>/.exec(body)?.[1] ?? NaN);
const LOCKDISCOVERY = '<?xml version="1.0"?><D:propfind xmlns:D="DAV:"><D:prop><D:lockdiscovery/><D:getcontentlength/></D:prop></D:propfind>';

describe('two instances sharing locks through Redis', function () {
  this.timeout(60_000);
  let redis: TestRedis;
  let root: string;
  let a: CliServer;
  let b: CliServer;

  const lock = (s: CliServer, path: string, headers: Record<string, string> = {}) =>
    request(s.base, 'LOCK', path, { body: lockBody(), headers: { 'Content-Type': 'application/xml', Timeout: 'Second-600', ...headers } });

  before(async () => {
    redis = await TestRedis.start();
    root = await makeTempDir('redis-instances');
    [a, b] = await Promise.all([spawnCli(['--root', root, '--port', '0', '--lock-store', redis.url]), spawnCli(['--root', root, '--port', '0', '--lock-store', redis.url])]);
  });
  after(async () => {
    await Promise.all([a?.stop(), b?.stop()]);
    await redis?.stop();
    await rm(root, { recursive: true, force: true });
  });

  it('a LOCK through A makes writes through B answer 423 with the DAV:error body; the token opens them', async () => {
    expect((await request(a.base, 'PUT', '/doc.txt', { body: 'v1' })).status).to.equal(201);
    const l = await lock(a, '/doc.txt');
    expect(l.status).to.equal(200);
    const token = tokenOf(l);

    const put = await request(b.base, 'PUT', '/doc.txt', { body: 'v2' });
    expect(put.status).to.equal(423);
    expect(put.headers['content-type']).to.match(/^application\/xml/);
    expect(put.body).to.match(/<D:error xmlns:D="DAV:"><D:lock-token-submitted><D:href>\/doc\.txt<\/D:href><\/D:lock-token-submitted><\/D:error>/);
    expect((await request(b.base, 'DELETE', '/doc.txt')).status).to.equal(423);
    const again = await lock(b, '/doc.txt');
    expect(again.status).to.equal(423);
    expect(again.body).to.include('<D:no-conflicting-lock>');
    expect((await request(b.base, 'GET', '/doc.txt')).body).to.equal('v1');

    const withToken = await request(b.base, 'PUT', '/doc.txt', { body: 'v2', headers: { If: `(<${token}>)` } });
    expect(withToken.status).to.equal(204);
    const pf = await request(b.base, 'PROPFIND', '/doc.txt', { body: LOCKDISCOVERY, headers: { Depth: '0' } });
    expect(pf.body).to.include(`<D:href>${token}</D:href>`);
  });

  it('UNLOCK through B frees the resource for A', async () => {
    await request(a.base, 'PUT', '/free.txt', { body: 'x' });
    const token = tokenOf(await lock(a, '/free.txt'));
    expect((await request(a.base, 'PUT', '/free.txt', { body: 'y' })).status).to.equal(423);
    expect((await request(b.base, 'UNLOCK', '/free.txt', { headers: { 'Lock-Token': `<${token}>` } })).status).to.equal(204);
    expect((await request(a.base, 'PUT', '/free.txt', { body: 'y' })).status).to.equal(204);
    expect((await request(a.base, 'UNLOCK', '/free.txt', { headers: { 'Lock-Token': `<${token}>` } })).status).to.equal(409);
  });

  it('a refresh through B extends the lock A reports', async () => {
    await request(a.base, 'PUT', '/refresh.txt', { body: 'x' });
    const l = await lock(a, '/refresh.txt', { Timeout: 'Second-5' });
    const token = tokenOf(l);
    expect(timeoutIn(l.body)).to.be.at.most(5);
    const r = await request(b.base, 'LOCK', '/refresh.txt', { headers: { If: `(<${token}>)`, Timeout: 'Second-900' } });
    expect(r.status).to.equal(200);
    expect(timeoutIn(r.body)).to.be.within(895, 900);
    const seen = await request(a.base, 'PROPFIND', '/refresh.txt', { body: LOCKDISCOVERY, headers: { Depth: '0' } });
    expect(seen.body).to.include(token);
    expect(timeoutIn(seen.body)).to.be.within(890, 900);
  });

  it('a depth-infinity LOCK on a collection through A blocks a new member through B', async () => {
    expect((await request(a.base, 'MKCOL', '/col')).status).to.equal(201);
    const token = tokenOf(await lock(a, '/col/', { Depth: 'infinity' }));
    const put = await request(b.base, 'PUT', '/col/new.txt', { body: 'x' });
    expect(put.status).to.equal(423);
    expect(put.body).to.include('<D:href>/col/</D:href>');
    expect((await request(b.base, 'PUT', '/col/new.txt', { body: 'x', headers: { If: `(<${token}>)` } })).status).to.equal(201);
  });

  it('a PUT through B whose body is still arriving when A takes a LOCK is refused at commit', async () => {
    await request(a.base, 'PUT', '/slow.txt', { body: 'old' });
    const url = new URL(b.base);
    const res = new Promise<{ status: number; body: string }>((resolve, reject) => {
      const r = httpRequest({ host: url.hostname, port: url.port, method: 'PUT', path: '/slow.txt', agent: false, headers: { 'Content-Length': '8' } }, (resp) => {
        let body = '';
        resp.on('data', (d: Buffer) => (body += d));
        resp.on('end', () => resolve({ status: resp.statusCode ?? 0, body }));
      });
      r.on('error', reject);
      r.write('half');
      // The lock check before the body passed; now another instance locks the resource.
      setTimeout(async () => {
        try {
          expect((await lock(a, '/slow.txt')).status).to.equal(200);
          r.end('done');
        } catch (e) {
          reject(e);
        }
      }, 200);
    });
    const put = await res;
    expect(put.status).to.equal(423);
    expect(put.body).to.include('<D:lock-token-submitted><D:href>/slow.txt</D:href>');
    expect((await request(a.base, 'GET', '/slow.txt')).body).to.equal('old');
  });

  it('an expired lock no longer blocks anyone', async () => {
    await request(a.base, 'PUT', '/short.txt', { body: 'x' });
    expect((await lock(a, '/short.txt', { Timeout: 'Second-1' })).status).to.equal(200);
    expect((await request(b.base, 'PUT', '/short.txt', { body: 'y' })).status).to.equal(423);
    await sleep(1_300);
    expect((await request(b.base, 'PUT', '/short.txt', { body: 'y' })).status).to.equal(204);
    const pf = await request(a.base, 'PROPFIND', '/short.txt', { body: LOCKDISCOVERY, headers: { Depth: '0' } });
    expect(pf.body).to.include('<D:lockdiscovery/>');
  });

  it('concurrent LOCKs on one resource through both instances: exactly one succeeds', async () => {
    await request(a.base, 'PUT', '/race.txt', { body: 'x' });
    const results = await Promise.all(Array.from({ length: 30 }, (_, i) => lock(i % 2 ? a : b, '/race.txt')));
    const statuses = results.map((r) => r.status);
    expect(statuses.filter((s) => s === 200)).to.have.length(1);
    expect(statuses.filter((s) => s === 423)).to.have.length(29);
  });

  it('concurrent LOCKs of a new resource and its parent collection: one wins', async () => {
    await request(a.base, 'MKCOL', '/race-col');
    const results = await Promise.all(
      Array.from({ length: 20 }, (_, i) => lock(i % 2 ? a : b, i % 4 < 2 ? '/race-col/' : '/race-col/new.txt', { Depth: 'infinity' })),
    );
    const ok = results.filter((r) => r.status === 200 || r.status === 201);
    expect(ok, results.map((r) => r.status).join(',')).to.have.length(1);
    expect(results.every((r) => r.status === 200 || r.status === 201 || r.status === 423)).to.equal(true);
  });

  it('while Redis is down writes answer 503 with Retry-After and reads work; then it recovers by itself', async () => {
    await request(a.base, 'PUT', '/outage.txt', { body: 'before' });
    await redis.kill();
    try {
      const put = await request(a.base, 'PUT', '/outage.txt', { body: 'during' });
      expect(put.status).to.equal(503);
      expect(put.headers['retry-after']).to.match(/^\d+$/);
      expect((await lock(b, '/outage.txt')).status).to.equal(503);
      expect((await request(b.base, 'MKCOL', '/outage-dir')).status).to.equal(503);
      const get = await request(b.base, 'GET', '/outage.txt');
      expect(get.status).to.equal(200);
      expect(get.body).to.equal('before');
      expect((await request(a.base, 'HEAD', '/outage.txt')).status).to.equal(200);
      const pf = await request(a.base, 'PROPFIND', '/', { body: LOCKDISCOVERY, headers: { Depth: '1' } });
      expect(pf.status).to.equal(207);
      expect(pf.body).to.match(/<D:prop><D:lockdiscovery\/><\/D:prop><D:status>HTTP\/1.1 503 Service Unavailable<\/D:status>/);
      expect(pf.body).to.include('<D:getcontentlength>6</D:getcontentlength>');
      const all = await request(b.base, 'PROPFIND', '/outage.txt', { headers: { Depth: '0' } });
      expect(all.status).to.equal(207);
      expect(all.body).to.include('<D:getetag>');
      expect(a.output()).to.match(/\[lock-store\] Redis redis:\/\/127\.0\.0\.1:\d+\/0 is unreachable/);
    } finally {
      await redis.start();
    }
    for (const s of [a, b]) {
      const deadline = Date.now() + 15_000;
      let status = 0;
      while (Date.now() < deadline) {
        status = (await request(s.base, 'PUT', '/outage.txt', { body: 'after' })).status;
        if (status !== 503) break;
        await sleep(100);
      }
      expect(status).to.equal(204);
    }
    expect(a.output()).to.include('reachable again');
    expect((await lock(b, '/outage.txt')).status).to.equal(200);
    expect((await request(a.base, 'PUT', '/outage.txt', { body: 'x' })).status).to.equal(423);
  });
});
