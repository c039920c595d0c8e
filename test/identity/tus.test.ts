/**
 * Resumable uploads (tus, `<prefix>/.dav/uploads/`) under path rules and app passwords: the
 * target needs what a PUT of it needs, when the upload is made and again at its commit; an app
 * password's scope and read-only flag hold; a create-only folder never has a file replaced.
 */
import { expect } from 'chai';
import { readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { put, startIdentityServer, type IdentityServer } from './helpers.js';
import { patchHeaders, TUS, tusMetadata } from '../sync/helpers.js';

const USERS = `
users:
  alice:
    root: /alice
    access: rw
    rules:
      - { path: /locked/**, rights: [list, read] }
      - { path: /inbox, rights: [list] }
      - { path: /inbox/*, rights: [create] }
  carol: { root: /alice, access: read-only }
`;
const json = { 'Content-Type': 'application/json' };

describe('identity: resumable uploads (tus) under path rules and app passwords', function () {
  this.timeout(60_000);
  let s: IdentityServer;
  let alice: ReturnType<IdentityServer['as']>;
  const create = (as: ReturnType<IdentityServer['as']>, path: string, length = 4): ReturnType<ReturnType<IdentityServer['as']>> =>
    as('POST', '/.dav/uploads/', { ...TUS, 'Upload-Length': String(length), 'Upload-Metadata': tusMetadata({ path }) });
  const appPassword = async (body: Record<string, unknown>): Promise<string> => {
    const r = await alice('POST', '/.dav/app-passwords', json, JSON.stringify(body));
    expect(r.status, r.body).to.equal(201);
    return (JSON.parse(r.body) as { password: string }).password;
  };

  beforeEach(async () => {
    s = await startIdentityServer({ alice: 'a-pw', carol: 'c-pw' }, USERS);
    alice = s.as('alice', 'a-pw');
    await put(s.root, 'alice/locked/old.txt', 'OLD');
    await put(s.root, 'alice/inbox/taken.txt', 'ORIGINAL');
    await put(s.root, 'alice/photos/p.jpg', 'JPEG');
  });
  afterEach(() => s.close());

  it('the target needs create (new) or update (existing), as for PUT', async () => {
    expect((await create(alice, '/locked/new.txt')).status).to.equal(403);
    expect((await create(alice, '/locked/old.txt')).status).to.equal(403);
    expect((await create(alice, '/inbox/taken.txt')).status).to.equal(403);
    expect((await create(s.as('carol', 'c-pw'), '/new.txt')).status).to.equal(403);
    const ok = await create(alice, '/inbox/new.txt');
    expect(ok.status, ok.body).to.equal(201);
    // A file that appears meanwhile in a create-only folder is never replaced by the commit.
    await writeFile(join(s.root, 'alice/inbox/new.txt'), 'THEIRS');
    const commit = await alice('PATCH', ok.headers.location!, patchHeaders(0), 'mine');
    expect(commit.status).to.be.oneOf([403, 412]);
    expect(await readFile(join(s.root, 'alice/inbox/new.txt'), 'utf8')).to.equal('THEIRS');
    const fresh = await create(alice, '/inbox/fresh.txt');
    expect((await alice('PATCH', fresh.headers.location!, patchHeaders(0), 'done')).status).to.equal(201);
    expect((await readdir(join(s.root, 'alice/inbox'))).sort()).to.deep.equal(['fresh.txt', 'new.txt', 'taken.txt']);
    expect(await readFile(join(s.root, 'alice/locked/old.txt'), 'utf8')).to.equal('OLD');
  });

  it('an app password\'s scope and read-only flag hold for uploads', async () => {
    const scoped = s.as('alice', await appPassword({ label: 'camera', scope: '/photos' }));
    const viewer = s.as('alice', await appPassword({ label: 'viewer', readOnly: true }));
    expect((await create(scoped, '/docs.txt')).status).to.equal(403);
    expect((await create(scoped, '/photos/../docs.txt')).status).to.be.oneOf([400, 403]);
    expect((await create(viewer, '/photos/v.jpg')).status).to.equal(403);
    const ok = await create(scoped, '/photos/new.jpg');
    expect(ok.status, ok.body).to.equal(201);
    expect((await scoped('PATCH', ok.headers.location!, patchHeaders(0), 'NEW!')).status).to.equal(201);
    expect((await readdir(join(s.root, 'alice'))).sort()).to.deep.equal(['inbox', 'locked', 'photos']);
    expect((await readdir(join(s.root, 'alice/photos'))).sort()).to.deep.equal(['new.jpg', 'p.jpg']);
  });
});
