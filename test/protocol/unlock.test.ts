import { expect } from 'chai';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { davError, ifToken, lockOk, mkcolOk, putOk } from '../helpers/dav.js';

describe('UNLOCK', () => {
  let s: TestServer;
  beforeEach(async () => (s = await startTestServer({ lockStore: 'memory' })));
  afterEach(async () => s.close());

  it('204 with the right token; the resource is writable again and the token is gone', async () => {
    await putOk(s, '/f', 'x');
    const { token } = await lockOk(s, '/f');
    const r = await s.req('UNLOCK', '/f', { headers: { 'Lock-Token': `<${token}>` } });
    expect(r.status).to.equal(204);
    expect(r.body).to.equal('');
    expect((await s.req('PUT', '/f', { body: 'y' })).status).to.equal(204);
    davError(await s.req('UNLOCK', '/f', { headers: { 'Lock-Token': `<${token}>` } }), 409, 'lock-token-matches-request-uri');
  });

  it('a member URL of a depth-infinity lock may be used to unlock it', async () => {
    await mkcolOk(s, '/c');
    await putOk(s, '/c/m', 'x');
    const { token } = await lockOk(s, '/c');
    expect((await s.req('UNLOCK', '/c/m', { headers: { 'Lock-Token': `<${token}>` } })).status).to.equal(204);
    expect((await s.req('PUT', '/c/new', { body: 'x' })).status).to.equal(201);
  });

  it('409 lock-token-matches-request-uri when the token does not cover the URL; the lock stays', async () => {
    await putOk(s, '/a', 'x');
    await putOk(s, '/b', 'x');
    await mkcolOk(s, '/c');
    await putOk(s, '/c/m', 'x');
    const { token } = await lockOk(s, '/a');
    const c0 = await lockOk(s, '/c', { depth: '0' });
    davError(await s.req('UNLOCK', '/b', { headers: { 'Lock-Token': `<${token}>` } }), 409, 'lock-token-matches-request-uri');
    davError(await s.req('UNLOCK', '/c/m', { headers: { 'Lock-Token': `<${c0.token}>` } }), 409, 'lock-token-matches-request-uri');
    davError(await s.req('UNLOCK', '/a', { headers: { 'Lock-Token': '<urn:uuid:00000000-0000-0000-0000-000000000000>' } }), 409, 'lock-token-matches-request-uri');
    expect((await s.req('PUT', '/a', { body: 'y' })).status).to.equal(423);
    expect((await s.req('PUT', '/a', { body: 'y', headers: ifToken(token) })).status).to.equal(204);
  });

  it('400 without a Lock-Token header or with a malformed one', async () => {
    await putOk(s, '/f', 'x');
    const { token } = await lockOk(s, '/f');
    expect((await s.req('UNLOCK', '/f')).status).to.equal(400);
    expect((await s.req('UNLOCK', '/f', { headers: { 'Lock-Token': '<>' } })).status).to.equal(400);
    expect((await s.req('UNLOCK', '/f', { headers: { 'Lock-Token': `<${token} x>` } })).status).to.equal(400);
    expect((await s.req('PUT', '/f', { body: 'y' })).status).to.equal(423);
  });

  it('accepts the token without angle brackets (npm webdav, some Windows versions)', async () => {
    await putOk(s, '/f', 'x');
    const { token } = await lockOk(s, '/f');
    expect((await s.req('UNLOCK', '/f', { headers: { 'Lock-Token': token } })).status).to.equal(204);
    expect((await s.req('PUT', '/f', { body: 'y' })).status).to.equal(204);
  });

  it('unlocking one shared lock leaves the other in force', async () => {
    await putOk(s, '/f', 'x');
    const a = await lockOk(s, '/f', { scope: 'shared' });
    const b = await lockOk(s, '/f', { scope: 'shared' });
    expect((await s.req('UNLOCK', '/f', { headers: { 'Lock-Token': `<${a.token}>` } })).status).to.equal(204);
    expect((await s.req('PUT', '/f', { body: 'y' })).status).to.equal(423);
    expect((await s.req('PUT', '/f', { body: 'y', headers: ifToken(b.token) })).status).to.equal(204);
  });

  it('the URL created by LOCK stays after UNLOCK (it is an ordinary empty file)', async () => {
    const { token } = await lockOk(s, '/made-by-lock');
    expect((await s.req('UNLOCK', '/made-by-lock', { headers: { 'Lock-Token': `<${token}>` } })).status).to.equal(204);
    const r = await s.req('GET', '/made-by-lock');
    expect(r.status).to.equal(200);
    expect(r.body).to.equal('');
  });

  it('a lock whose file was deleted outside WebDAV is released with its token, even with the parent locked by someone else (UNLOCK creates nothing)', async () => {
    await mkcolOk(s, '/c');
    await putOk(s, '/c/f', 'x');
    const f = await lockOk(s, '/c/f');
    const parent = await lockOk(s, '/c', { depth: '0' });
    await rm(join(s.root, 'c', 'f'));
    // The parent's depth-0 lock protects its membership; an UNLOCK changes no membership.
    expect((await s.req('UNLOCK', '/c/f', { headers: { 'Lock-Token': `<${f.token}>` } })).status).to.equal(204);
    davError(await s.req('UNLOCK', '/c/f', { headers: { 'Lock-Token': `<${f.token}>` } }), 409, 'lock-token-matches-request-uri');
    // the parent's lock is untouched: creating a member still needs it
    expect((await s.req('PUT', '/c/f', { body: 'y' })).status).to.equal(423);
    expect((await s.req('PUT', '/c/f', { body: 'y', headers: { If: `<${s.base}/c/> (<${parent.token}>)` } })).status).to.equal(201);
  });

  it('an If header on UNLOCK is still evaluated: a false one is 412 and the lock stays, a true one lets it go', async () => {
    const put = await s.req('PUT', '/g', { body: 'x' });
    const etag = String(put.headers.etag);
    const { token } = await lockOk(s, '/g');
    const bad = await s.req('UNLOCK', '/g', { headers: { 'Lock-Token': `<${token}>`, If: '(["not-the-etag"])' } });
    expect(bad.status).to.equal(412);
    expect((await s.req('PUT', '/g', { body: 'y' })).status).to.equal(423);
    expect((await s.req('UNLOCK', '/g', { headers: { 'Lock-Token': `<${token}>`, If: `([${etag}])` } })).status).to.equal(204);
    expect((await s.req('PUT', '/g', { body: 'y' })).status).to.equal(204);
  });
});
