/**
 * deploy/koa-webdav-server.service: `systemd-analyze verify` accepts it, its sandboxing is in
 * place (and `systemd-analyze security` rates it), its ExecStart command line, run as systemd
 * would with SIGTERM, drains an upload in flight well within TimeoutStopSec, and the server
 * works inside the unit's filesystem sandbox (rebuilt here with a mount namespace: systemd
 * itself does not run on the test machine), writing only below its root.
 */
import { expect } from 'chai';
import { spawn, spawnSync } from 'node:child_process';
import { chmod, chown, mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cliPath, repoRoot, request } from '../helpers/server.js';
import { ensureBuilt, eventually, lockOk } from '../helpers/dav.js';
import { basic, writeHtpasswd } from '../helpers/auth.js';
import sharp from 'sharp';
import { createHash } from 'node:crypto';
import { request as httpRequest } from 'node:http';

const UNIT = join(repoRoot, 'deploy', 'koa-webdav-server.service');
const INSTALLED_BIN = '/usr/local/bin/koa-webdav-server';

/**
 * The unit's filesystem sandbox, as systemd builds it, in a private mount namespace:
 * StateDirectory= (the served root, writable, at /var/lib/koa-webdav-server), ProtectSystem=strict
 * (every other mount read-only but /dev, /proc, /sys), PrivateTmp=, ProtectHome=, UMask=0027 and
 * a DynamicUser-range uid without capabilities (NoNewPrivileges=). $1 = the state directory,
 * $2 = a directory of configuration files (read-only at /var/lib/conf), then the command.
 */
const SANDBOX = `set -eu
state="$1"; conf="$2"; uid="$3"; shift 3
mount -t tmpfs -o mode=0755 tmpfs /var/lib
mkdir /var/lib/koa-webdav-server /var/lib/conf
mount --bind "$state" /var/lib/koa-webdav-server
mount --bind "$conf" /var/lib/conf
for m in $(awk '{print $2}' /proc/self/mounts | sort -u); do
  case "$m" in /var/lib/koa-webdav-server|/dev|/dev/*|/proc|/proc/*|/sys|/sys/*) continue ;; esac
  mount -o remount,bind,ro "$m" 2>/dev/null || true
done
for d in /tmp /var/tmp; do mount -t tmpfs -o mode=1777 tmpfs "$d"; done
for d in /home /root /run/user; do [ -d "$d" ] && mount -t tmpfs -o ro,mode=000 tmpfs "$d"; done
umask 0027
exec setpriv --reuid="$uid" --regid="$uid" --clear-groups --no-new-privs --inh-caps=-all --bounding-set=-all -- "$@"
`;

/** Whether this machine can build that sandbox (root, mount namespaces, setpriv). */
const canSandbox = (): boolean =>
  process.getuid?.() === 0 && spawnSync('unshare', ['--mount', '--propagation', 'private', 'sh', '-c', 'mount -t tmpfs tmpfs /mnt && setpriv --version'], { stdio: 'ignore' }).status === 0;

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

  it('inside the unit\'s filesystem sandbox it writes only below its root: files, dead properties, locks, the state store, tus uploads, thumbnails', async function () {
    if (!canSandbox()) {
      console.log('    SANDBOX NOT REBUILT ON THIS MACHINE: needs root, unshare --mount and setpriv (util-linux)');
      return;
    }
    const uid = 61184; // the first uid systemd gives a DynamicUser
    const state = join(dir, 'sandbox-state');
    const conf = join(dir, 'sandbox-conf');
    await mkdir(state);
    await mkdir(conf);
    await chown(state, uid, uid);
    await writeHtpasswd(conf, { alice: 'pw' });
    await chmod(join(conf, 'htpasswd'), 0o644);
    // The sandbox holds: the root takes writes, the checkout, the configuration and $HOME do not.
    const probe = spawnSync(
      'unshare',
      ['--mount', '--propagation', 'private', 'sh', '-c', SANDBOX, 'sandbox', state, conf, String(uid), 'sh', '-c',
        `touch /var/lib/koa-webdav-server/p && rm /var/lib/koa-webdav-server/p && ! touch ${JSON.stringify(join(repoRoot, 'p'))} && ! touch /var/lib/conf/p && ! ls /root && ! ls /tmp/*`],
      { encoding: 'utf8' },
    );
    expect(probe.status, probe.stderr).to.equal(0);
    expect(probe.stderr).to.match(/Read-only file system/);
    const s = new Map(serviceSettings(unit));
    const args = s.get('ExecStart')!.replace('%S', '/var/lib').split(' ').slice(1);
    expect(args.slice(0, 2)).to.deep.equal(['--root', '/var/lib/koa-webdav-server']);
    const env = { PATH: '/usr/local/bin:/usr/bin:/bin', WEBDAV_HOST: '127.0.0.1', WEBDAV_PORT: '0', WEBDAV_ADMIN_PORT: '0', WEBDAV_HTPASSWD: '/var/lib/conf/htpasswd' };
    const proc = spawn('unshare', ['--mount', '--propagation', 'private', 'sh', '-c', SANDBOX, 'sandbox', state, conf, String(uid), process.execPath, cliPath, ...args], {
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    proc.stdout.on('data', (d) => (out += d));
    proc.stderr.on('data', (d) => (err += d));
    const exited = new Promise<number | null>((r) => proc.once('exit', (code) => r(code)));
    try {
      expect(await eventually(async () => /Admin listener on/.test(out), 15_000), out + err).to.equal(true);
      const base = /listening on (http:\/\/[\d.:]+)\//.exec(out)![1]!;
      const admin = /Admin listener on (http:\/\/[\d.:]+)\//.exec(out)![1]!;
      const AUTH = { Authorization: basic('alice', 'pw') };
      const req = (m: string, p: string, o: { body?: string | Buffer; headers?: Record<string, string> } = {}) =>
        request(base, m, p, { ...o, headers: { ...AUTH, ...o.headers } });
      expect((await request(admin, 'GET', '/readyz')).status).to.equal(200);
      expect((await req('MKCOL', '/docs/')).status).to.equal(201);
      expect((await req('PUT', '/docs/a.txt', { body: 'hello' })).status).to.equal(201);
      const prop = '<?xml version="1.0"?><D:propertyupdate xmlns:D="DAV:" xmlns:Z="urn:z"><D:set><D:prop><Z:color>red</Z:color></D:prop></D:set></D:propertyupdate>';
      expect((await req('PROPPATCH', '/docs/a.txt', { body: prop, headers: { 'Content-Type': 'application/xml' } })).status).to.equal(207);
      const { token } = await lockOk({ base, root: state, req, running: undefined as never, close: async () => undefined }, '/docs/a.txt');
      // A failed login: the brute-force defender counts it in the state store.
      expect((await request(base, 'GET', '/docs/a.txt', { headers: { Authorization: basic('alice', 'nope') } })).status).to.equal(401);
      // A thumbnail: sharp (libvips) decodes the image, the cache keeps it under .davmeta/thumbs.
      const png = await sharp({ create: { width: 300, height: 200, channels: 3, background: '#3a7' } }).png().toBuffer();
      expect((await req('PUT', '/docs/p.png', { body: png })).status).to.equal(201);
      const thumb = await req('GET', '/docs/p.png?thumb=64', { headers: { Accept: 'image/webp' } });
      expect([thumb.status, thumb.headers['content-type']], thumb.body.slice(0, 200)).to.deep.equal([200, 'image/webp']);
      expect((await sharp(thumb.raw).metadata()).width).to.equal(64);
      // A resumable (tus) upload with a checksum: staging, its session in the state store, the sums.
      const TUS = { 'Tus-Resumable': '1.0.0' };
      const sha1 = createHash('sha1').update('0123456789').digest('base64');
      const tusMeta = `path ${Buffer.from('/docs/t.bin').toString('base64')},checksum ${Buffer.from(`sha1 ${sha1}`).toString('base64')}`;
      const created = await req('POST', '/.dav/uploads/', { headers: { ...TUS, 'Upload-Length': '10', 'Upload-Metadata': tusMeta } });
      expect(created.status, created.body).to.equal(201);
      const part = { ...TUS, 'Content-Type': 'application/offset+octet-stream' };
      expect((await req('PATCH', created.headers.location!, { body: '01234', headers: { ...part, 'Upload-Offset': '0' } })).status).to.equal(204);
      const done = await req('PATCH', created.headers.location!, { body: '56789', headers: { ...part, 'Upload-Offset': '5' } });
      expect(done.status, done.body).to.be.oneOf([201, 204]);
      // The page, with its assets.
      const page = await req('GET', '/docs/', { headers: { Accept: 'text/html' } });
      expect(page.status).to.equal(200);
      expect((await req('GET', '/.dav/assets/app.js')).status).to.equal(200);
      proc.kill('SIGTERM');
      expect(await exited, out + err).to.equal(0);
      // Nothing failed to write, and it all landed below the root, owned by the service's user.
      expect(err, 'stderr').to.not.match(/EROFS|EACCES|EPERM|Error/);
      expect(await readFile(join(state, 'docs', 'a.txt'), 'utf8')).to.equal('hello');
      expect(await readFile(join(state, 'docs', 't.bin'), 'utf8')).to.equal('0123456789');
      const meta = join(state, '.davmeta');
      const found = (await readdir(meta, { recursive: true })).map(String);
      expect(found.some((f) => f.startsWith('thumbs/') && f.endsWith('.webp')), found.join(' ')).to.equal(true);
      // The file lock store: its snapshot and journal (src/locks/file.ts) hold the lock taken.
      const locks = await Promise.all(['locks.json', 'locks.json.journal'].map((f) => readFile(join(meta, f), 'utf8').catch(() => '')));
      expect(locks.join('\n')).to.contain(token.replace(/^urn:uuid:/, ''));
      expect(found.some((f) => f.startsWith('state/')), found.join(' ')).to.equal(true);
      expect(found.some((f) => f.startsWith('sums/')), found.join(' ')).to.equal(true);
      console.log(`    .davmeta after the run: ${[...new Set(found.map((f) => f.split('/')[0]))].sort().join(', ')}`);
    } finally {
      if (proc.exitCode === null) proc.kill('SIGKILL');
    }
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
