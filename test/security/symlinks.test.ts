/**
 * Symbolic links inside the root: one whose target stays inside is served like the target;
 * one that leads outside (or dangles) is refused with 403 when addressed and left out of
 * listings, and no method follows it out (read, write, copy, delete, move).
 */
import { expect } from 'chai';
import { mkdir, readdir, readFile, readlink, rm, symlink, writeFile, lstat } from 'node:fs/promises';
import { join } from 'node:path';
import { startTestServer } from '../helpers/server.js';
import { CANARY_TEXT, guardedServer } from './helpers.js';

describe('security: symlinks', function () {
  this.timeout(30_000);
  const g = guardedServer('links', async (f) => {
    await writeFile(join(f.root, 'inside.txt'), 'inside');
    await mkdir(join(f.root, 'dir'));
    await writeFile(join(f.root, 'dir', 'ok.txt'), 'ok');
    await symlink(f.canary, join(f.root, 'out-file'));
    await symlink(f.outer, join(f.root, 'out-dir'));
    await symlink('../canary.txt', join(f.root, 'rel-out'));
    await symlink('/nonexistent-webdav-target', join(f.root, 'dangling'));
    await symlink(join(f.root, 'inside.txt'), join(f.root, 'in-link'));
    await symlink('dir', join(f.root, 'in-dir'));
    await symlink(f.canary, join(f.root, 'dir', 'leak'));
  });

  it('refuses to read through links that lead outside', async () => {
    for (const p of ['/out-file', '/rel-out', '/out-dir/canary.txt', '/out-dir', '/dangling']) {
      for (const m of ['GET', 'HEAD', 'PROPFIND']) {
        const r = await g.srv.req(m, p, { headers: { Depth: '0' } });
        expect(r.status, `${m} ${p}`).to.equal(403);
        expect(r.body).to.not.include(CANARY_TEXT);
      }
    }
    const d = await g.srv.req('PROPFIND', '/out-dir', { headers: { Depth: '1' } });
    expect(d.status).to.equal(403);
  });

  it('serves links whose target stays inside the root', async () => {
    expect((await g.srv.req('GET', '/in-link')).body).to.equal('inside');
    expect((await g.srv.req('GET', '/in-dir/ok.txt')).body).to.equal('ok');
  });

  it('leaves outside links out of listings', async () => {
    const r = await g.srv.req('PROPFIND', '/', { headers: { Depth: '1' } });
    expect(r.status).to.equal(207);
    expect(r.body).to.include('<D:href>/in-link</D:href>');
    for (const n of ['out-file', 'out-dir', 'rel-out', 'dangling']) expect(r.body).to.not.include(`/${n}<`);
    const inner = await g.srv.req('PROPFIND', '/dir', { headers: { Depth: 'infinity' } });
    expect(inner.body).to.not.include('leak');
    const html = await g.srv.req('GET', '/');
    expect(html.body).to.not.include('out-file');
  });

  it('refuses to write, lock or change properties through them', async () => {
    expect((await g.srv.req('PUT', '/out-file', { body: 'PWNED' })).status).to.equal(403);
    expect((await g.srv.req('PUT', '/out-dir/new.txt', { body: 'PWNED' })).status).to.equal(403);
    expect((await g.srv.req('PUT', '/out-dir/canary.txt', { body: 'PWNED' })).status).to.equal(403);
    expect((await g.srv.req('MKCOL', '/out-dir/newdir')).status).to.equal(403);
    const lock = '<?xml version="1.0"?><D:lockinfo xmlns:D="DAV:"><D:lockscope><D:exclusive/></D:lockscope><D:locktype><D:write/></D:locktype></D:lockinfo>';
    expect((await g.srv.req('LOCK', '/out-dir/x.txt', { body: lock })).status).to.equal(403);
    const pp = '<?xml version="1.0"?><D:propertyupdate xmlns:D="DAV:"><D:set><D:prop><x:a xmlns:x="urn:x">1</x:a></D:prop></D:set></D:propertyupdate>';
    expect((await g.srv.req('PROPPATCH', '/out-file', { body: pp })).status).to.equal(403);
  });

  it('does not copy an outside file in, through the source or a member of a copied collection', async () => {
    expect((await g.srv.req('COPY', '/out-file', { headers: { Destination: '/stolen.txt' } })).status).to.equal(403);
    expect((await g.srv.req('COPY', '/dir', { headers: { Destination: '/dir2' } })).status).to.equal(201);
    expect((await readdir(join(g.f.root, 'dir2'))).sort()).to.deep.equal(['ok.txt']);
    expect((await g.srv.req('COPY', '/inside.txt', { headers: { Destination: '/out-dir/copied.txt' } })).status).to.equal(403);
    expect(await readdir(g.f.root)).to.not.include('stolen.txt');
  });

  it('serves a root that is itself a symlink', async () => {
    const link = join(g.f.outer, '..', `${g.f.outer.split('/').pop()}-rootlink`);
    await symlink(g.f.root, link);
    const other = await startTestServer({ root: link });
    try {
      expect((await other.req('GET', '/inside.txt')).body).to.equal('inside');
      expect((await other.req('GET', '/out-file')).status).to.equal(403);
      expect((await other.req('GET', '/in-link')).body).to.equal('inside');
    } finally {
      await other.close();
      await rm(link, { force: true });
    }
  });

  it('does not delete or move through them', async () => {
    expect((await g.srv.req('DELETE', '/out-dir/canary.txt')).status).to.equal(403);
    expect((await g.srv.req('MOVE', '/out-dir/canary.txt', { headers: { Destination: '/moved.txt' } })).status).to.equal(403);
    expect((await g.srv.req('MOVE', '/inside.txt', { headers: { Destination: '/out-dir/moved.txt' } })).status).to.equal(403);
    expect((await g.srv.req('DELETE', '/out-file')).status).to.equal(403);
    expect(await readFile(join(g.f.root, 'inside.txt'), 'utf8')).to.equal('inside');
    expect((await lstat(join(g.f.root, 'out-file'))).isSymbolicLink()).to.equal(true);
    expect(await readlink(join(g.f.root, 'out-file'))).to.equal(g.f.canary);
  });
});

describe('special files in the root', () => {
  it('a GET on a named pipe answers 403 at once instead of blocking a worker thread', async function () {
    const { execFileSync } = await import('node:child_process');
    const s = await startTestServer();
    try {
      execFileSync('mkfifo', [join(s.root, 'pipe')]);
      for (let i = 0; i < 8; i++) {
        // More requests than libuv has threads: a blocking open would hang the later ones.
        const r = await s.req('GET', '/pipe');
        expect(r.status).to.equal(403);
      }
      await writeFile(join(s.root, 'ok.txt'), 'still serving');
      expect((await s.req('GET', '/ok.txt')).body).to.equal('still serving');
    } finally {
      await s.close();
    }
  });

  it('the page skips named pipes: its listing, a zip of the folder and thumbnails answer at once', async function () {
    const { execFileSync } = await import('node:child_process');
    const s = await startTestServer();
    try {
      await mkdir(join(s.root, 'dir'));
      await writeFile(join(s.root, 'dir', 'a.txt'), 'AAAA');
      for (let i = 0; i < 6; i++) execFileSync('mkfifo', [join(s.root, 'dir', `pipe${i}.jpg`)]);
      // More of each than libuv has threads: a blocking open would hang the later ones and everyone after.
      const thumbs = await Promise.all(Array.from({ length: 6 }, (_, i) => s.req('GET', `/dir/pipe${i}.jpg?thumb=64`)));
      for (const t of thumbs) expect(t.status).to.be.oneOf([403, 404]);
      for (let i = 0; i < 3; i++) {
        const zip = await s.req('GET', '/dir/?download=zip');
        expect(zip.status).to.equal(200);
        expect(zip.headers['content-type']).to.equal('application/zip');
        expect(zip.raw.includes('a.txt')).to.equal(true);
        expect(zip.raw.includes('pipe')).to.equal(false);
      }
      const page = await s.req('GET', '/dir/', { headers: { Accept: 'text/html' } });
      expect(page.status).to.equal(200);
      expect(page.body).to.contain('a.txt');
      expect(page.body).to.not.contain('pipe0.jpg');
      await writeFile(join(s.root, 'ok.txt'), 'still serving');
      expect((await s.req('GET', '/ok.txt')).body).to.equal('still serving');
    } finally {
      await s.close();
    }
  });
});
