/**
 * tus 1.0 at <prefix>/.dav/uploads/ against the real server: creation, HEAD, PATCH, termination,
 * expiration and per-request checksums; the finished upload is committed like a PUT of its
 * target (If header, locks, 201/204, checksums) and nothing is visible before.
 */
import { expect } from 'chai';
import { createHash, randomBytes } from 'node:crypto';
import { readFile, readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { request as httpRequest } from 'node:http';
import { startTestServer, type TestServer, type Res } from '../helpers/server.js';
import { lockOk, mkcolOk, putOk } from '../helpers/dav.js';
import { patchHeaders, TUS, tusMetadata } from './helpers.js';

const hex = (alg: string, b: Buffer | string): string => createHash(alg).update(b).digest('hex');
const b64 = (alg: string, b: Buffer | string): string => createHash(alg).update(b).digest('base64');

async function create(s: TestServer, target: string, length: number, meta: Record<string, string> = {}, headers: Record<string, string> = {}): Promise<Res> {
  return s.req('POST', '/.dav/uploads/', { headers: { ...TUS, 'Upload-Length': String(length), 'Upload-Metadata': tusMetadata({ path: target, ...meta }), ...headers } });
}
async function created(s: TestServer, target: string, length: number, meta: Record<string, string> = {}): Promise<string> {
  const r = await create(s, target, length, meta);
  expect(r.status, r.body).to.equal(201);
  expect(r.headers.location).to.match(/^\/\.dav\/uploads\/[0-9a-f]{32}$/);
  return r.headers.location!;
}
const partials = async (root: string): Promise<string[]> => readdir(join(root, '.davmeta', 'staging', 'resumable'));

describe('tus resumable uploads', function () {
  this.timeout(60_000);
  let s: TestServer;
  beforeEach(async () => {
    s = await startTestServer();
  });
  afterEach(async () => s.close());

  it('OPTIONS tells the protocol and extensions, without credentials', async () => {
    const r = await s.req('OPTIONS', '/.dav/uploads/');
    expect(r.status).to.equal(204);
    expect(r.headers['tus-version']).to.equal('1.0.0');
    expect(r.headers['tus-extension']).to.equal('creation,termination,expiration,checksum');
    expect(r.headers['tus-checksum-algorithm']).to.equal('md5,sha1,sha256');
  });

  it('creates, appends in chunks, and the last PATCH commits: 201, ETag, checksums; nothing visible before', async () => {
    const body = randomBytes(700_000);
    const loc = await created(s, '/big%20file.bin', body.length, { filename: 'big file.bin' });
    let h = await s.req('HEAD', loc);
    expect(h.status).to.equal(200);
    expect(h.headers['upload-offset']).to.equal('0');
    expect(h.headers['upload-length']).to.equal(String(body.length));
    expect(h.headers['tus-resumable']).to.equal('1.0.0');
    expect(h.headers['cache-control']).to.equal('no-store');
    expect(h.headers['upload-metadata']).to.include('path ');
    expect(new Date(String(h.headers['upload-expires'])).getTime()).to.be.greaterThan(Date.now() + 23 * 3600_000);
    let r = await s.req('PATCH', loc, { headers: patchHeaders(0), body: body.subarray(0, 300_000) });
    expect(r.status, r.body).to.equal(204);
    expect(r.headers['upload-offset']).to.equal('300000');
    // nothing of it in the tree
    expect((await s.req('HEAD', '/big%20file.bin')).status).to.equal(404);
    expect((await s.req('PROPFIND', '/', { headers: { Depth: '1' } })).body).not.to.include('big');
    // a wrong offset, a wrong type, a missing version are refused without writing
    expect((await s.req('PATCH', loc, { headers: patchHeaders(0), body: 'x' })).status).to.equal(409);
    expect((await s.req('PATCH', loc, { headers: { ...patchHeaders(300_000), 'Content-Type': 'text/plain' }, body: 'x' })).status).to.equal(415);
    expect((await s.req('PATCH', loc, { headers: { ...patchHeaders(300_000), 'Tus-Resumable': '0.2.2' }, body: 'x' })).status).to.equal(412);
    h = await s.req('HEAD', loc);
    expect(h.headers['upload-offset']).to.equal('300000');
    r = await s.req('PATCH', loc, { headers: patchHeaders(300_000), body: body.subarray(300_000) });
    expect(r.status, r.body).to.equal(201);
    expect(r.headers['upload-offset']).to.equal(String(body.length));
    const head = await s.req('HEAD', '/big%20file.bin');
    expect(head.status).to.equal(200);
    expect(r.headers.etag).to.equal(head.headers.etag);
    expect(head.headers['oc-checksum']).to.equal(`SHA1:${hex('sha1', body)}`);
    expect((await readFile(join(s.root, 'big file.bin'))).equals(body)).to.equal(true);
    expect(await partials(s.root)).to.deep.equal([]);
    // the checksums were recorded by the commit (under the stored file's ETag)
    const rec = JSON.parse(await readFile(join(s.root, '.davmeta', 'sums', 'root.d', 'big file.bin.s'), 'utf8'));
    expect(rec.e).to.equal(head.headers.etag);
    expect(rec.d.md5).to.equal(hex('md5', body));
    // a finished upload reports itself complete; its last PATCH again gets the same answer
    h = await s.req('HEAD', loc);
    expect(h.headers['upload-offset']).to.equal(String(body.length));
    expect((await s.req('PATCH', loc, { headers: patchHeaders(body.length) })).status).to.equal(204);
  });

  it('replacing a file answers 204 on the last PATCH; mtime metadata is applied', async () => {
    await putOk(s, '/r.txt', 'old');
    const loc = await created(s, '/r.txt', 3, { mtime: '1600000000' });
    const r = await s.req('PATCH', loc, { headers: patchHeaders(0), body: 'new' });
    expect(r.status).to.equal(204);
    expect(await readFile(join(s.root, 'r.txt'), 'utf8')).to.equal('new');
    expect((await stat(join(s.root, 'r.txt'))).mtimeMs).to.equal(1_600_000_000_000);
  });

  it('an empty upload is committed when it is created', async () => {
    const r = await create(s, '/empty', 0);
    expect(r.status).to.equal(201);
    expect((await stat(join(s.root, 'empty'))).size).to.equal(0);
  });

  it('refuses what a PUT would refuse, at creation', async () => {
    await mkcolOk(s, '/dir');
    expect((await s.req('POST', '/.dav/uploads/', { headers: { 'Upload-Length': '1', 'Upload-Metadata': tusMetadata({ path: '/x' }) } })).status).to.equal(412);
    expect((await s.req('POST', '/.dav/uploads/', { headers: { ...TUS, 'Upload-Length': '1' } })).status).to.equal(400);
    expect((await s.req('POST', '/.dav/uploads/', { headers: { ...TUS, 'Upload-Length': 'x', 'Upload-Metadata': tusMetadata({ path: '/x' }) } })).status).to.equal(400);
    expect((await s.req('POST', '/.dav/uploads/', { headers: { ...TUS, 'Upload-Length': '1', 'Upload-Metadata': 'path !!!' } })).status).to.equal(400);
    expect((await create(s, '/dir', 1)).status).to.equal(405);
    expect((await create(s, '/dir/', 1)).status).to.equal(409);
    expect((await create(s, '/missing/x', 1)).status).to.equal(409);
    expect((await create(s, '/.davmeta/x', 1)).status).to.equal(403);
    expect((await create(s, '/x', 1, { if: '(["no-such-etag"])' })).status).to.equal(412);
    expect(await partials(s.root)).to.deep.equal([]);
  });

  it('locks: a locked target needs its token (Upload-Metadata if); a lock taken meanwhile makes the last PATCH 423 and the upload stays resumable', async () => {
    await putOk(s, '/l.txt', 'old!');
    const { token } = await lockOk(s, '/l.txt');
    expect((await create(s, '/l.txt', 4)).status).to.equal(423);
    let loc = await created(s, '/l.txt', 4, { if: `(<${token}>)` });
    expect((await s.req('PATCH', loc, { headers: patchHeaders(0), body: 'new!' })).status).to.equal(204);
    expect(await readFile(join(s.root, 'l.txt'), 'utf8')).to.equal('new!');
    expect((await s.req('UNLOCK', '/l.txt', { headers: { 'Lock-Token': `<${token}>` } })).status).to.equal(204);
    // created while unlocked, then someone locks the target: the commit is refused like a PUT
    loc = await created(s, '/l.txt', 4, {});
    const second = (await lockOk(s, '/l.txt')).token;
    let r = await s.req('PATCH', loc, { headers: patchHeaders(0), body: 'try!' });
    expect(r.status).to.equal(423);
    expect(await readFile(join(s.root, 'l.txt'), 'utf8')).to.equal('new!');
    // not finished: its last byte is asked for again (a tus client must not take it for done)
    expect((await s.req('HEAD', loc)).headers['upload-offset']).to.equal('3');
    // the request's own If header submits the token
    r = await s.req('PATCH', loc, { headers: patchHeaders(3, { If: `(<${second}>)` }), body: '!' });
    expect(r.status).to.equal(204);
    expect(await readFile(join(s.root, 'l.txt'), 'utf8')).to.equal('try!');
    expect((await s.req('HEAD', '/l.txt')).headers['oc-checksum']).to.equal(`SHA1:${hex('sha1', 'try!')}`);
  });

  it('Upload-Checksum: a chunk that does not match is discarded (460), one that matches is kept', async () => {
    const body = Buffer.from('0123456789');
    const loc = await created(s, '/c.txt', 10);
    let r = await s.req('PATCH', loc, { headers: patchHeaders(0, { 'Upload-Checksum': `sha1 ${b64('sha1', 'nope!')}` }), body: body.subarray(0, 5) });
    expect(r.status).to.equal(460);
    expect((await s.req('HEAD', loc)).headers['upload-offset']).to.equal('0');
    r = await s.req('PATCH', loc, { headers: patchHeaders(0, { 'Upload-Checksum': `md5 ${b64('md5', body.subarray(0, 5))}` }), body: body.subarray(0, 5) });
    expect(r.status).to.equal(204);
    r = await s.req('PATCH', loc, { headers: patchHeaders(5, { 'Upload-Checksum': `sha256 ${hex('sha256', body.subarray(5))}` }), body: body.subarray(5) });
    expect(r.status).to.equal(201);
    expect(await readFile(join(s.root, 'c.txt'), 'utf8')).to.equal('0123456789');
    expect((await s.req('PATCH', loc, { headers: patchHeaders(0, { 'Upload-Checksum': 'crc32 AAAA' }), body: 'x' })).status).to.equal(400);
  });

  it('a whole-file checksum that does not match discards the upload; one that matches commits', async () => {
    let loc = await created(s, '/w.txt', 5, { checksum: `sha1 ${hex('sha1', 'other')}` });
    let r = await s.req('PATCH', loc, { headers: patchHeaders(0), body: 'hello' });
    expect(r.status).to.equal(460);
    expect(r.body).to.match(/SHA1 checksum of the received body is .*the upload was discarded/);
    expect((await s.req('HEAD', '/w.txt')).status).to.equal(404);
    expect((await s.req('HEAD', loc)).status).to.equal(404);
    loc = await created(s, '/w.txt', 5, { checksum: `MD5:${hex('md5', 'hello')}` });
    r = await s.req('PATCH', loc, { headers: patchHeaders(0, { 'OC-Checksum': `SHA1:${hex('sha1', 'hello')}` }), body: 'hello' });
    expect(r.status).to.equal(201);
  });

  it('DELETE abandons an upload and its bytes; another user of the server never sees it', async () => {
    const loc = await created(s, '/d.txt', 10);
    expect((await s.req('PATCH', loc, { headers: patchHeaders(0), body: 'abc' })).status).to.equal(204);
    expect(await partials(s.root)).to.have.length(1);
    expect((await s.req('DELETE', loc, { headers: TUS })).status).to.equal(204);
    expect(await partials(s.root)).to.deep.equal([]);
    expect((await s.req('HEAD', loc)).status).to.equal(404);
    expect((await s.req('HEAD', '/.dav/uploads/nonsense')).status).to.equal(404);
  });

  it('X-HTTP-Method-Override: PATCH and DELETE sent as POST', async () => {
    const loc = await created(s, '/o.txt', 2);
    const r = await s.req('POST', loc, { headers: patchHeaders(0, { 'X-HTTP-Method-Override': 'PATCH' }), body: 'ok' });
    expect(r.status).to.equal(201);
    expect(await readFile(join(s.root, 'o.txt'), 'utf8')).to.equal('ok');
  });

  it('a cut connection keeps the bytes that arrived; the next PATCH resumes from there', async () => {
    const body = randomBytes(4 * 1024 * 1024);
    const loc = await created(s, '/cut.bin', body.length);
    const url = new URL(s.base);
    await new Promise<void>((resolve) => {
      const req = httpRequest({ host: url.hostname, port: url.port, method: 'PATCH', path: loc, headers: { ...patchHeaders(0), 'Content-Length': body.length }, agent: false });
      req.on('error', () => resolve());
      req.write(body.subarray(0, 1_500_000), () => setTimeout(() => {
        req.destroy();
        resolve();
      }, 300));
    });
    let offset = 0;
    for (let i = 0; i < 50 && offset === 0; i++) {
      offset = Number((await s.req('HEAD', loc)).headers['upload-offset']);
      if (offset === 0) await new Promise((r) => setTimeout(r, 50));
    }
    expect(offset).to.be.greaterThan(0).and.at.most(1_500_000);
    const r = await s.req('PATCH', loc, { headers: patchHeaders(offset), body: body.subarray(offset) });
    expect(r.status, r.body).to.equal(201);
    expect(hex('sha1', await readFile(join(s.root, 'cut.bin')))).to.equal(hex('sha1', body));
    expect((await s.req('HEAD', '/cut.bin')).headers['oc-checksum']).to.equal(`SHA1:${hex('sha1', body)}`);
  });

  it('a request still writing is told to stop when the client comes back (HEAD takes over)', async () => {
    const body = randomBytes(1_000_000);
    const loc = await created(s, '/stall.bin', body.length);
    const url = new URL(s.base);
    let stalledClosed = false;
    const req = httpRequest({ host: url.hostname, port: url.port, method: 'PATCH', path: loc, headers: { ...patchHeaders(0), 'Content-Length': body.length }, agent: false });
    req.on('error', () => (stalledClosed = true));
    req.on('close', () => (stalledClosed = true));
    req.write(body.subarray(0, 400_000)); // then silence, connection left open
    await new Promise((r) => setTimeout(r, 500));
    const t0 = Date.now();
    const h = await s.req('HEAD', loc);
    expect(Date.now() - t0).to.be.below(4000);
    const offset = Number(h.headers['upload-offset']);
    expect(offset).to.equal(400_000);
    const r = await s.req('PATCH', loc, { headers: patchHeaders(offset), body: body.subarray(offset) });
    expect(r.status, r.body).to.equal(201);
    expect(stalledClosed).to.equal(true);
    expect((await readFile(join(s.root, 'stall.bin'))).equals(body)).to.equal(true);
    req.destroy();
  });

  it('the running checksum is rebuilt from the stored bytes after a restart', async () => {
    const body = randomBytes(2_000_000);
    const loc = await created(s, '/restart.bin', body.length);
    expect((await s.req('PATCH', loc, { headers: patchHeaders(0), body: body.subarray(0, 1_200_000) })).status).to.equal(204);
    // A second server on the same directory (another instance, or this one restarted) finishes it.
    const other = await startTestServer({ root: s.root });
    try {
      const r = await other.req('PATCH', loc, { headers: patchHeaders(1_200_000), body: body.subarray(1_200_000) });
      expect(r.status, r.body).to.equal(201);
      expect((await other.req('HEAD', '/restart.bin')).headers['oc-checksum']).to.equal(`SHA1:${hex('sha1', body)}`);
    } finally {
      await other.close();
    }
  });
});

describe('tus: limits and expiry', function () {
  this.timeout(60_000);
  it('Upload-Length over --max-upload is 413; an upload idle past --upload-expiry is 410 and removed', async () => {
    const s = await startTestServer({ maxUpload: 1000, uploadExpiry: 1 });
    try {
      expect((await s.req('OPTIONS', '/.dav/uploads/')).headers['tus-max-size']).to.equal('1000');
      expect((await create(s, '/big', 1001)).status).to.equal(413);
      const loc = await created(s, '/small', 10);
      expect((await s.req('PATCH', loc, { headers: patchHeaders(0), body: 'abc' })).status).to.equal(204);
      await new Promise((r) => setTimeout(r, 1300));
      expect((await s.req('HEAD', loc)).status).to.equal(410);
      expect(await partials(s.root)).to.deep.equal([]);
      expect((await s.req('HEAD', loc)).status).to.equal(404);
    } finally {
      await s.close();
    }
  });
});

describe('tus: what an upload may claim', function () {
  this.timeout(60_000);
  let s: TestServer;
  beforeEach(async () => {
    s = await startTestServer({ uploadExpiry: 1 });
  });
  afterEach(async () => s.close());

  it('room promised to an unfinished upload is not promised again; deleting it gives the room back', async () => {
    const pf = await s.req('PROPFIND', '/', { headers: { Depth: '0' }, body: '<d:propfind xmlns:d="DAV:"><d:prop><d:quota-available-bytes/></d:prop></d:propfind>' });
    const free = Number(/quota-available-bytes>(\d+)</.exec(pf.body)![1]);
    const claim = Math.floor(free * 0.6);
    // Nothing is written by a creation: two claims of 60% of the free space each cannot both hold.
    const first = await created(s, '/a.bin', claim);
    const second = await create(s, '/b.bin', claim);
    expect(second.status, second.body).to.equal(507);
    expect(second.body).to.match(/promised to unfinished uploads/);
    expect((await s.req('DELETE', first, { headers: TUS })).status).to.equal(204);
    await created(s, '/b.bin', claim);
  });

  it(`one user keeps at most 100 unfinished uploads`, async () => {
    await s.close();
    s = await startTestServer(); // uploads that stay, for as long as this takes
    const locs: string[] = [];
    for (let i = 0; i < 100; i++) locs.push(await created(s, `/f${i}`, 10));
    const over = await create(s, '/f100', 10);
    expect(over.status, over.body).to.equal(429);
    expect(over.body).to.match(/100 unfinished uploads/);
    expect((await s.req('PATCH', locs[0]!, { headers: patchHeaders(0), body: '0123456789' })).status).to.equal(201);
    await created(s, '/f100', 10);
  });

  it('expired uploads are swept when another upload is created, without a request to them', async () => {
    const old = await created(s, '/old.bin', 10);
    expect((await s.req('PATCH', old, { headers: patchHeaders(0), body: 'abc' })).status).to.equal(204);
    await new Promise((r) => setTimeout(r, 1300));
    const fresh = await created(s, '/new.bin', 10);
    expect(await partials(s.root)).to.deep.equal([fresh.slice(fresh.lastIndexOf('/') + 1)]);
    // Gone with its session: not even "expired" any more.
    expect((await s.req('HEAD', old, { headers: TUS })).status).to.equal(404);
  });
});
