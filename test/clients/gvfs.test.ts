/**
 * GNOME Files (gvfs dav backend, libsoup) replayed: OPTIONS, Depth-0 PROPFIND of the mount root
 * with its property list, filesystem info (quota), Depth-1 listing, an upload behind
 * `Expect: 100-continue`, rename by MOVE with Overwrite: F and an absolute Destination.
 */
import { expect } from 'chai';
import { request as httpRequest } from 'node:http';
import { readFile, writeFile, mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { DAV, parseMultistatus, propfindBody } from '../helpers/replay.js';

const UA = { 'User-Agent': 'gvfs/1.50.3' };
const GVFS_PROPS = ['creationdate', 'displayname', 'getcontentlength', 'getcontenttype', 'getetag', 'getlastmodified', 'resourcetype'];

/** PUT that waits for 100 Continue before sending the body (libsoup does this for uploads). */
function putExpectContinue(base: string, path: string, body: Buffer): Promise<{ status: number; sawContinue: boolean }> {
  const url = new URL(base);
  return new Promise((resolve, reject) => {
    let sawContinue = false;
    const req = httpRequest({ host: url.hostname, port: url.port, method: 'PUT', path, agent: false, headers: { ...UA, Expect: '100-continue', 'Content-Length': body.length } });
    req.on('continue', () => {
      sawContinue = true;
      req.end(body);
    });
    req.on('response', (res) => {
      res.resume();
      res.on('end', () => resolve({ status: res.statusCode ?? 0, sawContinue }));
    });
    req.on('error', reject);
    req.flushHeaders();
  });
}

describe('clients: GNOME Files (gvfs)', () => {
  let s: TestServer;
  beforeEach(async () => (s = await startTestServer()));
  afterEach(async () => s.close());

  it('mount: OPTIONS then Depth-0 PROPFIND of the root answers every asked property', async () => {
    const o = await s.req('OPTIONS', '/', { headers: UA });
    expect(o.status).to.equal(200);
    expect(o.headers['dav']).to.equal('1, 2');
    const r = await s.req('PROPFIND', '/', { headers: { ...UA, Depth: '0', 'Content-Type': 'application/xml' }, body: propfindBody(GVFS_PROPS) });
    expect(r.status).to.equal(207);
    const root = parseMultistatus(r.body).get('/')!;
    expect(root.props.get(`{${DAV}}resourcetype`)?.el.children.some((c) => typeof c !== 'string' && c.local === 'collection')).to.equal(true);
    for (const p of ['creationdate', 'getetag', 'getlastmodified', 'displayname']) expect(root.props.get(`{${DAV}}${p}`)?.status, p).to.equal(200);
    // Not applicable to a collection: reported missing, not invented.
    expect(root.props.get(`{${DAV}}getcontentlength`)?.status).to.equal(404);
    // Free space for the file manager's status bar.
    const q = await s.req('PROPFIND', '/', { headers: { ...UA, Depth: '0' }, body: propfindBody(['quota-available-bytes', 'quota-used-bytes']) });
    const qp = parseMultistatus(q.body).get('/')!.props;
    expect(Number(qp.get(`{${DAV}}quota-available-bytes`)?.text)).to.be.greaterThan(0);
    expect(qp.get(`{${DAV}}quota-used-bytes`)?.text).to.match(/^\d+$/);
  });

  it('browses: Depth-1 listing with sizes, types and encoded hrefs', async () => {
    await mkdir(join(s.root, 'Music'));
    await writeFile(join(s.root, 'Music', 'track 01 – intro.mp3'), Buffer.alloc(1234));
    const r = await s.req('PROPFIND', '/Music/', { headers: { ...UA, Depth: '1' }, body: propfindBody(GVFS_PROPS) });
    const all = parseMultistatus(r.body);
    const href = '/Music/track%2001%20%E2%80%93%20intro.mp3';
    expect([...all.keys()].sort()).to.deep.equal(['/Music/', href]);
    const f = all.get(href)!.props;
    expect(f.get(`{${DAV}}getcontentlength`)?.text).to.equal('1234');
    expect(f.get(`{${DAV}}getcontenttype`)?.text).to.equal('audio/mpeg');
    expect(f.get(`{${DAV}}displayname`)?.text).to.equal('track 01 – intro.mp3');
  });

  it('uploads behind Expect: 100-continue and renames with MOVE, Overwrite: F', async () => {
    const body = Buffer.alloc(200_000, 3);
    const up = await putExpectContinue(s.base, '/upload.dat', body);
    expect(up.sawContinue).to.equal(true);
    expect(up.status).to.equal(201);
    expect((await readFile(join(s.root, 'upload.dat'))).equals(body)).to.equal(true);
    const mv = await s.req('MOVE', '/upload.dat', { headers: { ...UA, Destination: `${s.base}/renamed.dat`, Overwrite: 'F' } });
    expect(mv.status).to.equal(201);
    expect((await readFile(join(s.root, 'renamed.dat'))).equals(body)).to.equal(true);
    // Folder rename the same way.
    await mkdir(join(s.root, 'Old'));
    await writeFile(join(s.root, 'Old', 'x'), 'x');
    expect((await s.req('MOVE', '/Old/', { headers: { ...UA, Destination: `${s.base}/New/`, Overwrite: 'F' } })).status).to.equal(201);
    expect(await readFile(join(s.root, 'New', 'x'), 'utf8')).to.equal('x');
  });
});
