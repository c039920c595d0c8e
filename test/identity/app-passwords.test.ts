/**
 * App passwords against the real server: made with the CLI while the server runs (printed once,
 * stored hashed), used from curl and rclone, listed with their last use, revoked (refused on the
 * next request), expiring, limited to a scope and read-only for every method, and managed from
 * the page's JSON endpoints by a user signed in with the main password only.
 */
import { expect } from 'chai';
import { readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { lockBody } from '../helpers/server.js';
import { ensureBuilt } from '../helpers/dav.js';
import { requireProgram, run } from '../helpers/run.js';
import { basic, cli, put, startIdentityServer, type IdentityServer } from './helpers.js';
import { writeHtpasswd } from '../helpers/auth.js';

const USERS = 'users:\n  alice: { root: /alice, access: rw }\n  bob: { root: /bob, access: rw }\n';
const SHAPE = /^dav_[a-z2-7]{8}_[a-z2-7]{32}$/;
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Every file under a directory, recursively, with its content. */
async function filesUnder(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const e of await readdir(dir, { withFileTypes: true, recursive: true })) if (e.isFile()) out.push(await readFile(join(e.parentPath, e.name), 'utf8'));
  return out;
}

describe('identity: app passwords', function () {
  this.timeout(180_000);
  before(async function () {
    this.timeout(300_000);
    await ensureBuilt(); // the CLI runs from dist/
  });
  let s: IdentityServer;
  const add = async (...args: string[]): Promise<string> => {
    const r = await cli(['app-password', 'add', 'alice', ...args, ...s.cliOptions]);
    expect(r.code, r.stderr).to.equal(0);
    expect(r.stdout).to.match(/^dav_\w+\n$/);
    return r.stdout.trim();
  };

  beforeEach(async () => {
    s = await startIdentityServer({ alice: 'main-pw', bob: 'bob-pw' }, USERS);
    await put(s.root, 'alice/docs/a.txt', 'A');
    await put(s.root, 'alice/photos/p.jpg', 'JPEG');
  });
  afterEach(() => s.close());

  it('lifecycle: added while the server runs, printed once, used from curl and rclone, listed with last use, revoked at once', async () => {
    const curl = requireProgram('curl', 'curl');
    const rclone = requireProgram('rclone', 'rclone');
    const password = await add('--label', 'laptop');
    expect(password).to.match(SHAPE);
    // Stored hashed: the secret is nowhere in the store, and the one line on stdout was the only copy.
    const stored = (await filesUnder(join(s.root, '.davmeta', 'state'))).join('\n');
    expect(stored).to.not.include(password.slice(13));
    expect(stored).to.include('"label":"laptop"');

    const up = await run(curl, ['-sS', '-o', '/dev/null', '-w', '%{http_code}', '-u', `alice:${password}`, '-T', '-', `${s.base}/docs/from-curl.txt`], { input: 'curl body' });
    expect(up.stdout).to.equal('201');
    expect(await readFile(join(s.root, 'alice/docs/from-curl.txt'), 'utf8')).to.equal('curl body');
    const obscured = (await run(rclone, ['obscure', password])).stdout.trim();
    const env = { ...process.env, RCLONE_CONFIG: join(s.dir, 'rclone.conf'), RCLONE_CONFIG_AP_TYPE: 'webdav', RCLONE_CONFIG_AP_URL: `${s.base}/`, RCLONE_CONFIG_AP_USER: 'alice', RCLONE_CONFIG_AP_PASS: obscured };
    const ls = await run(rclone, ['lsf', '-R', 'ap:', '--retries', '1', '--low-level-retries', '1'], { env });
    expect(ls.code, ls.output).to.equal(0);
    expect(ls.stdout.split('\n').filter(Boolean).sort()).to.deep.equal(['docs/', 'docs/a.txt', 'docs/from-curl.txt', 'photos/', 'photos/p.jpg']);
    const cat = await run(rclone, ['cat', 'ap:docs/a.txt'], { env });
    expect(cat.stdout).to.equal('A');

    const list = await cli(['app-password', 'list', 'alice', ...s.cliOptions]);
    expect(list.code).to.equal(0);
    const [head, row] = list.stdout.trim().split('\n');
    expect(head).to.match(/^LABEL\s+CREATED\s+EXPIRES\s+SCOPE\s+ACCESS\s+LAST USED$/);
    expect(row).to.match(/^laptop\s+\S+Z\s+never\s+\/\s+read-write\s+\S+Z from 127\.0\.0\.1$/);

    const revoked = await cli(['app-password', 'revoke', 'alice', 'laptop', ...s.cliOptions]);
    expect(revoked.code, revoked.stderr).to.equal(0);
    const after = await run(curl, ['-sS', '-o', '/dev/null', '-w', '%{http_code}', '-u', `alice:${password}`, `${s.base}/docs/a.txt`]);
    expect(after.stdout).to.equal('401');
    expect((await run(rclone, ['lsf', 'ap:', '--retries', '1', '--low-level-retries', '1'], { env })).code).to.not.equal(0);
    // The main password is untouched.
    expect((await s.as('alice', 'main-pw')('GET', '/docs/a.txt')).status).to.equal(200);
    const again = await cli(['app-password', 'revoke', 'alice', 'laptop', ...s.cliOptions]);
    expect(again.code).to.equal(1);
    expect(again.stderr).to.include('no app password labelled "laptop"');
  });

  it('belongs to one user, needs a unique label, and stops with its user or its expiry', async () => {
    const password = await add('--label', 'phone', '--expires', '30d');
    expect((await s.as('bob', password)('GET', '/')).status).to.equal(401);
    expect((await s.as('alice', password)('GET', '/docs/a.txt')).status).to.equal(200);
    const listed = (await cli(['app-password', 'list', 'alice', ...s.cliOptions])).stdout.split('\n')[1]!.split(/\s+/);
    const days = (Date.parse(listed[2]!) - Date.parse(listed[1]!)) / 86_400_000;
    expect(days).to.be.closeTo(30, 0.001);
    const dup = await cli(['app-password', 'add', 'alice', '--label', 'phone', ...s.cliOptions]);
    expect(dup.code).to.equal(1);
    expect(dup.stderr).to.include('already has an app password labelled "phone"');
    expect((await cli(['app-password', 'add', 'nobody', ...s.cliOptions])).stderr).to.include('no user nobody');
    expect((await cli(['app-password', 'add', 'alice', '--expires', 'soon', ...s.cliOptions])).code).to.equal(2);
    // Expiry: made from the page's endpoint so the clock starts now, not after a CLI start-up.
    const made = await s.as('alice', 'main-pw')('POST', '/.dav/app-passwords', { 'Content-Type': 'application/json' }, JSON.stringify({ expires: '2s' }));
    const short = s.as('alice', (JSON.parse(made.body) as { password: string }).password);
    expect((await short('GET', '/docs/a.txt')).status).to.equal(200);
    await sleep(2_100);
    expect((await short('GET', '/docs/a.txt')).status).to.equal(401);
    // A user removed from the htpasswd file loses their app passwords too.
    await sleep(1_000); // a new mtime for the rewritten file
    await writeHtpasswd(s.dir, { bob: 'bob-pw' });
    await sleep(2_100); // the file is checked at most every 2 s
    expect((await s.as('alice', password)('GET', '/docs/a.txt')).status).to.equal(401);
  });

  it('a scope and read-only flag hold for every method', async () => {
    const scoped = s.as('alice', await add('--label', 'photos', '--scope', '/photos'));
    const ro = s.as('alice', await add('--label', 'viewer', '--scope', 'photos/', '--read-only'));
    const main = s.as('alice', 'main-pw');
    const xml = { 'Content-Type': 'application/xml' };
    const patch = '<?xml version="1.0"?><D:propertyupdate xmlns:D="DAV:"><D:set><D:prop><x xmlns="urn:x">1</x></D:prop></D:set></D:propertyupdate>';
    // Inside the scope: everything works.
    const inside: [string, string, Record<string, string>, string | undefined, number][] = [
      ['GET', '/photos/p.jpg', {}, undefined, 200],
      ['HEAD', '/photos/p.jpg', {}, undefined, 200],
      ['PROPFIND', '/photos/', { Depth: '1' }, undefined, 207],
      ['PUT', '/photos/new.jpg', {}, 'n', 201],
      ['MKCOL', '/photos/album', {}, undefined, 201],
      ['PROPPATCH', '/photos/new.jpg', xml, patch, 207],
      ['COPY', '/photos/new.jpg', { Destination: `${s.base}/photos/album/c.jpg` }, undefined, 201],
      ['MOVE', '/photos/album/c.jpg', { Destination: `${s.base}/photos/m.jpg` }, undefined, 201],
      ['DELETE', '/photos/m.jpg', {}, undefined, 204],
    ];
    for (const [m, p, h, b, want] of inside) expect((await scoped(m, p, h, b)).status, `${m} ${p}`).to.equal(want);
    const lock = await scoped('LOCK', '/photos/new.jpg', xml, lockBody());
    expect(lock.status).to.equal(200);
    expect((await scoped('UNLOCK', '/photos/new.jpg', { 'Lock-Token': String(lock.headers['lock-token']) })).status).to.equal(204);
    // Outside it: reads find nothing, writes are refused, and nothing changes on disk.
    const outsideLock = await main('LOCK', '/docs/a.txt', xml, lockBody());
    const outside: [string, string, Record<string, string>, string | undefined, number][] = [
      ['GET', '/docs/a.txt', {}, undefined, 404],
      ['HEAD', '/docs/a.txt', {}, undefined, 404],
      ['PROPFIND', '/', { Depth: '1' }, undefined, 404],
      ['PROPFIND', '/docs/a.txt', { Depth: '0' }, undefined, 404],
      ['PUT', '/docs/a.txt', {}, 'x', 403],
      ['PUT', '/new.txt', {}, 'x', 403],
      ['MKCOL', '/dir', {}, undefined, 403],
      ['PROPPATCH', '/docs/a.txt', xml, patch, 403],
      ['DELETE', '/docs/a.txt', {}, undefined, 403],
      ['COPY', '/docs/a.txt', { Destination: `${s.base}/photos/a.txt` }, undefined, 403],
      ['COPY', '/photos/p.jpg', { Destination: `${s.base}/docs/p.jpg` }, undefined, 403],
      ['MOVE', '/photos/p.jpg', { Destination: `${s.base}/docs/p.jpg` }, undefined, 403],
      ['MOVE', '/docs/a.txt', { Destination: `${s.base}/photos/a.txt` }, undefined, 403],
      ['LOCK', '/docs/b.txt', xml, lockBody(), 403],
      ['UNLOCK', '/docs/a.txt', { 'Lock-Token': String(outsideLock.headers['lock-token']) }, undefined, 403],
    ];
    for (const [m, p, h, b, want] of outside) expect((await scoped(m, p, h, b)).status, `${m} ${p}`).to.equal(want);
    expect((await readdir(join(s.root, 'alice/docs'))).sort()).to.deep.equal(['a.txt']);
    expect(await readFile(join(s.root, 'alice/docs/a.txt'), 'utf8')).to.equal('A');
    expect((await readdir(join(s.root, 'alice'))).sort()).to.deep.equal(['docs', 'photos']);
    // Read-only: reads inside the scope work, every write is refused.
    expect((await ro('GET', '/photos/p.jpg')).body).to.equal('JPEG');
    expect((await ro('PROPFIND', '/photos/', { Depth: '1' })).status).to.equal(207);
    for (const [m, p, h, b] of [
      ['PUT', '/photos/x.jpg', {}, 'x'],
      ['DELETE', '/photos/p.jpg', {}, undefined],
      ['MKCOL', '/photos/d', {}, undefined],
      ['PROPPATCH', '/photos/p.jpg', xml, patch],
      ['LOCK', '/photos/p.jpg', xml, lockBody()],
      ['MOVE', '/photos/p.jpg', { Destination: `${s.base}/photos/q.jpg` }, undefined],
      ['COPY', '/photos/p.jpg', { Destination: `${s.base}/photos/q.jpg` }, undefined],
    ] as [string, string, Record<string, string>, string | undefined][]) {
      const r = await ro(m, p, h, b);
      expect(r.status, `${m} ${p}`).to.equal(403);
      expect(r.body).to.equal('Read-only access\n');
    }
    expect((await ro('GET', '/docs/a.txt')).status).to.equal(404);
  });

  it('is managed from the page\'s endpoints with the main password, never with an app password', async () => {
    const main = s.as('alice', 'main-pw');
    const json = { 'Content-Type': 'application/json' };
    const made = await main('POST', '/.dav/app-passwords', json, JSON.stringify({ label: 'tablet', expires: '7d', scope: '/docs', readOnly: true }));
    expect(made.status, made.body).to.equal(201);
    const body = JSON.parse(made.body) as Record<string, unknown>;
    expect(body.password).to.match(SHAPE);
    expect(body).to.include({ label: 'tablet', scope: '/docs', readOnly: true, user: 'alice' });
    expect(body).to.not.have.property('hash');
    const app = s.as('alice', body.password as string);
    expect((await app('GET', '/docs/a.txt')).body).to.equal('A');
    const listed = JSON.parse((await main('GET', '/.dav/app-passwords')).body) as { appPasswords: Record<string, unknown>[] };
    expect(listed.appPasswords.map((p) => p.label)).to.deep.equal(['tablet']);
    expect(listed.appPasswords[0]!.lastUsed).to.have.property('address', '127.0.0.1');
    expect(JSON.stringify(listed)).to.not.include((body.password as string).slice(13));
    // An app password cannot manage app passwords (it could widen its own scope).
    expect((await app('GET', '/.dav/app-passwords')).status).to.equal(403);
    expect((await app('POST', '/.dav/app-passwords', json, '{}')).status).to.equal(403);
    // Changes need JSON from this origin; bob sees only his own.
    expect((await main('POST', '/.dav/app-passwords', { 'Content-Type': 'application/x-www-form-urlencoded' }, 'label=x')).status).to.equal(415);
    expect((await main('POST', '/.dav/app-passwords', { ...json, Origin: 'https://evil.example' }, '{}')).status).to.equal(403);
    expect((await main('POST', '/.dav/app-passwords', json, JSON.stringify({ label: 'tablet' }))).status).to.equal(409);
    expect((await main('POST', '/.dav/app-passwords', json, JSON.stringify({ scope: '/a/../b' }))).status).to.equal(400);
    expect(JSON.parse((await s.as('bob', 'bob-pw')('GET', '/.dav/app-passwords')).body)).to.deep.equal({ appPasswords: [] });
    expect((await s.as('bob', 'bob-pw')('DELETE', '/.dav/app-passwords/tablet')).status).to.equal(404);
    expect((await s.req('GET', '/.dav/app-passwords')).status).to.equal(401);
    expect((await main('DELETE', '/.dav/app-passwords/tablet')).status).to.equal(204);
    expect((await app('GET', '/docs/a.txt')).status).to.equal(401);
    expect((await s.req('GET', '/docs/a.txt', { headers: { Authorization: basic('alice', 'main-pw') } })).status).to.equal(200);
  });
});
