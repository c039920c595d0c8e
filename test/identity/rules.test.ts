/**
 * Path rules of the users file against the real server: global rules merged with each user's own
 * (the last matching rule decides), every method checked, listings filtered, a write-only drop
 * folder, tree operations refused when one member is off limits, and --explain.
 */
import { expect } from 'chai';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { lockBody } from '../helpers/server.js';
import { ensureBuilt } from '../helpers/dav.js';
import { cli, hrefsOf, put, startIdentityServer, type IdentityServer } from './helpers.js';

const USERS = `
rules:
  - { path: "*.key", rights: [] }
  - { path: /readonly/**, rights: [list, read] }
users:
  alice:
    root: /alice
    access: rw
    rules:
      - { path: /inbox, rights: [list] }
      - { path: /inbox/*, rights: [create] }
      - { path: /readonly/notes.txt, rights: [list, read, update] }
  bob:
    root: /bob
    access: ro
    rules:
      - { path: /drop/**, rights: [create] }
`;

const propfind = (depth: string): Record<string, string> => ({ Depth: depth });

describe('identity: path rules in the users file', function () {
  this.timeout(120_000);
  before(async function () {
    this.timeout(300_000);
    await ensureBuilt(); // the CLI runs from dist/
  });
  let s: IdentityServer;
  let alice: ReturnType<IdentityServer['as']>;
  let bob: ReturnType<IdentityServer['as']>;
  const disk = (rel: string): string => join(s.root, rel);

  beforeEach(async () => {
    s = await startIdentityServer({ alice: 'a-pw', bob: 'b-pw' }, USERS);
    alice = s.as('alice', 'a-pw');
    bob = s.as('bob', 'b-pw');
    await put(s.root, 'alice/a.txt', 'A');
    await put(s.root, 'alice/secret.key', 'KEY');
    await put(s.root, 'alice/readonly/notes.txt', 'notes');
    await put(s.root, 'alice/readonly/other.txt', 'other');
    await put(s.root, 'alice/inbox/existing.txt', 'ORIGINAL');
    await put(s.root, 'alice/proj/code.js', 'js');
    await put(s.root, 'alice/proj/deploy.key', 'KEY2');
    await put(s.root, 'bob/drop/.keep', '');
  });
  afterEach(() => s.close());

  it('filters listings: a member shows only with list or read on it, a collection lists only with list', async () => {
    const root = await alice('PROPFIND', '/', propfind('1'));
    expect(root.status).to.equal(207);
    expect(hrefsOf(root.body).sort()).to.deep.equal(['/', '/a.txt', '/inbox/', '/proj/', '/readonly/']);
    const inbox = await alice('PROPFIND', '/inbox/', propfind('1'));
    expect(hrefsOf(inbox.body)).to.deep.equal(['/inbox/']);
    const all = await alice('PROPFIND', '/', propfind('infinity'));
    expect(hrefsOf(all.body)).to.not.include('/proj/deploy.key');
    expect(hrefsOf(all.body)).to.not.include('/inbox/existing.txt');
    expect(hrefsOf(all.body)).to.include('/readonly/notes.txt');
    const text = await alice('GET', '/', { Accept: 'text/plain' });
    expect(text.body.split('\n').filter(Boolean).sort()).to.deep.equal(['a.txt', 'inbox/', 'proj/', 'readonly/']);
  });

  it('answers 404 for a read with no right at all (as if nothing were there) and 403 for writes', async () => {
    for (const m of ['GET', 'HEAD', 'PROPFIND']) expect((await alice(m, '/secret.key', propfind('0'))).status, m).to.equal(404);
    expect((await alice('PUT', '/secret.key', {}, 'x')).status).to.equal(403);
    expect((await alice('DELETE', '/secret.key')).status).to.equal(403);
    expect((await alice('PUT', '/new.key', {}, 'x')).status).to.equal(403);
    expect(await readFile(disk('alice/secret.key'), 'utf8')).to.equal('KEY');
  });

  it('a global read-only rule refuses every write method, and a later user rule wins over it', async () => {
    expect((await alice('GET', '/readonly/other.txt')).body).to.equal('other');
    const refused: [string, string, Record<string, string>, string?][] = [
      ['PUT', '/readonly/other.txt', {}, 'x'],
      ['PUT', '/readonly/new.txt', {}, 'x'],
      ['DELETE', '/readonly/other.txt', {}],
      ['MKCOL', '/readonly/d', {}],
      ['PROPPATCH', '/readonly/other.txt', { 'Content-Type': 'application/xml' }, '<?xml version="1.0"?><D:propertyupdate xmlns:D="DAV:"><D:set><D:prop><x xmlns="urn:x">1</x></D:prop></D:set></D:propertyupdate>'],
      ['LOCK', '/readonly/other.txt', { 'Content-Type': 'application/xml' }, lockBody()],
      ['COPY', '/a.txt', { Destination: `${s.base}/readonly/a.txt` }],
      ['MOVE', '/readonly/other.txt', { Destination: `${s.base}/moved.txt` }],
      ['MOVE', '/a.txt', { Destination: `${s.base}/readonly/a.txt` }],
    ];
    for (const [m, p, h, body] of refused) expect((await alice(m, p, h, body)).status, `${m} ${p}`).to.equal(403);
    expect((await readdir(disk('alice/readonly'))).sort()).to.deep.equal(['notes.txt', 'other.txt']);
    expect(await readFile(disk('alice/a.txt'), 'utf8')).to.equal('A');
    // users.alice.rules[2] comes after the global rule: notes.txt may be updated (not deleted).
    expect((await alice('PUT', '/readonly/notes.txt', {}, 'new notes')).status).to.equal(204);
    expect(await readFile(disk('alice/readonly/notes.txt'), 'utf8')).to.equal('new notes');
    expect((await alice('DELETE', '/readonly/notes.txt')).status).to.equal(403);
    // Unrestricted places keep every right.
    expect((await alice('LOCK', '/a.txt', { 'Content-Type': 'application/xml' }, lockBody())).status).to.equal(200);
    expect((await alice('COPY', '/readonly', { Destination: `${s.base}/copy` })).status).to.equal(201);
    expect((await readdir(disk('alice/copy'))).sort()).to.deep.equal(['notes.txt', 'other.txt']);
  });

  it('refuses DELETE, COPY and MOVE of a folder when one member is off limits, touching nothing', async () => {
    expect((await alice('DELETE', '/proj')).status).to.equal(403);
    expect((await alice('COPY', '/proj', { Destination: `${s.base}/proj2` })).status).to.equal(403);
    expect((await alice('MOVE', '/proj', { Destination: `${s.base}/proj2` })).status).to.equal(403);
    expect((await readdir(disk('alice/proj'))).sort()).to.deep.equal(['code.js', 'deploy.key']);
    expect((await readdir(disk('alice'))).includes('proj2')).to.equal(false);
    // Copying a folder into a read-only place is refused for its members too.
    expect((await alice('DELETE', '/proj/deploy.key')).status).to.equal(403);
  });

  it('a write-only drop folder takes new files, shows nothing, and never replaces what is there', async () => {
    expect((await alice('PUT', '/inbox/report.pdf', {}, 'R1')).status).to.equal(201);
    expect((await alice('PUT', '/inbox/existing.txt', {}, 'MINE')).status).to.equal(201);
    expect((await alice('PUT', '/inbox/existing.txt', {}, 'MINE2')).status).to.equal(201);
    expect((await readdir(disk('alice/inbox'))).sort()).to.deep.equal(['existing (2).txt', 'existing (3).txt', 'existing.txt', 'report.pdf']);
    expect(await readFile(disk('alice/inbox/existing.txt'), 'utf8')).to.equal('ORIGINAL');
    expect(await readFile(disk('alice/inbox/existing (2).txt'), 'utf8')).to.equal('MINE');
    // Every read answers the same whether or not the name exists.
    for (const p of ['/inbox/existing.txt', '/inbox/nothing.txt']) {
      for (const m of ['GET', 'PROPFIND']) expect((await alice(m, p, propfind('0'))).status, `${m} ${p}`).to.equal(404);
      expect((await alice('DELETE', p)).status).to.equal(403);
      expect((await alice('MOVE', p, { Destination: `${s.base}/x.txt` })).status).to.equal(403);
    }
    expect(hrefsOf((await alice('PROPFIND', '/inbox/', propfind('1'))).body)).to.deep.equal(['/inbox/']);
    // A global rule hides *.key, but the later user rule /inbox/* gives create.
    expect((await alice('PUT', '/inbox/x.key', {}, 'k')).status).to.equal(201);
  });

  it('a read-only user with a create rule can drop files there and nowhere else', async () => {
    expect((await bob('PUT', '/drop/a.txt', {}, 'from bob')).status).to.equal(201);
    expect((await bob('PUT', '/else.txt', {}, 'x')).status).to.equal(403);
    expect((await bob('GET', '/drop/a.txt')).status).to.equal(404);
    expect((await bob('DELETE', '/drop/a.txt')).status).to.equal(403);
    expect(await readFile(disk('bob/drop/a.txt'), 'utf8')).to.equal('from bob');
  });

  it('--explain prints the rights, the rule that gave them and every matching rule in merge order', async () => {
    const r = await cli(['--users', s.users, '--explain', 'alice', '/inbox/x.key']);
    expect(r.code, r.stderr).to.equal(0);
    expect(r.stdout.split('\n')).to.deep.equal([
      'alice /inbox/x.key: create',
      '  served path: /alice/inbox/x.key',
      '  decided by: users.yaml users.alice.rules[1]: /inbox/* -> create',
      '  matching rules, in the order they are merged (the last one decides):',
      '    users.yaml users.alice.access (read-write): /** -> list read create update delete lock',
      '    users.yaml rules[0]: *.key -> (none)',
      '    users.yaml users.alice.rules[1]: /inbox/* -> create',
      '',
    ]);
    const ro = await cli(['explain', 'alice', '/readonly/notes.txt', '--users', s.users]);
    expect(ro.stdout).to.include('alice /readonly/notes.txt: list read update\n');
    expect(ro.stdout).to.include('decided by: users.yaml users.alice.rules[2]: /readonly/notes.txt -> list read update');
    const none = await cli(['--users', s.users, '--explain', 'alice', '/proj/deploy.key']);
    expect(none.stdout).to.include('alice /proj/deploy.key: (none)\n');
    const bad = await cli(['--users', s.users, '--explain', 'mallory', '/']);
    expect(bad.code).to.equal(2);
    expect(bad.stderr).to.include('no user mallory');
    const usage = await cli(['--users', s.users, '--explain', 'alice']);
    expect(usage.code).to.equal(2);
    expect(usage.stderr).to.include('Usage: koa-webdav-server --explain USER PATH');
  });
});
