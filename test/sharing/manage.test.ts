/**
 * Making, listing and revoking share links (the page's endpoints and the CLI, under --prefix),
 * expiry and revocation acting on the next request, the brute-force defender on guessed tokens
 * and share passwords, and links of a user who lost access.
 */
import { expect } from 'chai';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ensureBuilt } from '../helpers/dav.js';
import { basic } from '../helpers/auth.js';
import { requestFrom } from '../security/helpers.js';
import { cli, put, startIdentityServer, type IdentityServer } from '../identity/helpers.js';

const USERS = 'users:\n  alice: { root: /alice, access: rw }\n  bob: { root: /bob, access: rw }\n  reader: { root: /alice, access: ro }\n';
const json = { 'Content-Type': 'application/json' };
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

describe('sharing: making, listing and revoking links', function () {
  this.timeout(180_000);
  let s: IdentityServer;
  let alice: ReturnType<IdentityServer['as']>;

  before(async function () {
    this.timeout(300_000);
    await ensureBuilt(); // the CLI runs from dist/
  });
  beforeEach(async () => {
    s = await startIdentityServer({ alice: 'a-pw', bob: 'b-pw', reader: 'r-pw' }, USERS, { prefix: '/dav', authMaxFailures: 4 });
    alice = s.as('alice', 'a-pw');
    await put(s.root, 'alice/docs/a.txt', 'A');
    await put(s.root, 'alice/inbox/.keep', '');
  });
  afterEach(() => s.close());

  it('the signed-in owner makes, lists (with use counts) and revokes links from the page\'s endpoints', async () => {
    const made = await alice('POST', '/dav/.dav/shares', json, JSON.stringify({ path: '/docs', maxDownloads: 5, expires: '7d' }));
    expect(made.status, made.body).to.equal(201);
    const share = JSON.parse(made.body) as Record<string, unknown>;
    expect(share.url).to.match(/^\/dav\/\.dav\/s\/[A-Za-z0-9_-]{32}\/$/);
    expect(made.headers.location).to.equal(share.url);
    expect(share).to.include({ path: '/docs', mode: 'read', kind: 'folder', hasPassword: false, maxDownloads: 5, user: 'alice' });
    expect(share).to.not.have.property('passwordHash');
    expect(share).to.not.have.property('target');
    expect((share.expires as number) - (share.created as number)).to.equal(7 * 86_400_000);
    expect((await s.req('GET', `${share.url}a.txt`)).body).to.equal('A');
    const drop = await alice('POST', '/dav/.dav/shares', json, JSON.stringify({ path: 'inbox', uploadOnly: true, password: 'pw' }));
    expect(drop.status).to.equal(201);
    const dropUrl = (JSON.parse(drop.body) as { url: string }).url;
    expect((await s.req('PUT', `${dropUrl}x.txt`, { headers: { Authorization: basic('', 'pw') }, body: 'x' })).status).to.equal(201);
    const listed = (JSON.parse((await alice('GET', '/dav/.dav/shares')).body) as { shares: Record<string, unknown>[] }).shares;
    expect(listed.map((x) => [x.path, x.mode, x.downloads, x.uploads, x.hasPassword])).to.deep.equal([
      ['/docs', 'read', 1, 0, false],
      ['/inbox', 'drop', 0, 1, true],
    ]);
    // Bob sees none of them and cannot revoke them; an app password cannot share at all.
    expect(JSON.parse((await s.as('bob', 'b-pw')('GET', '/dav/.dav/shares')).body)).to.deep.equal({ shares: [] });
    expect((await s.as('bob', 'b-pw')('DELETE', `/dav/.dav/shares/${String(share.id)}`)).status).to.equal(404);
    const ap = (await cli(['app-password', 'add', 'alice', ...s.cliOptions])).stdout.trim();
    expect((await s.as('alice', ap)('POST', '/dav/.dav/shares', json, JSON.stringify({ path: '/docs' }))).status).to.equal(403);
    // Refusals: nothing there, a file drop of a file, a read-only user's drop, a cross-site form.
    expect((await alice('POST', '/dav/.dav/shares', json, JSON.stringify({ path: '/nothing' }))).status).to.equal(404);
    expect((await alice('POST', '/dav/.dav/shares', json, JSON.stringify({ path: '/docs/a.txt', uploadOnly: true }))).status).to.equal(400);
    expect((await s.as('reader', 'r-pw')('POST', '/dav/.dav/shares', json, JSON.stringify({ path: '/inbox', uploadOnly: true }))).status).to.equal(403);
    expect((await s.as('reader', 'r-pw')('POST', '/dav/.dav/shares', json, JSON.stringify({ path: '/docs' }))).status).to.equal(201);
    expect((await alice('POST', '/dav/.dav/shares', { 'Content-Type': 'text/plain' }, '{"path":"/docs"}')).status).to.equal(415);
    expect((await alice('DELETE', `/dav/.dav/shares/${String(share.id)}`)).status).to.equal(204);
    expect((await s.req('GET', `${share.url}a.txt`)).status).to.equal(404);
  });

  it('the CLI prints the link under --prefix as its last line, lists links, and a revoke acts on the next request', async () => {
    const made = await cli(['share', 'add', '--user', 'alice', '/docs', '--expires', '7d', ...s.cliOptions]);
    expect(made.code, made.stderr).to.equal(0);
    const lines = made.stdout.trim().split('\n');
    expect(lines[0]).to.match(/^Shared \/docs of alice: read-only folder, no password, expires \S+Z$/);
    const link = lines.pop()!;
    expect(link).to.match(/^\/dav\/\.dav\/s\/([A-Za-z0-9_-]{32})\/$/);
    const token = link.split('/')[4]!;
    expect((await s.req('GET', `${link}a.txt`)).body).to.equal('A');
    const listed = await cli(['share', 'list', '--user', 'alice', ...s.cliOptions]);
    expect(listed.stdout.split('\n')[0]).to.match(/^TOKEN\s+USER\s+PATH\s+MODE\s+PASSWORD\s+EXPIRES\s+DOWNLOADS\s+UPLOADS$/);
    expect(listed.stdout.split('\n')[1]).to.match(new RegExp(`^${token}\\s+alice\\s+/docs\\s+read-folder\\s+no\\s+\\S+Z\\s+1\\s+0$`));
    expect((await cli(['share', 'list', '--user', 'bob', ...s.cliOptions])).stderr).to.include('bob has no shares');
    const revoked = await cli(['share', 'revoke', token, ...s.cliOptions]);
    expect(revoked.code, revoked.stderr).to.equal(0);
    const gone = await s.req('GET', `${link}a.txt`);
    expect(gone.status).to.equal(404);
    expect(gone.body).to.include('expired or been revoked');
    expect((await cli(['share', 'revoke', token, ...s.cliOptions])).code).to.equal(1);
    // A token starting with '-' (one in 64 links made before tokens stopped starting with one)
    // is still a token to revoke, not an unknown option.
    const dashed = await cli(['share', 'revoke', `-${token.slice(1)}`, ...s.cliOptions]);
    expect(dashed.code, dashed.stderr).to.equal(1);
    expect(dashed.stderr).to.include('No share with token -');
    const usage = await cli(['share', 'add', '/docs', ...s.cliOptions]);
    expect(usage.code).to.equal(2);
    expect(usage.stderr).to.include('needs --user USER');
  });

  it('an expired link answers 404 at once, and a user who lost access loses their links', async () => {
    const made = await alice('POST', '/dav/.dav/shares', json, JSON.stringify({ path: '/docs', expires: '2s' }));
    const url = (JSON.parse(made.body) as { url: string }).url;
    expect((await s.req('GET', `${url}a.txt`)).status).to.equal(200);
    await sleep(2_100);
    expect((await s.req('GET', `${url}a.txt`)).status).to.equal(404);
    expect((JSON.parse((await alice('GET', '/dav/.dav/shares')).body) as { shares: unknown[] }).shares).to.deep.equal([]);
    // Bob's link stops working once bob is gone from the users file (the server restarts with it).
    const bobs = (await cli(['share', 'add', '--user', 'alice', '/docs', ...s.cliOptions])).stdout.trim().split('\n').pop()!;
    expect((await s.req('GET', `${bobs}a.txt`)).status).to.equal(200);
    await writeFile(s.users, 'users:\n  bob: { root: /bob, access: rw }\n');
    const again = await startIdentityServer({ bob: 'b-pw' }, 'users:\n  bob: { root: /bob, access: rw }\n', { prefix: '/dav', root: s.root });
    try {
      expect((await again.req('GET', `${bobs}a.txt`)).status).to.equal(404);
    } finally {
      await again.close();
    }
  });

  it('the brute-force defender bans guessed tokens and guessed share passwords per address', async () => {
    const link = (await cli(['share', 'add', '--user', 'alice', '/docs', '--password', 'right', ...s.cliOptions])).stdout.trim().split('\n').pop()!;
    // --auth-max-failures 4: the fourth wrong guess bans the address.
    const guesses: number[] = [];
    for (let i = 0; i < 6; i++) guesses.push((await requestFrom('127.0.0.7', s.base, 'GET', `/dav/.dav/s/${String(i).padStart(32, 'x')}/`)).status);
    expect(guesses).to.deep.equal([404, 404, 404, 429, 429, 429]);
    // The ban is per address: a visitor elsewhere still gets in with the password.
    expect((await requestFrom('127.0.0.8', s.base, 'GET', `${link}a.txt`, { headers: { Authorization: basic('', 'right') } })).status).to.equal(200);
    expect((await requestFrom('127.0.0.7', s.base, 'GET', `${link}a.txt`, { headers: { Authorization: basic('', 'right') } })).status).to.equal(429);
    const pw: number[] = [];
    for (let i = 0; i < 6; i++) pw.push((await requestFrom('127.0.0.9', s.base, 'GET', `${link}a.txt`, { headers: { Authorization: basic('', `guess${i}`) } })).status);
    expect(pw).to.deep.equal([401, 401, 401, 429, 429, 429]);
    const banned = await requestFrom('127.0.0.9', s.base, 'GET', `${link}a.txt`, { headers: { Authorization: basic('', 'right') } });
    expect(banned.status).to.equal(429);
    expect(Number(banned.headers['retry-after'])).to.be.greaterThan(0);
    // Logins from other addresses are not affected by either ban.
    expect((await requestFrom('127.0.0.10', s.base, 'GET', '/dav/docs/a.txt', { headers: { Authorization: basic('alice', 'a-pw') } })).status).to.equal(200);
  });
});
