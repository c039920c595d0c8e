/**
 * Permission denied and running out of file descriptors, for real.
 * EACCES: the tests run as root (CI does), and root ignores file modes, so the in-process
 * server is driven while the process's effective uid is `nobody` (seteuid applies to every
 * thread, libuv's pool included); the served files belong to root.
 * EMFILE: the compiled server runs under `ulimit -n 64` and is hit with more connections and
 * uploads than that allows; it must answer 503 or refuse connections, never crash or 500.
 */
import { expect } from 'chai';
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { connect, type Socket } from 'node:net';
import { promises as fsp } from 'node:fs';
import { join } from 'node:path';
import { cliPath, makeTempDir, request, startTestServer, type TestServer } from '../helpers/server.js';
import { asNobody, requireRoot } from '../helpers/uid.js';
import { stagedFiles } from '../helpers/dav.js';


describe('reliability: permission denied (EACCES) answers 403', function () {
  this.timeout(30_000);
  let srv: TestServer;

  before(async function () {
    requireRoot('the EACCES test');
    const root = await makeTempDir('eacces');
    await fsp.chmod(root, 0o777);
    srv = await startTestServer({ root, lockStore: 'memory' });
    await fsp.mkdir(join(root, 'ro'), { mode: 0o555 });
    await fsp.chmod(join(root, 'ro'), 0o555);
    await fsp.writeFile(join(root, 'ro', 'file.txt'), 'old');
    await fsp.writeFile(join(root, 'secret.txt'), 'secret', { mode: 0o600 });
    await fsp.chmod(join(root, 'secret.txt'), 0o600);
  });
  after(async () => {
    await srv?.close();
  });


  it('PUT into a read-only collection, over a file there, GET of an unreadable file, MKCOL and DELETE: 403', async () => {
    const statuses = await asNobody(async () => ({
      putNew: (await srv.req('PUT', '/ro/new.txt', { body: 'x' })).status,
      putOver: (await srv.req('PUT', '/ro/file.txt', { body: 'new' })).status,
      get: (await srv.req('GET', '/secret.txt')).status,
      mkcol: (await srv.req('MKCOL', '/ro/sub')).status,
      del: (await srv.req('DELETE', '/ro/file.txt')).status,
    }));
    expect(statuses).to.deep.equal({ putNew: 403, putOver: 403, get: 403, mkcol: 403, del: 403 });
    expect(await fsp.readFile(join(srv.root, 'ro', 'file.txt'), 'utf8')).to.equal('old');
    expect((await fsp.readdir(join(srv.root, 'ro'))).sort()).to.deep.equal(['file.txt']);
  });
});

describe('reliability: out of file descriptors (EMFILE)', function () {
  this.timeout(60_000);
  let root: string;
  let proc: ChildProcess;
  let base: string;
  let out = '';

  before(async () => {
    root = await makeTempDir('emfile');
    // The descriptor limit is lowered only once the server listens (prlimit, util-linux): at
    // startup the ES module loader opens many files at once, and how many depends on how many
    // modules the build has, which is not what this test is about.
    proc = spawn(process.execPath, [cliPath, '--root', root, '--port', '0', '--quiet'], { stdio: ['ignore', 'pipe', 'pipe'] });
    proc.stdout!.on('data', (d: Buffer) => (out += d.toString()));
    proc.stderr!.on('data', (d: Buffer) => (out += d.toString()));
    // --quiet has no banner: find the port from /proc.
    base = await new Promise<string>((resolve, reject) => {
      const t = setInterval(async () => {
        try {
          const tcp = await fsp.readFile('/proc/net/tcp', 'utf8');
          const inodes = new Set<string>();
          for (const fd of await fsp.readdir(`/proc/${proc.pid}/fd`)) {
            const link = await fsp.readlink(`/proc/${proc.pid}/fd/${fd}`).catch(() => '');
            const m = /^socket:\[(\d+)\]$/.exec(link);
            if (m) inodes.add(m[1]!);
          }
          for (const line of tcp.split('\n').slice(1)) {
            const f = line.trim().split(/\s+/);
            if (f[3] === '0A' && inodes.has(f[9]!)) {
              clearInterval(t);
              resolve(`http://127.0.0.1:${parseInt(f[1]!.split(':')[1]!, 16)}`);
            }
          }
        } catch (e) {
          clearInterval(t);
          reject(e);
        }
      }, 50);
      proc.once('exit', (code) => reject(new Error(`server exited with ${code}: ${out}`)));
    });
    const open = (await fsp.readdir(`/proc/${proc.pid}/fd`)).length;
    expect(open, 'descriptors open once listening').to.be.below(48);
    execFileSync('prlimit', ['--pid', String(proc.pid), '--nofile=64:64']);
  });
  after(async () => {
    if (proc.exitCode === null) {
      const exited = new Promise((r) => proc.once('exit', r));
      proc.kill('SIGTERM');
      await exited;
    }
    await fsp.rm(root, { recursive: true, force: true });
  });

  it('answers 503 or drops connections when out of descriptors, never crashes, and recovers', async () => {
    const port = Number(new URL(base).port);
    const body = 'y'.repeat(50_000);
    // Hold many connections open, each with an upload that has not finished (an fd each for
    // the socket and the temp file), then fire more requests on top.
    const held: Socket[] = [];
    for (let i = 0; i < 80; i++) {
      const s = connect(port, '127.0.0.1');
      s.on('error', () => undefined);
      s.write(`PUT /held${i}.bin HTTP/1.1\r\nHost: x\r\nContent-Length: 100000\r\n\r\n${body}`);
      held.push(s);
    }
    await new Promise((r) => setTimeout(r, 500));
    const results = await Promise.all(
      Array.from({ length: 40 }, (_, i) =>
        request(base, i % 2 ? 'GET' : 'PUT', `/f${i}.txt`, i % 2 ? {} : { body: 'z' }).then(
          (r) => String(r.status),
          (e: NodeJS.ErrnoException) => e.code ?? 'error',
        ),
      ),
    );
    for (const s of held) s.destroy();
    expect(results.filter((r) => r.startsWith('5') && r !== '503'), results.join(' ')).to.deep.equal([]);
    expect(results.some((r) => r === '503' || r === 'ECONNRESET' || r === 'EPIPE'), `the descriptor limit was reached: ${results.join(' ')}`).to.equal(true);
    // Recovered: still alive, serving, and the held uploads left no temp files behind.
    await new Promise((r) => setTimeout(r, 500));
    expect(proc.exitCode, out).to.equal(null);
    expect((await request(base, 'PUT', '/after.txt', { body: 'fine' })).status).to.equal(201);
    expect((await request(base, 'GET', '/after.txt')).body).to.equal('fine');
    const litter = async (): Promise<string[]> => [...(await fsp.readdir(root)).filter((n) => n.startsWith('.~davtmp-')), ...(await stagedFiles(root))];
    for (let i = 0; i < 50 && (await litter()).length; i++) await new Promise((r) => setTimeout(r, 100));
    expect(await litter()).to.deep.equal([]);
    expect(out).to.not.match(/Uncaught|TypeError|RangeError/);
  });
});
