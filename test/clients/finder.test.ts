/**
 * macOS Finder (WebDAVFS) request sequences against the real server: class 2 advertised (else
 * Finder mounts read-only), quota at mount time, chunked uploads with X-Expected-Entity-Length,
 * AppleDouble `._name` files and `.DS_Store`, lock refresh during an edit, and names in NFD.
 */
import { expect } from 'chai';
import { readFile, readdir, writeFile, mkdir, stat } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { startTestServer, lockBody, type TestServer } from '../helpers/server.js';
import { DAV, chunkedPut, lockTokenOf, parseMultistatus, propfindBody } from '../helpers/replay.js';

const UA = { 'User-Agent': 'WebDAVFS/3.0.0 (03008000) Darwin/22.1.0 (arm64)' };
const enc = (s: string): string => s.split('/').map(encodeURIComponent).join('/');

describe('clients: macOS Finder', () => {
  let s: TestServer;
  beforeEach(async () => (s = await startTestServer()));
  afterEach(async () => s.close());

  it('mount: OPTIONS offers class 2, PROPFIND answers quota when asked', async () => {
    const o = await s.req('OPTIONS', '/', { headers: UA });
    expect(o.headers['dav']).to.match(/\b2\b/);
    const r = await s.req('PROPFIND', '/', {
      headers: { ...UA, Depth: '0' },
      body: propfindBody(['getlastmodified', 'getcontentlength', 'resourcetype', 'quota-available-bytes', 'quota-used-bytes']),
    });
    expect(r.status).to.equal(207);
    const props = parseMultistatus(r.body).get('/')!.props;
    const avail = props.get(`{${DAV}}quota-available-bytes`)!;
    const used = props.get(`{${DAV}}quota-used-bytes`)!;
    expect(avail.status).to.equal(200);
    expect(used.status).to.equal(200);
    expect(avail.text).to.match(/^\d+$/);
    expect(used.text).to.match(/^\d+$/);
    expect(Number(avail.text)).to.be.greaterThan(0);
  });

  it('quota is not part of allprop or propname, but allprop with include returns it', async () => {
    for (const body of ['', '<D:propfind xmlns:D="DAV:"><D:allprop/></D:propfind>', '<D:propfind xmlns:D="DAV:"><D:propname/></D:propfind>']) {
      const r = await s.req('PROPFIND', '/', { headers: { Depth: '0' }, body });
      expect(r.status).to.equal(207);
      expect(r.body).not.to.include('quota');
    }
    const inc = await s.req('PROPFIND', '/', {
      headers: { Depth: '0' },
      body: '<D:propfind xmlns:D="DAV:"><D:allprop/><D:include><D:quota-available-bytes/></D:include></D:propfind>',
    });
    expect(parseMultistatus(inc.body).get('/')!.props.get(`{${DAV}}quota-available-bytes`)?.status).to.equal(200);
  });

  it('quota asked over a Depth-1 listing answers on collections; files answer 404 (RFC 4331 is for collections)', async () => {
    await mkdir(join(s.root, 'd'));
    await writeFile(join(s.root, 'd', 'f'), 'x');
    const r = await s.req('PROPFIND', '/d/', { headers: { Depth: '1' }, body: propfindBody(['quota-available-bytes', 'quota-used-bytes']) });
    const all = parseMultistatus(r.body);
    expect([...all.keys()].sort()).to.deep.equal(['/d/', '/d/f']);
    expect(all.get('/d/')!.props.get(`{${DAV}}quota-used-bytes`)?.status).to.equal(200);
    // A file's quota-used-bytes used to be the whole filesystem's, read by some clients as its size.
    expect(all.get('/d/f')!.props.get(`{${DAV}}quota-used-bytes`)?.status).to.equal(404);
  });

  it('PUT with Transfer-Encoding: chunked and X-Expected-Entity-Length stores the whole body', async () => {
    const chunks = Array.from({ length: 40 }, () => randomBytes(64 * 1024 + 17));
    const all = Buffer.concat(chunks);
    const r = await chunkedPut(s.base, '/movie.mov', chunks, { ...UA, 'X-Expected-Entity-Length': String(all.length) });
    expect(r.status).to.equal(201);
    const onDisk = await readFile(join(s.root, 'movie.mov'));
    expect(onDisk.length).to.equal(all.length);
    expect(onDisk.equals(all)).to.equal(true);
  });

  it('Finder copy: 0-byte PUT, LOCK, chunked PUT with If, AppleDouble ._ file, refresh, UNLOCK', async () => {
    const name = 'Photos/Holiday 2024.jpg';
    await mkdir(join(s.root, 'Photos'));
    // Finder first looks for the name and its AppleDouble companion.
    expect((await s.req('PROPFIND', '/' + enc(name), { headers: { ...UA, Depth: '0' } })).status).to.equal(404);
    expect((await s.req('PROPFIND', '/Photos/._Holiday%202024.jpg', { headers: { ...UA, Depth: '0' } })).status).to.equal(404);
    expect((await s.req('PUT', '/' + enc(name), { headers: { ...UA, 'Content-Length': 0 }, body: '' })).status).to.equal(201);
    const lk = await s.req('LOCK', '/' + enc(name), { headers: { ...UA, Timeout: 'Second-600', Depth: '0' }, body: lockBody('exclusive', '<D:href>http://www.apple.com/webdav_fs/</D:href>') });
    expect(lk.status).to.equal(200);
    const token = lockTokenOf(lk.headers);
    const data = [randomBytes(100_000), randomBytes(1), randomBytes(250_000)];
    const put = await chunkedPut(s.base, '/' + enc(name), data, { ...UA, If: `(<${token}>)`, 'X-Expected-Entity-Length': String(350_001) });
    expect(put.status).to.equal(204);
    // Resource fork / Finder info goes into ._name, a plain file like any other.
    const appleDouble = Buffer.concat([Buffer.from([0x00, 0x05, 0x16, 0x07, 0x00, 0x02, 0x00, 0x00]), randomBytes(4000)]);
    const ad = await chunkedPut(s.base, '/Photos/._Holiday%202024.jpg', [appleDouble], { ...UA, 'X-Expected-Entity-Length': String(appleDouble.length) });
    expect(ad.status).to.equal(201);
    // A long edit: Finder refreshes the lock with an If header and no body.
    const refresh = await s.req('LOCK', '/' + enc(name), { headers: { ...UA, Timeout: 'Second-600', If: `(<${token}>)` } });
    expect(refresh.status).to.equal(200);
    expect(refresh.body).to.include(token);
    expect(refresh.body).to.match(/Second-(600|59\d)/);
    expect((await s.req('UNLOCK', '/' + enc(name), { headers: { ...UA, 'Lock-Token': `<${token}>` } })).status).to.equal(204);

    expect((await readFile(join(s.root, name))).equals(Buffer.concat(data))).to.equal(true);
    expect((await readFile(join(s.root, 'Photos', '._Holiday 2024.jpg'))).equals(appleDouble)).to.equal(true);
    const list = parseMultistatus((await s.req('PROPFIND', '/Photos/', { headers: { ...UA, Depth: '1' } })).body);
    expect([...list.keys()].sort()).to.deep.equal(['/Photos/', '/Photos/._Holiday%202024.jpg', '/Photos/Holiday%202024.jpg']);
    expect(list.get('/Photos/Holiday%202024.jpg')!.props.get(`{${DAV}}getcontentlength`)?.text).to.equal('350001');
  });

  it('.DS_Store and ._ files can be written, read, listed, moved and deleted like any file', async () => {
    const ds = randomBytes(6148);
    expect((await s.req('PUT', '/.DS_Store', { body: ds })).status).to.equal(201);
    expect((await s.req('GET', '/.DS_Store')).raw.equals(ds)).to.equal(true);
    expect((await s.req('PUT', '/._.DS_Store', { body: 'x' })).status).to.equal(201);
    const list = parseMultistatus((await s.req('PROPFIND', '/', { headers: { Depth: '1' } })).body);
    expect(list.has('/.DS_Store')).to.equal(true);
    expect(list.has('/._.DS_Store')).to.equal(true);
    expect((await s.req('MOVE', '/._.DS_Store', { headers: { Destination: '/._renamed' } })).status).to.equal(201);
    expect((await s.req('DELETE', '/.DS_Store')).status).to.equal(204);
    expect((await readdir(s.root)).filter((n) => n !== '.davmeta').sort()).to.deep.equal(['._renamed']);
  });

  describe('Unicode normalisation', () => {
    const nfc = 'Café Ünïcödé'.normalize('NFC');
    const nfd = nfc.normalize('NFD');

    it('a name sent in NFD finds a file stored in NFC, and the reverse', async () => {
      await writeFile(join(s.root, nfc + '.txt'), 'stored as NFC');
      await writeFile(join(s.root, 'x' + nfd + '.txt'), 'stored as NFD');
      expect((await s.req('GET', '/' + encodeURIComponent(nfd + '.txt'))).body).to.equal('stored as NFC');
      expect((await s.req('GET', '/' + encodeURIComponent('x' + nfc + '.txt'))).body).to.equal('stored as NFD');
      // The exact form still works, of course.
      expect((await s.req('GET', '/' + encodeURIComponent(nfc + '.txt'))).body).to.equal('stored as NFC');
      const pf = await s.req('PROPFIND', '/' + encodeURIComponent(nfd + '.txt'), { headers: { Depth: '0' } });
      expect(pf.status).to.equal(207);
      // hrefs name the stored spelling.
      expect([...parseMultistatus(pf.body).keys()]).to.deep.equal(['/' + encodeURIComponent(nfc + '.txt')]);
    });

    it('PUT in the other form replaces the stored file rather than making a twin', async () => {
      expect((await s.req('PUT', '/' + encodeURIComponent(nfd), { body: 'one' })).status).to.equal(201);
      expect((await s.req('PUT', '/' + encodeURIComponent(nfc), { body: 'two' })).status).to.equal(204);
      const names = (await readdir(s.root)).filter((n) => n !== '.davmeta');
      expect(names).to.deep.equal([nfd]);
      expect(await readFile(join(s.root, nfd), 'utf8')).to.equal('two');
    });

    it('resolves every segment: NFD folder, NFC file inside, MKCOL, MOVE Destination and DELETE', async () => {
      await mkdir(join(s.root, nfd));
      await writeFile(join(s.root, nfd, nfc), 'deep');
      expect((await s.req('GET', `/${encodeURIComponent(nfc)}/${encodeURIComponent(nfd)}`)).body).to.equal('deep');
      expect((await s.req('MKCOL', `/${encodeURIComponent(nfc)}`)).status).to.equal(405);
      expect((await s.req('PUT', `/${encodeURIComponent(nfc)}/other`, { body: 'o' })).status).to.equal(201);
      expect(await readFile(join(s.root, nfd, 'other'), 'utf8')).to.equal('o');
      // MOVE onto the NFC spelling of the NFC-stored file overwrites it (one file remains).
      const mv = await s.req('MOVE', `/${encodeURIComponent(nfc)}/other`, { headers: { Destination: `/${encodeURIComponent(nfc)}/${encodeURIComponent(nfd)}` } });
      expect(mv.status).to.equal(204);
      expect((await readdir(join(s.root, nfd))).sort()).to.deep.equal([nfc]);
      expect(await readFile(join(s.root, nfd, nfc), 'utf8')).to.equal('o');
      expect((await s.req('DELETE', `/${encodeURIComponent(nfc)}/`)).status).to.equal(204);
      expect((await readdir(s.root)).filter((n) => n !== '.davmeta')).to.deep.equal([]);
    });

    it('ASCII and missing names are left as they are', async () => {
      expect((await s.req('GET', '/' + encodeURIComponent(nfd))).status).to.equal(404);
      expect((await s.req('PUT', '/' + encodeURIComponent(nfd), { body: 'n' })).status).to.equal(201);
      expect((await readdir(s.root)).filter((n) => n !== '.davmeta')).to.deep.equal([nfd]);
      expect((await stat(join(s.root, nfd))).size).to.equal(1);
    });
  });
});
