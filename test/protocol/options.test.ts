import { expect } from 'chai';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { mkcolOk, putOk } from '../helpers/dav.js';

describe('OPTIONS', () => {
  let s: TestServer;
  before(async () => (s = await startTestServer()));
  after(async () => s.close());

  const methods = ['OPTIONS', 'GET', 'HEAD', 'PUT', 'DELETE', 'MKCOL', 'COPY', 'MOVE', 'PROPFIND', 'PROPPATCH', 'LOCK', 'UNLOCK'];

  function checkDav(r: { status: number; headers: Record<string, unknown> }): void {
    expect(r.status).to.equal(200);
    expect(r.headers['dav']).to.equal('1, 2');
    expect(r.headers['ms-author-via']).to.equal('DAV');
    const allow = String(r.headers['allow']).split(/,\s*/);
    for (const m of methods) expect(allow).to.include(m);
  }

  it('on the root advertises class 1 and 2, MS-Author-Via and every method', async () => {
    const r = await s.req('OPTIONS', '/');
    checkDav(r);
    expect(r.body).to.equal('');
  });

  it('on a file, a collection, an unmapped URL and *', async () => {
    await mkcolOk(s, '/c');
    await putOk(s, '/c/f.txt', 'x');
    for (const p of ['/c', '/c/', '/c/f.txt', '/nothing-here', '*']) checkDav(await s.req('OPTIONS', p));
  });

  it('405 with Allow for HTTP methods we do not serve, 501 for unknown ones', async () => {
    const r = await s.req('POST', '/', { body: 'x' });
    expect(r.status).to.equal(405);
    expect(String(r.headers['allow'])).to.include('PROPFIND');
    // Node's parser only accepts methods it knows; these two it knows and we do not serve.
    expect((await s.req('MKACTIVITY', '/')).status).to.equal(501);
    expect((await s.req('SUBSCRIBE', '/')).status).to.equal(501);
  });
});
