/**
 * What a share link must not weaken, tried as an attacker against the real server: the owner's
 * path rules (a link opens nothing they close), atomic uploads (a drop cut short stores nothing
 * and uses up nothing; racing uploads never replace one another), the owner's locks (a stolen
 * token is no use to a visitor), caches (no shared cache may keep a link's answers, and a
 * revoked link revalidates to 404, never 304), and guessed tokens (the right id with a wrong
 * secret is a failed guess like any other).
 */
import { expect } from 'chai';
import { createHash } from 'node:crypto';
import { readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ensureBuilt, eventually, stagedFiles, streamRequest } from '../helpers/dav.js';
import { lockBody, request } from '../helpers/server.js';
import { requireProgram, run } from '../helpers/run.js';
import { hrefsOf, put, startIdentityServer, type IdentityServer } from '../identity/helpers.js';

const USERS = `
rules:
  - { path: "*.key", rights: [] }
users:
  alice:
    root: /alice
    access: rw
    rules:
      - { path: /docs/secret/**, rights: [] }
      - { path: /inbox/*.exe, rights: [] }
      - { path: /other/listed.txt, rights: [list] }
`;
const json = { 'Content-Type': 'application/json' };
const XML = { 'Content-Type': 'application/xml' };
const OC = 'http://owncloud.org/ns';
const SUMS = `<?xml version="1.0"?><d:propfind xmlns:d="DAV:" xmlns:oc="${OC}"><d:prop><oc:checksums/></d:prop></d:propfind>`;
const LOCKDISCOVERY = '<?xml version="1.0"?><D:propfind xmlns:D="DAV:"><D:prop><D:lockdiscovery/></D:prop></D:propfind>';

describe('sharing: every guarantee holds through a link', function () {
  this.timeout(180_000);
  let s: IdentityServer;
  let alice: ReturnType<IdentityServer['as']>;
  const inbox = async (): Promise<string[]> => (await readdir(join(s.root, 'alice/inbox'))).sort();
  const make = async (body: Record<string, unknown>): Promise<{ url: string; id: string; token: string }> => {
    const r = await alice('POST', '/.dav/shares', json, JSON.stringify(body));
    expect(r.status, r.body).to.equal(201);
    return JSON.parse(r.body) as { url: string; id: string; token: string };
  };

  before(async function () {
    this.timeout(300_000);
    await ensureBuilt();
  });
  beforeEach(async () => {
    s = await startIdentityServer({ alice: 'a-pw' }, USERS, { authMaxFailures: 4 });
    alice = s.as('alice', 'a-pw');
    await put(s.root, 'alice/docs/report.txt', 'REPORT');
    await put(s.root, 'alice/docs/id.key', 'KEY');
    await put(s.root, 'alice/docs/secret/plan.txt', 'PLAN');
    await put(s.root, 'alice/inbox/taken.txt', 'ORIGINAL');
    await put(s.root, 'alice/other/listed.txt', 'LISTED');
  });
  afterEach(() => s.close());

  it('a link opens nothing its owner\'s rules close: reads, listings, zip, and drop names', async () => {
    expect((await alice('GET', '/docs/secret/plan.txt')).status).to.equal(404);
    const { url } = await make({ path: '/docs' });
    expect((await s.req('GET', `${url}report.txt`)).body).to.equal('REPORT');
    for (const p of ['secret/plan.txt', 'secret/', 'id.key']) {
      const r = await s.req('GET', `${url}${p}`);
      expect(r.status, p).to.equal(404);
      expect(r.body).to.not.include('PLAN').and.not.include('KEY');
    }
    expect(hrefsOf((await s.req('PROPFIND', url, { headers: { Depth: 'infinity' } })).body).sort()).to.deep.equal([url, `${url}report.txt`]);
    const unzip = requireProgram('unzip', 'unzip');
    const zip = await s.req('GET', `${url}?download=zip`);
    expect(zip.status).to.equal(200);
    await writeFile(join(s.dir, 'docs.zip'), zip.raw);
    expect((await run(unzip, ['-Z1', join(s.dir, 'docs.zip')])).stdout.trim().split('\n')).to.deep.equal(['report.txt']);
    // A file drop takes only the names its owner may create there.
    const drop = await make({ path: '/inbox', uploadOnly: true });
    expect((await s.req('PUT', `${drop.url}ok.txt`, { body: 'ok' })).status).to.equal(201);
    expect((await s.req('PUT', `${drop.url}evil.exe`, { body: 'MZ' })).status).to.equal(403);
    expect(await inbox()).to.deep.equal(['ok.txt', 'taken.txt']);
  });

  it('racing uploads to one name in a drop never replace each other or what was there', async () => {
    const { url } = await make({ path: '/inbox', uploadOnly: true });
    for (const name of ['race.txt', 'taken.txt']) {
      const bodies = Array.from({ length: 8 }, (_, i) => `${name}-${i}-`.repeat(2000));
      const res = await Promise.all(bodies.map((body) => s.req('PUT', `${url}${name}`, { body })));
      for (const r of res) expect(r.status, r.body).to.be.oneOf([201, 412]);
      const stored: string[] = [];
      for (const f of await inbox()) if (f.startsWith(name.slice(0, -4))) stored.push(await readFile(join(s.root, 'alice/inbox', f), 'utf8'));
      // Every upload that was answered 201 is stored whole under a name of its own.
      const created = bodies.filter((_, i) => res[i]!.status === 201);
      expect(created.length).to.be.greaterThan(0);
      expect(stored.filter((b) => b !== 'ORIGINAL').sort()).to.deep.equal(created.sort());
    }
    expect(await readFile(join(s.root, 'alice/inbox/taken.txt'), 'utf8')).to.equal('ORIGINAL');
  });

  it('a drop upload cut short stores nothing, leaves no temp file and uses up nothing of the limit', async () => {
    const { url } = await make({ path: '/inbox', uploadOnly: true, maxUploads: 1 });
    const chunk = Buffer.alloc(64 * 1024, 0x61);
    const cut = await streamRequest(s, 'PUT', `${url}big.bin`, [chunk, chunk, chunk], { headers: { 'Content-Length': 4 * chunk.length }, abortAfter: 2 });
    expect(cut).to.equal('aborted');
    const uploads = async (): Promise<number> => (JSON.parse((await alice('GET', '/.dav/shares')).body) as { shares: { uploads: number }[] }).shares[0]!.uploads;
    expect(await eventually(async () => (await uploads()) === 0 && (await stagedFiles(s.root)).length === 0, 10_000)).to.equal(true);
    expect(await inbox()).to.deep.equal(['taken.txt']);
    expect((await s.req('PUT', `${url}whole.txt`, { body: 'whole' })).status).to.equal(201);
    expect((await s.req('PUT', `${url}more.txt`, { body: 'more' })).status).to.equal(410);
    expect(await inbox()).to.deep.equal(['taken.txt', 'whole.txt']);
  });

  it('the owner\'s lock shows through a link without its token, and a stolen token is no use to a visitor', async () => {
    const lock = await alice('LOCK', '/docs/report.txt', XML, lockBody());
    expect(lock.status).to.equal(200);
    const token = String(lock.headers['lock-token']);
    const { url } = await make({ path: '/docs' });
    const seen = await s.req('PROPFIND', `${url}report.txt`, { headers: { Depth: '0', ...XML }, body: LOCKDISCOVERY });
    expect(seen.status).to.equal(207);
    expect(seen.body).to.include(`<D:lockroot><D:href>${url}report.txt</D:href></D:lockroot>`);
    expect(seen.body).to.not.include(token.slice(1, -1));
    expect((await s.req('UNLOCK', `${url}report.txt`, { headers: { 'Lock-Token': token } })).status).to.equal(403);
    // A drop into a folder the owner locked: the owner's token does not let a visitor in.
    const folder = await alice('LOCK', '/inbox', { ...XML, Depth: 'infinity' }, lockBody());
    const drop = await make({ path: '/inbox', uploadOnly: true });
    const stolen = await s.req('PUT', `${drop.url}new.txt`, { headers: { If: `(${String(folder.headers['lock-token'])})` }, body: 'x' });
    expect(stolen.status).to.equal(423);
    expect(await inbox()).to.deep.equal(['taken.txt']);
    expect((await alice('GET', '/docs/report.txt')).body).to.equal('REPORT');
  });

  it('checksums through a link are those of the link\'s own file, and only of what may be read', async () => {
    const sha1 = createHash('sha1').update('REPORT').digest('hex');
    const { url } = await make({ path: '/docs' });
    const viaLink = await s.req('PROPFIND', `${url}report.txt`, { headers: { Depth: '0' }, body: SUMS });
    expect(viaLink.status).to.equal(207);
    expect(viaLink.body).to.include(`SHA1:${sha1}`);
    const file = await make({ path: '/docs/report.txt' });
    expect((await s.req('PROPFIND', `${file.url}report.txt`, { headers: { Depth: '0' }, body: SUMS })).body).to.include(`SHA1:${sha1}`);
    // A file alice may list but not read: listed, with no checksum (a digest tells about the content).
    const listed = await alice('PROPFIND', '/other/', { Depth: '1' }, SUMS);
    expect(listed.status).to.equal(207);
    expect(hrefsOf(listed.body)).to.include('/other/listed.txt');
    expect(listed.body).to.not.include(createHash('sha1').update('LISTED').digest('hex'));
    expect(listed.body).to.not.include('SHA1:');
  });

  it('no shared cache may keep a link\'s answers, and a revoked link revalidates to 404, never 304', async () => {
    const { url, id } = await make({ path: '/docs' });
    const file = await s.req('GET', `${url}report.txt`);
    expect(file.status).to.equal(200);
    expect(String(file.headers['cache-control'])).to.include('private').and.include('no-cache');
    expect(file.headers['referrer-policy']).to.equal('no-referrer');
    const etag = String(file.headers.etag);
    expect((await s.req('GET', `${url}report.txt`, { headers: { 'If-None-Match': etag } })).status).to.equal(304);
    const page = await s.req('GET', url, { headers: { Accept: 'text/html' } });
    expect(page.status).to.equal(200);
    expect(String(page.headers['cache-control'])).to.include('no-store');
    expect((await alice('DELETE', `/.dav/shares/${id}`)).status).to.equal(204);
    // Each from an address of its own: a revoked token counts as a failed guess (four ban).
    let from = 20;
    for (const [m, h] of [
      ['GET', { 'If-None-Match': etag }],
      ['HEAD', { 'If-None-Match': etag }],
      ['GET', { Accept: 'text/html' }],
      ['PROPFIND', { Depth: '1' }],
    ] as const) {
      const r = await request(s.base, m, m === 'GET' && 'Accept' in h ? url : `${url}report.txt`, { headers: h, localAddress: `127.0.0.${from++}` });
      expect(r.status, `${m} ${JSON.stringify(h)}`).to.equal(404);
      expect(r.body).to.not.include('REPORT');
    }
  });

  it('a guessed token with the right id and a wrong secret is a failed guess like any other', async () => {
    const { url, token } = await make({ path: '/docs' });
    const at = (t: string): string => url.replace(token, t);
    const guesses = [token.slice(0, 8) + 'A'.repeat(24), token.slice(0, 31), token + 'A', token.toUpperCase() === token ? token.toLowerCase() : token.toUpperCase()];
    const statuses: number[] = [];
    for (const t of guesses) statuses.push((await request(s.base, 'GET', `${at(t)}report.txt`, { localAddress: '127.0.0.7' })).status);
    // --auth-max-failures 4: the fourth failure bans the address, the right token included.
    expect(statuses).to.deep.equal([404, 404, 404, 429]);
    expect((await request(s.base, 'GET', `${url}report.txt`, { localAddress: '127.0.0.7' })).status).to.equal(429);
    expect((await request(s.base, 'GET', `${url}report.txt`, { localAddress: '127.0.0.8' })).body).to.equal('REPORT');
  });
});
