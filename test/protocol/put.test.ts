import { expect } from 'chai';
import { readFile, stat } from 'node:fs/promises';
import { randomBytes, createHash } from 'node:crypto';
import { join } from 'node:path';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { eventually, mkcolOk, putOk, stagedFiles, streamRequest, tempFiles } from '../helpers/dav.js';

describe('PUT', () => {
  let s: TestServer;
  beforeEach(async () => (s = await startTestServer()));
  afterEach(async () => s.close());

  it('201 when created, 204 when replaced; the content lands on disk; ETag in the answer', async () => {
    const a = await s.req('PUT', '/f.txt', { body: 'first' });
    expect(a.status).to.equal(201);
    expect(a.headers['etag']).to.match(/^"[^"]+"$/);
    expect(await readFile(join(s.root, 'f.txt'), 'utf8')).to.equal('first');
    const b = await s.req('PUT', '/f.txt', { body: 'second, longer' });
    expect(b.status).to.equal(204);
    expect(b.body).to.equal('');
    expect(b.headers['etag']).to.not.equal(a.headers['etag']);
    expect(b.headers['etag']).to.equal((await s.req('HEAD', '/f.txt')).headers['etag']);
    expect(await readFile(join(s.root, 'f.txt'), 'utf8')).to.equal('second, longer');
  });

  it('an empty body creates an empty file', async () => {
    expect((await s.req('PUT', '/empty', { body: '' })).status).to.equal(201);
    expect((await stat(join(s.root, 'empty'))).size).to.equal(0);
  });

  it('stores binary bodies byte for byte (4 MiB)', async () => {
    const data = randomBytes(4 * 1024 * 1024);
    await putOk(s, '/big.bin', data);
    const back = await s.req('GET', '/big.bin');
    expect(createHash('sha256').update(back.raw).digest('hex')).to.equal(createHash('sha256').update(data).digest('hex'));
  });

  it('accepts a chunked body (Transfer-Encoding: chunked, Finder style)', async () => {
    const parts = ['alpha-', 'beta-', 'gamma-', Buffer.from('δέλτα')];
    const r = await streamRequest(s, 'PUT', '/chunked.txt', parts, { headers: { 'X-Expected-Entity-Length': '22' }, delayMs: 5 });
    expect(r).to.not.equal('aborted');
    if (r === 'aborted') return;
    expect(r.status).to.equal(201);
    expect(await readFile(join(s.root, 'chunked.txt'), 'utf8')).to.equal('alpha-beta-gamma-δέλτα');
  });

  it('an upload aborted mid-body leaves the old content and no temp file', async () => {
    await putOk(s, '/keep.txt', 'old content');
    const chunk = Buffer.alloc(64 * 1024, 0x61);
    const r = await streamRequest(s, 'PUT', '/keep.txt', [chunk, chunk, chunk, chunk], { headers: { 'Content-Length': 1024 * 1024 }, abortAfter: 2 });
    expect(r).to.equal('aborted');
    expect(await eventually(async () => (await tempFiles(s.root)).length === 0 && (await stagedFiles(s.root)).length === 0)).to.equal(true);
    expect(await readFile(join(s.root, 'keep.txt'), 'utf8')).to.equal('old content');
    expect((await s.req('GET', '/keep.txt')).body).to.equal('old content');
  });

  it('an aborted chunked upload of a new file leaves nothing behind', async () => {
    await mkcolOk(s, '/d');
    const r = await streamRequest(s, 'PUT', '/d/new.bin', [Buffer.alloc(100_000), Buffer.alloc(100_000), 'x'], { abortAfter: 2 });
    expect(r).to.equal('aborted');
    expect(await eventually(async () => (await tempFiles(join(s.root, 'd'))).length === 0 && (await stagedFiles(s.root)).length === 0)).to.equal(true);
    expect((await s.req('GET', '/d/new.bin')).status).to.equal(404);
    // The server is still fine.
    expect((await s.req('PUT', '/d/new.bin', { body: 'ok' })).status).to.equal(201);
  });

  it('temp files are never listed nor addressable', async () => {
    const chunk = Buffer.alloc(32 * 1024);
    // Start an upload and leave it hanging so its temp file exists, then look.
    const pending = streamRequest(s, 'PUT', '/slow.bin', [chunk, chunk, chunk], { headers: { 'Content-Length': 10 * 1024 * 1024 }, abortAfter: 2, delayMs: 300 });
    expect(await eventually(async () => (await stagedFiles(s.root)).length > 0)).to.equal(true);
    const [tmp] = await stagedFiles(s.root);
    expect(await tempFiles(s.root), 'nothing is staged beside the target').to.deep.equal([]);
    const list = await s.req('PROPFIND', '/', { headers: { Depth: 'infinity' } });
    expect(list.body).to.not.include('davmeta');
    expect(list.body).to.not.include(tmp!.split('/').pop());
    expect((await s.req('GET', `/${tmp}`)).status).to.equal(404);
    expect((await s.req('PUT', `/${tmp}`, { body: 'x' })).status).to.equal(403);
    expect((await s.req('DELETE', `/${tmp}`)).status).to.equal(403);
    expect(await pending).to.equal('aborted');
  });

  it('405 on a collection, with Allow', async () => {
    await mkcolOk(s, '/coll');
    for (const p of ['/coll', '/coll/', '/']) {
      const r = await s.req('PUT', p, { body: 'x' });
      expect(r.status, p).to.equal(405);
      expect(String(r.headers['allow'])).to.include('PROPFIND');
      expect(String(r.headers['allow'])).to.not.include('PUT');
    }
  });

  it('409 when the parent is missing or is a file', async () => {
    expect((await s.req('PUT', '/no/such/parent.txt', { body: 'x' })).status).to.equal(409);
    await putOk(s, '/file', 'x');
    expect((await s.req('PUT', '/file/child', { body: 'x' })).status).to.equal(409);
  });

  it('If-None-Match: * creates but never replaces', async () => {
    expect((await s.req('PUT', '/once', { body: '1', headers: { 'If-None-Match': '*' } })).status).to.equal(201);
    expect((await s.req('PUT', '/once', { body: '2', headers: { 'If-None-Match': '*' } })).status).to.equal(412);
    expect((await s.req('GET', '/once')).body).to.equal('1');
  });

  it('If-Match: replaces only the current version', async () => {
    const { headers } = await putOk(s, '/v', 'v1');
    const etag = String(headers['etag']);
    expect((await s.req('PUT', '/v', { body: 'v2', headers: { 'If-Match': '"stale"' } })).status).to.equal(412);
    expect((await s.req('PUT', '/v', { body: 'v2', headers: { 'If-Match': etag } })).status).to.equal(204);
    expect((await s.req('PUT', '/v', { body: 'v3', headers: { 'If-Match': etag } })).status).to.equal(412);
    expect((await s.req('PUT', '/new', { body: 'x', headers: { 'If-Match': '*' } })).status).to.equal(412);
    expect((await s.req('GET', '/v')).body).to.equal('v2');
  });

  it('If-Unmodified-Since in the past is 412', async () => {
    await putOk(s, '/u', 'x');
    const r = await s.req('PUT', '/u', { body: 'y', headers: { 'If-Unmodified-Since': new Date(Date.now() - 86400_000).toUTCString() } });
    expect(r.status).to.equal(412);
    expect((await s.req('GET', '/u')).body).to.equal('x');
  });

  it('Content-Range on PUT is refused with 400', async () => {
    await putOk(s, '/r', 'abc');
    expect((await s.req('PUT', '/r', { body: 'z', headers: { 'Content-Range': 'bytes 0-0/3' } })).status).to.equal(400);
    expect((await s.req('GET', '/r')).body).to.equal('abc');
  });

  it('non-ASCII and awkward names round-trip', async () => {
    for (const [url, name] of [['/caf%C3%A9%20%E6%97%A5%E6%9C%AC.txt', 'café 日本.txt'], ['/a%23b', 'a#b'], ['/100%25', '100%']]) {
      expect((await s.req('PUT', url!, { body: name })).status).to.equal(201);
      expect(await readFile(join(s.root, name!), 'utf8')).to.equal(name);
      expect((await s.req('GET', url!)).body).to.equal(name);
    }
  });

  it('traversal attempts never write outside the root', async () => {
    for (const p of ['/../escape', '/%2e%2e/escape', '/a/%2e%2e/%2e%2e/escape', '/..%2fescape', '/x%5c..%5cescape']) {
      expect((await s.req('PUT', p, { body: 'x' })).status, p).to.equal(400);
    }
    await stat(join(s.root, '..', 'escape')).then(
      () => expect.fail('file written outside the root'),
      () => undefined,
    );
  });
});
