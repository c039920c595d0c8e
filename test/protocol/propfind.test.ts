import { expect } from 'chai';
import { mkdir, writeFile, utimes } from 'node:fs/promises';
import { join } from 'node:path';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { DAV, childElements, findChild, lockOk, mkcolOk, multistatus, prop, propNames, propText, putOk, single, textContent } from '../helpers/dav.js';

const ALL_LIVE_FILE = ['creationdate', 'displayname', 'getcontentlength', 'getcontenttype', 'getetag', 'getlastmodified', 'resourcetype', 'supportedlock', 'lockdiscovery'];
const ALL_LIVE_COLL = ALL_LIVE_FILE.filter((n) => n !== 'getcontentlength' && n !== 'getcontenttype');
const dav = (names: string[]): string[] => names.map((n) => `{DAV:}${n}`).sort();

const propfindBody = (inner: string): string => `<?xml version="1.0" encoding="utf-8"?><D:propfind xmlns:D="DAV:">${inner}</D:propfind>`;

describe('PROPFIND', () => {
  let s: TestServer;
  const MTIME = new Date(Date.UTC(2023, 10, 5, 6, 7, 8));
  before(async () => {
    s = await startTestServer();
    await mkcolOk(s, '/c');
    await mkcolOk(s, '/c/sub');
    await putOk(s, '/c/file.txt', 'hello');
    await putOk(s, '/c/sub/deep.json', '{}');
    await putOk(s, '/c/.hidden', 'dot files stay visible');
    await putOk(s, '/c/caf%C3%A9%20x.txt', 'é');
    await utimes(join(s.root, 'c', 'file.txt'), MTIME, MTIME);
    const r = await s.req('PROPPATCH', '/c/file.txt', {
      body: '<?xml version="1.0"?><D:propertyupdate xmlns:D="DAV:" xmlns:Z="urn:z"><D:set><D:prop><Z:color>red</Z:color></D:prop></D:set></D:propertyupdate>',
    });
    expect(r.status).to.equal(207);
  });
  after(async () => s.close());

  it('Depth 0 on a file, allprop: every live property with the right values, plus dead ones', async () => {
    const res = await s.req('PROPFIND', '/c/file.txt', { headers: { Depth: '0' }, body: propfindBody('<D:allprop/>') });
    const r = single(res);
    expect(r.href).to.equal('/c/file.txt');
    expect(propNames(r, 404)).to.deep.equal([]);
    expect(propNames(r, 200).sort()).to.deep.equal([...dav(ALL_LIVE_FILE), '{urn:z}color'].sort());
    expect(propText(r, DAV, 'getcontentlength')).to.equal('5');
    expect(propText(r, DAV, 'getcontenttype')).to.equal('text/plain; charset=utf-8');
    expect(propText(r, DAV, 'getlastmodified')).to.equal(MTIME.toUTCString());
    expect(propText(r, DAV, 'displayname')).to.equal('file.txt');
    expect(propText(r, DAV, 'creationdate')).to.match(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
    expect(propText(r, DAV, 'getetag')).to.equal((await s.req('HEAD', '/c/file.txt')).headers['etag']);
    expect(childElements(prop(r, DAV, 'resourcetype')!.el)).to.deep.equal([]);
    expect(propText(r, 'urn:z', 'color')).to.equal('red');
    const sl = prop(r, DAV, 'supportedlock')!.el;
    const entries = childElements(sl).map((e) => childElements(findChild(e, DAV, 'lockscope')!)[0]!.local);
    expect(entries.sort()).to.deep.equal(['exclusive', 'shared']);
    expect(childElements(prop(r, DAV, 'lockdiscovery')!.el)).to.deep.equal([]);
  });

  it('an empty body means allprop', async () => {
    const r = single(await s.req('PROPFIND', '/c/file.txt', { headers: { Depth: '0' } }));
    expect(propNames(r, 200).sort()).to.deep.equal([...dav(ALL_LIVE_FILE), '{urn:z}color'].sort());
  });

  it('Depth 0 on a collection: DAV:collection, no content length, href with a slash', async () => {
    const r = single(await s.req('PROPFIND', '/c', { headers: { Depth: '0' } }));
    expect(r.href).to.equal('/c/');
    expect(propNames(r, 200).sort()).to.deep.equal(dav(ALL_LIVE_COLL));
    const rt = childElements(prop(r, DAV, 'resourcetype')!.el);
    expect(rt.map((e) => `{${e.ns}}${e.local}`)).to.deep.equal(['{DAV:}collection']);
  });

  it('Depth 1 lists the collection and its members, dot files included, .davmeta never', async () => {
    const all = multistatus(await s.req('PROPFIND', '/c/', { headers: { Depth: '1' } }));
    expect([...all.keys()].sort()).to.deep.equal(['/c/', '/c/.hidden', '/c/caf%C3%A9%20x.txt', '/c/file.txt', '/c/sub/']);
    expect(propText(all.get('/c/caf%C3%A9%20x.txt')!, DAV, 'displayname')).to.equal('café x.txt');
    const root = multistatus(await s.req('PROPFIND', '/', { headers: { Depth: '1' } }));
    expect([...root.keys()].sort()).to.deep.equal(['/', '/c/']);
  });

  it('Depth infinity (and no Depth header) lists the whole tree', async () => {
    for (const headers of [{ Depth: 'infinity' }, {}] as Record<string, string>[]) {
      const all = multistatus(await s.req('PROPFIND', '/c', { headers }));
      expect([...all.keys()].sort()).to.deep.equal(['/c/', '/c/.hidden', '/c/caf%C3%A9%20x.txt', '/c/file.txt', '/c/sub/', '/c/sub/deep.json']);
    }
  });

  it('Depth 1 on a file answers for the file alone', async () => {
    const all = multistatus(await s.req('PROPFIND', '/c/file.txt', { headers: { Depth: '1' } }));
    expect([...all.keys()]).to.deep.equal(['/c/file.txt']);
  });

  it('getcontenttype comes from the name, never from the body', async () => {
    await putOk(s, '/c/sub/fake.png', 'this is plain text, not a PNG');
    await putOk(s, '/c/sub/real-png-bytes.txt', Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]));
    const all = multistatus(await s.req('PROPFIND', '/c/sub/', { headers: { Depth: '1' }, body: propfindBody('<D:prop><D:getcontenttype/></D:prop>') }));
    expect(propText(all.get('/c/sub/fake.png')!, DAV, 'getcontenttype')).to.equal('image/png');
    expect(propText(all.get('/c/sub/real-png-bytes.txt')!, DAV, 'getcontenttype')).to.equal('text/plain; charset=utf-8');
    expect(propText(all.get('/c/sub/deep.json')!, DAV, 'getcontenttype')).to.match(/^application\/json/);
    await s.req('DELETE', '/c/sub/fake.png');
    await s.req('DELETE', '/c/sub/real-png-bytes.txt');
  });

  it('400 for an invalid Depth', async () => {
    expect((await s.req('PROPFIND', '/c', { headers: { Depth: '2' } })).status).to.equal(400);
  });

  it('prop: found ones in a 200 propstat, unknown ones in a 404 propstat', async () => {
    const body = propfindBody('<D:prop><D:getcontentlength/><D:getetag/><Z:color xmlns:Z="urn:z"/><Z:nope xmlns:Z="urn:z"/><D:nosuch/><plain xmlns=""/></D:prop>');
    const r = single(await s.req('PROPFIND', '/c/file.txt', { headers: { Depth: '0' }, body }));
    expect(propNames(r, 200).sort()).to.deep.equal(['{DAV:}getcontentlength', '{DAV:}getetag', '{urn:z}color']);
    expect(propNames(r, 404).sort()).to.deep.equal(['{DAV:}nosuch', '{urn:z}nope', '{}plain']);
    expect(r.propstats.map((p) => p.status).sort()).to.deep.equal([200, 404]);
  });

  it('prop with only unknown properties: a single 404 propstat', async () => {
    const r = single(await s.req('PROPFIND', '/c/file.txt', { headers: { Depth: '0' }, body: propfindBody('<D:prop><X:a xmlns:X="urn:x"/></D:prop>') }));
    expect(r.propstats.map((p) => p.status)).to.deep.equal([404]);
  });

  it('getcontentlength on a collection is a 404 propstat', async () => {
    const r = single(await s.req('PROPFIND', '/c', { headers: { Depth: '0' }, body: propfindBody('<D:prop><D:getcontentlength/><D:resourcetype/></D:prop>') }));
    expect(prop(r, DAV, 'getcontentlength')!.status).to.equal(404);
    expect(prop(r, DAV, 'resourcetype')!.status).to.equal(200);
  });

  it('default namespace and odd prefixes in the request are understood', async () => {
    const body = '<?xml version="1.0"?><propfind xmlns="DAV:"><prop><getcontentlength/><color xmlns="urn:z"/></prop></propfind>';
    const r = single(await s.req('PROPFIND', '/c/file.txt', { headers: { Depth: '0' }, body }));
    expect(propText(r, DAV, 'getcontentlength')).to.equal('5');
    expect(propText(r, 'urn:z', 'color')).to.equal('red');
  });

  it('propname: names only, empty elements, live and dead', async () => {
    const r = single(await s.req('PROPFIND', '/c/file.txt', { headers: { Depth: '0' }, body: propfindBody('<D:propname/>') }));
    expect(propNames(r, 200).sort()).to.deep.equal([...dav(ALL_LIVE_FILE), '{urn:z}color'].sort());
    for (const ps of r.propstats) for (const p of ps.props) expect(p.children, p.local).to.deep.equal([]);
  });

  it('allprop with include returns the extra named properties', async () => {
    const r = single(await s.req('PROPFIND', '/c', { headers: { Depth: '0' }, body: propfindBody('<D:allprop/><D:include><D:quota-available-bytes/></D:include>') }));
    expect(Number(propText(r, DAV, 'quota-available-bytes'))).to.be.greaterThan(0);
    const plain = single(await s.req('PROPFIND', '/c', { headers: { Depth: '0' }, body: propfindBody('<D:allprop/>') }));
    expect(prop(plain, DAV, 'quota-available-bytes')).to.equal(undefined);
  });

  it('lockdiscovery shows an active lock', async () => {
    const { token } = await lockOk(s, '/c/sub/deep.json', { timeout: 'Second-600' });
    const r = single(await s.req('PROPFIND', '/c/sub/deep.json', { headers: { Depth: '0' }, body: propfindBody('<D:prop><D:lockdiscovery/></D:prop>') }));
    const al = findChild(prop(r, DAV, 'lockdiscovery')!.el, DAV, 'activelock')!;
    expect(textContent(findChild(findChild(al, DAV, 'locktoken')!, DAV, 'href')!)).to.equal(token);
    expect(textContent(findChild(findChild(al, DAV, 'lockroot')!, DAV, 'href')!)).to.equal('/c/sub/deep.json');
    expect(textContent(findChild(al, DAV, 'timeout')!)).to.match(/^Second-(59\d|600)$/);
    expect((await s.req('UNLOCK', '/c/sub/deep.json', { headers: { 'Lock-Token': `<${token}>` } })).status).to.equal(204);
  });

  it('404 for a missing resource', async () => {
    expect((await s.req('PROPFIND', '/c/missing', { headers: { Depth: '0' } })).status).to.equal(404);
  });

  describe('bad bodies are 400', () => {
    const bodies: [string, string][] = [
      ['not XML', 'this is not xml'],
      ['unclosed', '<D:propfind xmlns:D="DAV:"><D:prop>'],
      ['undeclared prefix', '<D:propfind><D:allprop/></D:propfind>'],
      ['prefix bound to empty namespace', '<D:propfind xmlns:D=""><D:allprop/></D:propfind>'],
      ['DOCTYPE', '<?xml version="1.0"?><!DOCTYPE D:propfind [<!ENTITY x "y">]><D:propfind xmlns:D="DAV:"><D:allprop/></D:propfind>'],
      ['unknown entity', '<D:propfind xmlns:D="DAV:"><D:prop><X:a xmlns:X="urn:x">&bogus;</X:a></D:prop></D:propfind>'],
      ['two roots', '<D:propfind xmlns:D="DAV:"><D:allprop/></D:propfind><D:propfind xmlns:D="DAV:"/>'],
      ['text after a self-closing root', '<D:propfind xmlns:D="DAV:"/>junk'],
      ['wrong root element', '<D:propertyupdate xmlns:D="DAV:"/>'],
      ['propfind in the wrong namespace', '<propfind xmlns="urn:not-dav"><allprop/></propfind>'],
      ['both prop and allprop', propfindBody('<D:allprop/><D:prop><D:getetag/></D:prop>')],
      ['neither prop nor allprop', propfindBody('')],
      ['too deep', '<a>'.repeat(200) + '</a>'.repeat(200)],
    ];
    for (const [label, body] of bodies) {
      it(label, async () => {
        const r = await s.req('PROPFIND', '/c', { headers: { Depth: '0', 'Content-Type': 'application/xml' }, body });
        expect(r.status, r.body).to.equal(400);
      });
    }
    it('the server still answers afterwards', async () => {
      expect((await s.req('PROPFIND', '/c', { headers: { Depth: '0' } })).status).to.equal(207);
    });
  });

  it('413 for an XML body over the limit', async () => {
    const small = await startTestServer({ maxXmlBytes: 1000 });
    try {
      const body = propfindBody(`<D:prop>${'<D:getetag/>'.repeat(200)}</D:prop>`);
      expect((await small.req('PROPFIND', '/', { headers: { Depth: '0' }, body })).status).to.equal(413);
    } finally {
      await small.close();
    }
  });

  describe('the metadata store', () => {
    it('.davmeta is never listed and never addressable', async () => {
      const all = multistatus(await s.req('PROPFIND', '/', { headers: { Depth: 'infinity' } }));
      for (const href of all.keys()) expect(href).to.not.include('.davmeta');
      for (const p of ['/.davmeta', '/.davmeta/', '/.davmeta/props', '/%2Edavmeta/x', '/.davmeta/locks.json']) {
        expect((await s.req('GET', p)).status, `GET ${p}`).to.equal(404);
        expect((await s.req('PROPFIND', p, { headers: { Depth: '0' } })).status, `PROPFIND ${p}`).to.equal(404);
        expect((await s.req('PUT', p, { body: 'x' })).status, `PUT ${p}`).to.equal(403);
        expect((await s.req('DELETE', p)).status, `DELETE ${p}`).to.equal(403);
        expect((await s.req('PROPPATCH', p, { body: '<D:propertyupdate xmlns:D="DAV:"><D:set><D:prop><x xmlns="urn:x">1</x></D:prop></D:set></D:propertyupdate>' })).status).to.equal(403);
        expect((await s.req('LOCK', p, { body: '<D:lockinfo xmlns:D="DAV:"><D:lockscope><D:exclusive/></D:lockscope><D:locktype><D:write/></D:locktype></D:lockinfo>' })).status).to.equal(403);
      }
    });

    it('a .davmeta inside a subdirectory is an ordinary name', async () => {
      await mkdir(join(s.root, 'c', 'sub', '.davmeta'));
      await writeFile(join(s.root, 'c', 'sub', '.davmeta', 'f'), 'ordinary');
      const all = multistatus(await s.req('PROPFIND', '/c/sub', { headers: { Depth: '1' } }));
      expect([...all.keys()]).to.include('/c/sub/.davmeta/');
      expect((await s.req('GET', '/c/sub/.davmeta/f')).body).to.equal('ordinary');
    });
  });
});
