/**
 * Content checksums over real HTTP: oc:checksums in PROPFIND, OC-Checksum on GET/HEAD and on
 * PUT (verified), records that follow MOVE/COPY/DELETE through tree events, survive a restart,
 * and are never served for content that changed on disk.
 */
import { expect } from 'chai';
import { randomBytes } from 'node:crypto';
import { readFile, rm, stat, writeFile, readdir } from 'node:fs/promises';
import { checksumList as list, hex, OC, PROPFIND_SUMS, record, sameSizeSameMtimeEdit, sums } from './helpers.js';
import { join } from 'node:path';
import { startTestServer, makeTempDir, type TestServer } from '../helpers/server.js';
import { mkcolOk, multistatus, prop, putOk, single, streamRequest, textContent, findChild } from '../helpers/dav.js';

describe('checksums (oc:checksums, OC-Checksum)', function () {
  this.timeout(60_000);
  let s: TestServer;
  beforeEach(async () => {
    s = await startTestServer();
  });
  afterEach(async () => {
    await s.close();
  });

  it('PROPFIND answers oc:checksums of a small and of a streamed upload, recorded while they were received', async () => {
    const small = Buffer.from('hello\n');
    const big = randomBytes(3 * 1024 * 1024 + 7);
    await putOk(s, '/small.txt', small);
    const chunks = [big.subarray(0, 1_000_000), big.subarray(1_000_000)];
    const r = await streamRequest(s, 'PUT', '/big.bin', chunks, { headers: { 'Transfer-Encoding': 'chunked' } });
    expect(r !== 'aborted' && r.status).to.equal(201);
    expect(await sums(s, '/small.txt')).to.equal('SHA1:f572d396fae9206628714fb2ce00f72e94f2258f MD5:b1946ac92492d2347c6235b4d2611184 SHA256:5891b5b522d5df086d0ff0b110fbd9d21bb4fc7163af34d08286a2e846f6be03');
    expect(await sums(s, '/big.bin')).to.equal(list(big));
    // Recorded by the PUT itself, under the ETag the PUT answered.
    const etag = (await s.req('HEAD', '/big.bin')).headers.etag;
    expect((await record(s.root, '/big.bin'))?.e).to.equal(etag);
    expect((await record(s.root, '/big.bin'))?.d.md5).to.equal(hex('md5', big));
  });

  it('a Depth 1 listing gives each file its checksums and a collection a 404 propstat', async () => {
    await mkcolOk(s, '/d');
    await putOk(s, '/d/a', 'aaa');
    await writeFile(join(s.root, 'd', 'b'), 'bbb'); // written on disk: computed when asked
    const all = multistatus(await s.req('PROPFIND', '/d/', { headers: { Depth: '1' }, body: PROPFIND_SUMS }));
    expect(prop(all.get('/d/')!, OC, 'checksums')!.status).to.equal(404);
    expect(textContent(findChild(prop(all.get('/d/a')!, OC, 'checksums')!.el, OC, 'checksum')!)).to.equal(list('aaa'));
    expect(textContent(findChild(prop(all.get('/d/b')!, OC, 'checksums')!.el, OC, 'checksum')!)).to.equal(list('bbb'));
    // The lazily computed checksum is kept for next time.
    expect((await record(s.root, '/d/b'))?.d.sha1).to.equal(hex('sha1', 'bbb'));
    // allprop does not read files to compute checksums.
    const allprop = single(await s.req('PROPFIND', '/d/a', { headers: { Depth: '0' } }));
    expect(prop(allprop, OC, 'checksums')).to.equal(undefined);
  });

  it('GET and HEAD answer OC-Checksum: SHA1 of the whole file, also for a range', async () => {
    const body = randomBytes(200_000);
    await putOk(s, '/f.bin', body);
    const get = await s.req('GET', '/f.bin');
    expect(get.status).to.equal(200);
    expect(get.headers['oc-checksum']).to.equal(`SHA1:${hex('sha1', body)}`);
    const head = await s.req('HEAD', '/f.bin');
    expect(head.headers['oc-checksum']).to.equal(`SHA1:${hex('sha1', body)}`);
    const range = await s.req('GET', '/f.bin', { headers: { Range: 'bytes=10-19' } });
    expect(range.status).to.equal(206);
    expect(range.headers['oc-checksum']).to.equal(`SHA1:${hex('sha1', body)}`);
    await writeFile(join(s.root, 'disk.txt'), 'on disk');
    expect((await s.req('GET', '/disk.txt')).headers['oc-checksum']).to.equal(`SHA1:${hex('sha1', 'on disk')}`);
    expect((await s.req('GET', '/')).headers['oc-checksum']).to.equal(undefined);
  });

  for (const [label, size] of [
    ['small body', 100],
    ['streamed body', 2 * 1024 * 1024],
  ] as const) {
    it(`PUT with OC-Checksum (${label}): a matching checksum stores, a mismatch answers 400 and stores nothing`, async () => {
      const good = randomBytes(size);
      const bad = randomBytes(size);
      let r = await s.req('PUT', '/v.bin', { body: good, headers: { 'OC-Checksum': `SHA1:${hex('sha1', good)}` } });
      expect(r.status).to.equal(201);
      r = await s.req('PUT', '/v.bin', { body: bad, headers: { 'OC-Checksum': `MD5:${hex('md5', good)}` } });
      expect(r.status).to.equal(400);
      expect(r.body).to.match(/MD5 checksum of the received body is [0-9a-f]{32}, but the request says [0-9a-f]{32}; nothing was stored/);
      expect((await readFile(join(s.root, 'v.bin'))).equals(good)).to.equal(true);
      expect(await sums(s, '/v.bin')).to.equal(list(good));
      r = await s.req('PUT', '/new.bin', { body: bad, headers: { 'OC-Checksum': `SHA1:${'0'.repeat(40)}` } });
      expect(r.status).to.equal(400);
      expect((await s.req('HEAD', '/new.bin')).status).to.equal(404);
      // nothing left in the staging area either
      const staging = join(s.root, '.davmeta', 'staging');
      for (const owner of await readdir(staging)) expect((await readdir(join(staging, owner))).filter((n) => n !== '.alive')).to.deep.equal([]);
      // a malformed claim is a 400 too; a type the server does not compute is not verified
      expect((await s.req('PUT', '/m.bin', { body: good, headers: { 'OC-Checksum': 'SHA1:xyz' } })).status).to.equal(400);
      expect((await s.req('PUT', '/m.bin', { body: good, headers: { 'OC-Checksum': 'ADLER32:00000000' } })).status).to.equal(201);
    });
  }

  it('an edit on disk that keeps size and mtime is never answered with the old checksum', async () => {
    await putOk(s, '/e.txt', 'version one');
    expect(await sums(s, '/e.txt')).to.equal(list('version one'));
    const file = join(s.root, 'e.txt');
    const before = await stat(file);
    await sameSizeSameMtimeEdit(file, 'version two');
    const after = await stat(file);
    expect([after.size, after.mtimeMs, after.ino]).to.deep.equal([before.size, before.mtimeMs, before.ino]);
    expect(await sums(s, '/e.txt')).to.equal(list('version two'));
    expect((await s.req('HEAD', '/e.txt')).headers['oc-checksum']).to.equal(`SHA1:${hex('sha1', 'version two')}`);
  });

  it('checksums follow MOVE and COPY (files and trees) and go with DELETE', async () => {
    const a = randomBytes(100_000);
    await mkcolOk(s, '/t');
    await mkcolOk(s, '/t/sub');
    await putOk(s, '/t/sub/a.bin', a);
    await putOk(s, '/f.txt', 'file');
    // MOVE of a file: the record moves with it and takes the renamed file's new ETag.
    expect((await s.req('MOVE', '/f.txt', { headers: { Destination: '/g.txt' } })).status).to.equal(201);
    expect(await record(s.root, '/f.txt')).to.equal(null);
    const g = await record(s.root, '/g.txt');
    expect(g?.e).to.equal((await s.req('HEAD', '/g.txt')).headers.etag);
    expect(g?.d.sha1).to.equal(hex('sha1', 'file'));
    // COPY of a tree: every record is carried to the copy (no file was read for it).
    expect((await s.req('COPY', '/t/', { headers: { Destination: '/u/' } })).status).to.equal(201);
    const copied = await record(s.root, '/u/sub/a.bin');
    expect(copied?.e).to.equal((await s.req('HEAD', '/u/sub/a.bin')).headers.etag);
    expect(copied?.d.md5).to.equal(hex('md5', a));
    expect(await sums(s, '/u/sub/a.bin')).to.equal(list(a));
    // MOVE of a tree, then COPY of a file over an existing one.
    expect((await s.req('MOVE', '/u/', { headers: { Destination: '/w/' } })).status).to.equal(201);
    expect((await record(s.root, '/w/sub/a.bin'))?.d.md5).to.equal(hex('md5', a));
    expect(await record(s.root, '/u/sub/a.bin')).to.equal(null);
    expect((await s.req('COPY', '/g.txt', { headers: { Destination: '/w/sub/a.bin' } })).status).to.equal(204);
    expect(await sums(s, '/w/sub/a.bin')).to.equal(list('file'));
    // DELETE takes the records with it.
    expect((await s.req('DELETE', '/w/')).status).to.equal(204);
    expect(await record(s.root, '/w/sub/a.bin')).to.equal(null);
    expect(await sums(s, '/t/sub/a.bin')).to.equal(list(a));
  });

  it('a file PUT where a folder stood (removed on disk) gets its own record, and the records below the folder go', async () => {
    await mkcolOk(s, '/d');
    await putOk(s, '/d/inner.txt', 'inner');
    expect(await record(s.root, '/d/inner.txt')).to.not.equal(null);
    await rm(join(s.root, 'd'), { recursive: true }); // outside WebDAV: its records stay behind
    const r = await s.req('PUT', '/d', { body: 'now a file' });
    expect(r.status).to.equal(201);
    // The record is the PUT's own, under the ETag it answered, written in the same step that
    // dropped the records of what stood there before.
    const rec = await record(s.root, '/d');
    expect(rec?.e).to.equal(r.headers.etag);
    expect(rec?.d.sha256).to.equal(hex('sha256', 'now a file'));
    expect(await record(s.root, '/d/inner.txt')).to.equal(null);
    await stat(join(s.root, '.davmeta', 'sums', 'root.d', 'd.d')).then(
      () => expect.fail('the folder of member records is gone'),
      (e: NodeJS.ErrnoException) => expect(e.code).to.equal('ENOENT'),
    );
    // Replaced content: the record follows the new bytes and ETag.
    const again = await s.req('PUT', '/d', { body: 'second' });
    expect(again.status).to.equal(204);
    expect((await record(s.root, '/d'))?.e).to.equal(again.headers.etag);
    expect(await sums(s, '/d')).to.equal(list('second'));
  });

  it('oc:checksums is protected: PROPPATCH cannot set it', async () => {
    await putOk(s, '/p.txt', 'p');
    const body = `<?xml version="1.0"?><d:propertyupdate xmlns:d="DAV:" xmlns:oc="${OC}"><d:set><d:prop><oc:checksums><oc:checksum>SHA1:${'0'.repeat(40)}</oc:checksum></oc:checksums></d:prop></d:set></d:propertyupdate>`;
    const r = multistatus(await s.req('PROPPATCH', '/p.txt', { body }));
    expect(prop(r.get('/p.txt')!, OC, 'checksums')!.status).to.equal(403);
    expect(await sums(s, '/p.txt')).to.equal(list('p'));
  });
});

describe('checksums across a restart', function () {
  this.timeout(60_000);
  it('records written before a restart are served after it, still checked against the file', async () => {
    const root = await makeTempDir('sums');
    try {
      let s = await startTestServer({ root });
      await putOk(s, '/r.txt', 'kept');
      const rec = await record(root, '/r.txt');
      await s.close();
      s = await startTestServer({ root });
      expect(await sums(s, '/r.txt')).to.equal(list('kept'));
      expect(await record(root, '/r.txt')).to.deep.equal(rec); // served from the record, not recomputed
      await writeFile(join(root, 'r.txt'), 'changed');
      expect(await sums(s, '/r.txt')).to.equal(list('changed'));
      await s.close();
    } finally {
      await rm(root, { recursive: true, force: true });
    }
  });
});

describe('checksums with --storage memory', function () {
  this.timeout(60_000);
  it('are computed when asked (nothing is kept on disk) and follow edits; tus answers that it cannot keep partial uploads', async () => {
    const s = await startTestServer({ storage: 'memory' });
    try {
      await putOk(s, '/m.txt', 'in memory');
      expect(await sums(s, '/m.txt')).to.equal(list('in memory'));
      expect((await s.req('HEAD', '/m.txt')).headers['oc-checksum']).to.equal(`SHA1:${hex('sha1', 'in memory')}`);
      expect((await s.req('COPY', '/m.txt', { headers: { Destination: '/n.txt' } })).status).to.equal(201);
      await putOk(s, '/m.txt', 'edited!!!');
      expect(await sums(s, '/m.txt')).to.equal(list('edited!!!'));
      expect(await sums(s, '/n.txt')).to.equal(list('in memory'));
      const tus = await s.req('POST', '/.dav/uploads/', { headers: { 'Tus-Resumable': '1.0.0', 'Upload-Length': '3', 'Upload-Metadata': `path ${Buffer.from('/t.txt').toString('base64')}` } });
      expect(tus.status, tus.body).to.equal(501);
    } finally {
      await s.close();
    }
  });
});
