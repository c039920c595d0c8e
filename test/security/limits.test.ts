/**
 * Oversized headers, absurd WebDAV header values, Content-Length lies and the upload cap:
 * each gets a 4xx, leaves nothing on disk, and the server keeps serving.
 */
import { expect } from 'chai';
import { readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { lockBody } from '../helpers/server.js';
import { expectNoTempFiles, guardedServer, raw, rawRequest } from './helpers.js';

const names = async (dir: string): Promise<string[]> => (await readdir(dir)).filter((n) => n !== '.davmeta').sort();

describe('security: request limits', function () {
  this.timeout(30_000);
  const g = guardedServer('limits', async (f) => {
    await writeFile(join(f.root, 'file.txt'), 'original');
  }, { maxUpload: 1000, maxLockTimeout: 3600 });
  afterEach(async () => {
    await expectNoTempFiles(g.f.root);
    expect(await readFile(join(g.f.root, 'file.txt'), 'utf8')).to.equal('original');
  });

  it('answers 431 to oversized header blocks and URLs', async () => {
    expect((await raw(g.port, rawRequest('GET', '/file.txt', { 'X-Big': 'a'.repeat(20000) }))).status).to.equal(431);
    const many: Record<string, string> = {};
    for (let i = 0; i < 4000; i++) many[`X-H${i}`] = 'v';
    expect((await raw(g.port, rawRequest('GET', '/file.txt', many))).status).to.equal(431);
    expect((await raw(g.port, rawRequest('GET', '/' + 'a'.repeat(20000)))).status).to.be.oneOf([414, 431]);
  });

  it('answers 400 to absurd Depth values', async () => {
    for (const d of ['2', '-1', '99999999999999999999', 'infinityinfinity', '1,1', '0x1', 'a'.repeat(5000)]) {
      const r = await g.srv.req('PROPFIND', '/', { headers: { Depth: d } });
      expect(r.status, d.slice(0, 30)).to.equal(400);
    }
  });

  it('caps absurd lock timeouts, and refuses Timeout headers that are only noise', async () => {
    for (const t of ['Second-99999999999999999999999999', 'Infinite', 'Second-4100000000']) {
      const r = await g.srv.req('LOCK', '/t.txt', { headers: { Timeout: t }, body: lockBody() });
      expect(r.status, t).to.be.oneOf([200, 201]);
      const secs = Number(/Second-(\d+)/.exec(r.body)![1]);
      expect(secs, t).to.be.at.most(3600);
      const token = String(r.headers['lock-token']);
      expect((await g.srv.req('UNLOCK', '/t.txt', { headers: { 'Lock-Token': token } })).status).to.equal(204);
    }
    const long = await g.srv.req('LOCK', '/t.txt', { headers: { Timeout: 'Second-1, '.repeat(200) }, body: lockBody() });
    expect(long.status).to.equal(400);
    await g.srv.req('DELETE', '/t.txt');
  });

  it('answers 400 to malformed or oversized If headers', async () => {
    for (const h of ['garbage', '(<urn:x>', '<http://x/> <urn:y>', '(Not)', '([unterminated', '(' + '<urn:a> '.repeat(1200) + ')']) {
      const r = await g.srv.req('PUT', '/file.txt', { headers: { If: h }, body: 'changed' });
      expect(r.status, h.slice(0, 30)).to.equal(400);
    }
    // The If parser caps lists and conditions (64 each); within the caps a long header is
    // evaluated in bounded time (and fails: no such lock).
    const list = '(<urn:uuid:00000000-0000-0000-0000-000000000000>) ';
    expect((await g.srv.req('PUT', '/file.txt', { headers: { If: list.repeat(150) }, body: 'changed' })).status).to.equal(400);
    expect((await g.srv.req('PUT', '/file.txt', { headers: { If: list.repeat(60) }, body: 'changed' })).status).to.equal(412);
  });

  it('refuses malformed Content-Length', async () => {
    for (const cl of ['-1', 'abc', '1e3', '10, 20', '99999999999999999999999']) {
      const r = await raw(g.port, rawRequest('PUT', '/cl.txt', { 'Content-Length': cl }, 'x'));
      expect(r.status, cl).to.be.oneOf([400, 413]);
    }
    const both = await raw(g.port, rawRequest('PUT', '/cl.txt', { 'Content-Length': '5', 'Transfer-Encoding': 'chunked' }, '5\r\nhello\r\n0\r\n\r\n'));
    expect(both.status).to.equal(400);
    expect(await names(g.f.root)).to.deep.equal(['file.txt']);
  });

  it('a Content-Length longer than the body (client gives up) leaves no file and no temp file', async () => {
    await raw(g.port, rawRequest('PUT', '/short.txt', { 'Content-Length': '900' }, 'only ten b'), { destroyAfterWrite: true, timeoutMs: 1000 });
    await raw(g.port, rawRequest('PUT', '/file.txt', { 'Content-Length': '900' }, 'only ten b'), { destroyAfterWrite: true, timeoutMs: 1000 });
    await expectNoTempFiles(g.f.root);
    expect(await names(g.f.root)).to.deep.equal(['file.txt']);
  });

  it('a Content-Length shorter than the body stores at most Content-Length bytes; the rest is a bad request', async () => {
    const r = await raw(g.port, rawRequest('PUT', '/lie.txt', { 'Content-Length': '5' }, 'helloGARBAGE-NOT-HTTP\r\n\r\n'));
    // Node answers the unparsable remainder with 400, possibly before the PUT's own 201.
    expect(r.status).to.be.oneOf([201, 400]);
    await expectNoTempFiles(g.f.root);
    const left = await names(g.f.root);
    if (left.includes('lie.txt')) expect(await readFile(join(g.f.root, 'lie.txt'), 'utf8')).to.equal('hello');
    await g.srv.req('DELETE', '/lie.txt');
  });

  it('--max-upload: 413 up front for a declared length over the cap, nothing on disk', async () => {
    const r = await g.srv.req('PUT', '/big.txt', { body: Buffer.alloc(2000, 97) });
    expect(r.status).to.equal(413);
    const over = await g.srv.req('PUT', '/file.txt', { body: Buffer.alloc(1001, 97) });
    expect(over.status).to.equal(413);
    const finder = await raw(g.port, rawRequest('PUT', '/big.txt', { 'Transfer-Encoding': 'chunked', 'X-Expected-Entity-Length': '5000' }, '1\r\na\r\n0\r\n\r\n'));
    expect(finder.status).to.equal(413);
    expect(await names(g.f.root)).to.deep.equal(['file.txt']);
  });

  it('--max-upload: counts a chunked body while it streams and stops at the cap, nothing on disk', async () => {
    let body = '';
    for (let i = 0; i < 50; i++) body += `64\r\n${'b'.repeat(100)}\r\n`;
    body += '0\r\n\r\n';
    for (const p of ['/chunked.txt', '/file.txt']) {
      const r = await raw(g.port, rawRequest('PUT', p, { 'Transfer-Encoding': 'chunked' }, body));
      expect(r.status, p).to.equal(413);
    }
    await expectNoTempFiles(g.f.root);
    expect(await names(g.f.root)).to.deep.equal(['file.txt']);
  });

  it('--max-upload: a body at the cap is stored', async () => {
    const r = await g.srv.req('PUT', '/ok.txt', { body: Buffer.alloc(1000, 99) });
    expect(r.status).to.equal(201);
    let body = '';
    for (let i = 0; i < 10; i++) body += `64\r\n${'c'.repeat(100)}\r\n`;
    const c = await raw(g.port, rawRequest('PUT', '/ok2.txt', { 'Transfer-Encoding': 'chunked' }, body + '0\r\n\r\n'));
    expect(c.status).to.equal(201);
    expect((await readFile(join(g.f.root, 'ok2.txt'))).length).to.equal(1000);
    await g.srv.req('DELETE', '/ok.txt');
    await g.srv.req('DELETE', '/ok2.txt');
  });
});
