import { expect } from 'chai';
import { rm } from 'node:fs/promises';
import { makeTempDir, startTestServer, type TestServer } from '../helpers/server.js';
import { DAV, childElements, findChild, mkcolOk, multistatus, prop, propNames, propText, putOk, single, type MsResponse } from '../helpers/dav.js';
import type { XmlElement, XmlNode } from '../../src/xml/parse.js';

const update = (inner: string, decls = ''): string => `<?xml version="1.0" encoding="utf-8"?><D:propertyupdate xmlns:D="DAV:"${decls}>${inner}</D:propertyupdate>`;
const set = (props: string): string => `<D:set><D:prop>${props}</D:prop></D:set>`;
const remove = (props: string): string => `<D:remove><D:prop>${props}</D:prop></D:remove>`;

/** Namespace-resolved view of an element tree, prefixes dropped. */
function canon(node: XmlNode): unknown {
  if (typeof node === 'string') return node;
  // xml:lang is compared through `lang` (in scope), whether it was inherited or written on the element.
  const attrs = node.attrs.filter((a) => !(a.prefix === 'xml' && a.local === 'lang'));
  return { name: `{${node.ns}}${node.local}`, lang: node.lang, attrs: attrs.map((a) => `{${a.ns}}${a.local}=${a.value}`).sort(), children: node.children.map(canon) };
}

describe('PROPPATCH', () => {
  let s: TestServer;
  beforeEach(async () => {
    s = await startTestServer();
    await putOk(s, '/f.txt', 'x');
  });
  afterEach(async () => s.close());

  const find = async (path: string, props: string): Promise<MsResponse> =>
    single(await s.req('PROPFIND', path, { headers: { Depth: '0' }, body: `<?xml version="1.0"?><D:propfind xmlns:D="DAV:"><D:prop>${props}</D:prop></D:propfind>` }));

  it('sets and removes dead properties: 207 with a 200 propstat per property', async () => {
    const r = single(await s.req('PROPPATCH', '/f.txt', { body: update(set('<Z:a>1</Z:a><Z:b>2</Z:b>'), ' xmlns:Z="urn:z"') }));
    expect(r.href).to.equal('/f.txt');
    expect(propNames(r, 200).sort()).to.deep.equal(['{urn:z}a', '{urn:z}b']);
    for (const ps of r.propstats) for (const p of ps.props) expect(p.children).to.deep.equal([]);
    const got = await find('/f.txt', '<Z:a xmlns:Z="urn:z"/><Z:b xmlns:Z="urn:z"/>');
    expect(propText(got, 'urn:z', 'a')).to.equal('1');
    expect(propText(got, 'urn:z', 'b')).to.equal('2');

    const rm1 = single(await s.req('PROPPATCH', '/f.txt', { body: update(remove('<Z:a/><Z:never-set/>'), ' xmlns:Z="urn:z"') }));
    expect(propNames(rm1, 200).sort()).to.deep.equal(['{urn:z}a', '{urn:z}never-set']);
    const after = await find('/f.txt', '<Z:a xmlns:Z="urn:z"/><Z:b xmlns:Z="urn:z"/>');
    expect(prop(after, 'urn:z', 'a')!.status).to.equal(404);
    expect(propText(after, 'urn:z', 'b')).to.equal('2');
  });

  it('instructions apply in document order (set then remove, remove then set)', async () => {
    await s.req('PROPPATCH', '/f.txt', { body: update(set('<Z:x>1</Z:x>') + remove('<Z:x/>') + remove('<Z:y/>') + set('<Z:y>2</Z:y>'), ' xmlns:Z="urn:z"') });
    const got = await find('/f.txt', '<Z:x xmlns:Z="urn:z"/><Z:y xmlns:Z="urn:z"/>');
    expect(prop(got, 'urn:z', 'x')!.status).to.equal(404);
    expect(propText(got, 'urn:z', 'y')).to.equal('2');
  });

  it('works on collections too', async () => {
    await mkcolOk(s, '/c');
    const r = single(await s.req('PROPPATCH', '/c', { body: update(set('<Z:k>v</Z:k>'), ' xmlns:Z="urn:z"') }));
    expect(r.href).to.equal('/c/');
    expect(propText(await find('/c/', '<Z:k xmlns:Z="urn:z"/>'), 'urn:z', 'k')).to.equal('v');
  });

  it('protected live property: 403 with cannot-modify-protected-property, the rest 424, nothing changes', async () => {
    await s.req('PROPPATCH', '/f.txt', { body: update(set('<Z:keep>old</Z:keep>'), ' xmlns:Z="urn:z"') });
    const r = single(
      await s.req('PROPPATCH', '/f.txt', {
        body: update(set('<Z:keep>new</Z:keep><Z:other>o</Z:other>') + set('<D:getetag>"fake"</D:getetag>') + remove('<Z:gone/>'), ' xmlns:Z="urn:z"'),
      }),
    );
    expect(propNames(r, 403)).to.deep.equal(['{DAV:}getetag']);
    expect(propNames(r, 424).sort()).to.deep.equal(['{urn:z}gone', '{urn:z}keep', '{urn:z}other']);
    expect(propNames(r, 200)).to.deep.equal([]);
    const forbidden = r.propstats.find((p) => p.status === 403)!;
    expect(forbidden.error, 'DAV:error in the 403 propstat').to.not.equal(undefined);
    expect(childElements(forbidden.error!).map((e) => `{${e.ns}}${e.local}`)).to.deep.equal(['{DAV:}cannot-modify-protected-property']);
    const got = await find('/f.txt', '<Z:keep xmlns:Z="urn:z"/><Z:other xmlns:Z="urn:z"/>');
    expect(propText(got, 'urn:z', 'keep')).to.equal('old');
    expect(prop(got, 'urn:z', 'other')!.status).to.equal(404);
  });

  for (const live of ['getcontentlength', 'getlastmodified', 'resourcetype', 'creationdate', 'lockdiscovery', 'supportedlock', 'getcontenttype']) {
    it(`DAV:${live} is protected (set and remove)`, async () => {
      for (const body of [update(set(`<D:${live}>x</D:${live}>`)), update(remove(`<D:${live}/>`))]) {
        const r = single(await s.req('PROPPATCH', '/f.txt', { body }));
        expect(propNames(r, 403)).to.deep.equal([`{DAV:}${live}`]);
      }
    });
  }

  it('DAV:displayname may be set', async () => {
    const r = single(await s.req('PROPPATCH', '/f.txt', { body: update(set('<D:displayname>Pretty name</D:displayname>')) }));
    expect(propNames(r, 200)).to.deep.equal(['{DAV:}displayname']);
    expect(propText(await find('/f.txt', '<D:displayname/>'), DAV, 'displayname')).to.equal('Pretty name');
    const listing = multistatus(await s.req('PROPFIND', '/', { headers: { Depth: '1' }, body: '<D:propfind xmlns:D="DAV:"><D:prop><D:displayname/></D:prop></D:propfind>' }));
    expect(propText(listing.get('/f.txt')!, DAV, 'displayname')).to.equal('Pretty name');
  });

  describe('values round-trip', () => {
    const cases: [string, string, string][] = [
      ['plain text', '<Z:p xmlns:Z="urn:z">hello</Z:p>', 'urn:z'],
      ['non-ASCII text', '<Z:p xmlns:Z="urn:z">Grüße, 日本語, ελληνικά, 😀</Z:p>', 'urn:z'],
      ['escaped markup', '<Z:p xmlns:Z="urn:z">a &lt;b&gt; &amp; "c"</Z:p>', 'urn:z'],
      ['nested elements in other namespaces', '<Z:p xmlns:Z="urn:z"><Q:a xmlns:Q="urn:q"><Q:b>x</Q:b><R:c xmlns:R="urn:r"/></Q:a>tail</Z:p>', 'urn:z'],
      ['default namespace inside the value', '<Z:p xmlns:Z="urn:z"><inner xmlns="urn:inner"><leaf/></inner></Z:p>', 'urn:z'],
      ['attributes on value elements', '<Z:p xmlns:Z="urn:z"><Z:e plain="1" xmlns:A="urn:a" A:q="2"/></Z:p>', 'urn:z'],
      ['xml:lang on the property', '<Z:p xmlns:Z="urn:z" xml:lang="de-CH">Chuchichäschtli</Z:p>', 'urn:z'],
      ['xml:lang inherited from the prop element', '<Z:p xmlns:Z="urn:z">x</Z:p>', 'urn:z'],
      ['a property with no namespace', '<p xmlns="">no ns</p>', ''],
      ['an empty property', '<Z:p xmlns:Z="urn:z"/>', 'urn:z'],
      ['property in the default namespace of the request', '<p xmlns="urn:z">default</p>', 'urn:z'],
      ['CDATA', '<Z:p xmlns:Z="urn:z"><![CDATA[<not> & markup]]></Z:p>', 'urn:z'],
    ];
    for (const [label, el, ns] of cases) {
      it(label, async () => {
        const propOpen = label.includes('inherited') ? '<D:prop xml:lang="fr">' : '<D:prop>';
        const body = `<?xml version="1.0" encoding="utf-8"?><D:propertyupdate xmlns:D="DAV:"><D:set>${propOpen}${el}</D:prop></D:set></D:propertyupdate>`;
        const r = single(await s.req('PROPPATCH', '/f.txt', { body }));
        expect(propNames(r, 200)).to.deep.equal([`{${ns}}p`]);
        const sent = childElements(childElements(childElements((await import('../../src/xml/parse.js')).parseXml(body))[0]!)[0]!)[0]!;
        const got = prop(await find('/f.txt', ns ? `<Z:p xmlns:Z="${ns}"/>` : '<p xmlns=""/>'), ns, 'p');
        expect(got!.status).to.equal(200);
        const back: XmlElement = got!.el;
        expect(canon(back)).to.deep.equal(canon(sent));
        // allprop returns the same value
        const all = single(await s.req('PROPFIND', '/f.txt', { headers: { Depth: '0' } }));
        expect(canon(prop(all, ns, 'p')!.el)).to.deep.equal(canon(sent));
      });
    }
  });

  it('404 on a missing resource; 400 for malformed or wrong bodies', async () => {
    expect((await s.req('PROPPATCH', '/missing', { body: update(set('<Z:a xmlns:Z="urn:z">1</Z:a>')) })).status).to.equal(404);
    for (const body of ['', 'junk', '<D:propfind xmlns:D="DAV:"/>', update(''), '<D:propertyupdate xmlns:D="DAV:"><D:set><D:prop><Z:a>1</Z:a></D:prop></D:set></D:propertyupdate>']) {
      expect((await s.req('PROPPATCH', '/f.txt', { body })).status, body).to.equal(400);
    }
  });

  it('If-Match with a stale ETag is 412 and changes nothing', async () => {
    const r = await s.req('PROPPATCH', '/f.txt', { headers: { 'If-Match': '"stale"' }, body: update(set('<Z:a xmlns:Z="urn:z">1</Z:a>')) });
    expect(r.status).to.equal(412);
    expect(prop(await find('/f.txt', '<Z:a xmlns:Z="urn:z"/>'), 'urn:z', 'a')!.status).to.equal(404);
  });

  it('properties survive a server restart', async () => {
    const root = await makeTempDir('restart-props');
    try {
      let srv = await startTestServer({ root });
      await putOk(srv, '/p.txt', 'x');
      await srv.req('PROPPATCH', '/p.txt', { body: update(set('<Z:lang xml:lang="ja">日本語<Z:n a="1"/></Z:lang>'), ' xmlns:Z="urn:z"') });
      await srv.close();
      srv = await startTestServer({ root });
      try {
        const r = single(await srv.req('PROPFIND', '/p.txt', { headers: { Depth: '0' }, body: '<D:propfind xmlns:D="DAV:"><D:prop><Z:lang xmlns:Z="urn:z"/></D:prop></D:propfind>' }));
        const el = prop(r, 'urn:z', 'lang')!;
        expect(el.status).to.equal(200);
        expect(el.el.lang).to.equal('ja');
        expect(el.el.children[0]).to.equal('日本語');
        expect(findChild(el.el, 'urn:z', 'n')!.attrs[0]!.value).to.equal('1');
      } finally {
        await srv.close();
      }
    } finally {
      await rm(root, { recursive: true, force: true });
    }
  });
});
