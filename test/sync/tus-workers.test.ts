/**
 * tus with --workers 2 over Redis: upload sessions and leases live in Redis, bytes on the shared
 * directory, so PATCHes spread over both workers (a new connection each: node:cluster hands
 * connections out in turn) build one file with the right checksums, and two PATCHes racing on
 * one upload never both write.
 */
import { expect } from 'chai';
import { createHash, randomBytes } from 'node:crypto';
import { readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { makeTempDir, request, spawnCli, type CliServer } from '../helpers/server.js';
import { ensureBuilt } from '../helpers/dav.js';
import { TestRedis } from '../redis/redis-server.js';
import { patchHeaders, TUS, tusMetadata } from './helpers.js';

const hex = (alg: string, b: Buffer): string => createHash(alg).update(b).digest('hex');

describe('tus with --workers 2 and Redis', function () {
  this.timeout(120_000);
  let redis: TestRedis;
  let root: string;
  let srv: CliServer;

  before(async () => {
    await ensureBuilt();
    redis = await TestRedis.start();
    root = await makeTempDir('tus-workers');
    srv = await spawnCli(['--root', root, '--port', '0', '--workers', '2', '--lock-store', redis.url]);
  });
  after(async () => {
    await srv?.stop();
    await redis?.stop();
    await rm(root, { recursive: true, force: true });
  });

  it('chunks spread over both workers make one file with the right checksums', async () => {
    const body = randomBytes(6 * 1024 * 1024 + 333);
    const c = await request(srv.base, 'POST', '/.dav/uploads/', { headers: { ...TUS, 'Upload-Length': String(body.length), 'Upload-Metadata': tusMetadata({ path: '/w.bin' }) } });
    expect(c.status, c.body).to.equal(201);
    const loc = c.headers.location!;
    const step = 700_000;
    let last;
    for (let off = 0; off < body.length; off += step) {
      const h = await request(srv.base, 'HEAD', loc);
      expect(h.headers['upload-offset']).to.equal(String(off));
      last = await request(srv.base, 'PATCH', loc, { headers: patchHeaders(off), body: body.subarray(off, off + step) });
      expect([201, 204], last.body).to.include(last.status);
    }
    expect(last!.status).to.equal(201);
    expect((await readFile(join(root, 'w.bin'))).equals(body)).to.equal(true);
    const head = await request(srv.base, 'HEAD', '/w.bin');
    expect(head.headers['oc-checksum']).to.equal(`SHA1:${hex('sha1', body)}`);
    const rec = JSON.parse(await readFile(join(root, '.davmeta', 'sums', 'root.d', 'w.bin.s'), 'utf8'));
    expect(rec.d).to.deep.equal({ sha1: hex('sha1', body), md5: hex('md5', body), sha256: hex('sha256', body) });
  });

  it('two PATCHes racing at the same offset: one writes, the other is refused, the file is whole', async () => {
    const body = randomBytes(2 * 1024 * 1024);
    const c = await request(srv.base, 'POST', '/.dav/uploads/', { headers: { ...TUS, 'Upload-Length': String(body.length), 'Upload-Metadata': tusMetadata({ path: '/race.bin' }) } });
    const loc = c.headers.location!;
    const half = body.length / 2;
    const [a, b] = await Promise.all([
      request(srv.base, 'PATCH', loc, { headers: patchHeaders(0), body: body.subarray(0, half) }),
      request(srv.base, 'PATCH', loc, { headers: patchHeaders(0), body: body.subarray(0, half) }),
    ]);
    // The first to get the lease writes; the other either stopped it (and then finds a stored
    // prefix: 409) or waited for it (409), or could not get it in time (423).
    const statuses = [a.status, b.status].sort();
    expect(statuses[0], `${a.status} ${a.body} / ${b.status} ${b.body}`).to.be.oneOf([204, 409, 423]);
    let offset = Number((await request(srv.base, 'HEAD', loc)).headers['upload-offset']);
    expect(offset).to.be.at.most(half);
    const r = await request(srv.base, 'PATCH', loc, { headers: patchHeaders(offset), body: body.subarray(offset) });
    expect(r.status, r.body).to.equal(201);
    offset = body.length;
    expect((await readFile(join(root, 'race.bin'))).equals(body)).to.equal(true);
    expect((await request(srv.base, 'HEAD', '/race.bin')).headers['oc-checksum']).to.equal(`SHA1:${hex('sha1', body)}`);
  });
});
