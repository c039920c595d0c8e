/**
 * kill -9 for real: the compiled server runs as a child process, gets SIGKILL in the middle of
 * an upload (and, in a second test, in the middle of a storm of dead-property and lock-store
 * writes), and is started again on the same directory. The old bytes must be intact, the
 * metadata readable, and the temp files of the interrupted writes gone after the restart.
 */
import { expect } from 'chai';
import { request as httpRequest } from 'node:http';
import { promises as fsp } from 'node:fs';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { lockBody, makeTempDir, request, spawnCli, type CliServer } from '../helpers/server.js';
import { stagedFiles } from '../helpers/dav.js';

/** Temp files of interrupted writes: staged uploads and copies, metadata temp files, legacy upload temp files. */
async function findLitter(dir: string): Promise<string[]> {
  const names = (await fsp.readdir(dir, { recursive: true })) as string[];
  return names.filter((n) => /(^|\/)\.~davtmp-|\.tmp$|^\.davmeta\/staging\/[^/]+\/[^/.][^/]*$/.test(n));
}

async function waitFor(what: string, cond: () => Promise<boolean>, ms = 10_000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

const proppatch = (value: string): string =>
  `<?xml version="1.0"?><D:propertyupdate xmlns:D="DAV:" xmlns:Z="urn:z"><D:set><D:prop><Z:v>${value}</Z:v></D:prop></D:set></D:propertyupdate>`;

describe('reliability: kill -9', function () {
  this.timeout(60_000);
  let root: string;
  let srv: CliServer | undefined;

  beforeEach(async () => {
    root = await makeTempDir('kill9');
  });
  afterEach(async () => {
    await srv?.stop('SIGKILL');
    srv = undefined;
    await fsp.rm(root, { recursive: true, force: true });
  });

  it('mid-upload leaves the old bytes intact, and the restart removes the temp file', async () => {
    srv = await spawnCli(['--root', root, '--port', '0']);
    const old = randomBytes(1024 * 1024);
    expect((await request(srv.base, 'PUT', '/big.bin', { body: old })).status).to.equal(201);
    expect((await request(srv.base, 'PROPPATCH', '/big.bin', { body: proppatch('kept') })).status).to.equal(207);
    const locked = await request(srv.base, 'LOCK', '/big.bin', { body: lockBody(), headers: { Timeout: 'Second-3600' } });
    expect(locked.status).to.equal(200);
    const token = String(locked.headers['lock-token']);

    // Start replacing it with 8 MiB, send 3 MiB, and kill the server while it is writing.
    const port = new URL(srv.base).port;
    const req = httpRequest({ host: '127.0.0.1', port, method: 'PUT', path: '/big.bin', headers: { 'Content-Length': 8 * 1024 * 1024, If: `(${token})` }, agent: false });
    req.on('error', () => undefined);
    req.write(randomBytes(3 * 1024 * 1024));
    await waitFor('the upload temp file to grow', async () => {
      for (const n of await findLitter(root)) if ((await fsp.stat(join(root, n))).size > 1024 * 1024) return true;
      return false;
    });
    await srv.stop('SIGKILL');
    req.destroy();
    srv = undefined;

    // Right after the kill: the target is the old file, the temp file is still there.
    expect((await fsp.readFile(join(root, 'big.bin'))).equals(old)).to.equal(true);
    expect((await findLitter(root)).length).to.equal(1);

    srv = await spawnCli(['--root', root, '--port', '0', '--fsync']);
    await waitFor('the start-up sweep to remove the temp file', async () => (await findLitter(root)).length === 0);
    const got = await request(srv.base, 'GET', '/big.bin');
    expect(got.status).to.equal(200);
    expect(got.raw.equals(old)).to.equal(true);
    const list = await request(srv.base, 'PROPFIND', '/', { headers: { Depth: '1' } });
    expect(list.body).to.not.include('davtmp');
    // Dead property and lock survived the kill.
    const props = await request(srv.base, 'PROPFIND', '/big.bin', {
      headers: { Depth: '0' },
      body: '<?xml version="1.0"?><D:propfind xmlns:D="DAV:" xmlns:Z="urn:z"><D:prop><Z:v/><D:lockdiscovery/></D:prop></D:propfind>',
    });
    expect(props.body).to.include('kept');
    expect(props.body).to.include(token.slice(1, -1));
    expect((await request(srv.base, 'PUT', '/big.bin', { body: 'no token' })).status).to.equal(423);
    // Uploads with --fsync work like any other.
    expect((await request(srv.base, 'PUT', '/synced.bin', { body: old })).status).to.equal(201);
    expect((await request(srv.base, 'GET', '/synced.bin')).raw.equals(old)).to.equal(true);
  });

  it('mid-COPY leaves the destination absent (never partial), and the restart sweeps the staged copy', async function () {
    // 3,000 files and 256 MiB written, copied twice: over a minute on a loaded 2-core box.
    this.timeout(180_000);
    srv = await spawnCli(['--root', root, '--port', '0']);
    await fsp.mkdir(join(root, 'tree'));
    const chunk = randomBytes(64 * 1024);
    await Promise.all(Array.from({ length: 3000 }, (_, i) => fsp.writeFile(join(root, 'tree', `f${i}`), chunk)));
    const big = Buffer.alloc(256 * 1024 * 1024, randomBytes(4096));
    await fsp.writeFile(join(root, 'big.bin'), big);
    for (const [src, dst] of [
      ['/tree', 'tree-copy'],
      ['/big.bin', 'big-copy.bin'],
    ] as const) {
      const copying = request(srv!.base, 'COPY', src, { headers: { Destination: `/${dst}` } }).catch(() => 'killed');
      // Frozen before it is looked at: a staged file seen while the server is stopped is a copy
      // still under way (it is renamed into place only complete), so the kill lands mid-COPY even
      // when the copy is quick and this process slow to notice.
      const proc = srv!.proc;
      await waitFor(`the copy of ${src} to be under way`, async () => {
        proc.kill('SIGSTOP');
        if ((await stagedFiles(root)).length > 0) return true;
        proc.kill('SIGCONT');
        return false;
      }, 10_000);
      await srv!.stop('SIGKILL');
      expect(await copying).to.equal('killed');
      await fsp.access(join(root, dst)).then(
        () => expect.fail(`${dst} exists after a kill mid-COPY`),
        () => undefined,
      );
      srv = await spawnCli(['--root', root, '--port', '0']);
      await waitFor('the sweep of the staged copy', async () => (await findLitter(root)).length === 0);
      const again = await request(srv.base, 'COPY', src, { headers: { Destination: `/${dst}` } });
      expect(again.status).to.equal(201);
    }
    expect((await fsp.readdir(join(root, 'tree-copy'))).length).to.equal(3000);
    expect((await fsp.readFile(join(root, 'big-copy.bin'))).equals(big)).to.equal(true);
  });

  it('during a storm of property and lock writes leaves every metadata file parseable', async () => {
    for (let round = 0; round < 4; round++) {
      srv = await spawnCli(['--root', root, '--port', '0']);
      const base = srv.base;
      if (round === 0) for (let i = 0; i < 8; i++) expect((await request(base, 'PUT', `/f${i}`, { body: `file ${i}` })).status).to.equal(201);
      let stop = false;
      const patched = new Set<number>();
      const workers = Array.from({ length: 8 }, async (_, i) => {
        for (let n = 0; !stop; n++) {
          try {
            if ((await request(base, 'PROPPATCH', `/f${i}`, { body: proppatch(`round ${round} write ${n} ${'x'.repeat(n % 500)}`) })).body.includes('200 OK')) patched.add(i);
            const l = await request(base, 'LOCK', `/f${i}`, { body: lockBody(), headers: { Timeout: 'Second-600' } });
            if (l.status === 200 && n % 2 === 0) await request(base, 'UNLOCK', `/f${i}`, { headers: { 'Lock-Token': String(l.headers['lock-token']) } });
          } catch {
            return; // the server is gone
          }
        }
      });
      // Under load the first requests of a fresh process are slow: kill only once every file has
      // a property (each file is locked after its second round trip, so later PROPPATCHes are 423).
      if (round === 0) await waitFor('a property on every file', async () => patched.size === 8, 30_000);
      await new Promise((r) => setTimeout(r, 150 + round * 70));
      await srv.stop('SIGKILL');
      stop = true;
      await Promise.all(workers);
      srv = undefined;
      // Every property file and the lock store are whole JSON documents.
      const meta = join(root, '.davmeta');
      for (const n of (await fsp.readdir(meta, { recursive: true })) as string[]) {
        if (!/(\.p|locks\.json)$/.test(n)) continue;
        const text = await fsp.readFile(join(meta, n), 'utf8');
        expect(() => JSON.parse(text), `${n} after kill ${round}`).to.not.throw();
      }
    }
    // The server starts on what the kills left, and temp files are swept.
    srv = await spawnCli(['--root', root, '--port', '0']);
    await waitFor('the sweep', async () => (await findLitter(root)).length === 0);
    const p = await request(srv.base, 'PROPFIND', '/f0', { headers: { Depth: '0' }, body: '<?xml version="1.0"?><D:propfind xmlns:D="DAV:" xmlns:Z="urn:z"><D:prop><Z:v/></D:prop></D:propfind>' });
    expect(p.status).to.equal(207);
    expect(p.body).to.match(/round \d write \d+/);
  });
});
