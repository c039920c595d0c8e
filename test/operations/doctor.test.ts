/**
 * `koa-webdav-server doctor`: the compiled CLI checks a root, its filesystem, the lock store and
 * the users files, and prints what it found in plain words; exit 1 only for what would stop
 * the server or lose data. Filesystem cases use real mounts (tmpfs, as root like CI).
 */
import { expect } from 'chai';
import { execFile, execFileSync } from 'node:child_process';
import { mkdir, readdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { cliPath, makeTempDir } from '../helpers/server.js';
import { ensureBuilt } from '../helpers/dav.js';
import { writeHtpasswd } from '../helpers/auth.js';
import { freePort, TestRedis } from '../redis/redis-server.js';

function doctor(args: string[]): Promise<{ code: number | null; out: string; lines: Map<string, string[]> }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [cliPath, 'doctor', ...args], { timeout: 60_000 }, (err, stdout, stderr) => {
      const lines = new Map<string, string[]>();
      for (const m of stdout.matchAll(/^ {2}(ok|note|warn|FAIL) +(\S+(?: \S+)?) {2,}(.*)$/gm)) {
        const key = m[2]!.trim();
        lines.set(key, [...(lines.get(key) ?? []), `${m[1]} ${m[3]}`]);
      }
      resolve({ code: err ? ((err as { code?: number }).code ?? null) : 0, out: stdout + stderr, lines });
    });
  });
}

const line = (r: { lines: Map<string, string[]>; out: string }, topic: string): string => {
  const l = r.lines.get(topic);
  expect(l, `${topic} in:\n${r.out}`).to.not.equal(undefined);
  return l!.join('\n');
};

describe('doctor', function () {
  this.timeout(120_000);
  let dir: string;
  before(async () => {
    await ensureBuilt();
    dir = await makeTempDir('doctor');
  });
  after(() => rm(dir, { recursive: true, force: true }));

  it('a healthy root: every check named in plain words, exit 0, nothing left behind', async () => {
    const root = join(dir, 'ok');
    await mkdir(root);
    const r = await doctor(['--root', root]);
    expect(r.code, r.out).to.equal(0);
    expect(r.out).to.match(/^koa-webdav-server doctor: checking /);
    expect(line(r, 'root')).to.match(/^ok .* is a directory this user \(uid \d+\) can write, fsync and rename in$/);
    const fsType = execFileSync('stat', ['-f', '-c', '%T', root], { encoding: 'utf8' }).trim().replace('ext2/ext3', 'ext4');
    expect(line(r, 'filesystem')).to.match(/^(ok|warn) \S+ \(.*, mounted at \S+\)/);
    if (['ext4', 'tmpfs', 'xfs', 'btrfs'].includes(fsType)) expect(line(r, 'filesystem')).to.contain(fsType);
    expect(line(r, 'free space')).to.match(/^(ok|warn) [\d.]+ [GM]iB free of [\d.]+ [GM]iB/);
    expect(line(r, 'names')).to.equal('ok case-sensitive: a.txt and A.txt are two files, as WebDAV clients expect');
    expect(line(r, 'name length')).to.match(/^ok names up to 255 bytes/);
    expect(line(r, 'reflinks')).to.match(/^(ok copy-on-write clones work|note no copy-on-write clones \(FICLONE: \w+\))/);
    expect(line(r, 'xattrs')).to.match(/^note (user extended attributes (work|are refused)|extended attributes not checked)/);
    expect(line(r, 'lock store')).to.match(/^ok file .*\/\.davmeta\/locks\.json \(created at the first start\)$/);
    expect(line(r, 'users')).to.match(/^note no authentication: anyone on this machine/);
    expect(r.out).to.match(/\nNothing stops the server; 0 warning\(s\)\.\n$/);
    expect(await readdir(root)).to.deep.equal([]);
  });

  it('a missing root, a read-only mount and a nearly full tmpfs', async () => {
    const missing = await doctor(['--root', join(dir, 'nope')]);
    expect(missing.code).to.equal(1);
    expect(line(missing, 'root')).to.match(/^FAIL .*nope cannot be opened \(ENOENT\): create it, or pass --root DIR$/);
    expect(missing.out).to.contain('problem(s) would stop the server or lose data');

    if (process.getuid?.() !== 0) throw new Error(`this test mounts tmpfs and must run as root (uid ${process.getuid?.()}); CI runs as root`);
    const mnt = join(dir, 'mnt');
    await mkdir(mnt);
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=4m,mode=0755', 'tmpfs', mnt]);
    try {
      const small = await doctor(['--root', mnt, '--lock-store', 'memory']);
      expect(small.code, small.out).to.equal(0);
      expect(line(small, 'filesystem')).to.match(/^warn tmpfs \(tmpfs, mounted at .*\/mnt\): in memory: everything stored is gone at reboot$/);
      expect(line(small, 'free space')).to.match(/^warn 4 MiB free of 4 MiB: uploads answer 507 when it runs out$/);
      expect(line(small, 'lock store')).to.equal('warn memory: locks are forgotten when the server stops');
      execFileSync('mount', ['-o', 'remount,ro', mnt]);
      const ro = await doctor(['--root', mnt]);
      expect(ro.code).to.equal(1);
      expect(line(ro, 'root')).to.match(/^FAIL .*\/mnt does not take writes \(EROFS\)/);
    } finally {
      execFileSync('umount', [mnt]);
    }
  });

  it('the lock store: a corrupt lock file, Redis answering (without AOF), Redis down', async () => {
    const root = join(dir, 'locks');
    await mkdir(join(root, '.davmeta'), { recursive: true });
    await writeFile(join(root, '.davmeta', 'locks.json'), '[{"token":"urn:uuid:x","expiresAt":' + (Date.now() + 60_000) + '}]');
    expect(line(await doctor(['--root', root]), 'lock store')).to.match(/^ok file .*locks\.json: 1 active lock\(s\)$/);
    await writeFile(join(root, '.davmeta', 'locks.json'), '{not json');
    const bad = await doctor(['--root', root]);
    expect(bad.code).to.equal(1);
    expect(line(bad, 'lock store')).to.match(/^FAIL .*locks\.json is not valid JSON: the server will not start; move it away/);

    const redis = await TestRedis.start();
    try {
      const up = await doctor(['--root', root, '--lock-store', redis.url]);
      expect(up.code, up.out).to.equal(0);
      expect(line(up, 'lock store')).to.match(/^ok Redis 127\.0\.0\.1:\d+\/0 answers \(Redis \d+\.\d+\.\d+\)/);
      expect(line(up, 'lock store')).to.contain('warn Redis has no append-only file (appendonly no)');
    } finally {
      await redis.stop();
    }
    const down = await doctor(['--root', root, '--lock-store', `redis://127.0.0.1:${await freePort()}/0`]);
    expect(down.code).to.equal(1);
    expect(line(down, 'lock store')).to.match(/^FAIL Redis 127\.0\.0\.1:\d+\/0 does not answer \(.*\): LOCK, UNLOCK and writes would answer 503$/);
  });

  it('the users and htpasswd files: counts, hashes, users who cannot sign in, unreadable files', async () => {
    const root = join(dir, 'users');
    await mkdir(join(root, 'alice'), { recursive: true });
    const htpasswd = await writeHtpasswd(dir, { alice: 'a', carol: 'c' }, ['plain:secret']);
    const users = join(dir, 'users.yaml');
    await writeFile(users, 'users:\n  alice: { root: /alice, access: rw }\n  bob: { root: /bob, access: ro }\n');
    const r = await doctor(['--root', root, '--htpasswd', htpasswd, '--users', users]);
    expect(r.code, r.out).to.equal(0);
    expect(line(r, 'htpasswd')).to.match(/^ok .*htpasswd: 3 user\(s\) \(2 bcrypt, 1 unsupported\)/);
    expect(line(r, 'htpasswd')).to.match(/warn line 3 \(plain\): unsupported hash \(use bcrypt: htpasswd -B\)/);
    const u = line(r, 'users file');
    expect(u).to.contain('ok alice: /alice (exists), read-write');
    expect(u).to.contain('warn bob: /bob (created at start), read-only; not in the htpasswd file, so this user cannot sign in');
    expect(u).to.contain('note in htpasswd but not in the users file, refused with 403: carol, plain');
    await writeFile(users, 'users: [');
    const broken = await doctor(['--root', root, '--htpasswd', htpasswd, '--users', users]);
    expect(broken.code).to.equal(1);
    expect(line(broken, 'users file')).to.match(/^FAIL /);
    const gone = await doctor(['--root', root, '--htpasswd', join(dir, 'missing')]);
    expect(gone.code).to.equal(1);
    expect(line(gone, 'htpasswd')).to.match(/^FAIL .*missing cannot be read \(ENOENT\)$/);
  });

  it('invalid options stop it as they stop the server: one line, exit 2', async () => {
    const r = await doctor(['--root', dir, '--lock-store', 'bogus']);
    expect(r.code).to.equal(2);
    expect(r.out).to.match(/^koa-webdav-server: invalid lock store: bogus/);
  });
});
