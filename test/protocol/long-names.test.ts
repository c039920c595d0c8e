/**
 * Names of 255 bytes (the longest a filesystem name may be), ASCII and multi-byte, through every
 * method, dead properties and locks included: never a 414 or a 5xx after the work was done, and
 * PROPFIND never cuts its connection.
 */
import { expect } from 'chai';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { lockOk, mkcolOk, multistatus, prop, putOk, single, textContent } from '../helpers/dav.js';
import { encodeSegment } from '../../src/dav/path.js';

const Z = 'urn:z';
const setProp = (value: string): string =>
  `<?xml version="1.0"?><D:propertyupdate xmlns:D="DAV:" xmlns:Z="${Z}"><D:set><D:prop><Z:v>${value}</Z:v></D:prop></D:set></D:propertyupdate>`;
const askV = '<?xml version="1.0"?><D:propfind xmlns:D="DAV:" xmlns:Z="urn:z"><D:prop><Z:v/></D:prop></D:propfind>';

/** Names of exactly 255 bytes in UTF-8. */
const NAMES: Record<string, string> = {
  ascii: 'a'.repeat(250) + '.txt1',
  'two-byte': 'é'.repeat(127) + 'z',
  'three-byte': '✓'.repeat(85),
  'four-byte': '😀'.repeat(63) + 'abc',
};

describe('names of 255 bytes', function () {
  this.timeout(30_000);
  let s: TestServer;
  before(async () => {
    s = await startTestServer();
  });
  after(() => s.close());

  for (const [label, name] of Object.entries(NAMES)) {
    it(`${label}: every method, properties and locks, no 414 and no 5xx`, async () => {
      expect(Buffer.byteLength(name)).to.equal(255);
      const dir = `/${label}`;
      await mkcolOk(s, dir);
      await mkcolOk(s, `${dir}/other`);
      const url = `${dir}/${encodeSegment(name)}`;
      const moved = `${dir}/other/${encodeSegment(name)}`;
      await putOk(s, url, 'content');
      expect((await s.req('GET', url)).body).to.equal('content');

      const pp = await s.req('PROPPATCH', url, { body: setProp(label) });
      expect(pp.status, pp.body).to.equal(207);
      expect(pp.body).to.include('200 OK');
      expect(textContent(prop(single(await s.req('PROPFIND', url, { headers: { Depth: '0' }, body: askV })), Z, 'v')!.el)).to.equal(label);
      // The listing of the folder shows the member and its property.
      const listing = multistatus(await s.req('PROPFIND', dir, { headers: { Depth: '1' }, body: askV }));
      expect(textContent(prop(listing.get(url)!, Z, 'v')!.el)).to.equal(label);

      const { token } = await lockOk(s, url);
      expect((await s.req('PUT', url, { body: 'v2', headers: { If: `(<${token}>)` } })).status).to.equal(204);
      expect((await s.req('UNLOCK', url, { headers: { 'Lock-Token': `<${token}>` } })).status).to.equal(204);

      const copied = await s.req('COPY', url, { headers: { Destination: moved } });
      expect(copied.status, copied.body).to.equal(201);
      expect(textContent(prop(single(await s.req('PROPFIND', moved, { headers: { Depth: '0' }, body: askV })), Z, 'v')!.el)).to.equal(label);
      const del = await s.req('DELETE', moved);
      expect(del.status).to.equal(204);
      const mv = await s.req('MOVE', url, { headers: { Destination: moved } });
      expect(mv.status, mv.body).to.equal(201);
      expect(textContent(prop(single(await s.req('PROPFIND', moved, { headers: { Depth: '0' }, body: askV })), Z, 'v')!.el)).to.equal(label);
      expect((await s.req('GET', url)).status).to.equal(404);

      // A collection with such a name, its properties following it around.
      const coll = `${dir}/${encodeSegment(name)}`;
      await mkcolOk(s, coll);
      await putOk(s, `${coll}/inside.txt`, 'inside');
      expect((await s.req('PROPPATCH', `${coll}/inside.txt`, { body: setProp('inner') })).status).to.equal(207);
      expect((await s.req('PROPPATCH', coll, { body: setProp('outer') })).status).to.equal(207);
      const tree = multistatus(await s.req('PROPFIND', dir, { headers: { Depth: 'infinity' }, body: askV }));
      expect(textContent(prop(tree.get(`${coll}/`)!, Z, 'v')!.el)).to.equal('outer');
      expect(textContent(prop(tree.get(`${coll}/inside.txt`)!, Z, 'v')!.el)).to.equal('inner');
      const renamed = `${dir}/renamed`;
      expect((await s.req('MOVE', coll, { headers: { Destination: renamed } })).status).to.equal(201);
      expect(textContent(prop(single(await s.req('PROPFIND', `${renamed}/inside.txt`, { headers: { Depth: '0' }, body: askV })), Z, 'v')!.el)).to.equal('inner');
      expect(textContent(prop(single(await s.req('PROPFIND', renamed, { headers: { Depth: '0' }, body: askV })), Z, 'v')!.el)).to.equal('outer');
      expect((await s.req('MOVE', renamed, { headers: { Destination: coll } })).status).to.equal(201);
      expect(textContent(prop(single(await s.req('PROPFIND', coll, { headers: { Depth: '0' }, body: askV })), Z, 'v')!.el)).to.equal('outer');
      expect((await s.req('DELETE', dir)).status).to.equal(204);
    });
  }

  it('a name one byte too long is refused before anything is done (414), never after', async () => {
    const name = encodeSegment('b'.repeat(256));
    const r = await s.req('PUT', `/${name}`, { body: 'x' });
    expect(r.status).to.be.oneOf([400, 409, 414]);
    expect((await s.req('PROPFIND', '/', { headers: { Depth: '1' } })).body).to.not.include('bbbbbbbb');
  });
});
