/**
 * floccus (bookmark sync, "WebDAV" account with an XBEL file). The floccus repository could not
 * be fetched here; the sequence follows its WebDAV adapter as its documentation and issue
 * reports describe it: a lock file next to the bookmarks file (HEAD/GET it: 404 means free; PUT
 * it to take the lock; DELETE it when done), GET of the XBEL file (404 on first sync), PUT of the
 * new XBEL, and change detection by ETag/Last-Modified between runs.
 */
import { expect } from 'chai';
import { startTestServer, type TestServer } from '../helpers/server.js';

describe('clients: floccus', () => {
  let s: TestServer;
  before(async () => {
    s = await startTestServer({ lockStore: 'memory' });
    expect((await s.req('MKCOL', '/bookmarks/')).status).to.equal(201);
  });
  after(() => s.close());

  const xbel = (n: number): string =>
    `<?xml version="1.0" encoding="UTF-8"?>\n<!DOCTYPE xbel PUBLIC "+//IDN python.org//DTD XML Bookmark Exchange Language 1.0//EN//XML" "http://pyxml.sourceforge.net/topics/dtds/xbel.dtd">\n<xbel version="1.0"><bookmark href="https://example.org/${n}" id="${n}"><title>n${n}</title></bookmark></xbel>`;

  it('first sync, a second sync that changes nothing, and a sync after a change', async () => {
    // Lock free?
    expect((await s.req('HEAD', '/bookmarks/bookmarks.xbel.lock')).status).to.equal(404);
    expect((await s.req('PUT', '/bookmarks/bookmarks.xbel.lock', { headers: { 'Content-Type': 'text/html' }, body: '<html><body>I am a lock file</body></html>' })).status).to.equal(201);
    expect((await s.req('GET', '/bookmarks/bookmarks.xbel')).status).to.equal(404);
    // The XBEL file carries a DOCTYPE: stored as bytes, never parsed as a WebDAV body.
    const put = await s.req('PUT', '/bookmarks/bookmarks.xbel', { headers: { 'Content-Type': 'application/xml' }, body: xbel(1) });
    expect(put.status).to.equal(201);
    const etag1 = put.headers['etag'];
    expect((await s.req('DELETE', '/bookmarks/bookmarks.xbel.lock')).status).to.equal(204);

    // Next run: the same validators mean "nothing changed on the server".
    const g1 = await s.req('GET', '/bookmarks/bookmarks.xbel');
    expect(g1.body).to.equal(xbel(1));
    expect(g1.headers['etag']).to.equal(etag1);
    const h1 = await s.req('HEAD', '/bookmarks/bookmarks.xbel');
    expect(h1.headers['etag']).to.equal(etag1);
    expect(h1.headers['last-modified']).to.equal(g1.headers['last-modified']);
    expect((await s.req('GET', '/bookmarks/bookmarks.xbel', { headers: { 'If-None-Match': String(etag1) } })).status).to.equal(304);

    // Another device changes the file; the validator changes with it.
    await new Promise((r) => setTimeout(r, 15));
    const put2 = await s.req('PUT', '/bookmarks/bookmarks.xbel', { headers: { 'Content-Type': 'application/xml', 'If-Match': String(etag1) }, body: xbel(2) });
    expect(put2.status).to.equal(204);
    expect(put2.headers['etag']).to.not.equal(etag1);
    // A writer holding the old ETag is refused instead of overwriting.
    expect((await s.req('PUT', '/bookmarks/bookmarks.xbel', { headers: { 'If-Match': String(etag1) }, body: xbel(3) })).status).to.equal(412);
    expect((await s.req('GET', '/bookmarks/bookmarks.xbel')).body).to.equal(xbel(2));
  });
});
