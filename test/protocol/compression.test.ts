/**
 * Accept-Encoding: listings (a Depth-1 or infinity multistatus, the HTML page) go compressed,
 * streamed, with the encoding the client prefers among br and gzip; stored files never do.
 * Sizes on the wire are compared (a compression ratio, not a time).
 */
import { expect } from 'chai';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { brotliDecompressSync, gunzipSync } from 'node:zlib';
import { Writable } from 'node:stream';
import { request, startTestServer, type Res, type TestServer } from '../helpers/server.js';
import { startServer } from '../../src/app.js';
import { createLogger } from '../../src/middleware/log.js';

const ALLPROP = '<?xml version="1.0" encoding="utf-8"?><D:propfind xmlns:D="DAV:"><D:allprop/></D:propfind>';

const decoded = (r: Res): string => {
  const enc = r.headers['content-encoding'];
  if (enc === 'gzip') return gunzipSync(r.raw).toString('utf8');
  if (enc === 'br') return brotliDecompressSync(r.raw).toString('utf8');
  expect(enc).to.equal(undefined);
  return r.body;
};

describe('compressed listings', function () {
  this.timeout(60_000);
  let s: TestServer;
  before(async () => {
    s = await startTestServer();
    await mkdir(join(s.root, 'many'));
    for (let i = 0; i < 2000; i++) await writeFile(join(s.root, 'many', `file-${String(i).padStart(4, '0')}.txt`), `file ${i}\n`);
    await writeFile(join(s.root, 'page.html'), '<html><body>' + 'stored '.repeat(1000) + '</body></html>');
    await writeFile(join(s.root, 'data.xml'), '<?xml version="1.0"?><r>' + '<x>1</x>'.repeat(1000) + '</r>');
  });
  after(async () => {
    await s.close();
  });

  const propfind = (path: string, depth: string, acceptEncoding?: string): Promise<Res> =>
    s.req('PROPFIND', path, { headers: { Depth: depth, 'Content-Type': 'application/xml', ...(acceptEncoding ? { 'Accept-Encoding': acceptEncoding } : {}) }, body: ALLPROP });

  it('a Depth-1 multistatus of 2,000 files goes gzip-compressed, streamed, at least 5x smaller, the same XML', async () => {
    const plain = await propfind('/many/', '1');
    const packed = await propfind('/many/', '1', 'gzip');
    expect(plain.status).to.equal(207);
    expect(plain.headers['content-encoding']).to.equal(undefined);
    expect(plain.headers.vary).to.match(/accept-encoding/i);
    expect(packed.status).to.equal(207);
    expect(packed.headers['content-encoding']).to.equal('gzip');
    expect(packed.headers.vary).to.match(/accept-encoding/i);
    expect(packed.headers['content-length']).to.equal(undefined);
    expect(packed.headers['transfer-encoding']).to.equal('chunked');
    expect(packed.headers['content-type']).to.equal('application/xml; charset=utf-8');
    expect(decoded(packed)).to.equal(plain.body);
    expect(plain.raw.length / packed.raw.length).to.be.greaterThan(5);
  });

  it('with the access log on, a streamed listing, compressed or not, raises no warning (its listeners stay within the response\'s limit)', async () => {
    const lines: string[] = [];
    const sink = new Writable({ write: (chunk: Buffer, _e, cb) => (lines.push(chunk.toString()), cb()) });
    const running = await startServer({ root: s.root, host: '127.0.0.1', port: 0, quiet: false }, { logger: createLogger({ format: 'text', access: true, out: sink, err: sink }) });
    const warnings: string[] = [];
    const onWarning = (w: Error): void => void warnings.push(`${w.name}: ${w.message}`);
    process.on('warning', onWarning);
    try {
      const base = `http://127.0.0.1:${running.port}`;
      for (const enc of ['gzip', 'br', 'identity']) {
        const r = await request(base, 'PROPFIND', '/many/', { headers: { Depth: '1', 'Content-Type': 'application/xml', 'Accept-Encoding': enc }, body: ALLPROP });
        expect(r.status).to.equal(207);
        expect(r.headers['content-encoding']).to.equal(enc === 'identity' ? undefined : enc);
        expect(decoded(r)).to.contain('/many/file-1999.txt');
      }
      await new Promise((r) => setTimeout(r, 50)); // warnings are emitted on the next tick
      expect(warnings).to.deep.equal([]);
      expect(lines.join('')).to.match(/"PROPFIND \/many\/" 207/);
    } finally {
      process.off('warning', onWarning);
      await running.close();
    }
  });

  it('prefers br when the client takes it, honours q=0, and sends identity when nothing else is accepted', async () => {
    const both = await propfind('/many/', '1', 'gzip, deflate, br');
    expect(both.headers['content-encoding']).to.equal('br');
    const plain = await propfind('/many/', '1');
    expect(decoded(both)).to.equal(plain.body);
    expect((await propfind('/many/', '1', 'br;q=0, gzip')).headers['content-encoding']).to.equal('gzip');
    expect((await propfind('/many/', '1', 'identity')).headers['content-encoding']).to.equal(undefined);
    expect((await propfind('/many/', '1', 'deflate')).headers['content-encoding']).to.equal(undefined);
  });

  it('Depth infinity goes compressed too; Depth 0 (a single response) does not', async () => {
    const inf = await propfind('/', 'infinity', 'gzip');
    expect(inf.headers['content-encoding']).to.equal('gzip');
    expect(decoded(inf)).to.contain('/many/file-1999.txt');
    const zero = await propfind('/many/', '0', 'gzip');
    expect(zero.headers['content-encoding']).to.equal(undefined);
    expect(zero.body).to.contain('<D:href>/many/</D:href>');
  });

  it('the HTML listing goes compressed; stored HTML and XML files never do', async () => {
    const html = { Accept: 'text/html' };
    const plain = await s.req('GET', '/many/', { headers: html });
    const packed = await s.req('GET', '/many/', { headers: { ...html, 'Accept-Encoding': 'gzip' } });
    expect(packed.status).to.equal(200);
    expect(packed.headers['content-encoding']).to.equal('gzip');
    expect(packed.headers.vary).to.match(/accept/i);
    expect(decoded(packed)).to.equal(plain.body);
    for (const f of ['/page.html', '/data.xml']) {
      const r = await s.req('GET', f, { headers: { 'Accept-Encoding': 'gzip, br' } });
      expect(r.status).to.equal(200);
      expect(r.headers['content-encoding'], f).to.equal(undefined);
      expect(r.headers['content-length']).to.equal(String(r.raw.length));
      expect(r.headers.etag).to.be.a('string');
    }
    // HEAD of the listing answers as before, without an encoding
    const head = await s.req('HEAD', '/many/', { headers: { ...html, 'Accept-Encoding': 'gzip' } });
    expect(head.status).to.equal(200);
    expect(head.headers['content-encoding']).to.equal(undefined);
  });
});
