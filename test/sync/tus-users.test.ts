/**
 * tus under authentication, per-user roots and --prefix: an upload belongs to its creator, its
 * target is a path of the creator's view, read-only users cannot upload, and the upload URL
 * lives under <prefix>/.dav/uploads/.
 */
import { expect } from 'chai';
import { readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { makeTempDir, startTestServer, type TestServer } from '../helpers/server.js';
import { basic, writeHtpasswd } from '../helpers/auth.js';
import { patchHeaders, TUS, tusMetadata } from './helpers.js';

describe('tus with users, roots and --prefix', function () {
  this.timeout(60_000);
  let dir: string;
  let s: TestServer;
  const alice = { Authorization: basic('alice', 'a-secret') };
  const bob = { Authorization: basic('bob', 'b-secret') };
  const carol = { Authorization: basic('carol', 'c-secret') };

  before(async () => {
    dir = await makeTempDir('tus-users');
    const htpasswd = await writeHtpasswd(dir, { alice: 'a-secret', bob: 'b-secret', carol: 'c-secret' });
    const users = join(dir, 'users.yaml');
    await writeFile(users, 'users:\n  alice: { root: /home/alice, access: rw }\n  bob: { root: /home/bob, access: rw }\n  carol: { root: /home/alice, access: read-only }\n');
    s = await startTestServer({ htpasswd, users, prefix: '/dav' });
  });
  after(async () => {
    await s.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('lands in the creator\'s root, is invisible to others, and needs credentials and write access', async () => {
    const headers = { ...TUS, 'Upload-Length': '5', 'Upload-Metadata': tusMetadata({ path: '/dav/mine.txt' }) };
    expect((await s.req('POST', '/dav/.dav/uploads/', { headers })).status).to.equal(401);
    expect((await s.req('POST', '/dav/.dav/uploads/', { headers: { ...headers, ...carol } })).status).to.equal(403);
    // a target outside the prefix is refused
    expect((await s.req('POST', '/dav/.dav/uploads/', { headers: { ...headers, ...alice, 'Upload-Metadata': tusMetadata({ path: '/mine.txt' }) } })).status).to.equal(400);
    const c = await s.req('POST', '/dav/.dav/uploads/', { headers: { ...headers, ...alice } });
    expect(c.status, c.body).to.equal(201);
    const loc = c.headers.location!;
    expect(loc).to.match(/^\/dav\/\.dav\/uploads\/[0-9a-f]{32}$/);
    expect((await s.req('HEAD', loc, { headers: bob })).status).to.equal(404);
    expect((await s.req('PATCH', loc, { headers: { ...patchHeaders(0), ...bob }, body: 'bob!!' })).status).to.equal(404);
    expect((await s.req('DELETE', loc, { headers: { ...TUS, ...bob } })).status).to.equal(404);
    expect((await s.req('PATCH', loc, { headers: { ...patchHeaders(0), ...carol }, body: 'carol' })).status).to.equal(403);
    const r = await s.req('PATCH', loc, { headers: { ...patchHeaders(0), ...alice }, body: 'hello' });
    expect(r.status, r.body).to.equal(201);
    expect(await readFile(join(s.root, 'home', 'alice', 'mine.txt'), 'utf8')).to.equal('hello');
    expect((await s.req('GET', '/dav/mine.txt', { headers: alice })).body).to.equal('hello');
    expect((await s.req('GET', '/dav/mine.txt', { headers: bob })).status).to.equal(404);
  });

  it('a page session needs its CSRF token to create, append or abandon (a cross-site form cannot)', async () => {
    const login = await s.req('POST', '/dav/.dav/login', {
      headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ user: 'alice', password: 'a-secret', next: '/dav/' }).toString(),
    });
    const cookie = { Cookie: `dav_session=${/dav_session=([^;]*)/.exec(String(login.headers['set-cookie']))![1]}` };
    const csrf = { 'X-CSRF-Token': /data-csrf="([^"]+)"/.exec((await s.req('GET', '/dav/', { headers: { ...cookie, Accept: 'text/html' } })).body)![1]! };
    const headers = { ...TUS, ...cookie, 'Upload-Length': '4', 'Upload-Metadata': tusMetadata({ path: '/dav/session.txt' }) };
    expect((await s.req('POST', '/dav/.dav/uploads/', { headers })).status).to.equal(403);
    const c = await s.req('POST', '/dav/.dav/uploads/', { headers: { ...headers, ...csrf } });
    expect(c.status, c.body).to.equal(201);
    const loc = c.headers.location!;
    expect((await s.req('PATCH', loc, { headers: { ...patchHeaders(0), ...cookie }, body: 'sess' })).status).to.equal(403);
    expect((await s.req('DELETE', loc, { headers: { ...TUS, ...cookie } })).status).to.equal(403);
    expect((await s.req('HEAD', loc, { headers: { ...TUS, ...cookie } })).headers['upload-offset']).to.equal('0');
    const r = await s.req('PATCH', loc, { headers: { ...patchHeaders(0), ...cookie, ...csrf }, body: 'sess' });
    expect(r.status, r.body).to.equal(201);
    expect(await readFile(join(s.root, 'home', 'alice', 'session.txt'), 'utf8')).to.equal('sess');
  });
});
