/**
 * Message framing the HTTP parser lets through, found by sending the same raw requests to Apache
 * mod_dav and to this server: a second Host line (RFC 9112 3.2) and transfer codings other than
 * chunked (RFC 9112 6.1), which Node passes on undecoded.
 */
import { expect } from 'chai';
import { readFile, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { rawExchange, startTestServer, statusOf, type TestServer } from '../helpers/server.js';
import { putOk } from '../helpers/dav.js';


describe('qa: request framing (Host lines, transfer codings)', () => {
  let s: TestServer;
  before(async () => {
    s = await startTestServer({ lockStore: 'memory' });
    await putOk(s, '/f.txt', 'hello');
  });
  after(() => s.close());

  it('two Host lines are 400 (RFC 9112 3.2), for every method', async () => {
    for (const m of ['GET', 'PROPFIND', 'DELETE']) {
      const r = await rawExchange(s.running.port, `${m} /f.txt HTTP/1.1\r\nHost: 127.0.0.1\r\nHost: evil.example\r\nConnection: close\r\n\r\n`);
      expect(statusOf(r), r).to.equal(400);
    }
    expect(await readFile(join(s.root, 'f.txt'), 'utf8')).to.equal('hello');
  });

  it('one Host line (any letter case) is served', async () => {
    const r = await rawExchange(s.running.port, `GET /f.txt HTTP/1.1\r\nhOST: 127.0.0.1\r\nConnection: close\r\n\r\n`);
    expect(statusOf(r), r).to.equal(200);
  });

  it('a gzip transfer coding is 501 and stores nothing (Node would hand over the coded bytes)', async () => {
    const z = gzipSync('plain text');
    const head = `PUT /z.txt HTTP/1.1\r\nHost: 127.0.0.1\r\nTransfer-Encoding: gzip, chunked\r\nConnection: close\r\n\r\n${z.length.toString(16)}\r\n`;
    const r = await rawExchange(s.running.port, Buffer.concat([Buffer.from(head, 'latin1'), z, Buffer.from('\r\n0\r\n\r\n')]));
    expect(statusOf(r), r).to.equal(501);
    expect(await readdir(s.root)).to.not.include('z.txt');
  });

  it('chunked alone (any letter case) still stores the decoded body', async () => {
    const r = await rawExchange(s.running.port, 'PUT /c.txt HTTP/1.1\r\nHost: 127.0.0.1\r\nTransfer-Encoding: Chunked\r\nConnection: close\r\n\r\n5\r\nhello\r\n0\r\n\r\n');
    expect(statusOf(r), r).to.equal(201);
    expect(await readFile(join(s.root, 'c.txt'), 'utf8')).to.equal('hello');
  });

  describe('a Host that is not host[:port]', () => {
    let any: TestServer;
    before(async () => {
      any = await startTestServer({ lockStore: 'memory', allowedHosts: '*' });
    });
    after(() => any.close());

    it('is 400 (RFC 9112 3.2), not a 500 from the page that builds URLs from it', async () => {
      for (const host of ['a b', '[', 'files.example:99999999', 'a/b', '%zz']) {
        for (const path of ['/.dav/connect', '/f.txt']) {
          const r = await rawExchange(any.running.port, `GET ${path} HTTP/1.1\r\nHost: ${host}\r\nConnection: close\r\n\r\n`);
          expect(statusOf(r), `${host} ${path}: ${r}`).to.equal(400);
          expect(r).to.include('Host header is not a valid host[:port]');
        }
      }
      const r = await rawExchange(any.running.port, 'GET http://a%20b/ HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n');
      expect(statusOf(r), r).to.equal(400);
    });

    it('a malformed Host right after a valid one is still 400 (the last valid Host is remembered)', async () => {
      for (let i = 0; i < 3; i++) {
        const ok = await rawExchange(any.running.port, 'GET /f.txt HTTP/1.1\r\nHost: files.example\r\nConnection: close\r\n\r\n');
        expect(statusOf(ok), ok).to.not.equal(400);
        const bad = await rawExchange(any.running.port, 'GET /f.txt HTTP/1.1\r\nHost: files.example:99999999\r\nConnection: close\r\n\r\n');
        expect(statusOf(bad), bad).to.equal(400);
      }
    });

    it('names, addresses and ports are served', async () => {
      for (const host of ['files.example', 'files.example.:8080', '[::1]:80', '127.0.0.1', 'xn--bcher-kva.example']) {
        const r = await rawExchange(any.running.port, `GET /.dav/connect HTTP/1.1\r\nHost: ${host}\r\nConnection: close\r\n\r\n`);
        expect(statusOf(r), `${host}: ${r.slice(0, 300)}`).to.equal(200);
      }
    });
  });

  it('behind --trust-proxy, an X-Forwarded-Host that is not host[:port] is 400 too', async () => {
    const proxied = await startTestServer({ lockStore: 'memory', trustProxy: true });
    try {
      for (const fwd of ['a b', '[', 'files.example:99999999']) {
        const r = await proxied.req('GET', '/.dav/connect', { headers: { 'X-Forwarded-Host': fwd, 'X-Forwarded-Proto': 'https' } });
        expect(r.status, `${fwd}: ${r.body}`).to.equal(400);
        expect(r.body).to.include('X-Forwarded-Host is not a valid host[:port]');
      }
      const ok = await proxied.req('GET', '/.dav/connect', { headers: { 'X-Forwarded-Host': 'files.example.org', 'X-Forwarded-Proto': 'https' } });
      expect(ok.status).to.equal(200);
      expect(ok.body).to.include('https://files.example.org/');
    } finally {
      await proxied.close();
    }
  });
});
