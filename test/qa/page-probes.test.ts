/**
 * What an attacker or a broken client sends to the page's own endpoints: each is refused with
 * a clear 4xx, never a 500.
 */
import { expect } from 'chai';
import { rm } from 'node:fs/promises';
import { makeTempDir, startTestServer, type TestServer } from '../helpers/server.js';
import { writeHtpasswd } from '../helpers/auth.js';
import { sessionsOf, SESSION_TTL_MS } from '../../src/auth/session.js';

const FORM = { 'Content-Type': 'application/x-www-form-urlencoded' };

describe('qa: the page endpoints under hostile input', () => {
  let dir: string;
  let s: TestServer;
  before(async () => {
    dir = await makeTempDir('qa-page');
    s = await startTestServer({ lockStore: 'memory', htpasswd: await writeHtpasswd(dir, { alice: 'alice pw' }) });
  });
  after(async () => {
    await s.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('a login form with an Origin that is not a URL is refused as cross-site (403), not a 500', async () => {
    const body = new URLSearchParams({ user: 'alice', password: 'alice pw', next: '/' }).toString();
    for (const origin of ['garbage', 'http://', 'http://[']) {
      const r = await s.req('POST', '/.dav/login', { headers: { ...FORM, Origin: origin }, body });
      expect(r.status, `${origin}: ${r.body}`).to.equal(403);
      expect(r.headers['set-cookie']).to.equal(undefined);
    }
    const ok = await s.req('POST', '/.dav/login', { headers: { ...FORM, Origin: s.base }, body });
    expect(ok.status).to.equal(303);
  });

  it('a session renewed past half its life keeps the CSRF token the open page holds', async () => {
    // A page opened 7 hours ago: its cookie is past half of its 12 hours.
    const sessions = sessionsOf(s.running.dav.services)!;
    const old = await sessions.issue('alice', Date.now() - 7 * 3600 * 1000);
    expect(old.split('.')[2]! < String(Math.floor((Date.now() + SESSION_TTL_MS / 2) / 1000))).to.equal(true);
    const page = await s.req('GET', '/', { headers: { Cookie: `dav_session=${old}`, Accept: 'text/html' } });
    expect(page.status).to.equal(200);
    const csrf = /data-csrf="([^"]+)"/.exec(page.body)![1]!;
    // Any request of the page renews the cookie (here a listing it loads in the background).
    const bg = await s.req('PROPFIND', '/', { headers: { Cookie: `dav_session=${old}`, Depth: '0', 'X-Dav-Page': '1' } });
    const renewed = /dav_session=([^;]+)/.exec(String(bg.headers['set-cookie']))![1]!;
    expect(renewed).to.not.equal(old);
    // The page still sends the token it was given.
    const put = await s.req('PUT', '/kept.txt', { headers: { Cookie: `dav_session=${renewed}`, 'X-CSRF-Token': csrf, 'X-Dav-Page': '1' }, body: 'x' });
    expect(put.status, put.body).to.equal(201);
    // Signing out with the renewed cookie ends the session for the old cookie too.
    const out = await s.req('POST', '/.dav/logout', { headers: { ...FORM, Cookie: `dav_session=${renewed}` }, body: `csrf=${encodeURIComponent(csrf)}` });
    expect(out.status).to.equal(303);
    for (const c of [old, renewed]) {
      const r = await s.req('PROPFIND', '/', { headers: { Cookie: `dav_session=${c}`, Depth: '0', 'X-Dav-Page': '1' } });
      expect(r.status).to.equal(401);
    }
  });
});

describe('qa: ?download=zip with a member picked twice', () => {
  let s: TestServer;
  before(async () => {
    s = await startTestServer({ lockStore: 'memory' });
    await s.req('PUT', '/a.txt', { body: 'alpha' });
    await s.req('PUT', '/b.txt', { body: 'beta' });
  });
  after(() => s.close());

  /** Central directory headers in a zip: one per member. */
  const members = (raw: Buffer): string[] => {
    const out: string[] = [];
    for (let i = raw.indexOf('PK\x01\x02'); i !== -1; i = raw.indexOf('PK\x01\x02', i + 4)) {
      const nameLen = raw.readUInt16LE(i + 28);
      out.push(raw.subarray(i + 46, i + 46 + nameLen).toString('utf8'));
    }
    return out;
  };

  it('holds it once', async () => {
    const r = await s.req('GET', '/?download=zip&f=a.txt&f=a.txt&f=b.txt');
    expect(r.status).to.equal(200);
    expect(r.headers['content-type']).to.equal('application/zip');
    expect(members(r.raw)).to.deep.equal(['a.txt', 'b.txt']);
  });
});
