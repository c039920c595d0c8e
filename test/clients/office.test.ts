/**
 * Office documents edited in place: Microsoft Office through the Windows WebClient, and
 * LibreOffice.
 *
 * Microsoft Office is closed source; its sequence follows Microsoft's published protocol
 * documents ([MS-WDV] WebDAV client extensions, [MS-WDVME]) and the traces SabreDAV documents
 * for Office (sabre.io/dav/clients/msoffice): OPTIONS on the folder, HEAD on the folder,
 * PROPFIND, LOCK with an `<D:owner><D:href>` owner and Timeout: Second-3600, PUT/PROPPATCH with
 * the token in a tagged If header, LOCK refreshes (If, no body), UNLOCK on close.
 *
 * LibreOffice: LibreOffice/core ucb/source/ucp/webdav-curl/CurlSession.cxx (CurlSession::LOCK
 * writes `<lockinfo xmlns="DAV:"><lockscope><exclusive/></lockscope><locktype><write/>
 * </locktype><owner>...</owner></lockinfo>`; refresh is a LOCK with If and no body; UNLOCK with
 * `Lock-Token: <token>`), webdavcontent.cxx (reads DAV:supportedlock before locking; a new
 * document is created by LOCK on the unmapped URL, then PUT).
 */
import { expect } from 'chai';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { makeTempDir, startTestServer, type TestServer } from '../helpers/server.js';
import { basic, writeHtpasswd } from '../helpers/auth.js';
import { DAV, childElements, davError, findChild, multistatus, prop, single, textContent } from '../helpers/dav.js';

const WORD_UA = 'Microsoft Office Word 2014';
const MINIREDIR = 'Microsoft-WebDAV-MiniRedir/10.0.19045';

const officeLock = (owner: string): string =>
  `<?xml version="1.0" encoding="utf-8" ?><D:lockinfo xmlns:D="DAV:"><D:lockscope><D:exclusive/></D:lockscope><D:locktype><D:write/></D:locktype><D:owner><D:href>${owner}</D:href></D:owner></D:lockinfo>`;

const lockDiscoveryBody = '<?xml version="1.0" encoding="utf-8" ?><D:propfind xmlns:D="DAV:"><D:prop><D:lockdiscovery/><D:supportedlock/><D:getlastmodified/><D:getcontentlength/><D:resourcetype/></D:prop></D:propfind>';

describe('clients: Microsoft Office (Word/Excel through the WebClient)', () => {
  let s: TestServer;
  let dir: string;
  const alice = { Authorization: basic('alice', 'wonderland') };
  const bob = { Authorization: basic('bob', 'builder') };
  before(async () => {
    dir = await makeTempDir('office-auth');
    const htpasswd = await writeHtpasswd(dir, { alice: 'wonderland', bob: 'builder' });
    s = await startTestServer({ lockStore: 'memory', htpasswd });
    await writeFile(join(s.root, 'Report.docx'), 'PK original');
  });
  after(() => s.close());

  it('opens, edits and saves a document under an exclusive lock; a second user sees "locked by"', async () => {
    const ua = { 'User-Agent': WORD_UA };
    // OPTIONS needs no credentials and offers class 2.
    const opt = await s.req('OPTIONS', '/', { headers: { 'User-Agent': MINIREDIR } });
    expect(opt.status).to.equal(200);
    expect(opt.headers['dav']).to.equal('1, 2');
    expect(opt.headers['ms-author-via']).to.equal('DAV');
    // HEAD on the folder (Office checks it is there before opening the document).
    const head = await s.req('HEAD', '/', { headers: { ...ua, ...alice } });
    expect(head.status).to.equal(200);
    const headNoSlash = await s.req('HEAD', '/Report.docx', { headers: { ...ua, ...alice } });
    expect(headNoSlash.status).to.equal(200);
    expect(headNoSlash.headers['content-length']).to.equal('11');

    const lk = await s.req('LOCK', '/Report.docx', { headers: { ...ua, ...alice, Timeout: 'Second-3600', 'Content-Type': 'text/xml; charset="utf-8"' }, body: officeLock('CONTOSO\\alice') });
    expect(lk.status).to.equal(200);
    const token = /^<(urn:uuid:[^>]+)>$/.exec(String(lk.headers['lock-token']))![1]!;
    expect(lk.body).to.match(/<D:owner><D:href[^>]*>CONTOSO\\alice<\/D:href><\/D:owner>/);
    expect(lk.body).to.match(/<D:timeout>Second-3[56]\d\d<\/D:timeout>/);

    // Office's If header is tagged with the document's full URL.
    const tagged = { If: `<${s.base}/Report.docx> (<${token}>)` };
    const pp = await s.req('PROPPATCH', '/Report.docx', {
      headers: { ...ua, ...alice, ...tagged },
      body: '<?xml version="1.0" encoding="utf-8" ?><D:propertyupdate xmlns:D="DAV:" xmlns:Z="urn:schemas-microsoft-com:"><D:set><D:prop><Z:Win32LastModifiedTime>Mon, 02 Mar 2020 01:02:03 GMT</Z:Win32LastModifiedTime></D:prop></D:set></D:propertyupdate>',
    });
    expect(pp.status).to.equal(207);
    expect(pp.body).to.include('HTTP/1.1 200 OK');
    expect((await s.req('PUT', '/Report.docx', { headers: { ...ua, ...alice, ...tagged }, body: 'PK edited by alice' })).status).to.equal(204);

    // Bob opens the same document: his LOCK conflicts, his save is refused, and the lock
    // discovery names alice (what Office shows as "Report.docx is locked for editing by ...").
    const bobLock = await s.req('LOCK', '/Report.docx', { headers: { ...ua, ...bob, Timeout: 'Second-3600' }, body: officeLock('CONTOSO\\bob') });
    expect(davError(bobLock, 423, 'no-conflicting-lock')).to.deep.equal(['/Report.docx']);
    davError(await s.req('PUT', '/Report.docx', { headers: { ...ua, ...bob }, body: 'PK bob' }), 423, 'lock-token-submitted');
    // Even with alice's token: a lock belongs to the user who took it.
    expect((await s.req('PUT', '/Report.docx', { headers: { ...ua, ...bob, ...tagged }, body: 'PK bob' })).status).to.equal(423);
    const seen = single(await s.req('PROPFIND', '/Report.docx', { headers: { ...bob, Depth: '0' }, body: lockDiscoveryBody }));
    const active = childElements(prop(seen, DAV, 'lockdiscovery')!.el)[0]!;
    expect(textContent(findChild(findChild(active, DAV, 'owner')!, DAV, 'href')!)).to.equal('CONTOSO\\alice');
    expect(childElements(findChild(active, DAV, 'lockscope')!)[0]!.local).to.equal('exclusive');
    // Reads are never blocked.
    expect((await s.req('GET', '/Report.docx', { headers: bob })).body).to.equal('PK edited by alice');

    // The periodic refresh: LOCK with If and no body; same token, new timeout, no Lock-Token header.
    const refresh = await s.req('LOCK', '/Report.docx', { headers: { ...ua, ...alice, If: `(<${token}>)`, Timeout: 'Second-3600' } });
    expect(refresh.status).to.equal(200);
    expect(refresh.headers['lock-token']).to.equal(undefined);
    expect(refresh.body).to.include(token);

    // Close: UNLOCK; then bob can lock.
    expect((await s.req('UNLOCK', '/Report.docx', { headers: { ...ua, ...alice, 'Lock-Token': `<${token}>` } })).status).to.equal(204);
    expect((await s.req('LOCK', '/Report.docx', { headers: { ...ua, ...bob }, body: officeLock('CONTOSO\\bob') })).status).to.equal(200);
    expect(await readFile(join(s.root, 'Report.docx'), 'utf8')).to.equal('PK edited by alice');
  });
});

describe('clients: LibreOffice', () => {
  let s: TestServer;
  beforeEach(async () => (s = await startTestServer({ lockStore: 'memory' })));
  afterEach(() => s.close());

  const loLock = (scope: 'exclusive' | 'shared' = 'exclusive'): string =>
    `<?xml version="1.0" encoding="UTF-8"?>\n<lockinfo xmlns="DAV:"><lockscope><${scope}/></lockscope><locktype><write/></locktype><owner>LibreOffice - Alice</owner></lockinfo>`;

  it('supportedlock lists exactly the lock kinds LOCK accepts', async () => {
    await writeFile(join(s.root, 'a.odt'), 'x');
    const r = single(await s.req('PROPFIND', '/a.odt', { headers: { Depth: '0' }, body: '<?xml version="1.0" encoding="UTF-8"?><propfind xmlns="DAV:"><prop><supportedlock/></prop></propfind>' }));
    const entries = childElements(prop(r, DAV, 'supportedlock')!.el).map((e) => `${childElements(findChild(e, DAV, 'lockscope')!)[0]!.local}/${childElements(findChild(e, DAV, 'locktype')!)[0]!.local}`);
    expect(entries).to.deep.equal(['exclusive/write', 'shared/write']);
    for (const scope of ['exclusive', 'shared'] as const) {
      const lk = await s.req('LOCK', '/a.odt', { body: loLock(scope) });
      expect(lk.status, scope).to.equal(200);
      expect((await s.req('UNLOCK', '/a.odt', { headers: { 'Lock-Token': String(lk.headers['lock-token']) } })).status).to.equal(204);
    }
  });

  it('a new document: LOCK on the unmapped URL (201), PUT with the token, refresh, UNLOCK on close', async () => {
    const lk = await s.req('LOCK', '/New%20document.odt', { headers: { Timeout: 'Second-180', 'Content-Type': 'application/xml' }, body: loLock() });
    expect(lk.status).to.equal(201);
    const token = /^<([^>]+)>$/.exec(String(lk.headers['lock-token']))![1]!;
    expect(lk.body).to.include('<D:owner>LibreOffice - Alice</D:owner>');
    expect(await readFile(join(s.root, 'New document.odt'), 'utf8')).to.equal('');
    expect((await s.req('PUT', '/New%20document.odt', { headers: { If: `(<${token}>)` }, body: 'ODF content' })).status).to.equal(204);
    const refresh = await s.req('LOCK', '/New%20document.odt', { headers: { If: `(<${token}>)`, Timeout: 'Second-180' } });
    expect(refresh.status).to.equal(200);
    expect(refresh.body).to.match(/<D:timeout>Second-1[78]\d<\/D:timeout>/);
    expect((await s.req('UNLOCK', '/New%20document.odt', { headers: { 'Lock-Token': `<${token}>` } })).status).to.equal(204);
    expect(await readFile(join(s.root, 'New document.odt'), 'utf8')).to.equal('ODF content');
  });

  it('Save As over an existing document: PROPFIND, LOCK, PUT (204), UNLOCK', async () => {
    await writeFile(join(s.root, 'old.ods'), 'old content');
    const pf = multistatus(await s.req('PROPFIND', '/old.ods', { headers: { Depth: '0' }, body: lockDiscoveryBody }));
    expect(pf.get('/old.ods')!.propstats[0]!.status).to.equal(200);
    const lk = await s.req('LOCK', '/old.ods', { body: loLock() });
    expect(lk.status).to.equal(200);
    const token = /^<([^>]+)>$/.exec(String(lk.headers['lock-token']))![1]!;
    expect((await s.req('PUT', '/old.ods', { headers: { If: `(<${token}>)` }, body: 'new content' })).status).to.equal(204);
    expect((await s.req('UNLOCK', '/old.ods', { headers: { 'Lock-Token': `<${token}>` } })).status).to.equal(204);
    expect(await readFile(join(s.root, 'old.ods'), 'utf8')).to.equal('new content');
  });
});
