/**
 * --trust-proxy (X-Forwarded-Proto/-Host honoured for Destination and If resource tags; without
 * it another host is 502) and --prefix (hrefs, Location, Destination, lock roots, 423 bodies,
 * the HTML listing and requests outside the prefix).
 */
import { expect } from 'chai';
import { readFile, writeFile, mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { startTestServer, lockBody, type TestServer } from '../helpers/server.js';
import { lockTokenOf, parseMultistatus } from '../helpers/replay.js';

const FWD = { 'X-Forwarded-Host': 'files.example.org', 'X-Forwarded-Proto': 'https' };

describe('reverse proxy: --trust-proxy', () => {
  let s: TestServer;
  afterEach(async () => s.close());

  it('with the option, a Destination on the public scheme and host is ours', async () => {
    s = await startTestServer({ trustProxy: true });
    await writeFile(join(s.root, 'a.txt'), 'A');
    for (const dest of ['https://files.example.org/b.txt', 'https://files.example.org:443/b.txt', 'https://FILES.example.org/b.txt']) {
      const r = await s.req('COPY', '/a.txt', { headers: { ...FWD, Destination: dest } });
      expect(r.status, dest).to.be.oneOf([201, 204]);
    }
    expect(await readFile(join(s.root, 'b.txt'), 'utf8')).to.equal('A');
    const mv = await s.req('MOVE', '/b.txt', { headers: { ...FWD, Destination: 'https://files.example.org/c.txt' } });
    expect(mv.status).to.equal(201);
    expect(await readFile(join(s.root, 'c.txt'), 'utf8')).to.equal('A');
  });

  it('with the option, the first of several forwarded hosts counts, and an explicit port must match', async () => {
    s = await startTestServer({ trustProxy: true });
    await writeFile(join(s.root, 'a.txt'), 'A');
    const chained = { 'X-Forwarded-Host': 'files.example.org:8443, internal.lan', 'X-Forwarded-Proto': 'https, http' };
    expect((await s.req('COPY', '/a.txt', { headers: { ...chained, Destination: 'https://files.example.org:8443/x' } })).status).to.equal(201);
    expect((await s.req('COPY', '/a.txt', { headers: { ...chained, Destination: 'https://internal.lan/y' } })).status).to.equal(502);
    expect((await s.req('COPY', '/a.txt', { headers: { ...chained, Destination: 'https://files.example.org/z' } })).status).to.equal(502);
  });

  it('with the option, If resource tags with the public URL are matched', async () => {
    s = await startTestServer({ trustProxy: true });
    await writeFile(join(s.root, 'doc.txt'), 'v1');
    const lk = await s.req('LOCK', '/doc.txt', { headers: FWD, body: lockBody() });
    const token = lockTokenOf(lk.headers);
    const tagged = `<https://files.example.org/doc.txt> (<${token}>)`;
    const put = await s.req('PUT', '/doc.txt', { headers: { ...FWD, If: tagged }, body: 'v2' });
    expect(put.status).to.equal(204);
    expect(await readFile(join(s.root, 'doc.txt'), 'utf8')).to.equal('v2');
    // A tag naming a host that is not ours does not apply: the lock is not proven.
    const other = await s.req('PUT', '/doc.txt', { headers: { ...FWD, If: `<https://evil.example/doc.txt> (<${token}>)` }, body: 'v3' });
    expect(other.status).to.be.oneOf([412, 423]);
    expect(await readFile(join(s.root, 'doc.txt'), 'utf8')).to.equal('v2');
  });

  it('without the option, forwarded headers are ignored: the public host is another server (502)', async () => {
    s = await startTestServer();
    await writeFile(join(s.root, 'a.txt'), 'A');
    const r = await s.req('COPY', '/a.txt', { headers: { ...FWD, Destination: 'https://files.example.org/b.txt' } });
    expect(r.status).to.equal(502);
    // Compared by path when it names our own Host, whatever the scheme.
    const host = new URL(s.base).host;
    expect((await s.req('COPY', '/a.txt', { headers: { Destination: `http://${host}/b.txt` } })).status).to.equal(201);
    expect((await s.req('COPY', '/a.txt', { headers: { Destination: '/c.txt' } })).status).to.equal(201);
    expect((await s.req('COPY', '/a.txt', { headers: { Destination: 'http://other.example/d.txt' } })).status).to.equal(502);
  });
});

describe('--prefix', () => {
  let s: TestServer;
  beforeEach(async () => {
    s = await startTestServer({ prefix: '/dav' });
    await mkdir(join(s.root, 'dir'));
    await writeFile(join(s.root, 'dir', 'a b.txt'), 'A');
  });
  afterEach(async () => s.close());

  it('serves only below the prefix (OPTIONS anywhere still answers the DAV headers)', async () => {
    expect((await s.req('GET', '/dav/dir/a%20b.txt')).body).to.equal('A');
    expect((await s.req('GET', '/dir/a%20b.txt')).status).to.equal(404);
    expect((await s.req('PROPFIND', '/', { headers: { Depth: '0' } })).status).to.equal(404);
    expect((await s.req('PUT', '/davx', { body: 'x' })).status).to.equal(404);
    expect((await s.req('PROPFIND', '/dav', { headers: { Depth: '0' } })).status).to.equal(207);
    const o = await s.req('OPTIONS', '/');
    expect(o.status).to.equal(200);
    expect(o.headers['dav']).to.equal('1, 2');
  });

  it('puts the prefix in every href, in Location and in the HTML listing links', async () => {
    const pf = await s.req('PROPFIND', '/dav/dir/', { headers: { Depth: '1' } });
    expect([...parseMultistatus(pf.body).keys()].sort()).to.deep.equal(['/dav/dir/', '/dav/dir/a%20b.txt']);
    const cp = await s.req('COPY', '/dav/dir/a%20b.txt', { headers: { Destination: `${s.base}/dav/dir/c.txt` } });
    expect(cp.status).to.equal(201);
    expect(cp.headers['location']).to.equal('/dav/dir/c.txt');
    const html = await s.req('GET', '/dav/dir/', { headers: { Accept: 'text/html' } });
    expect(html.body).to.include('href="/dav/dir/a%20b.txt"');
    expect(html.body).to.include('href="/dav/"');
  });

  it('resolves Destination under the prefix and refuses one outside it (502)', async () => {
    expect((await s.req('MOVE', '/dav/dir/a%20b.txt', { headers: { Destination: '/dav/moved.txt' } })).status).to.equal(201);
    expect(await readFile(join(s.root, 'moved.txt'), 'utf8')).to.equal('A');
    expect((await s.req('MOVE', '/dav/moved.txt', { headers: { Destination: '/elsewhere.txt' } })).status).to.equal(502);
    expect((await s.req('MOVE', '/dav/moved.txt', { headers: { Destination: `${s.base}/other/x.txt` } })).status).to.equal(502);
  });

  it('names lock roots with the prefix in lockdiscovery and in 423 bodies, and honours prefixed If tags', async () => {
    const lk = await s.req('LOCK', '/dav/dir/', { body: lockBody() });
    expect(lk.status).to.equal(200);
    expect(lk.body).to.include('<D:lockroot><D:href>/dav/dir/</D:href></D:lockroot>');
    const token = lockTokenOf(lk.headers);
    const refused = await s.req('PUT', '/dav/dir/new.txt', { body: 'n' });
    expect(refused.status).to.equal(423);
    expect(refused.body).to.include('<D:href>/dav/dir/</D:href>');
    const ok = await s.req('PUT', '/dav/dir/new.txt', { headers: { If: `<${s.base}/dav/dir/> (<${token}>)` }, body: 'n' });
    expect(ok.status).to.equal(201);
    const disc = await s.req('PROPFIND', '/dav/dir/new.txt', { headers: { Depth: '0' }, body: '<D:propfind xmlns:D="DAV:"><D:prop><D:lockdiscovery/></D:prop></D:propfind>' });
    expect(disc.body).to.include('<D:lockroot><D:href>/dav/dir/</D:href></D:lockroot>');
  });
});
