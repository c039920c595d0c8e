/**
 * The protocol corner cases a differential test against Apache mod_dav found (issue 17), each
 * against the real server: parser-level method errors, absolute-form targets, empty prop,
 * Content-Location, Destination forms, quota on files, HEAD with Range, range sets, and the
 * 16+ digit range numbers of issue 12.
 */
import { expect } from 'chai';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { rawExchange, startTestServer, statusOf, type TestServer } from '../helpers/server.js';
import { DAV, davError, multistatus, prop, propNames, putOk, single } from '../helpers/dav.js';


const BIG = Buffer.alloc(300_000);
for (let i = 0; i < BIG.length; i++) BIG[i] = (i * 7) % 251;

describe('protocol: corner cases found against Apache mod_dav', () => {
  let s: TestServer;
  before(async () => {
    s = await startTestServer({ lockStore: 'memory' });
    await mkdir(join(s.root, 'dir'));
    await writeFile(join(s.root, 'dir', 'f.txt'), '0123456789abcdefghij');
    await writeFile(join(s.root, 'big.bin'), BIG);
  });
  after(() => s.close());

  describe('methods the HTTP parser does not know', () => {
    it('an unknown method answers 501', async () => {
      const r = await rawExchange(s.running.port, 'FROBNICATE / HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n');
      expect(statusOf(r), r).to.equal(501);
      expect(r).to.match(/\r\nConnection: close\r\n/);
    });
    for (const m of ['VERSION-CONTROL', 'ORDERPATCH', 'CHECKIN', 'MKWORKSPACE']) {
      it(`${m} (another RFC's method) answers 405 with Allow`, async () => {
        const r = await rawExchange(s.running.port, `${m} /dir/f.txt HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n`);
        expect(statusOf(r), r).to.equal(405);
        expect(r).to.match(/\r\nAllow: OPTIONS, GET, HEAD, PUT, DELETE, MKCOL, COPY, MOVE, PROPFIND, PROPPATCH, LOCK, UNLOCK\r\n/);
      });
    }
    it('methods the parser knows but we do not serve answer through Koa (405/501)', async () => {
      expect((await s.req('PATCH', '/dir/f.txt')).status).to.equal(405);
      expect((await s.req('PURGE', '/dir/f.txt')).status).to.equal(501);
    });
    it('a request line that is not HTTP stays 400', async () => {
      const r = await rawExchange(s.running.port, '\x01\x02garbage\r\n\r\n');
      expect(statusOf(r), r).to.equal(400);
    });
    it('after a good request on a keep-alive connection, an unknown method still gets its answer', async () => {
      const r = await rawExchange(s.running.port, 'GET /dir/f.txt HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\nFROBNICATE / HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n');
      expect(r).to.match(/^HTTP\/1\.1 200 OK/);
      expect(r).to.include('0123456789abcdefghij');
      expect(r).to.include('HTTP/1.1 501 Not Implemented');
    });
  });

  it('absolute-form request targets are served (RFC 9112 3.2.2), the target naming the host', async () => {
    const r = await rawExchange(s.running.port, `GET http://127.0.0.1:${s.running.port}/dir/f.txt?x=1 HTTP/1.1\r\nHost: ignored.example\r\nConnection: close\r\n\r\n`);
    expect(statusOf(r), r).to.equal(200);
    expect(r.endsWith('0123456789abcdefghij')).to.equal(true);
    // The Destination is matched against the target's authority, not the ignored Host header.
    const mv = await rawExchange(
      s.running.port,
      `COPY http://127.0.0.1:${s.running.port}/dir/f.txt HTTP/1.1\r\nHost: ignored.example\r\nDestination: http://127.0.0.1:${s.running.port}/dir/abs.txt\r\nConnection: close\r\n\r\n`,
    );
    expect(statusOf(mv), mv).to.equal(201);
  });

  it('PROPFIND with an empty <D:prop/> returns a response with a propstat (RFC 4918 14.24)', async () => {
    const r = await s.req('PROPFIND', '/dir/', { headers: { Depth: '1' }, body: '<?xml version="1.0"?><D:propfind xmlns:D="DAV:"><D:prop/></D:propfind>' });
    const all = multistatus(r);
    expect([...all.keys()].sort()).to.deep.equal(['/dir/', '/dir/abs.txt', '/dir/f.txt'].filter((h) => all.has(h)));
    for (const e of all.values()) {
      expect(e.propstats.length, r.body).to.equal(1);
      expect(e.propstats[0]!.status).to.equal(200);
      expect(e.propstats[0]!.props).to.deep.equal([]);
    }
    expect(r.body).to.include('<D:propstat><D:prop/><D:status>HTTP/1.1 200 OK</D:status></D:propstat>');
  });

  it('GET and PROPFIND of a collection without its slash add Content-Location with it (RFC 4918 5.2)', async () => {
    const g = await s.req('GET', '/dir');
    expect(g.status).to.equal(200);
    expect(g.headers['content-location']).to.equal('/dir/');
    const p = await s.req('PROPFIND', '/dir', { headers: { Depth: '0' } });
    expect(p.status).to.equal(207);
    expect(p.headers['content-location']).to.equal('/dir/');
    // With the slash, or for a file, there is nothing to add.
    expect((await s.req('GET', '/dir/')).headers['content-location']).to.equal(undefined);
    expect((await s.req('PROPFIND', '/dir/f.txt', { headers: { Depth: '0' } })).headers['content-location']).to.equal(undefined);
  });

  it('GET /prefix (the root without its slash) names /prefix/', async () => {
    const p = await startTestServer({ lockStore: 'memory', prefix: '/dav' });
    try {
      const r = await p.req('PROPFIND', '/dav', { headers: { Depth: '0' } });
      expect(r.status).to.equal(207);
      expect(r.headers['content-location']).to.equal('/dav/');
    } finally {
      await p.close();
    }
  });

  describe('Destination', () => {
    it('a #fragment is refused with 400 and nothing is created', async () => {
      const r = await s.req('COPY', '/dir/f.txt', { headers: { Destination: `${s.base}/dir/g.txt#frag` } });
      expect(r.status).to.equal(400);
      expect((await s.req('PROPFIND', '/dir/g.txt', { headers: { Depth: '0' } })).status).to.equal(404);
      expect((await s.req('PROPFIND', '/dir/g.txt%23frag', { headers: { Depth: '0' } })).status).to.equal(404);
    });
    it('localhost while Host says 127.0.0.1 (same server, same port) is accepted', async () => {
      const r = await s.req('COPY', '/dir/f.txt', { headers: { Destination: `http://localhost:${s.running.port}/dir/local.txt` } });
      expect(r.status).to.equal(201);
      expect((await s.req('GET', '/dir/local.txt')).body).to.equal('0123456789abcdefghij');
    });
    it('another port on localhost is another server: 502', async () => {
      const r = await s.req('COPY', '/dir/f.txt', { headers: { Destination: `http://localhost:${s.running.port + 1}/dir/x.txt` } });
      expect(r.status).to.equal(502);
    });
    it('https:// on this plain-HTTP listener is refused with 502', async () => {
      const r = await s.req('MOVE', '/dir/f.txt', { headers: { Destination: `https://127.0.0.1:${s.running.port}/dir/moved.txt` } });
      expect(r.status).to.equal(502);
      expect(r.body).to.match(/https/);
      expect((await s.req('GET', '/dir/f.txt')).status).to.equal(200);
    });
    it('https:// is this server when --trust-proxy and X-Forwarded-Proto say so (a proxy keeping Host)', async () => {
      const p = await startTestServer({ lockStore: 'memory', trustProxy: true });
      try {
        await putOk(p, '/a.txt', 'a');
        const headers = { Host: 'files.example.org', 'X-Forwarded-Proto': 'https', Destination: 'https://files.example.org/b.txt' };
        expect((await p.req('MOVE', '/a.txt', { headers })).status).to.equal(201);
        expect((await p.req('GET', '/b.txt')).body).to.equal('a');
      } finally {
        await p.close();
      }
    });
  });

  describe('RFC 4331 quota: collections only', () => {
    const body = '<?xml version="1.0"?><D:propfind xmlns:D="DAV:"><D:prop><D:quota-used-bytes/><D:quota-available-bytes/><D:getcontentlength/></D:prop></D:propfind>';
    it('a collection reports both; each file answers them in a 404 propstat', async () => {
      const all = multistatus(await s.req('PROPFIND', '/dir/', { headers: { Depth: '1' }, body }));
      const dir = all.get('/dir/')!;
      expect(prop(dir, DAV, 'quota-used-bytes')?.status).to.equal(200);
      expect(prop(dir, DAV, 'quota-available-bytes')?.status).to.equal(200);
      const file = all.get('/dir/local.txt')!;
      expect(propNames(file, 404).sort()).to.deep.equal(['{DAV:}quota-available-bytes', '{DAV:}quota-used-bytes']);
      expect(propNames(file, 200)).to.deep.equal(['{DAV:}getcontentlength']);
    });
    it('allprop with include on a file: 404 propstat too', async () => {
      const r = single(await s.req('PROPFIND', '/dir/local.txt', { headers: { Depth: '0' }, body: '<D:propfind xmlns:D="DAV:"><D:allprop/><D:include><D:quota-used-bytes/></D:include></D:propfind>' }));
      expect(prop(r, DAV, 'quota-used-bytes')?.status).to.equal(404);
    });
  });

  describe('ranges', () => {
    it('HEAD with Range answers 200 and the full length', async () => {
      const r = await s.req('HEAD', '/big.bin', { headers: { Range: 'bytes=0-9' } });
      expect(r.status).to.equal(200);
      expect(r.headers['content-length']).to.equal(String(BIG.length));
      expect(r.headers['content-range']).to.equal(undefined);
    });

    /** Splits a multipart/byteranges body into its parts. */
    function parts(raw: Buffer, boundary: string): { range: string; type: string; data: Buffer }[] {
      const out: { range: string; type: string; data: Buffer }[] = [];
      const delim = Buffer.from(`--${boundary}`);
      let at = raw.indexOf(delim);
      while (at !== -1) {
        const headStart = at + delim.length;
        if (raw.subarray(headStart, headStart + 2).toString() === '--') break;
        const headEnd = raw.indexOf('\r\n\r\n', headStart);
        const head = raw.subarray(headStart, headEnd).toString();
        const next = raw.indexOf(delim, headEnd);
        out.push({ range: /Content-Range: (.*)/.exec(head)![1]!.trim(), type: /Content-Type: (.*)/.exec(head)![1]!.trim(), data: raw.subarray(headEnd + 4, next - 2) });
        at = next;
      }
      return out;
    }

    for (const [label, path, data] of [
      ['a large file (streamed parts)', '/big.bin', BIG],
      ['a small file', '/dir/local.txt', Buffer.from('0123456789abcdefghij')],
    ] as const) {
      it(`several ranges of ${label}: 206 multipart/byteranges, coalesced, exact length`, async () => {
        const r = await s.req('GET', path, { headers: { Range: 'bytes=10-12, 0-3, 2-5, -2' } });
        expect(r.status).to.equal(206);
        const m = /^multipart\/byteranges; boundary=(\S+)$/.exec(String(r.headers['content-type']));
        expect(m, String(r.headers['content-type'])).to.not.equal(null);
        expect(Number(r.headers['content-length'])).to.equal(r.raw.length);
        const got = parts(r.raw, m![1]!);
        const n = data.length;
        expect(got.map((p) => p.range)).to.deep.equal([`bytes 0-5/${n}`, `bytes 10-12/${n}`, `bytes ${n - 2}-${n - 1}/${n}`]);
        expect(got[0]!.data.equals(data.subarray(0, 6))).to.equal(true);
        expect(got[1]!.data.equals(data.subarray(10, 13))).to.equal(true);
        expect(got[2]!.data.equals(data.subarray(n - 2))).to.equal(true);
        expect(r.raw.toString('latin1').endsWith(`\r\n--${m![1]}--\r\n`)).to.equal(true);
      });
    }

    it('24 scattered ranges come back in one response', async () => {
      const spec = Array.from({ length: 24 }, (_, i) => `${i * 10_000}-${i * 10_000 + 99}`).join(',');
      const r = await s.req('GET', '/big.bin', { headers: { Range: `bytes=${spec}` } });
      expect(r.status).to.equal(206);
      expect(r.raw.toString('latin1').match(/Content-Range: /g)?.length).to.equal(24);
    });

    it('a range set that coalesces to one range is a plain 206', async () => {
      const r = await s.req('GET', '/big.bin', { headers: { Range: 'bytes=0-9,5-19' } });
      expect(r.status).to.equal(206);
      expect(r.headers['content-range']).to.equal(`bytes 0-19/${BIG.length}`);
      expect(r.raw.equals(BIG.subarray(0, 20))).to.equal(true);
    });

    it('16+ digit numbers follow RFC 7233 2.1 (never a 5xx)', async () => {
      const toEnd = await s.req('GET', '/dir/local.txt', { headers: { Range: 'bytes=15-99999999999999999999' } });
      expect(toEnd.status).to.equal(206);
      expect(toEnd.body).to.equal('fghij');
      expect(toEnd.headers['content-range']).to.equal('bytes 15-19/20');
      const huge = await s.req('GET', '/dir/local.txt', { headers: { Range: 'bytes=99999999999999999999-' } });
      expect(huge.status).to.equal(416);
      expect(huge.headers['content-range']).to.equal('bytes */20');
      const suffix = await s.req('GET', '/dir/local.txt', { headers: { Range: 'bytes=-99999999999999999999' } });
      expect(suffix.status).to.equal(206);
      expect(suffix.body).to.equal('0123456789abcdefghij');
    });
  });
});

describe('protocol: --depth-infinity', () => {
  const body = '<?xml version="1.0"?><D:propfind xmlns:D="DAV:"><D:prop><D:resourcetype/></D:prop></D:propfind>';

  it('on (the default): Depth: infinity is streamed and lists the whole tree', async () => {
    const s = await startTestServer({ lockStore: 'memory' });
    try {
      for (let d = 0; d < 5; d++) {
        await mkdir(join(s.root, `d${d}`, 'sub'), { recursive: true });
        for (let f = 0; f < 40; f++) await writeFile(join(s.root, `d${d}`, 'sub', `file-${f}.txt`), 'x');
      }
      const r = await s.req('PROPFIND', '/', { headers: { Depth: 'infinity' }, body });
      expect(r.headers['transfer-encoding']).to.equal('chunked'); // streamed, not built whole
      const all = multistatus(r);
      expect(all.size).to.equal(1 + 5 * 2 + 5 * 40);
      expect(all.has('/d4/sub/file-39.txt')).to.equal(true);
      // An absent Depth means infinity.
      expect(multistatus(await s.req('PROPFIND', '/d0/', { body })).size).to.equal(1 + 1 + 40);
    } finally {
      await s.close();
    }
  });

  it('off: Depth: infinity and a missing Depth answer 403 <D:propfind-finite-depth/>; 0 and 1 still work', async () => {
    const s = await startTestServer({ lockStore: 'memory', depthInfinity: 'off' });
    try {
      await mkdir(join(s.root, 'a'));
      davError(await s.req('PROPFIND', '/', { headers: { Depth: 'infinity' }, body }), 403, 'propfind-finite-depth');
      davError(await s.req('PROPFIND', '/', { body }), 403, 'propfind-finite-depth');
      expect(multistatus(await s.req('PROPFIND', '/', { headers: { Depth: '1' }, body })).size).to.equal(2);
      expect(multistatus(await s.req('PROPFIND', '/', { headers: { Depth: '0' }, body })).size).to.equal(1);
    } finally {
      await s.close();
    }
  });
});
