/**
 * XML bodies in the encodings XML 1.0 requires every processor to read (4.3.3: UTF-8 and UTF-16,
 * told apart by the byte order mark or appendix F's autodetection), and a declared ISO-8859-1.
 * Apache mod_dav (expat) reads them; this server answered 400 to UTF-16 and mis-decoded Latin-1.
 */
import { expect } from 'chai';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { prop, propText, putOk, single } from '../helpers/dav.js';

const utf16le = (s: string, bom = true): Buffer => Buffer.concat([bom ? Buffer.from([0xff, 0xfe]) : Buffer.alloc(0), Buffer.from(s, 'utf16le')]);
const utf16be = (s: string): Buffer => {
  const le = Buffer.from(s, 'utf16le');
  for (let i = 0; i < le.length; i += 2) [le[i], le[i + 1]] = [le[i + 1]!, le[i]!];
  return Buffer.concat([Buffer.from([0xfe, 0xff]), le]);
};

describe('qa: XML bodies in UTF-16 and declared encodings', () => {
  let s: TestServer;
  before(async () => {
    s = await startTestServer({ lockStore: 'memory' });
    await putOk(s, '/f.txt', 'x');
  });
  after(() => s.close());

  const pf = (enc: string): string => `<?xml version="1.0" encoding="${enc}"?><D:propfind xmlns:D="DAV:"><D:prop><D:getcontentlength/></D:prop></D:propfind>`;
  for (const [label, body] of [
    ['UTF-16LE with a byte order mark', utf16le(pf('UTF-16'))],
    ['UTF-16BE with a byte order mark', utf16be(pf('UTF-16'))],
    ['UTF-16LE without one (appendix F)', utf16le(pf('UTF-16'), false)],
  ] as const) {
    it(`PROPFIND in ${label} is read`, async () => {
      const r = await s.req('PROPFIND', '/f.txt', { body, headers: { Depth: '0', 'Content-Type': 'application/xml; charset=utf-16' } });
      expect(r.status, r.body).to.equal(207);
      expect(propText(single(r), 'DAV:', 'getcontentlength')).to.equal('1');
    });
  }

  it('PROPPATCH values keep their characters in UTF-16 and in a declared ISO-8859-1', async () => {
    const set = (enc: string, v: string): string =>
      `<?xml version="1.0" encoding="${enc}"?><D:propertyupdate xmlns:D="DAV:"><D:set><D:prop><q:v xmlns:q="urn:q">${v}</q:v></D:prop></D:set></D:propertyupdate>`;
    const ask = '<?xml version="1.0"?><D:propfind xmlns:D="DAV:"><D:prop><q:v xmlns:q="urn:q"/></D:prop></D:propfind>';
    const valueOf = async (): Promise<string | undefined> => {
      const one = single(await s.req('PROPFIND', '/f.txt', { body: ask, headers: { Depth: '0' } }));
      return prop(one, 'urn:q', 'v')?.status === 200 ? propText(one, 'urn:q', 'v') : undefined;
    };
    expect((await s.req('PROPPATCH', '/f.txt', { body: utf16le(set('UTF-16', 'Grüße 日本')) })).status).to.equal(207);
    expect(await valueOf()).to.equal('Grüße 日本');
    expect((await s.req('PROPPATCH', '/f.txt', { body: Buffer.from(set('ISO-8859-1', 'café'), 'latin1') })).status).to.equal(207);
    expect(await valueOf()).to.equal('café');
    expect((await s.req('PROPPATCH', '/f.txt', { body: Buffer.from(set('UTF-8', 'naïve'), 'utf8') })).status).to.equal(207);
    expect(await valueOf()).to.equal('naïve');
  });

  it('a body that is not what it declares, or in an unknown encoding, is refused clearly (never 500)', async () => {
    const bad = Buffer.concat([Buffer.from('<?xml version="1.0"?><D:propfind xmlns:D="DAV:"><D:prop><q:'), Buffer.from([0xc3, 0x28]), Buffer.from(' xmlns:q="urn:q"/></D:prop></D:propfind>')]);
    const r1 = await s.req('PROPFIND', '/f.txt', { body: bad, headers: { Depth: '0' } });
    expect(r1.status, r1.body).to.equal(400);
    expect(r1.body).to.match(/UTF-8/);
    const r2 = await s.req('PROPFIND', '/f.txt', { body: pf('x-no-such-charset'), headers: { Depth: '0' } });
    expect(r2.status, r2.body).to.equal(415);
    expect(r2.body).to.match(/x-no-such-charset/);
  });

  it('a Content-Type charset names the encoding of a body without a declaration (RFC 7303 8.1)', async () => {
    const body = Buffer.from('<D:propertyupdate xmlns:D="DAV:"><D:set><D:prop><q:w xmlns:q="urn:q">été</q:w></D:prop></D:set></D:propertyupdate>', 'latin1');
    expect((await s.req('PROPPATCH', '/f.txt', { body, headers: { 'Content-Type': 'text/xml; charset="ISO-8859-1"' } })).status).to.equal(207);
    const one = single(await s.req('PROPFIND', '/f.txt', { body: '<D:propfind xmlns:D="DAV:"><D:prop><q:w xmlns:q="urn:q"/></D:prop></D:propfind>', headers: { Depth: '0' } }));
    expect(propText(one, 'urn:q', 'w')).to.equal('été');
  });

  it('a gzip-coded XML body is 415 naming the coding, with Accept-Encoding: identity (RFC 7694 3)', async () => {
    const { gzipSync } = await import('node:zlib');
    const r = await s.req('PROPFIND', '/f.txt', { body: gzipSync(pf('UTF-8')), headers: { Depth: '0', 'Content-Encoding': 'gzip' } });
    expect(r.status, r.body).to.equal(415);
    expect(r.body).to.include('"gzip" is not supported');
    expect(r.headers['accept-encoding']).to.equal('identity');
    const plain = await s.req('PROPFIND', '/f.txt', { body: pf('UTF-8'), headers: { Depth: '0', 'Content-Encoding': 'identity' } });
    expect(plain.status).to.equal(207);
  });
});
