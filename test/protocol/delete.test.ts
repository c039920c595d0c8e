import { expect } from 'chai';
import { stat, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { DAV, mkcolOk, multistatus, prop, putOk, single } from '../helpers/dav.js';

const propBody = (ns: string, name: string, value: string): string =>
  `<?xml version="1.0"?><D:propertyupdate xmlns:D="DAV:" xmlns:Z="${ns}"><D:set><D:prop><Z:${name}>${value}</Z:${name}></D:prop></D:set></D:propertyupdate>`;

describe('DELETE', () => {
  let s: TestServer;
  beforeEach(async () => (s = await startTestServer()));
  afterEach(async () => s.close());

  it('204 for a file, then 404', async () => {
    await putOk(s, '/f', 'x');
    const r = await s.req('DELETE', '/f');
    expect(r.status).to.equal(204);
    expect(r.body).to.equal('');
    expect((await s.req('GET', '/f')).status).to.equal(404);
    expect((await s.req('DELETE', '/f')).status).to.equal(404);
  });

  it('deletes a whole collection tree', async () => {
    await mkcolOk(s, '/c');
    await mkcolOk(s, '/c/d');
    await putOk(s, '/c/d/e.txt', 'x');
    await putOk(s, '/c/f.txt', 'y');
    expect((await s.req('DELETE', '/c/')).status).to.equal(204);
    expect(await readdir(s.root)).to.not.include('c');
    expect((await s.req('PROPFIND', '/c/d/e.txt', { headers: { Depth: '0' } })).status).to.equal(404);
  });

  it('Depth other than infinity on a collection is 400; on a file it is ignored', async () => {
    await mkcolOk(s, '/c');
    expect((await s.req('DELETE', '/c', { headers: { Depth: '0' } })).status).to.equal(400);
    expect((await s.req('DELETE', '/c', { headers: { Depth: '1' } })).status).to.equal(400);
    expect((await s.req('DELETE', '/c', { headers: { Depth: 'infinity' } })).status).to.equal(204);
  });

  it('the root collection cannot be deleted', async () => {
    expect((await s.req('DELETE', '/')).status).to.equal(403);
  });

  it('removes dead properties: a new resource at the same URL starts clean', async () => {
    await putOk(s, '/p.txt', 'x');
    expect((await s.req('PROPPATCH', '/p.txt', { body: propBody('urn:t', 'color', 'red') })).status).to.equal(207);
    await mkcolOk(s, '/c');
    await putOk(s, '/c/m.txt', 'x');
    expect((await s.req('PROPPATCH', '/c/m.txt', { body: propBody('urn:t', 'color', 'blue') })).status).to.equal(207);
    expect((await s.req('DELETE', '/p.txt')).status).to.equal(204);
    expect((await s.req('DELETE', '/c')).status).to.equal(204);
    await putOk(s, '/p.txt', 'new');
    await mkcolOk(s, '/c');
    await putOk(s, '/c/m.txt', 'new');
    const ask = '<?xml version="1.0"?><D:propfind xmlns:D="DAV:"><D:prop><Z:color xmlns:Z="urn:t"/></D:prop></D:propfind>';
    for (const p of ['/p.txt', '/c/m.txt']) {
      const r = single(await s.req('PROPFIND', p, { body: ask, headers: { Depth: '0' } }));
      expect(prop(r, 'urn:t', 'color')!.status, p).to.equal(404);
    }
  });

  it('a fragment is not stripped: DELETE /c/#frag does not delete /c/', async () => {
    await mkcolOk(s, '/c');
    const r = await s.req('DELETE', '/c/%23frag');
    expect(r.status).to.equal(404);
    expect((await stat(join(s.root, 'c'))).isDirectory()).to.equal(true);
    const raw = await s.req('DELETE', '/c/#frag');
    expect(raw.status).to.equal(404);
    expect((await stat(join(s.root, 'c'))).isDirectory()).to.equal(true);
  });

  it('If-Match with a stale ETag is 412 and keeps the file', async () => {
    await putOk(s, '/f', 'x');
    expect((await s.req('DELETE', '/f', { headers: { 'If-Match': '"stale"' } })).status).to.equal(412);
    expect((await s.req('GET', '/f')).status).to.equal(200);
    const etag = String((await s.req('HEAD', '/f')).headers['etag']);
    expect((await s.req('DELETE', '/f', { headers: { 'If-Match': etag } })).status).to.equal(204);
  });

  it('after DELETE of a member the collection lists only the rest', async () => {
    await mkcolOk(s, '/c');
    await putOk(s, '/c/a', '1');
    await putOk(s, '/c/b', '2');
    await s.req('DELETE', '/c/a');
    const r = await s.req('PROPFIND', '/c/', { headers: { Depth: '1' }, body: `<D:propfind xmlns:D="${DAV}"><D:prop><D:getetag/></D:prop></D:propfind>` });
    expect([...multistatus(r).keys()].sort()).to.deep.equal(['/c/', '/c/b']);
  });
});
