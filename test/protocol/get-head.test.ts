import { expect } from 'chai';
import { utimes } from 'node:fs/promises';
import { join } from 'node:path';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { mkcolOk, putOk } from '../helpers/dav.js';

describe('GET and HEAD', () => {
  let s: TestServer;
  const body = Buffer.from('0123456789abcdefghij'); // 20 bytes
  const MTIME = new Date(Date.UTC(2024, 4, 6, 7, 8, 9));
  let etag: string;

  before(async () => {
    s = await startTestServer();
    await mkcolOk(s, '/dir');
    await putOk(s, '/dir/file.txt', body);
    await putOk(s, '/dir/pic.png', Buffer.from([0x89, 0x50, 0x4e, 0x47]));
    await putOk(s, '/dir/noext', 'z');
    await putOk(s, '/dir/empty.bin', '');
    await utimes(join(s.root, 'dir', 'file.txt'), MTIME, MTIME);
    etag = String((await s.req('HEAD', '/dir/file.txt')).headers['etag']);
  });
  after(async () => s.close());

  it('GET streams the body with Content-Length, ETag, Last-Modified, Content-Type', async () => {
    const r = await s.req('GET', '/dir/file.txt');
    expect(r.status).to.equal(200);
    expect(r.raw.equals(body)).to.equal(true);
    expect(r.headers['content-length']).to.equal('20');
    expect(r.headers['etag']).to.match(/^"[^"]+"$/);
    expect(r.headers['etag']).to.equal(etag);
    expect(r.headers['last-modified']).to.equal(MTIME.toUTCString());
    expect(r.headers['content-type']).to.equal('text/plain; charset=utf-8');
    expect(r.headers['accept-ranges']).to.equal('bytes');
  });

  it('Content-Type comes from the name', async () => {
    expect((await s.req('GET', '/dir/pic.png')).headers['content-type']).to.equal('image/png');
    expect((await s.req('GET', '/dir/noext')).headers['content-type']).to.equal('application/octet-stream');
  });

  it('HEAD has the same headers and no body', async () => {
    const r = await s.req('HEAD', '/dir/file.txt');
    expect(r.status).to.equal(200);
    expect(r.body).to.equal('');
    expect(r.headers['content-length']).to.equal('20');
    expect(r.headers['etag']).to.equal(etag);
    expect(r.headers['last-modified']).to.equal(MTIME.toUTCString());
    expect(r.headers['content-type']).to.equal('text/plain; charset=utf-8');
  });

  it('an empty file is 200 with Content-Length 0', async () => {
    const r = await s.req('GET', '/dir/empty.bin');
    expect(r.status).to.equal(200);
    expect(r.headers['content-length']).to.equal('0');
    expect(r.body).to.equal('');
  });

  it('404 for a missing resource, GET and HEAD', async () => {
    expect((await s.req('GET', '/dir/missing')).status).to.equal(404);
    expect((await s.req('HEAD', '/dir/missing')).status).to.equal(404);
    expect((await s.req('GET', '/nope/deeper')).status).to.equal(404);
  });

  it('the ETag changes when the content changes', async () => {
    await putOk(s, '/etag.txt', 'one');
    const a = (await s.req('HEAD', '/etag.txt')).headers['etag'];
    await putOk(s, '/etag.txt', 'two!');
    const b = (await s.req('HEAD', '/etag.txt')).headers['etag'];
    expect(a).to.not.equal(b);
    expect((await s.req('GET', '/etag.txt')).body).to.equal('two!');
  });

  it('GET on a collection answers 200 with a listing that is never cached (no ETag)', async () => {
    // The collection's validators do not change when a member does, so the page carries none.
    const r = await s.req('GET', '/dir/');
    expect(r.status).to.equal(200);
    expect(r.headers['etag']).to.equal(undefined);
    expect(r.headers['cache-control']).to.equal('no-cache, no-store');
  });

  describe('Range', () => {
    const cases: [string, number, string, string][] = [
      ['bytes=0-4', 206, 'bytes 0-4/20', '01234'],
      ['bytes=10-', 206, 'bytes 10-19/20', 'abcdefghij'],
      ['bytes=-3', 206, 'bytes 17-19/20', 'hij'],
      ['bytes=15-100', 206, 'bytes 15-19/20', 'fghij'],
      ['bytes=19-19', 206, 'bytes 19-19/20', 'j'],
    ];
    for (const [range, status, cr, want] of cases) {
      it(`${range} -> ${status} ${cr}`, async () => {
        const r = await s.req('GET', '/dir/file.txt', { headers: { Range: range } });
        expect(r.status).to.equal(status);
        expect(r.headers['content-range']).to.equal(cr);
        expect(r.headers['content-length']).to.equal(String(want.length));
        expect(r.body).to.equal(want);
      });
    }

    it('a range of an empty file is ignored: 200 with no body (RFC 9110 14.1.1: bytes=-N is satisfiable there, and no Content-Range describes zero bytes)', async () => {
      for (const range of ['bytes=0-', 'bytes=-5', 'bytes=0-0', 'bytes=3-7']) {
        const r = await s.req('GET', '/dir/empty.bin', { headers: { Range: range } });
        expect(r.status, range).to.equal(200);
        expect(r.headers['content-range'], range).to.equal(undefined);
        expect(r.headers['content-length'], range).to.equal('0');
      }
    });

    it('HEAD with a range: 200 describing the whole file (RFC 9110 14.2: Range is for GET)', async () => {
      const r = await s.req('HEAD', '/dir/file.txt', { headers: { Range: 'bytes=2-5' } });
      expect(r.status).to.equal(200);
      expect(r.headers['content-range']).to.equal(undefined);
      expect(r.headers['content-length']).to.equal('20');
      expect(r.headers['accept-ranges']).to.equal('bytes');
    });

    it('416 with Content-Range */size when unsatisfiable', async () => {
      for (const range of ['bytes=20-', 'bytes=100-200', 'bytes=-0']) {
        const r = await s.req('GET', '/dir/file.txt', { headers: { Range: range } });
        expect(r.status, range).to.equal(416);
        expect(r.headers['content-range']).to.equal('bytes */20');
      }
    });

    it('an invalid range header is ignored: 200 with the whole body', async () => {
      for (const range of ['bytes=5-2', 'lines=1-2', 'bytes=0-1,5-2', 'garbage']) {
        const r = await s.req('GET', '/dir/file.txt', { headers: { Range: range } });
        expect(r.status, range).to.equal(200);
        expect(r.raw.equals(body)).to.equal(true);
        expect(r.headers['content-range']).to.equal(undefined);
      }
    });

    it('If-Range with the current ETag or date applies the range; a stale one sends everything', async () => {
      const fresh = await s.req('GET', '/dir/file.txt', { headers: { Range: 'bytes=0-1', 'If-Range': etag } });
      expect(fresh.status).to.equal(206);
      expect(fresh.body).to.equal('01');
      const byDate = await s.req('GET', '/dir/file.txt', { headers: { Range: 'bytes=0-1', 'If-Range': MTIME.toUTCString() } });
      expect(byDate.status).to.equal(206);
      const stale = await s.req('GET', '/dir/file.txt', { headers: { Range: 'bytes=0-1', 'If-Range': '"stale"' } });
      expect(stale.status).to.equal(200);
      expect(stale.raw.equals(body)).to.equal(true);
      const oldDate = await s.req('GET', '/dir/file.txt', { headers: { Range: 'bytes=0-1', 'If-Range': new Date(MTIME.getTime() - 86400_000).toUTCString() } });
      expect(oldDate.status).to.equal(200);
    });
  });

  describe('conditional GET', () => {
    const before = new Date(MTIME.getTime() - 3600_000).toUTCString();
    const afterT = new Date(MTIME.getTime() + 3600_000).toUTCString();
    const cases: [string, Record<string, string>, number][] = [
      ['If-None-Match current', {}, 304],
      ['If-None-Match other', { 'If-None-Match': '"other"' }, 200],
      ['If-None-Match *', { 'If-None-Match': '*' }, 304],
      ['If-Match current', {}, 200],
      ['If-Match other', { 'If-Match': '"other"' }, 412],
      ['If-Modified-Since after mtime', { 'If-Modified-Since': afterT }, 304],
      ['If-Modified-Since = mtime', { 'If-Modified-Since': MTIME.toUTCString() }, 304],
      ['If-Modified-Since before mtime', { 'If-Modified-Since': before }, 200],
      ['If-Unmodified-Since before mtime', { 'If-Unmodified-Since': before }, 412],
      ['If-Unmodified-Since after mtime', { 'If-Unmodified-Since': afterT }, 200],
    ];
    for (const [label, headers, status] of cases) {
      it(`${label} -> ${status}`, async () => {
        const h = { ...headers };
        if (label === 'If-None-Match current') h['If-None-Match'] = etag;
        if (label === 'If-Match current') h['If-Match'] = etag;
        for (const method of ['GET', 'HEAD']) {
          const r = await s.req(method, '/dir/file.txt', { headers: h });
          expect(r.status, method).to.equal(status);
          if (status === 304) {
            expect(r.body).to.equal('');
            expect(r.headers['etag']).to.equal(etag);
          }
          if (status === 200 && method === 'GET') expect(r.raw.equals(body)).to.equal(true);
        }
      });
    }
  });

  it('locks never block reads', async () => {
    await putOk(s, '/locked.txt', 'secret');
    const lock = await s.req('LOCK', '/locked.txt', {
      body: '<?xml version="1.0"?><D:lockinfo xmlns:D="DAV:"><D:lockscope><D:exclusive/></D:lockscope><D:locktype><D:write/></D:locktype></D:lockinfo>',
    });
    expect(lock.status).to.equal(200);
    const r = await s.req('GET', '/locked.txt');
    expect(r.status).to.equal(200);
    expect(r.body).to.equal('secret');
    expect((await s.req('HEAD', '/locked.txt')).status).to.equal(200);
  });
});
