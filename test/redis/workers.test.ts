/**
 * `--workers N` (node:cluster): N processes on one port sharing a Redis lock store; refused
 * without a shared lock store; a dead worker is replaced; SIGTERM stops every worker cleanly.
 * litmus passes against this mode too.
 */
import { expect } from 'chai';
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { lockBody, makeTempDir, repoRoot, request, runCli, spawnCli, type CliServer } from '../helpers/server.js';
import { TestRedis } from './redis-server.js';

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

const childrenOf = (pid: number): number[] =>
  readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8')
    .trim()
    .split(/\s+/)
    .filter(Boolean)
    .map(Number);

const alive = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

describe('--workers', function () {
  this.timeout(120_000);
  let redis: TestRedis;
  let root: string;

  before(async () => {
    redis = await TestRedis.start();
    root = await makeTempDir('workers');
  });
  after(async () => {
    await redis?.stop();
    await rm(root, { recursive: true, force: true });
  });

  it('refuses more than one worker without a shared lock store, saying what to add', async () => {
    for (const store of [[], ['--lock-store', 'memory'], ['--lock-store', 'file']]) {
      const { code, output } = await runCli(['--root', root, '--port', '0', '--workers', '2', ...store]);
      expect(code).to.equal(2);
      expect(output).to.include('--workers 2 needs a lock store all workers share: add --lock-store redis://host:port/db');
    }
    const bad = await runCli(['--root', root, '--port', '0', '--workers', '0', '--lock-store', redis.url]);
    expect(bad.code).to.equal(2);
    expect(bad.output).to.include('invalid workers');
  });

  describe('with a Redis lock store', () => {
    let srv: CliServer;

    before(async () => {
      srv = await spawnCli(['--root', root, '--port', '0', '--workers', '3', '--lock-store', redis.url]);
    });
    after(async () => {
      await srv?.stop();
    });

    it('starts every worker on one port and prints the banner once', async () => {
      expect(srv.output().match(/listening on/g)).to.have.length(1);
      expect(srv.output()).to.include('with 3 workers');
      expect(childrenOf(srv.proc.pid!)).to.have.length(3);
    });

    it('a lock taken through one connection binds every worker', async () => {
      expect((await request(srv.base, 'PUT', '/w.txt', { body: 'x' })).status).to.equal(201);
      const l = await request(srv.base, 'LOCK', '/w.txt', { body: lockBody(), headers: { 'Content-Type': 'application/xml' } });
      expect(l.status).to.equal(200);
      const token = /<(.+)>/.exec(String(l.headers['lock-token']))![1]!;
      // Each request uses a fresh connection, so the cluster spreads them over the workers.
      const puts = await Promise.all(Array.from({ length: 12 }, () => request(srv.base, 'PUT', '/w.txt', { body: 'y' })));
      expect(puts.map((r) => r.status)).to.deep.equal(Array(12).fill(423));
      const owned = await Promise.all(Array.from({ length: 6 }, () => request(srv.base, 'PUT', '/w.txt', { body: 'z', headers: { If: `(<${token}>)` } })));
      expect(owned.map((r) => r.status)).to.deep.equal(Array(6).fill(204));
      const races = await Promise.all(Array.from({ length: 12 }, () => request(srv.base, 'LOCK', '/w-race.txt', { body: lockBody(), headers: { 'Content-Type': 'application/xml' } })));
      expect(races.filter((r) => r.status === 201 || r.status === 200)).to.have.length(1);
    });

    it('replaces a worker that dies', async () => {
      const [victim] = childrenOf(srv.proc.pid!);
      process.kill(victim!, 'SIGKILL');
      const deadline = Date.now() + 10_000;
      while (Date.now() < deadline) {
        const kids = childrenOf(srv.proc.pid!);
        if (kids.length === 3 && !kids.includes(victim!)) break;
        await sleep(100);
      }
      const kids = childrenOf(srv.proc.pid!);
      expect(kids).to.have.length(3);
      expect(kids).to.not.include(victim);
      const gets = await Promise.all(Array.from({ length: 9 }, () => request(srv.base, 'GET', '/w.txt')));
      expect(gets.map((r) => r.status)).to.deep.equal(Array(9).fill(200));
    });

    it('SIGTERM stops every worker and exits 0', async () => {
      const kids = childrenOf(srv.proc.pid!);
      expect(await srv.stop('SIGTERM')).to.equal(0);
      await sleep(100);
      expect(kids.filter(alive)).to.deep.equal([]);
    });
  });

  it('honours --shutdown-timeout: an upload that needs longer than 10 s to finish still finishes, exit 0', async () => {
    const srv = await spawnCli(['--root', root, '--port', '0', '--workers', '2', '--lock-store', redis.url, '--shutdown-timeout', '20']);
    const url = new URL(srv.base);
    const { request: httpRequest } = await import('node:http');
    const body = Buffer.alloc(256 * 1024, 7);
    const status = new Promise<number>((resolve, reject) => {
      const req = httpRequest({ host: url.hostname, port: url.port, method: 'PUT', path: '/slow-stop.bin', headers: { 'Content-Length': body.length }, agent: false }, (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode ?? 0));
      });
      req.on('error', reject);
      req.write(body.subarray(0, 1024));
      void (async () => {
        await sleep(300);
        srv.proc.kill('SIGTERM');
        await sleep(11_000); // longer than the primary's old fixed 10 s limit
        req.end(body.subarray(1024));
      })();
    });
    expect(await status).to.equal(201);
    expect(await srv.stop('SIGTERM')).to.equal(0);
    expect(readFileSync(join(root, 'slow-stop.bin')).equals(body)).to.equal(true);
  });

  it('passes litmus with --workers 2 and a Redis lock store', async () => {
    const out = await new Promise<{ code: number | null; output: string }>((resolve) => {
      const p = spawn(process.execPath, [join(repoRoot, 'scripts', 'litmus.mjs'), '--', '--workers', '2', '--lock-store', redis.url], { stdio: ['ignore', 'pipe', 'pipe'] });
      let output = '';
      p.stdout.on('data', (d) => (output += d));
      p.stderr.on('data', (d) => (output += d));
      p.once('exit', (code) => resolve({ code, output }));
    });
    expect(out.code, out.output).to.equal(0);
    expect(out.output).to.match(/litmus: suites basic, copymove, props, locks, http; failed 0; warnings 0; skipped 0$/m);
  });
});
