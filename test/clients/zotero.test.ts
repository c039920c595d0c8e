/**
 * Zotero file sync, replayed from zotero/zotero chrome/content/zotero/xpcom/storage/webdav.js:
 * checkServer() (OPTIONS, then PROPFIND Depth 0 of `<url>/zotero/` with
 * `<propfind xmlns='DAV:'><prop><getcontentlength/></prop></propfind>`; on 404 the same PROPFIND
 * of the parent; on 207 GET `nonexistent.prop` must be 404, PUT `zotero-test-file.prop` with
 * body " ", GET it (200), DELETE it), _createServerDirectory (MKCOL), and its note that Firefox
 * sends every request first without credentials, so each one meets a 401 challenge before it is
 * repeated with them. Item files are `<KEY>.zip` and `<KEY>.prop` (`<properties version="1">
 * <mtime>..</mtime><hash>..</hash></properties>`, Content-Type text/xml).
 */
import { expect } from 'chai';
import { Agent, request as httpRequest } from 'node:http';
import { makeTempDir, startTestServer, type TestServer } from '../helpers/server.js';
import { basic, writeHtpasswd } from '../helpers/auth.js';
import { parseMultistatus } from '../helpers/replay.js';

const PROPFIND = "<propfind xmlns='DAV:'><prop><getcontentlength/></prop></propfind>";

describe('clients: Zotero', () => {
  let s: TestServer;
  const agent = new Agent({ keepAlive: true, maxSockets: 1 });
  const auth = basic('zotero', 's3cret');
  let challenge: string | undefined;
  /** One request on the shared keep-alive connection, the way Firefox sends it. */
  const send = (method: string, path: string, headers: Record<string, string>, body?: string) =>
    new Promise<{ status: number; headers: Record<string, unknown>; body: string }>((resolve, reject) => {
      const url = new URL(s.base);
      const req = httpRequest({ host: url.hostname, port: url.port, method, path, headers, agent }, (res) => {
        let b = '';
        res.setEncoding('utf8');
        res.on('data', (d: string) => (b += d));
        res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body: b }));
      });
      req.on('error', reject);
      req.end(body);
    });
  /** Unauthenticated first (401 with the same challenge every time), then with credentials. */
  const zotero = async (method: string, path: string, headers: Record<string, string> = {}, body?: string) => {
    const first = await send(method, path, headers, body);
    expect(first.status, `${method} ${path} without credentials`).to.equal(401);
    expect(first.headers['www-authenticate']).to.be.a('string');
    challenge ??= String(first.headers['www-authenticate']);
    expect(first.headers['www-authenticate'], 'the same challenge everywhere').to.equal(challenge);
    // The connection stays usable for the repeat (no Connection: close after a small body).
    expect(first.headers['connection']).to.not.equal('close');
    return send(method, path, { ...headers, Authorization: auth }, body);
  };

  before(async () => {
    const dir = await makeTempDir('zotero-auth');
    s = await startTestServer({ lockStore: 'memory', htpasswd: await writeHtpasswd(dir, { zotero: 's3cret' }) });
  });
  after(async () => {
    agent.destroy();
    await s.close();
  });

  it('verification: missing zotero/ directory, parent found, MKCOL, then the full checkServer sequence', async () => {
    const opt = await send('OPTIONS', '/webdav/zotero/', {});
    expect([200, 204, 404]).to.include(opt.status);
    expect(opt.headers['dav']).to.equal('1, 2');
    const xml = { Depth: '0', 'Content-Type': 'text/xml; charset=utf-8' };
    expect((await zotero('PROPFIND', '/webdav/zotero/', xml, PROPFIND)).status).to.equal(404);
    expect((await zotero('PROPFIND', '/webdav/', xml, PROPFIND)).status).to.equal(404); // PARENT_DIR_NOT_FOUND
    expect((await zotero('MKCOL', '/webdav/')).status).to.equal(201);
    expect((await zotero('PROPFIND', '/webdav/', xml, PROPFIND)).status).to.equal(207); // ZOTERO_DIR_NOT_FOUND: offer to create it
    expect((await zotero('MKCOL', '/webdav/zotero/')).status).to.equal(201);

    const pf = await zotero('PROPFIND', '/webdav/zotero/', xml, PROPFIND);
    expect(pf.status).to.equal(207);
    expect([...parseMultistatus(pf.body).keys()]).to.deep.equal(['/webdav/zotero/']);
    expect((await zotero('GET', '/webdav/zotero/nonexistent.prop')).status).to.equal(404);
    expect((await zotero('PUT', '/webdav/zotero/zotero-test-file.prop', {}, ' ')).status).to.equal(201);
    const got = await zotero('GET', '/webdav/zotero/zotero-test-file.prop');
    expect(got.status).to.equal(200);
    expect(got.body).to.equal(' ');
    expect((await zotero('DELETE', '/webdav/zotero/zotero-test-file.prop')).status).to.equal(204);
  });

  it('an attachment upload (.zip then .prop) and the orphan purge listing', async () => {
    const zip = Buffer.alloc(50_000, 3);
    expect((await zotero('PUT', '/webdav/zotero/ABCD2345.zip', { 'Content-Type': 'application/zip', 'Content-Length': String(zip.length) }, zip.toString('latin1'))).status).to.equal(201);
    const prop = '<properties version="1"><mtime>1700000000000</mtime><hash>0123456789abcdef0123456789abcdef</hash></properties>';
    expect((await zotero('PUT', '/webdav/zotero/ABCD2345.prop', { 'Content-Type': 'text/xml' }, prop)).status).to.equal(201);
    expect((await zotero('GET', '/webdav/zotero/ABCD2345.prop')).body).to.equal(prop);
    const list = await zotero('PROPFIND', '/webdav/zotero/', { Depth: '1', 'Content-Type': 'text/xml; charset=utf-8' }, "<propfind xmlns='DAV:'><prop><getlastmodified/></prop></propfind>");
    const path = '/webdav/zotero/';
    for (const [href, e] of parseMultistatus(list.body)) {
      // Every href begins with the request path (else Zotero throws) and has a parseable date.
      expect(decodeURIComponent(href).startsWith(path)).to.equal(true);
      expect(Number.isNaN(Date.parse(e.props.get('{DAV:}getlastmodified')!.text))).to.equal(false);
    }
    expect((await zotero('DELETE', '/webdav/zotero/ABCD2345.zip')).status).to.equal(204);
    // _deleteStorageFiles accepts 404 for a file already gone.
    expect((await zotero('DELETE', '/webdav/zotero/ABCD2345.zip')).status).to.equal(404);
  });
});
