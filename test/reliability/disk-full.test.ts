/**
 * Disk full, for real: the test mounts a 2 MiB tmpfs (it must run as root, as CI does; anything
 * else fails loudly with the reason) and serves it. Every write that runs out of space must
 * answer 507, leave the old content and no temp file behind, and the server must keep going.
 */
import { expect } from 'chai';
import { execFileSync } from 'node:child_process';
import { promises as fsp } from 'node:fs';
import { join } from 'node:path';
import { makeTempDir, lockBody, startTestServer, type TestServer } from '../helpers/server.js';

const MiB = 1024 * 1024;

async function litter(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const e of await fsp.readdir(dir, { recursive: true })) if (/\.~davtmp-|\.tmp$|^\.davmeta\/staging\/[^/]+\/[^/.][^/]*$/.test(e)) out.push(e);
  return out;
}

/** Fills the filesystem with a file until the kernel says ENOSPC. */
async function fillUp(file: string): Promise<void> {
  const fh = await fsp.open(file, 'w');
  const chunk = Buffer.alloc(64 * 1024, 7);
  try {
    for (;;) await fh.write(chunk);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOSPC') throw e;
  } finally {
    await fh.close();
  }
  // The last partial chunk may have fitted in part; use up the final bytes too.
  const small = await fsp.open(file, 'a');
  try {
    for (;;) await small.write(Buffer.alloc(512, 7));
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOSPC') throw e;
  } finally {
    await small.close();
  }
}

describe('reliability: disk full (ENOSPC on a 2 MiB tmpfs)', function () {
  this.timeout(60_000);
  let mnt: string;
  let srv: TestServer;

  before(async () => {
    mnt = await makeTempDir('enospc');
    if (process.getuid?.() !== 0) throw new Error(`the disk-full test mounts a tmpfs and must run as root (uid is ${process.getuid?.()}); CI runs as root`);
    try {
      execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=2m,mode=0755', 'tmpfs', mnt], { stdio: 'pipe' });
    } catch (e) {
      throw new Error(`cannot mount a tmpfs for the disk-full test: ${(e as { stderr?: Buffer }).stderr?.toString().trim() || (e as Error).message}`);
    }
    srv = await startTestServer({ root: mnt });
  });

  after(async () => {
    await srv?.close();
    try {
      execFileSync('umount', [mnt], { stdio: 'pipe' });
    } finally {
      await fsp.rm(mnt, { recursive: true, force: true });
    }
  });

  it('answers 507 to a PUT that does not fit, keeps the old content and leaves no temp file', async () => {
    expect((await srv.req('PUT', '/a.txt', { body: 'old content' })).status).to.equal(201);
    const big = Buffer.alloc(4 * MiB, 1);
    const res = await srv.req('PUT', '/a.txt', { body: big });
    expect(res.status).to.equal(507);
    expect((await srv.req('GET', '/a.txt')).body).to.equal('old content');
    expect(await litter(mnt)).to.deep.equal([]);
    const created = await srv.req('PUT', '/new.bin', { body: big });
    expect(created.status).to.equal(507);
    expect((await srv.req('GET', '/new.bin')).status).to.equal(404);
    expect(await litter(mnt)).to.deep.equal([]);
  });

  it('answers 507 to a chunked PUT that runs out of space mid-stream', async () => {
    const res = await new Promise<number>((resolve, reject) => {
      import('node:http').then(({ request }) => {
        const req = request({ host: '127.0.0.1', port: srv.running.port, method: 'PUT', path: '/a.txt', agent: false }, (r) => {
          r.resume();
          resolve(r.statusCode ?? 0);
        });
        req.on('error', reject);
        let sent = 0;
        const pump = (): void => {
          while (sent < 4 * MiB) {
            sent += 64 * 1024;
            if (!req.write(Buffer.alloc(64 * 1024, 2))) return void req.once('drain', pump);
          }
          req.end();
        };
        pump();
      }, reject);
    }).catch((e: NodeJS.ErrnoException) => (e.code === 'ECONNRESET' || e.code === 'EPIPE' ? 507 : Promise.reject(e)));
    expect(res).to.equal(507);
    expect((await srv.req('GET', '/a.txt')).body).to.equal('old content');
    expect(await litter(mnt)).to.deep.equal([]);
  });

  it('answers 507 (never 500) to every kind of write once the disk is completely full', async () => {
    expect((await srv.req('MKCOL', '/dir')).status).to.equal(201);
    expect((await srv.req('PUT', '/dir/f', { body: 'x'.repeat(10) })).status).to.equal(201);
    await fillUp(join(mnt, 'filler'));
    const statuses: Record<string, number> = {};
    statuses.put = (await srv.req('PUT', '/a.txt', { body: 'new content, longer than before' })).status;
    statuses.putNew = (await srv.req('PUT', '/b.txt', { body: 'b'.repeat(10_000) })).status;
    statuses.mkcol = (await srv.req('MKCOL', '/dir2')).status;
    const copy = await srv.req('COPY', '/dir', { headers: { Destination: `${srv.base}/dir3` } });
    statuses.copy = copy.status;
    // A collection copy that fails part way names the members that failed, with 507.
    if (copy.status === 207) expect(copy.body).to.match(/HTTP\/1\.1 507/);
    statuses.proppatch = (
      await srv.req('PROPPATCH', '/a.txt', {
        body: `<?xml version="1.0"?><D:propertyupdate xmlns:D="DAV:" xmlns:Z="urn:z"><D:set><D:prop><Z:big>${'z'.repeat(20_000)}</Z:big></D:prop></D:set></D:propertyupdate>`,
      })
    ).status;
    statuses.lock = (await srv.req('LOCK', '/lockme', { body: lockBody(), headers: { Timeout: 'Second-60' } })).status;
    for (const [k, s] of Object.entries(statuses)) expect(s, `${k} on a full disk`).to.be.oneOf([507, 207, 201, 200]);
    expect(statuses.put, 'put').to.equal(507);
    expect(statuses.putNew, 'putNew').to.equal(507);
    expect(statuses.proppatch, 'proppatch').to.equal(507);
    expect(statuses.lock, 'lock').to.equal(507);
    expect((await srv.req('GET', '/lockme')).status, 'a refused LOCK leaves no empty file').to.equal(404);
    // The old content is intact and reads still work.
    expect((await srv.req('GET', '/a.txt')).body).to.equal('old content');
    expect((await srv.req('PROPFIND', '/', { headers: { Depth: '1' } })).status).to.equal(207);
    expect(await litter(mnt)).to.deep.equal([]);
    // Space freed: writes work again.
    await fsp.rm(join(mnt, 'filler'));
    expect((await srv.req('PUT', '/a.txt', { body: 'after' })).status).to.equal(204);
    expect((await srv.req('GET', '/a.txt')).body).to.equal('after');
  });
});
