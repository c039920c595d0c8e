/**
 * davfs2 mounting the server through the kernel (FUSE), driven for real as root: cp a tree in,
 * an editor-style save (temp file + rename over the original), mv, rm -r, umount, then the bytes
 * on the server's disk must match. Every file operation on the mount runs in a child process:
 * the server lives in this process, and blocking libuv's thread pool on FUSE calls that wait for
 * the server would deadlock it.
 *
 * If this machine cannot mount (not root, no FUSE device, the kernel refuses), the test says so
 * plainly in its output and checks nothing further; it never pretends a mount happened. A mount
 * that fails because of the server (davfs2 reports an HTTP error) fails the test.
 */
import { expect } from 'chai';
import { chmod, chown, mkdir, readFile, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import { join, relative } from 'node:path';
import { makeTempDir, startTestServer, type TestServer } from '../helpers/server.js';
import { parseMultistatus } from '../helpers/replay.js';
import { requireProgram, run, which } from '../helpers/run.js';

/** Every file below `dir` (relative path -> bytes); directories as entries ending in '/'. */
async function snapshot(dir: string, skip: (rel: string) => boolean = () => false): Promise<Map<string, Buffer | null>> {
  const out = new Map<string, Buffer | null>();
  const walk = async (d: string): Promise<void> => {
    for (const e of await readdir(d, { withFileTypes: true })) {
      const p = join(d, e.name);
      const rel = relative(dir, p);
      if (skip(rel)) continue;
      if (e.isDirectory()) {
        out.set(rel + '/', null);
        await walk(p);
      } else out.set(rel, await readFile(p));
    }
  };
  await walk(dir);
  return out;
}

async function davfs2Gid(): Promise<number | null> {
  const line = (await readFile('/etc/group', 'utf8')).split('\n').find((l) => l.startsWith('davfs2:'));
  return line ? Number(line.split(':')[2]) : null;
}

/** Output of a failed mount.davfs that points at the machine rather than at the server. */
const ENVIRONMENT_REFUSAL = /fuse|coda|operation not permitted|permission denied|no such device|can't open|not supported|only root|mounting failed\.?\s*$/im;
const SERVER_PROBLEM = /\b(4\d\d|5\d\d)\b|could not connect|connection refused|ssl|certificate|server/i;

describe('clients: davfs2 mount (real kernel mount)', function () {
  this.timeout(240_000);
  let s: TestServer;
  let base: string;
  let mnt: string;
  let mounted = false;

  before(async () => {
    requireProgram('mount.davfs', 'davfs2');
    s = await startTestServer();
    base = await makeTempDir('davfs2');
    await chmod(base, 0o755); // davfs2 drops to its own user and must reach the cache directory
    mnt = join(base, 'mnt');
    await mkdir(mnt);
  });

  after(async () => {
    if (mounted) {
      const u = await run('umount', [mnt], { timeoutMs: 60_000 });
      if (u.code !== 0) await run('umount', ['-l', mnt]);
    }
    await s.close();
    await rm(base, { recursive: true, force: true });
  });

  /** Mounts; returns null on success or the reason this machine cannot mount. */
  async function mount(): Promise<string | null> {
    if (process.getuid?.() !== 0) return 'the test is not running as root (mount.davfs mounts for root here)';
    const gid = await davfs2Gid();
    if (gid === null) return 'no davfs2 group on this machine (is the davfs2 package installed completely?)';
    const cache = join(base, 'cache');
    await mkdir(cache);
    await chown(cache, 0, gid);
    await chmod(cache, 0o775);
    const secrets = join(base, 'secrets');
    await writeFile(secrets, '', { mode: 0o600 });
    const conf = join(base, 'davfs2.conf');
    // buf_size 64: on Linux 6.16+ davfs2's default buffer is too small for FUSE; the mount then
    // succeeds but reading any directory fails with EINVAL. 64 KiB works on older kernels too.
    await writeFile(conf, [`cache_dir ${cache}`, `secrets ${secrets}`, 'buf_size 64', 'use_locks 1', 'delay_upload 0', 'ask_auth 0', ''].join('\n'));
    const r = await run(which('mount.davfs')!, [`${s.base}/`, mnt, '-o', `conf=${conf}`], { timeoutMs: 60_000 });
    if (r.code === 0) {
      mounted = true;
      return null;
    }
    const why = r.output.trim();
    if (!SERVER_PROBLEM.test(why) && ENVIRONMENT_REFUSAL.test(why)) return `mount.davfs was refused by this machine: ${why}`;
    throw new Error(`mount.davfs failed and it looks like a server problem:\n${why}`);
  }

  it('mounts; cp -r in, editor save (temp + rename), mv, rm -r, umount: bytes on disk match', async () => {
    // The server itself must be healthy, so a refused mount can only be the machine's doing.
    const o = await s.req('OPTIONS', '/');
    expect(o.headers['dav']).to.equal('1, 2');
    expect((await s.req('PROPFIND', '/', { headers: { Depth: '1' } })).status).to.equal(207);

    const refused = await mount();
    if (refused) {
      console.log(`      DAVFS2 MOUNT NOT TESTED ON THIS MACHINE: ${refused}`);
      return;
    }
    console.log(`      davfs2 mounted ${s.base}/ on ${mnt} (kernel ${(await readFile('/proc/sys/kernel/osrelease', 'utf8')).trim()})`);

    // A source tree with spaces, Unicode, an empty file and a file bigger than davfs2's buffers.
    const src = join(base, 'src');
    const files: Record<string, Buffer> = {
      'readme.txt': Buffer.from('original text\n'),
      'space name.txt': randomBytes(3000),
      'Ünïcödé/日本語.txt': Buffer.from('こんにちは\n'),
      'Ünïcödé/nested dir/big.bin': randomBytes(5 * 1024 * 1024 + 123),
      'to delete/a.txt': Buffer.from('a'),
      'to delete/inner/b.txt': Buffer.from('b'),
      'empty.dat': Buffer.alloc(0),
    };
    for (const [rel, data] of Object.entries(files)) {
      await mkdir(join(src, rel, '..'), { recursive: true });
      await writeFile(join(src, rel), data);
    }
    const sh = (script: string) => run('sh', ['-c', `set -e\n${script}`], { timeoutMs: 120_000, env: { ...process.env, SRC: src, MNT: mnt } });

    const cp = await sh('cp -r "$SRC" "$MNT/tree"');
    expect(cp.code, cp.output).to.equal(0);
    // Editor-style save: write a temp file beside the original, then rename it over the original.
    const save = await sh('printf "saved by the editor\\n" > "$MNT/tree/.readme.txt.swp"\nmv "$MNT/tree/.readme.txt.swp" "$MNT/tree/readme.txt"');
    expect(save.code, save.output).to.equal(0);
    const mv = await sh('mv "$MNT/tree/Ünïcödé" "$MNT/tree/renamed dir"\nmv "$MNT/tree/space name.txt" "$MNT/tree/renamed dir/moved file.txt"');
    expect(mv.code, mv.output).to.equal(0);
    const del = await sh('rm -r "$MNT/tree/to delete"');
    expect(del.code, del.output).to.equal(0);
    const ls = await sh('ls -la "$MNT/tree" "$MNT/tree/renamed dir"');
    expect(ls.code, ls.output).to.equal(0);

    const um = await run('umount', [mnt], { timeoutMs: 120_000 });
    expect(um.code, um.output).to.equal(0);
    mounted = false;

    const expected = new Map<string, Buffer | null>([
      ['readme.txt', Buffer.from('saved by the editor\n')],
      ['empty.dat', Buffer.alloc(0)],
      ['renamed dir/', null],
      ['renamed dir/日本語.txt', files['Ünïcödé/日本語.txt']!],
      ['renamed dir/nested dir/', null],
      ['renamed dir/nested dir/big.bin', files['Ünïcödé/nested dir/big.bin']!],
      ['renamed dir/moved file.txt', files['space name.txt']!],
    ]);
    const actual = await snapshot(join(s.root, 'tree'));
    expect([...actual.keys()].sort()).to.deep.equal([...expected.keys()].sort());
    for (const [rel, data] of expected) {
      if (data) expect(actual.get(rel)!.equals(data), rel).to.equal(true);
    }
    // Nothing of davfs2's local bookkeeping reached the server, and no lock is left behind.
    expect((await readdir(s.root)).filter((n) => n !== '.davmeta').sort()).to.deep.equal(['tree']);
    const pf = await s.req('PROPFIND', '/tree/readme.txt', { headers: { Depth: '0' }, body: '<D:propfind xmlns:D="DAV:"><D:prop><D:lockdiscovery/></D:prop></D:propfind>' });
    expect(parseMultistatus(pf.body).get('/tree/readme.txt')!.props.get('{DAV:}lockdiscovery')?.el.children.length).to.equal(0);
    expect((await stat(join(s.root, 'tree', 'renamed dir', 'nested dir', 'big.bin'))).size).to.equal(5 * 1024 * 1024 + 123);
  });
});
