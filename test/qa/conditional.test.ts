/**
 * If-Range with a date, against Apache's rule: a Last-Modified date is only a strong validator
 * once its second cannot hold another change (RFC 7232 2.2.2), so a range resumed against a
 * file written within the last minute gets the whole file rather than bytes of another version.
 */
import { expect } from 'chai';
import { utimes } from 'node:fs/promises';
import { join } from 'node:path';
import { startTestServer, type TestServer } from '../helpers/server.js';

describe('qa: If-Range with a Last-Modified date', () => {
  let s: TestServer;
  before(async () => {
    s = await startTestServer({ lockStore: 'memory' });
  });
  after(() => s.close());

  it('does not apply the range to a file changed within the last minute (the date may be weak)', async () => {
    expect((await s.req('PUT', '/v.txt', { body: 'version one' })).status).to.equal(201);
    const lm = String((await s.req('HEAD', '/v.txt')).headers['last-modified']);
    // Rewritten within the same second: same Last-Modified, other bytes.
    expect((await s.req('PUT', '/v.txt', { body: 'VERSION TWO' })).status).to.equal(204);
    const r = await s.req('GET', '/v.txt', { headers: { Range: 'bytes=8-', 'If-Range': lm } });
    expect(r.status).to.equal(200);
    expect(r.body).to.equal('VERSION TWO');
  });

  it('applies it once the date is a minute old', async () => {
    const old = new Date(Date.now() - 120_000);
    await utimes(join(s.root, 'v.txt'), old, old);
    const lm = String((await s.req('HEAD', '/v.txt')).headers['last-modified']);
    const r = await s.req('GET', '/v.txt', { headers: { Range: 'bytes=8-', 'If-Range': lm } });
    expect(r.status).to.equal(206);
    expect(r.body).to.equal('TWO');
    expect(r.headers['content-range']).to.equal('bytes 8-10/11');
  });

  it('If-Modified-Since in the future (a client clock ahead) is ignored: 200, not a stale 304', async () => {
    expect((await s.req('PUT', '/ims.txt', { body: 'new' })).status).to.equal(201);
    const ahead = new Date(Date.now() + 3600_000).toUTCString();
    const r = await s.req('GET', '/ims.txt', { headers: { 'If-Modified-Since': ahead } });
    expect(r.status).to.equal(200);
    expect(r.body).to.equal('new');
    const now = String(r.headers['last-modified']);
    const same = await s.req('GET', '/ims.txt', { headers: { 'If-Modified-Since': now } });
    expect(same.status).to.equal(304);
  });
});
