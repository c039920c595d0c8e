/**
 * Control characters in names and stored XML: a name with one is refused where a request would
 * create it (PUT, MKCOL, LOCK, the Destination of COPY and MOVE), &#1; in a dead property or a
 * lock owner is refused, and files that already carry such names on disk are listed as
 * well-formed XML (checked with the strict parser and with rclone), reachable to rename them.
 */
import { expect } from 'chai';
import { readdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { lockBody } from '../helpers/server.js';
import { multistatus, propText, DAV } from '../helpers/dav.js';
import { requireProgram, run } from '../helpers/run.js';
import { guardedServer } from './helpers.js';
import { patchHeaders, TUS, tusMetadata } from '../sync/helpers.js';

const names = async (dir: string): Promise<string[]> => (await readdir(dir)).filter((n) => n !== '.davmeta').sort();

describe('security: control characters in names and stored XML', function () {
  this.timeout(60_000);
  const g = guardedServer('names', async (f) => {
    await writeFile(join(f.root, 'ok.txt'), 'ok');
  });

  it('refuses to create names with control characters: PUT, MKCOL, LOCK, COPY and MOVE destinations', async () => {
    const before = await names(g.f.root);
    const bad = ['a%01b.txt', 'tab%09name', 'nl%0Aname', 'cr%0D', 'esc%1B%5B31m', 'del%7F', 'nul%00x', 'nonchar%EF%BF%BE', 'sub%1Fdir'];
    for (const n of bad) {
      for (const [method, body] of [['PUT', 'x'], ['MKCOL', undefined], ['LOCK', lockBody()]] as const) {
        const r = await g.srv.req(method, `/${n}`, { body });
        expect(r.status, `${method} ${n}`).to.equal(400);
        expect(r.body).to.match(/control characters/);
      }
      for (const method of ['COPY', 'MOVE']) {
        for (const dest of [`/${n}`, `${g.srv.base}/${n}`, `/sub/${n}/x.txt`]) {
          const r = await g.srv.req(method, '/ok.txt', { headers: { Destination: dest } });
          expect(r.status, `${method} -> ${dest}`).to.equal(400);
        }
      }
    }
    expect(await names(g.f.root)).to.deep.equal(before);
    // Ordinary unusual names still work.
    for (const p of ['/with%20space.txt', '/%C3%9Cn%C3%AFc%C3%B6d%C3%A9%20%E2%98%BA.txt', "/quote'%22amp%26.txt", '/percent%25.txt']) {
      expect((await g.srv.req('PUT', p, { body: 'x' })).status, p).to.equal(201);
    }
  });

  it('refuses them as the target of a resumable (tus) upload, whether the path is encoded or raw', async () => {
    const before = await names(g.f.root);
    for (const target of ['/a%01b.txt', '/esc%1B%5B31m.txt', '/raw\u0001name.txt', '/sub%0Adir/x.txt']) {
      const r = await g.srv.req('POST', '/.dav/uploads/', { headers: { ...TUS, 'Upload-Length': '1', 'Upload-Metadata': tusMetadata({ path: target }) } });
      expect(r.status, target).to.equal(400);
      expect(r.body).to.match(/control characters/);
    }
    expect(await names(g.f.root)).to.deep.equal(before);
    // An ordinary name goes through the same route.
    const ok = await g.srv.req('POST', '/.dav/uploads/', { headers: { ...TUS, 'Upload-Length': '1', 'Upload-Metadata': tusMetadata({ path: '/tus%20ok.txt' }) } });
    expect(ok.status).to.equal(201);
    const patch = await g.srv.req('PATCH', new URL(ok.headers.location!, g.srv.base).pathname, { headers: patchHeaders(0), body: 'y' });
    expect(patch.status).to.be.oneOf([201, 204]);
    expect((await g.srv.req('GET', '/tus%20ok.txt')).body).to.equal('y');
  });

  it('refuses &#1; and raw control characters in dead property values and lock owners', async () => {
    const pp = (value: string): string =>
      `<?xml version="1.0"?><D:propertyupdate xmlns:D="DAV:"><D:set><D:prop><x:note xmlns:x="urn:x">${value}</x:note></D:prop></D:set></D:propertyupdate>`;
    for (const v of ['&#1;', '&#x1b;[31m', 'a\u0001b', '<x:y a="&#7;"/>']) {
      expect((await g.srv.req('PROPPATCH', '/ok.txt', { body: pp(v) })).status, v).to.equal(400);
      expect((await g.srv.req('LOCK', '/ok.txt', { body: lockBody('exclusive', `<D:href>${v}</D:href>`) })).status, v).to.equal(400);
    }
    const listing = multistatus(await g.srv.req('PROPFIND', '/', { headers: { Depth: '1' } }));
    expect(listing.get('/ok.txt')).to.not.equal(undefined);
    expect(listing.get('/ok.txt')!.propstats.flatMap((p) => p.props).some((p) => p.ns === 'urn:x')).to.equal(false);
  });

  it('lists files that already carry control characters in well-formed XML, and lets them be renamed', async () => {
    const odd = ['bad\u0001name.txt', 'line\nbreak.txt', 'esc\u001b[31mred.txt', 'tab\tname.txt'];
    for (const n of odd) await writeFile(join(g.f.root, n), n);
    try {
      const r = await g.srv.req('PROPFIND', '/', { headers: { Depth: '1' } });
      // multistatus() parses with the server's own parser, which refuses any control character.
      const listing = multistatus(r);
      const hrefs = [...listing.keys()];
      for (const href of ['/bad%01name.txt', '/line%0Abreak.txt', '/esc%1B%5B31mred.txt', '/tab%09name.txt']) expect(hrefs).to.include(href);
      expect(propText(listing.get('/bad%01name.txt')!, DAV, 'displayname')).to.equal('bad\ufffdname.txt');
      expect(propText(listing.get('/tab%09name.txt')!, DAV, 'displayname')).to.equal('tab\tname.txt');
      // rclone (which gave up on the whole folder before) lists every member.
      const rclone = requireProgram('rclone', 'rclone');
      const out = await run(rclone, ['lsjson', ':webdav:', `--webdav-url=${g.srv.base}/`, '--retries', '1'], { timeoutMs: 30_000 });
      expect(out.code, out.output).to.equal(0);
      const listed = (JSON.parse(out.stdout) as { Path: string }[]).map((e) => e.Path);
      expect(listed).to.include.members(['ok.txt', 'line\nbreak.txt', 'tab\tname.txt']);
      expect(listed.length).to.be.at.least(5);
      // The name is intact in its href, so it can be fetched and moved to a clean name.
      expect((await g.srv.req('GET', '/bad%01name.txt')).body).to.equal('bad\u0001name.txt');
      expect((await g.srv.req('MOVE', '/bad%01name.txt', { headers: { Destination: '/clean.txt' } })).status).to.equal(201);
      expect((await g.srv.req('DELETE', '/line%0Abreak.txt')).status).to.equal(204);
    } finally {
      for (const n of await readdir(g.f.root)) if (n !== '.davmeta' && n !== 'ok.txt') await rm(join(g.f.root, n), { recursive: true, force: true });
    }
  });
});
