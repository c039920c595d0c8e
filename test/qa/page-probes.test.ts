/**
 * What an attacker or a broken client sends to the page's own endpoints: each is refused with
 * a clear 4xx, never a 500.
 */
import { expect } from 'chai';
import { rm } from 'node:fs/promises';
import { makeTempDir, startTestServer, type TestServer } from '../helpers/server.js';
import { writeHtpasswd } from '../helpers/auth.js';

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
