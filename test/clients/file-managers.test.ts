/**
 * Desktop and Android file managers.
 *
 * - WinSCP: winscp/winscp source/core/WebDAVFileSystem.cpp (neon): OPTIONS; directory listing
 *   ne_propfind_allprop Depth 1 (`<propfind xmlns="DAV:"><allprop/></propfind>`); free space
 *   PROPFIND Depth 0 of the folder for quota-available-bytes/quota-used-bytes; upload ne_put then
 *   "preserve timestamp" as PROPPATCH of DAV:getlastmodified (a failure is ignored); rename
 *   ne_move with Overwrite T/F; duplicate ne_copy Depth infinity; LockFile: ne_lock depth
 *   infinity, Timeout Infinite, a plain-text owner; UnlockFile: ne_unlock (`Lock-Token: <t>`).
 * - Cyberduck (iterate-ch/cyberduck, too large to fetch here; it lists through the sardine
 *   library, lookfirst/sardine, whose list() sends an allprop PROPFIND with Depth 1) and its
 *   segmented downloads with Range.
 * - Total Commander's WebDAV plugin, Solid Explorer, FolderSync, X-plore and Material Files are
 *   closed source or their WebDAV code was not reachable here; their requests are the shapes
 *   all of them share and that users report: Depth 1 listings with a named-property body,
 *   uploads with Transfer-Encoding: chunked (Android's HttpURLConnection/OkHttp for streams of
 *   unknown length), resumed downloads with `Range: bytes=N-`, rename by MOVE with an absolute
 *   Destination and Overwrite F, folder copies by COPY Depth infinity.
 */
import { expect } from 'chai';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { chunkedPut, parseMultistatus } from '../helpers/replay.js';

const NEON_ALLPROP = '<?xml version="1.0" encoding="utf-8"?>\r\n<propfind xmlns="DAV:"><allprop/></propfind>\r\n';

describe('clients: WinSCP, Cyberduck, Total Commander, Android file managers', () => {
  let s: TestServer;
  const big = Buffer.alloc(2 * 1024 * 1024 + 17);
  for (let i = 0; i < big.length; i++) big[i] = (i * 31) % 256;
  before(async () => {
    s = await startTestServer({ lockStore: 'memory' });
    await mkdir(join(s.root, 'Photos', '2024'), { recursive: true });
    await writeFile(join(s.root, 'Photos', '2024', 'img_0001.jpg'), big);
  });
  after(() => s.close());

  it('WinSCP: allprop listing, quota of the folder, upload, timestamp PROPPATCH refused but harmless, rename, copy, lock/unlock', async () => {
    const ua = { 'User-Agent': 'WinSCP/6.3 neon/0.33.0' };
    expect((await s.req('OPTIONS', '/', { headers: ua })).headers['dav']).to.equal('1, 2');
    const ls = parseMultistatus((await s.req('PROPFIND', '/Photos/', { headers: { ...ua, Depth: '1', 'Content-Type': 'application/xml' }, body: NEON_ALLPROP })).body);
    expect([...ls.keys()]).to.deep.equal(['/Photos/', '/Photos/2024/']);
    expect(ls.get('/Photos/2024/')!.props.get('{DAV:}resourcetype')!.el.children.length).to.equal(1);
    const quota = parseMultistatus(
      (await s.req('PROPFIND', '/Photos/', {
        headers: { ...ua, Depth: '0' },
        body: '<?xml version="1.0" encoding="utf-8"?>\r\n<propfind xmlns="DAV:"><prop>\r\n<quota-available-bytes xmlns="DAV:"/>\r\n<quota-used-bytes xmlns="DAV:"/>\r\n</prop></propfind>\r\n',
      })).body,
    ).get('/Photos/')!.props;
    expect(Number(quota.get('{DAV:}quota-available-bytes')!.text)).to.be.greaterThan(0);
    expect(quota.get('{DAV:}quota-used-bytes')!.status).to.equal(200);

    expect((await s.req('PUT', '/Photos/notes.txt', { headers: ua, body: 'uploaded by WinSCP' })).status).to.equal(201);
    const touch = await s.req('PROPPATCH', '/Photos/notes.txt', {
      headers: ua,
      body: '<?xml version="1.0" encoding="utf-8"?>\r\n<propertyupdate xmlns="DAV:"><set><prop><getlastmodified>Mon, 1 Jan 2024 10:00:00 GMT</getlastmodified></prop></set></propertyupdate>\r\n',
    });
    expect(touch.status).to.equal(207);
    expect(touch.body).to.include('cannot-modify-protected-property');
    expect((await s.req('MOVE', '/Photos/notes.txt', { headers: { ...ua, Destination: `${s.base}/Photos/renamed.txt`, Overwrite: 'F' } })).status).to.equal(201);
    expect((await s.req('COPY', '/Photos/2024/', { headers: { ...ua, Destination: `${s.base}/Photos/2024-copy/`, Overwrite: 'F', Depth: 'infinity' } })).status).to.equal(201);
    expect(await readFile(join(s.root, 'Photos', '2024-copy', 'img_0001.jpg'))).to.deep.equal(big);

    const lk = await s.req('LOCK', '/Photos/renamed.txt', {
      headers: { ...ua, Depth: 'infinity', Timeout: 'Infinite' },
      body: '<?xml version="1.0" encoding="utf-8"?>\r\n<lockinfo xmlns="DAV:">\r\n<lockscope><exclusive/></lockscope>\r\n<locktype><write/></locktype><owner>martin</owner>\r\n</lockinfo>\r\n',
    });
    expect(lk.status).to.equal(200);
    expect(lk.body).to.include('<D:owner>martin</D:owner>');
    expect((await s.req('UNLOCK', '/Photos/renamed.txt', { headers: { ...ua, 'Lock-Token': String(lk.headers['lock-token']) } })).status).to.equal(204);
  });

  it('Cyberduck: allprop listing and a segmented (multi-connection) download reassembles the file', async () => {
    const ls = parseMultistatus((await s.req('PROPFIND', '/Photos/2024/', { headers: { Depth: '1' }, body: '<?xml version="1.0" encoding="UTF-8" standalone="no"?><D:propfind xmlns:D="DAV:"><D:allprop/></D:propfind>' })).body);
    const img = ls.get('/Photos/2024/img_0001.jpg')!.props;
    expect(Number(img.get('{DAV:}getcontentlength')!.text)).to.equal(big.length);
    expect(img.get('{DAV:}getcontenttype')!.text).to.equal('image/jpeg');
    const etag = img.get('{DAV:}getetag')!.text;
    const seg = Math.ceil(big.length / 4);
    const parts = await Promise.all(
      [0, 1, 2, 3].map((i) => s.req('GET', '/Photos/2024/img_0001.jpg', { headers: { Range: `bytes=${i * seg}-${Math.min(big.length, (i + 1) * seg) - 1}`, 'If-Range': etag } })),
    );
    for (const p of parts) expect(p.status).to.equal(206);
    expect(Buffer.concat(parts.map((p) => p.raw))).to.deep.equal(big);
  });

  it('Android apps: chunked upload of unknown length, resumed download with Range: bytes=N-, rename with Overwrite: F', async () => {
    const chunks = [big.subarray(0, 700_000), big.subarray(700_000, 1_500_000), big.subarray(1_500_000)];
    const up = await chunkedPut(s.base, '/Photos/video%20clip.mp4', chunks, { 'User-Agent': 'okhttp/4.12.0', 'Content-Type': 'video/mp4' });
    expect(up.status).to.equal(201);
    expect(await readFile(join(s.root, 'Photos', 'video clip.mp4'))).to.deep.equal(big);
    const first = await s.req('GET', '/Photos/video%20clip.mp4', { headers: { Range: 'bytes=0-999999' } });
    expect(first.status).to.equal(206);
    const rest = await s.req('GET', '/Photos/video%20clip.mp4', { headers: { Range: `bytes=${first.raw.length}-` } });
    expect(rest.status).to.equal(206);
    expect(rest.headers['content-range']).to.equal(`bytes 1000000-${big.length - 1}/${big.length}`);
    expect(Buffer.concat([first.raw, rest.raw])).to.deep.equal(big);
    // A listing with the property set these apps ask for, hrefs usable as paths.
    const ls = parseMultistatus(
      (await s.req('PROPFIND', '/Photos', {
        headers: { Depth: '1' },
        body: '<?xml version="1.0" encoding="utf-8"?><d:propfind xmlns:d="DAV:"><d:prop><d:displayname/><d:resourcetype/><d:getcontentlength/><d:getlastmodified/><d:getcontenttype/><d:getetag/></d:prop></d:propfind>',
      })).body,
    );
    expect(ls.get('/Photos/video%20clip.mp4')!.props.get('{DAV:}displayname')!.text).to.equal('video clip.mp4');
    expect(ls.has('/Photos/2024/')).to.equal(true);
    // Rename onto an existing name with Overwrite: F is refused, the file stays.
    expect((await s.req('MOVE', '/Photos/video%20clip.mp4', { headers: { Destination: `${s.base}/Photos/renamed.txt`, Overwrite: 'F' } })).status).to.equal(412);
    expect((await s.req('MOVE', '/Photos/video%20clip.mp4', { headers: { Destination: `${s.base}/Photos/clip.mp4`, Overwrite: 'F' } })).status).to.equal(201);
  });

  it('Total Commander plugin: Depth 1 listing of the root, download, upload, delete of a folder', async () => {
    const ls = parseMultistatus((await s.req('PROPFIND', '/', { headers: { Depth: '1', 'Content-Type': 'text/xml' }, body: '<?xml version="1.0"?><propfind xmlns="DAV:"><prop><resourcetype/><getcontentlength/><getlastmodified/><creationdate/></prop></propfind>' })).body);
    expect(ls.get('/')!.props.get('{DAV:}creationdate')!.text).to.match(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$/);
    expect((await s.req('PUT', '/tc.txt', { body: 'from TC' })).status).to.equal(201);
    expect((await s.req('GET', '/tc.txt')).body).to.equal('from TC');
    expect((await s.req('DELETE', '/Photos/2024-copy/')).status).to.equal(204);
  });
});
