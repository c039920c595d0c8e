import { expect } from 'chai';
import { readFile, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { lockBody, startTestServer, type TestServer } from '../helpers/server.js';
import { mkcolOk, putOk } from '../helpers/dav.js';

/** A URL ending in '/' names a collection: on a file it maps to nothing (RFC 3986 6.2.4, RFC 4918 8.3). */
describe('A trailing slash on a file URL', () => {
  let s: TestServer;
  beforeEach(async () => {
    s = await startTestServer();
    await mkcolOk(s, '/dir');
    await putOk(s, '/a.txt', 'keep me');
  });
  afterEach(async () => s.close());

  it('GET, HEAD, PROPFIND and PROPPATCH of /a.txt/ are 404', async () => {
    for (const m of ['GET', 'HEAD', 'PROPFIND', 'PROPPATCH']) {
      const body = m === 'PROPPATCH' ? '<D:propertyupdate xmlns:D="DAV:"><D:set><D:prop><x xmlns="urn:x">1</x></D:prop></D:set></D:propertyupdate>' : undefined;
      expect((await s.req(m, '/a.txt/', body ? { body } : {})).status, m).to.equal(404);
    }
    expect((await s.req('GET', '/a.txt')).body).to.equal('keep me');
  });

  it('DELETE, COPY and MOVE of /a.txt/ are 404 and leave the file alone', async () => {
    expect((await s.req('DELETE', '/a.txt/')).status).to.equal(404);
    expect((await s.req('COPY', '/a.txt/', { headers: { Destination: '/b.txt' } })).status).to.equal(404);
    expect((await s.req('MOVE', '/a.txt/', { headers: { Destination: '/b.txt' } })).status).to.equal(404);
    expect(await readFile(join(s.root, 'a.txt'), 'utf8')).to.equal('keep me');
    expect((await readdir(s.root)).filter((n) => !n.startsWith('.'))).to.have.members(['a.txt', 'dir']);
  });

  it('PUT to a URL ending in / is 409 and stores nothing, over a file or an unmapped name', async () => {
    expect((await s.req('PUT', '/a.txt/', { body: 'lost' })).status).to.equal(409);
    expect((await s.req('PUT', '/new/', { body: 'x' })).status).to.equal(409);
    expect(await readFile(join(s.root, 'a.txt'), 'utf8')).to.equal('keep me');
    expect((await readdir(s.root)).filter((n) => !n.startsWith('.'))).to.have.members(['a.txt', 'dir']);
  });

  it('LOCK of an unmapped URL ending in / is 409 and creates no file', async () => {
    expect((await s.req('LOCK', '/new/', { body: lockBody() })).status).to.equal(409);
    expect((await readdir(s.root)).filter((n) => !n.startsWith('.'))).to.have.members(['a.txt', 'dir']);
  });

  it('collections still answer with or without the slash', async () => {
    expect((await s.req('PROPFIND', '/dir/', { headers: { Depth: '0' } })).status).to.equal(207);
    expect((await s.req('PROPFIND', '/dir', { headers: { Depth: '0' } })).status).to.equal(207);
    expect((await s.req('LOCK', '/dir/', { body: lockBody() })).status).to.equal(200);
    expect((await s.req('MKCOL', '/sub/')).status).to.equal(201);
    expect((await s.req('DELETE', '/sub/')).status).to.equal(204);
  });
});
