import { expect } from 'chai';
import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { mkcolOk, putOk, streamRequest } from '../helpers/dav.js';

describe('MKCOL', () => {
  let s: TestServer;
  beforeEach(async () => (s = await startTestServer()));
  afterEach(async () => s.close());

  it('201 creates a directory; with or without a trailing slash', async () => {
    const r = await s.req('MKCOL', '/new');
    expect(r.status).to.equal(201);
    expect((await stat(join(s.root, 'new'))).isDirectory()).to.equal(true);
    expect((await s.req('MKCOL', '/new/sub/')).status).to.equal(201);
    expect((await stat(join(s.root, 'new', 'sub'))).isDirectory()).to.equal(true);
  });

  it('405 on an existing collection or file, with Allow', async () => {
    await mkcolOk(s, '/c');
    await putOk(s, '/f', 'x');
    for (const p of ['/c', '/c/', '/f', '/']) {
      const r = await s.req('MKCOL', p);
      expect(r.status, p).to.equal(405);
      expect(String(r.headers['allow'])).to.include('PROPFIND');
      expect(String(r.headers['allow'])).to.not.include('MKCOL');
    }
    expect((await s.req('GET', '/f')).body).to.equal('x');
  });

  it('409 when the parent is missing or is a file', async () => {
    expect((await s.req('MKCOL', '/a/b')).status).to.equal(409);
    expect((await s.req('MKCOL', '/a/b/c/')).status).to.equal(409);
    await putOk(s, '/f', 'x');
    expect((await s.req('MKCOL', '/f/sub')).status).to.equal(409);
  });

  it('415 with a body (also chunked), nothing created', async () => {
    const r = await s.req('MKCOL', '/withbody', { body: '<?xml version="1.0"?><x/>', headers: { 'Content-Type': 'application/xml' } });
    expect(r.status).to.equal(415);
    const chunked = await streamRequest(s, 'MKCOL', '/withbody2', ['abc', 'def']);
    expect(chunked !== 'aborted' && chunked.status).to.equal(415);
    expect((await s.req('PROPFIND', '/withbody', { headers: { Depth: '0' } })).status).to.equal(404);
    expect((await s.req('PROPFIND', '/withbody2', { headers: { Depth: '0' } })).status).to.equal(404);
  });

  it('an empty body with Content-Length 0 is fine', async () => {
    expect((await s.req('MKCOL', '/zero', { body: '' })).status).to.equal(201);
  });

  it('the new collection is listed with DAV:collection', async () => {
    await mkcolOk(s, '/c');
    const r = await s.req('PROPFIND', '/c', { headers: { Depth: '0' }, body: '<D:propfind xmlns:D="DAV:"><D:prop><D:resourcetype/></D:prop></D:propfind>' });
    expect(r.status).to.equal(207);
    expect(r.body).to.match(/<D:resourcetype><D:collection\/><\/D:resourcetype>/);
  });

  it('MKCOL of the reserved metadata name is refused', async () => {
    expect((await s.req('MKCOL', '/.davmeta')).status).to.equal(403);
  });
});
