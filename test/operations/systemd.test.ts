/**
 * deploy/koa-webdav-server.service: `systemd-analyze verify` accepts it, its sandboxing is in
 * place (and `systemd-analyze security` rates it), and its ExecStart command line, run as
 * systemd would with SIGTERM, drains an upload in flight well within TimeoutStopSec.
 */
import { expect } from 'chai';
import { spawn, spawnSync } from 'node:child_process';
import { chmod, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cliPath, repoRoot, request } from '../helpers/server.js';
import { ensureBuilt, eventually } from '../helpers/dav.js';
import { request as httpRequest } from 'node:http';

const UNIT = join(repoRoot, 'deploy', 'koa-webdav-server.service');
const INSTALLED_BIN = '/usr/local/bin/koa-webdav-server';

const haveSystemdAnalyze = (): boolean => !spawnSync('systemd-analyze', ['--version'], { stdio: 'ignore' }).error;

/** `Key=value` settings of the [Service] section, in order (keys may repeat). */
function serviceSettings(unit: string): [string, string][] {
  const section = unit.split(/^\[/m).find((s) => s.startsWith('Service]'))!;
  return section
    .split('\n')
    .slice(1)
    .filter((l) => /^[A-Za-z]+=/.test(l))
    .map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]);
}

describe('systemd unit (deploy/)', function () {
  this.timeout(60_000);
  let dir: string;
  let unit: string;
  let shim: string;
  before(async () => {
    await ensureBuilt();
    unit = await readFile(UNIT, 'utf8');
    dir = await mkdtemp(join(tmpdir(), 'webdav-systemd-'));
    // The unit runs the installed bin; here that is the compiled CLI of this checkout.
    shim = join(dir, 'koa-webdav-server');
    await writeFile(shim, `#!/bin/sh\nexec ${JSON.stringify(process.execPath)} ${JSON.stringify(cliPath)} "$@"\n`);
    await chmod(shim, 0o755);
  });
  after(() => rm(dir, { recursive: true, force: true }));

  it('sandboxes the service: dynamic user, read-only system but the served root, no new privileges', () => {
    const s = new Map(serviceSettings(unit));
    for (const [k, v] of [
      ['DynamicUser', 'yes'],
      ['StateDirectory', 'koa-webdav-server'],
      ['ProtectSystem', 'strict'],
      ['ProtectHome', 'yes'],
      ['PrivateTmp', 'yes'],
      ['PrivateDevices', 'yes'],
      ['NoNewPrivileges', 'yes'],
      ['CapabilityBoundingSet', ''],
      ['KillMode', 'mixed'],
      ['KillSignal', 'SIGTERM'],
      ['StandardOutput', 'journal'],
      ['StandardError', 'journal'],
    ]) {
      expect(s.get(k!), k).to.equal(v);
    }
    // The served root is the state directory: the one place ProtectSystem=strict leaves writable.
    expect(s.get('ExecStart')).to.match(new RegExp(`^${INSTALLED_BIN} --root %S/koa-webdav-server --shutdown-timeout (\\d+)$`));
    const drain = Number(/--shutdown-timeout (\d+)/.exec(s.get('ExecStart')!)![1]);
    expect(drain).to.be.lessThan(Number(s.get('TimeoutStopSec')));
  });

  it('passes systemd-analyze verify (and security, offline)', async function () {
    if (!haveSystemdAnalyze()) {
      console.log('    SYSTEMD UNIT NOT VERIFIED ON THIS MACHINE: systemd-analyze is not installed (Debian package systemd; .ci/run installs it)');
      return;
    }
    const copy = join(dir, 'koa-webdav-server.service');
    await writeFile(copy, unit.replace(`ExecStart=${INSTALLED_BIN} `, `ExecStart=${shim} `));
    const verify = spawnSync('systemd-analyze', ['verify', copy], { encoding: 'utf8' });
    expect(verify.status, verify.stderr).to.equal(0);
    // Any complaint about our unit (unknown key, bad value, missing binary) names its file.
    expect(verify.stderr.split('\n').filter((l) => l.includes('koa-webdav-server'))).to.deep.equal([]);
    const security = spawnSync('systemd-analyze', ['security', '--offline=yes', '--no-pager', copy], { encoding: 'utf8' });
    const m = /Overall exposure level for koa-webdav-server\.service: ([\d.]+) (\w+)/.exec(security.stdout);
    expect(m, security.stdout + security.stderr).to.not.equal(null);
    console.log(`    systemd-analyze security: exposure ${m![1]} ${m![2]}`);
    expect(Number(m![1])).to.be.at.most(2.0);
  });

  it('its ExecStart, stopped with SIGTERM, finishes the upload in flight and exits 0 within TimeoutStopSec', async () => {
    const s = new Map(serviceSettings(unit));
    const stateDir = join(dir, 'state');
    const args = s.get('ExecStart')!.replace('%S', stateDir).split(' ').slice(1);
    await import('node:fs/promises').then((f) => f.mkdir(join(stateDir, 'koa-webdav-server'), { recursive: true }));
    // The unit's Environment= line, with free ports instead of 8080/9090 (shared test machine).
    const env = { ...process.env, WEBDAV_HOST: '127.0.0.1', WEBDAV_PORT: '0', WEBDAV_ADMIN_PORT: '0' };
    const proc = spawn(shim, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    proc.stdout.on('data', (d) => (out += d));
    proc.stderr.on('data', (d) => (out += d));
    const exited = new Promise<number | null>((r) => proc.once('exit', (code) => r(code)));
    try {
      expect(await eventually(async () => /Admin listener on/.test(out), 10_000), out).to.equal(true);
      const base = /listening on (http:\/\/[\d.:]+)\//.exec(out)![1]!;
      const admin = /Admin listener on (http:\/\/[\d.:]+)\//.exec(out)![1]!;
      expect((await request(admin, 'GET', '/readyz')).status).to.equal(200);
      // An upload that takes ~1.5 s, then SIGTERM half way through.
      const url = new URL(base);
      const upload = new Promise<number>((resolve, reject) => {
        const req = httpRequest({ host: url.hostname, port: url.port, method: 'PUT', path: '/big.bin', headers: { 'Content-Length': 6 * 65536 } }, (res) => {
          res.resume();
          res.on('end', () => resolve(res.statusCode ?? 0));
        });
        req.on('error', reject);
        void (async () => {
          for (let i = 0; i < 6; i++) {
            req.write(Buffer.alloc(65536, i));
            await new Promise((r) => setTimeout(r, 250));
          }
          req.end();
        })();
      });
      await new Promise((r) => setTimeout(r, 500));
      const stopAt = Date.now();
      proc.kill('SIGTERM');
      expect(await upload).to.equal(201);
      expect(await exited).to.equal(0);
      expect(Date.now() - stopAt).to.be.lessThan(Number(s.get('TimeoutStopSec')) * 1000);
      expect((await readFile(join(stateDir, 'koa-webdav-server', 'big.bin'))).length).to.equal(6 * 65536);
      expect(out).to.contain('SIGTERM: shutting down');
    } finally {
      if (proc.exitCode === null) proc.kill('SIGKILL');
    }
  });
});
