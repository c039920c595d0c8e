/**
 * Shared (team) folders mounted beside each user's home, without symlinks: the same folder in
 * two homes, its files, dead properties and locks shared; COPY and MOVE between a home and the
 * team folder; a mount point that cannot be deleted or moved; a read-only mount; --explain
 * through a mount; a share link made inside a team folder.
 */
import { expect } from 'chai';
import { readdir, readFile, symlink } from 'node:fs/promises';
import { join } from 'node:path';
import { ensureBuilt } from '../helpers/dav.js';
import { lockBody } from '../helpers/server.js';
import { cli, hrefsOf, put, startIdentityServer, type IdentityServer } from './helpers.js';

const USERS = `
users:
  alice:
    root: /alice
    access: rw
    mounts:
      team: /teams/eng
      handbook: { path: /teams/handbook, access: ro }
  bob:
    root: /bob
    access: rw
    mounts:
      team: /teams/eng
  admin: { root: /, access: rw }
`;
const xml = { 'Content-Type': 'application/xml' };
const PATCH = '<?xml version="1.0"?><D:propertyupdate xmlns:D="DAV:"><D:set><D:prop><tag xmlns="urn:t">blue</tag></D:prop></D:set></D:propertyupdate>';
const PROPS = '<?xml version="1.0"?><D:propfind xmlns:D="DAV:"><D:prop><tag xmlns="urn:t"/><D:lockdiscovery/></D:prop></D:propfind>';

describe('identity: team folders mounted into several homes', function () {
  this.timeout(120_000);
  let s: IdentityServer;
  let alice: ReturnType<IdentityServer['as']>;
  let bob: ReturnType<IdentityServer['as']>;

  before(async function () {
    this.timeout(300_000);
    await ensureBuilt(); // the CLI runs from dist/
  });
  beforeEach(async () => {
    s = await startIdentityServer({ alice: 'a-pw', bob: 'b-pw', admin: 'adm' }, USERS);
    alice = s.as('alice', 'a-pw');
    bob = s.as('bob', 'b-pw');
    await put(s.root, 'alice/mine.txt', 'MINE');
    await put(s.root, 'alice/team/shadowed.txt', 'hidden by the mount');
    await put(s.root, 'teams/eng/plan.md', 'PLAN');
    await put(s.root, 'teams/handbook/rules.md', 'RULES');
  });
  afterEach(() => s.close());

  it('shows the same folder beside each home: files written by one are read by the other, with their properties', async () => {
    expect(hrefsOf((await alice('PROPFIND', '/', { Depth: '1' })).body).sort()).to.deep.equal(['/', '/handbook/', '/mine.txt', '/team/']);
    expect(hrefsOf((await bob('PROPFIND', '/', { Depth: '1' })).body).sort()).to.deep.equal(['/', '/team/']);
    expect(hrefsOf((await alice('PROPFIND', '/team/', { Depth: 'infinity' })).body).sort()).to.deep.equal(['/team/', '/team/plan.md']);
    expect((await bob('GET', '/team/plan.md')).body).to.equal('PLAN');
    expect((await alice('PUT', '/team/from-alice.txt', {}, 'hello bob')).status).to.equal(201);
    expect((await bob('GET', '/team/from-alice.txt')).body).to.equal('hello bob');
    expect(await readFile(join(s.root, 'teams/eng/from-alice.txt'), 'utf8')).to.equal('hello bob');
    expect((await bob('PROPPATCH', '/team/plan.md', xml, PATCH)).status).to.equal(207);
    expect((await alice('PROPFIND', '/team/plan.md', { Depth: '0', ...xml }, PROPS)).body).to.match(/>blue<\/\w+:tag>/);
    expect((await alice('MKCOL', '/team/sub')).status).to.equal(201);
    expect((await bob('PUT', '/team/sub/b.txt', {}, 'B')).status).to.equal(201);
    expect((await readdir(join(s.root, 'teams/eng/sub')))).to.deep.equal(['b.txt']);
    // Nothing of the other's home is reachable.
    expect((await bob('GET', '/mine.txt')).status).to.equal(404);
    expect((await bob('GET', '/handbook/rules.md')).status).to.equal(404);
  });

  it('shares locks: a lock taken through one home holds in the other, with the lock root in each one\'s view', async () => {
    const lock = await alice('LOCK', '/team/plan.md', xml, lockBody());
    expect(lock.status).to.equal(200);
    const token = String(lock.headers['lock-token']);
    const refused = await bob('PUT', '/team/plan.md', {}, 'bob overwrites');
    expect(refused.status).to.equal(423);
    expect(refused.body).to.include('<D:href>/team/plan.md</D:href>');
    expect((await bob('DELETE', '/team/plan.md')).status).to.equal(423);
    expect((await bob('MOVE', '/team/plan.md', { Destination: `${s.base}/stolen.md` })).status).to.equal(423);
    const seen = await bob('PROPFIND', '/team/plan.md', { Depth: '0', ...xml }, PROPS);
    expect(seen.body).to.include('<D:lockroot><D:href>/team/plan.md</D:href></D:lockroot>');
    // Another user's lock shows without its token (README, Security: Locks).
    expect(seen.body).to.not.include(token.slice(1, -1));
    expect((await alice('PROPFIND', '/team/plan.md', { Depth: '0', ...xml }, PROPS)).body).to.include(token.slice(1, -1));
    // The administrator at / sees the same lock on the real path.
    const adm = await s.as('admin', 'adm')('PROPFIND', '/teams/eng/plan.md', { Depth: '0', ...xml }, PROPS);
    expect(adm.body).to.include('<D:lockroot><D:href>/teams/eng/plan.md</D:href></D:lockroot>');
    // A depth-infinity lock on bob's view of the folder blocks alice adding to it.
    expect((await alice('UNLOCK', '/team/plan.md', { 'Lock-Token': token })).status).to.equal(204);
    const folder = await bob('LOCK', '/team', { ...xml, Depth: 'infinity' }, lockBody());
    expect(folder.status).to.equal(200);
    expect((await alice('PUT', '/team/new.txt', {}, 'x')).status).to.equal(423);
    expect((await alice('PUT', '/team/new.txt', { If: `(${String(folder.headers['lock-token'])})` }, 'x')).status).to.equal(423); // another user's token
    expect((await bob('PUT', '/team/new.txt', { If: `(${String(folder.headers['lock-token'])})` }, 'x')).status).to.equal(201);
    expect(await readFile(join(s.root, 'teams/eng/plan.md'), 'utf8')).to.equal('PLAN');
  });

  it('copies and moves between the home and the team folder, properties following', async () => {
    expect((await alice('PROPPATCH', '/mine.txt', xml, PATCH)).status).to.equal(207);
    const mv = await alice('MOVE', '/mine.txt', { Destination: `${s.base}/team/mine.txt` });
    expect(mv.status).to.equal(201);
    expect((await readdir(join(s.root, 'alice'))).includes('mine.txt')).to.equal(false);
    expect(await readFile(join(s.root, 'teams/eng/mine.txt'), 'utf8')).to.equal('MINE');
    expect((await bob('PROPFIND', '/team/mine.txt', { Depth: '0', ...xml }, PROPS)).body).to.match(/>blue<\/\w+:tag>/);
    await put(s.root, 'teams/eng/docs/a.txt', 'A');
    await put(s.root, 'teams/eng/docs/deep/b.txt', 'B');
    expect((await bob('PROPPATCH', '/team/docs/deep/b.txt', xml, PATCH)).status).to.equal(207);
    const cp = await bob('COPY', '/team/docs', { Destination: `${s.base}/docs-copy` });
    expect(cp.status).to.equal(201);
    expect(await readFile(join(s.root, 'bob/docs-copy/deep/b.txt'), 'utf8')).to.equal('B');
    expect((await bob('PROPFIND', '/docs-copy/deep/b.txt', { Depth: '0', ...xml }, PROPS)).body).to.match(/>blue<\/\w+:tag>/);
    // Back into the team folder, over an existing file.
    expect((await bob('COPY', '/docs-copy/a.txt', { Destination: `${s.base}/team/plan.md` })).status).to.equal(204);
    expect(await readFile(join(s.root, 'teams/eng/plan.md'), 'utf8')).to.equal('A');
    // A link in the home that leads out of it is not copied into the team folder.
    await symlink(join(s.root, 'alice'), join(s.root, 'bob/docs-copy/alice-home'));
    expect((await bob('COPY', '/docs-copy', { Destination: `${s.base}/team/docs2` })).status).to.equal(201);
    expect((await readdir(join(s.root, 'teams/eng/docs2'))).sort()).to.deep.equal(['a.txt', 'deep']);
  });

  it('a mount point cannot be deleted, moved or replaced; a read-only mount refuses writes', async () => {
    expect((await alice('DELETE', '/team')).status).to.equal(403);
    expect((await alice('MOVE', '/team', { Destination: `${s.base}/renamed` })).status).to.equal(403);
    expect((await alice('MOVE', '/mine.txt', { Destination: `${s.base}/team`, Overwrite: 'T' })).status).to.equal(403);
    expect((await alice('COPY', '/mine.txt', { Destination: `${s.base}/team`, Overwrite: 'T' })).status).to.equal(403);
    expect((await alice('MKCOL', '/team')).status).to.equal(405);
    expect((await readdir(join(s.root, 'teams/eng'))).sort()).to.deep.equal(['plan.md']);
    expect((await alice('GET', '/handbook/rules.md')).body).to.equal('RULES');
    for (const [m, p] of [
      ['PUT', '/handbook/new.md'],
      ['DELETE', '/handbook/rules.md'],
      ['MKCOL', '/handbook/dir'],
    ]) {
      expect((await alice(m!, p!, {}, m === 'PUT' ? 'x' : undefined)).status, `${m} ${p}`).to.equal(403);
    }
    expect((await alice('COPY', '/handbook/rules.md', { Destination: `${s.base}/rules-copy.md` })).status).to.equal(201);
    expect(await readFile(join(s.root, 'alice/rules-copy.md'), 'utf8')).to.equal('RULES');
  });

  it('--explain follows the mount; a share link made inside a team folder stays inside it', async () => {
    const ex = await cli(['--users', s.users, '--explain', 'alice', '/handbook/rules.md']);
    expect(ex.stdout).to.include('alice /handbook/rules.md: list read\n');
    expect(ex.stdout).to.include('  served path: /teams/handbook/rules.md\n');
    expect(ex.stdout).to.include('decided by: users.yaml users.alice.mounts.handbook (read-only): /handbook/** -> list read');
    const made = await cli(['share', 'add', '--user', 'bob', '/team', ...s.cliOptions]);
    expect(made.code, made.stderr).to.equal(0);
    const link = made.stdout.trim().split('\n').pop()!;
    expect((await s.req('GET', `${link}plan.md`)).body).to.equal('PLAN');
    expect(hrefsOf((await s.req('PROPFIND', link, { headers: { Depth: '1' } })).body).sort()).to.deep.equal([link, `${link}plan.md`]);
  });
});
