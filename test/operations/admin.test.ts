/**
 * The admin listener (--admin-port): /metrics values move as requests are driven, /healthz
 * answers, /readyz reports the storage root and the lock store (503 when either fails, 200
 * when they are back: Redis stopped and restarted), loopback by default, aggregated across
 * --workers.
 */
import { expect } from 'chai';
import { rename, rm } from 'node:fs/promises';
import { connect, type Socket } from 'node:net';
import { join } from 'node:path';
import { startServer, type RunningServer } from '../../src/app.js';
import { makeTempDir, request, spawnCli, type CliServer, type Res } from '../helpers/server.js';
import { basic, writeHtpasswd } from '../helpers/auth.js';
import { ensureBuilt, eventually, lockOk, streamRequest } from '../helpers/dav.js';
import { TestRedis } from '../redis/redis-server.js';

/** `name{labels} value` lines of a Prometheus text body -> value by series. */
function series(body: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of body.split('\n')) {
    if (!line || line.startsWith('#')) continue;
    const i = line.lastIndexOf(' ');
    out.set(line.slice(0, i), Number(line.slice(i + 1)));
  }
  return out;
}

const value = (m: Map<string, number>, key: string): number => m.get(key) ?? 0;

describe('admin listener', function () {
  this.timeout(120_000);

  describe('in one process', () => {
    let dir: string;
    let root: string;
    let running: RunningServer;
    let base: string;
    let admin: string;
    const AUTH = { Authorization: basic('alice', 'pw') };
    const scrape = async (): Promise<Map<string, number>> => {
      const res = await request(admin, 'GET', '/metrics');
      expect(res.status).to.equal(200);
      expect(res.headers['content-type']).to.match(/^text\/plain; version=0\.0\.4/);
      return series(res.body);
    };

    before(async () => {
      dir = await makeTempDir('admin');
      root = join(dir, 'root');
      await import('node:fs/promises').then((f) => f.mkdir(root));
      const htpasswd = await writeHtpasswd(dir, { alice: 'pw' });
      running = await startServer({ root, host: '127.0.0.1', port: 0, quiet: true, adminPort: 0, htpasswd }, { log: () => undefined });
      base = `http://127.0.0.1:${running.port}`;
      admin = running.admin!.url.replace(/\/$/, '');
    });
    after(async () => {
      await running.close();
      await rm(dir, { recursive: true, force: true });
    });

    it('listens on loopback, on a port of its own, and answers /healthz', async () => {
      expect((running.admin!.server.address() as { address: string }).address).to.equal('127.0.0.1');
      expect(running.admin!.port).to.not.equal(running.port);
      const h = await request(admin, 'GET', '/healthz');
      expect([h.status, h.body]).to.deep.equal([200, 'ok\n']);
      const missing = await request(admin, 'GET', '/nothing');
      expect(missing.status).to.equal(404);
      expect(missing.body).to.contain('/metrics, /healthz and /readyz');
      // The WebDAV port has no such endpoints: /metrics there is just a missing file.
      expect((await request(base, 'GET', '/metrics', { headers: AUTH })).status).to.equal(404);
    });

    it('/metrics: requests by method and status, latency, bytes in and out, auth failures, locks held', async () => {
      const before = await scrape();
      const body = 'x'.repeat(10_000);
      for (let i = 0; i < 3; i++) expect((await request(base, 'PUT', `/f${i}.txt`, { body, headers: AUTH })).status).to.equal(201);
      for (let i = 0; i < 2; i++) expect((await request(base, 'GET', '/f0.txt', { headers: AUTH })).raw.length).to.equal(10_000);
      expect((await request(base, 'PROPFIND', '/', { headers: { ...AUTH, Depth: '1' } })).status).to.equal(207);
      expect((await request(base, 'GET', '/f0.txt', { headers: { Authorization: basic('alice', 'wrong') } })).status).to.equal(401);
      expect((await request(base, 'GET', '/f0.txt')).status).to.equal(401); // a challenge, not a failure
      const s = { base, root, req: (m: string, p: string, o?: object) => request(base, m, p, { ...o, headers: { ...AUTH, ...(o as { headers?: object })?.headers } }) };
      const { token } = await lockOk(s as never, '/f1.txt');
      const during = await scrape();
      expect(value(during, 'webdav_locks_held')).to.equal(1);
      expect((await request(base, 'UNLOCK', '/f1.txt', { headers: { ...AUTH, 'Lock-Token': `<${token}>` } })).status).to.equal(204);
      const after = await scrape();
      const delta = (k: string): number => value(after, k) - value(before, k);
      expect(delta('webdav_requests_total{method="PUT",status="201"}')).to.equal(3);
      expect(delta('webdav_requests_total{method="GET",status="200"}')).to.equal(2);
      expect(delta('webdav_requests_total{method="PROPFIND",status="207"}')).to.equal(1);
      expect(delta('webdav_requests_total{method="GET",status="401"}')).to.equal(2);
      expect(delta('webdav_requests_total{method="LOCK",status="200"}') + delta('webdav_requests_total{method="LOCK",status="201"}')).to.equal(1);
      expect(delta('webdav_requests_total{method="UNLOCK",status="204"}')).to.equal(1);
      expect(delta('webdav_request_duration_seconds_count{method="PUT"}')).to.equal(3);
      expect(delta('webdav_request_duration_seconds_sum{method="PUT"}')).to.be.greaterThan(0);
      expect(delta('webdav_request_duration_seconds_bucket{le="+Inf",method="PUT"}')).to.equal(3);
      expect(delta('webdav_received_bytes_total')).to.be.within(30_000, 40_000);
      expect(delta('webdav_sent_bytes_total')).to.be.within(20_000, 30_000);
      expect(delta('webdav_auth_failures_total')).to.equal(1);
      expect(value(after, 'webdav_locks_held')).to.equal(0);
      expect(value(after, 'webdav_lock_store_up{store="file"}')).to.equal(1);
      expect(after.has('webdav_fs_worker_queue_depth')).to.equal(true);
      // (their values: test/unit/storage/fs-inline.test.ts; under tsx the admin module, imported
      // on demand, has a copy of its own of the fs worker's client)
      expect(after.has('webdav_fs_inline_total')).to.equal(true);
      expect(after.has('webdav_fs_inline_slow_total')).to.equal(true);
      expect(after.has('webdav_auth_bans_total')).to.equal(true);
      expect(value(after, 'webdav_process_resident_memory_bytes')).to.be.greaterThan(0);
    });

    it('/metrics: active requests count a request in flight', async () => {
      const s = { base } as never;
      const slow = streamRequest(s, 'PUT', '/slow.txt', ['a', 'b', 'c', 'd'], { headers: { ...AUTH, 'Content-Length': 4 }, delayMs: 300 });
      expect(await eventually(async () => value(await scrape(), 'webdav_active_requests') === 1, 2000)).to.equal(true);
      expect(((await slow) as Res).status).to.equal(201);
      expect(await eventually(async () => value(await scrape(), 'webdav_active_requests') === 0, 2000)).to.equal(true);
    });

    it('/readyz: 503 while the storage root takes no writes, 200 again when it does', async () => {
      const ok = await request(admin, 'GET', '/readyz');
      expect(ok.status).to.equal(200);
      expect(ok.body).to.match(/^ready\nok {3}storage: .* takes writes\nok {3}lock store: /);
      await rename(root, `${root}-away`);
      try {
        const bad = await request(admin, 'GET', '/readyz');
        expect(bad.status).to.equal(503);
        expect(bad.body).to.match(/^not ready\nFAIL storage: .* does not take writes \(ENOENT\)/);
        expect(bad.body).to.contain('FAIL lock store');
      } finally {
        await rename(`${root}-away`, root);
      }
      expect((await request(admin, 'GET', '/readyz')).status).to.equal(200);
    });
  });

  it('counts the brute-force defender: failed logins, the ban, logins refused while banned', async () => {
    const dir = await makeTempDir('admin-defender');
    const htpasswd = await writeHtpasswd(dir, { alice: 'pw' });
    const running = await startServer({ root: dir, host: '127.0.0.1', port: 0, quiet: true, adminPort: 0, lockStore: 'memory', htpasswd, authMaxFailures: 3 }, { log: () => undefined });
    const base = `http://127.0.0.1:${running.port}`;
    try {
      const statuses: number[] = [];
      for (let i = 0; i < 5; i++) statuses.push((await request(base, 'GET', '/', { headers: { Authorization: basic('alice', `wrong${i}`) } })).status);
      // The third failure causes the ban and is answered 429 itself.
      expect(statuses).to.deep.equal([401, 401, 429, 429, 429]);
      const m = series((await request(running.admin!.url, 'GET', '/metrics')).body);
      expect(value(m, 'webdav_auth_failures_total')).to.equal(3);
      expect(value(m, 'webdav_auth_bans_total')).to.equal(1);
      expect(value(m, 'webdav_auth_refused_total')).to.equal(2);
      expect(value(m, 'webdav_requests_total{method="GET",status="429"}')).to.equal(3);
    } finally {
      await running.close();
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('counts what the connection guards do: slow bodies cut (408), connections refused (429)', async () => {
    const dir = await makeTempDir('admin-guards');
    const running = await startServer(
      { root: dir, host: '127.0.0.1', port: 0, quiet: true, adminPort: 0, lockStore: 'memory', maxClientConnections: 2, bodyTimeout: 1, minBodyRate: 1000 },
      { log: () => undefined },
    );
    const scrape = async (): Promise<Map<string, number>> => series((await request(running.admin!.url, 'GET', '/metrics')).body);
    const open = (): Promise<Socket> =>
      new Promise((resolve, reject) => {
        const s = connect({ port: running.port, host: '127.0.0.1' }, () => resolve(s));
        s.once('error', reject);
      });
    const answer = (s: Socket): Promise<string> =>
      new Promise((resolve) => {
        let text = '';
        s.on('data', (d: Buffer) => (text += d.toString('latin1')));
        s.on('close', () => resolve(text));
        s.on('error', () => undefined);
      });
    const held: Socket[] = [];
    try {
      const before = await scrape();
      expect(value(before, 'webdav_slow_bodies_cut_total')).to.equal(0);
      expect(value(before, 'webdav_connections_refused_total')).to.equal(0);
      expect(before.has('webdav_slow_bodies_cut_total')).to.equal(true);
      // A PUT that promises 100 kB and sends a few bytes: cut after --body-timeout.
      const slow = await open();
      held.push(slow);
      const slowAnswer = answer(slow);
      slow.write('PUT /slow.bin HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 100000\r\n\r\nxyz');
      // The second connection is allowed, the third is past --max-client-connections 2.
      held.push(await open());
      const extra = await open();
      held.push(extra);
      const extraAnswer = answer(extra);
      extra.write('GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n');
      expect(await extraAnswer).to.match(/^HTTP\/1\.1 429 /);
      expect(await slowAnswer).to.match(/^HTTP\/1\.1 408 /);
      const after = await scrape();
      expect(value(after, 'webdav_slow_bodies_cut_total')).to.equal(1);
      expect(value(after, 'webdav_connections_refused_total')).to.equal(1);
      expect(running.connectionStats).to.deep.equal({ slowBodies: 1, refusedConnections: 1 });
      // A counter: a second scrape does not count them again.
      expect(value(await scrape(), 'webdav_connections_refused_total')).to.equal(1);
    } finally {
      for (const s of held) s.destroy();
      await running.close();
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('/readyz with --storage memory: nothing on disk to probe, locks in memory', async () => {
    const running = await startServer({ storage: 'memory', host: '127.0.0.1', port: 0, quiet: true, adminPort: 0 });
    try {
      const r = await request(running.admin!.url, 'GET', '/readyz');
      expect([r.status, r.body]).to.deep.equal([200, 'ready\nok   storage: the tree is held in memory\nok   lock store: in memory\n']);
    } finally {
      await running.close();
    }
  });

  it('--admin-host moves it to another address', async () => {
    const dir = await makeTempDir('admin-host');
    const running = await startServer({ root: dir, host: '127.0.0.1', port: 0, quiet: true, adminPort: 0, adminHost: '127.0.0.2', lockStore: 'memory' });
    try {
      expect((running.admin!.server.address() as { address: string }).address).to.equal('127.0.0.2');
      expect((await request(running.admin!.url, 'GET', '/healthz')).status).to.equal(200);
    } finally {
      await running.close();
      await rm(dir, { recursive: true, force: true });
    }
  });

  describe('with Redis as the lock store', () => {
    let redis: TestRedis;
    let root: string;
    let cli: CliServer | undefined;
    before(async () => {
      await ensureBuilt();
      redis = await TestRedis.start();
      root = await makeTempDir('admin-redis');
    });
    afterEach(async () => {
      if (cli) expect(await cli.stop()).to.equal(0);
      cli = undefined;
    });
    after(async () => {
      await redis?.stop();
      await rm(root, { recursive: true, force: true });
    });

    const adminUrl = async (c: CliServer): Promise<string> => {
      expect(await eventually(async () => /Admin listener on (http\S+)/.test(c.output()), 5000)).to.equal(true);
      return /Admin listener on (http\S+)/.exec(c.output())![1]!.replace(/\/$/, '');
    };

    it('/readyz turns 503 when Redis stops and 200 when it is back; /metrics says so too', async () => {
      cli = await spawnCli(['--root', root, '--port', '0', '--admin-port', '0', '--lock-store', redis.url]);
      const admin = await adminUrl(cli);
      expect((await request(admin, 'GET', '/readyz')).status).to.equal(200);
      expect(value(series((await request(admin, 'GET', '/metrics')).body), 'webdav_lock_store_up{store="redis"}')).to.equal(1);
      await redis.kill();
      let last: Res | undefined;
      expect(await eventually(async () => (last = await request(admin, 'GET', '/readyz')).status === 503, 10_000)).to.equal(true);
      expect(last!.body).to.match(/FAIL lock store: redis lock store unreachable/);
      expect(last!.body).to.match(/ok {3}storage: /);
      expect(value(series((await request(admin, 'GET', '/metrics')).body), 'webdav_lock_store_up{store="redis"}')).to.equal(0);
      await redis.start();
      expect(await eventually(async () => (await request(admin, 'GET', '/readyz')).status === 200, 15_000)).to.equal(true);
      expect(value(series((await request(admin, 'GET', '/metrics')).body), 'webdav_lock_store_up{store="redis"}')).to.equal(1);
    });

    it('--workers 2: /metrics adds up every worker, /readyz asks each of them', async () => {
      cli = await spawnCli(['--root', root, '--port', '0', '--admin-port', '0', '--lock-store', redis.url, '--workers', '2']);
      const admin = await adminUrl(cli);
      const before = series((await request(admin, 'GET', '/metrics')).body);
      // A new connection per request: the primary hands connections to the workers in turn.
      for (let i = 0; i < 20; i++) expect((await request(cli.base, 'PUT', `/w${i}.txt`, { body: 'w' })).status).to.equal(201);
      for (let i = 0; i < 10; i++) expect((await request(cli.base, 'GET', `/w${i}.txt`)).status).to.equal(200);
      const { token } = await lockOk({ req: (m: string, p: string, o?: object) => request(cli!.base, m, p, o) } as never, '/w0.txt');
      const after = series((await request(admin, 'GET', '/metrics')).body);
      const delta = (k: string): number => value(after, k) - value(before, k);
      expect(delta('webdav_requests_total{method="PUT",status="201"}')).to.equal(20);
      expect(delta('webdav_requests_total{method="GET",status="200"}')).to.equal(10);
      expect(delta('webdav_request_duration_seconds_count{method="PUT"}')).to.equal(20);
      // Each worker's connection guards are counted too (summed; nothing cut here).
      expect(after.get('webdav_connections_refused_total')).to.equal(0);
      expect(after.get('webdav_slow_bodies_cut_total')).to.equal(0);
      // One shared lock store: every worker sees the same lock, counted once.
      expect(value(after, 'webdav_locks_held')).to.equal(1);
      expect(value(after, 'webdav_lock_store_up{store="redis"}')).to.equal(1);
      expect((await request(cli.base, 'UNLOCK', '/w0.txt', { headers: { 'Lock-Token': `<${token}>` } })).status).to.equal(204);
      const ready = await request(admin, 'GET', '/readyz');
      expect(ready.status).to.equal(200);
      expect(ready.body.match(/^ok {3}worker \d+ storage/gm)).to.have.length(2);
      expect(ready.body.match(/^ok {3}worker \d+ lock store/gm)).to.have.length(2);
      await redis.kill();
      try {
        expect(await eventually(async () => (await request(admin, 'GET', '/readyz')).status === 503, 10_000)).to.equal(true);
      } finally {
        await redis.start();
      }
      expect(await eventually(async () => (await request(admin, 'GET', '/readyz')).status === 200, 15_000)).to.equal(true);
    });
  });
});
