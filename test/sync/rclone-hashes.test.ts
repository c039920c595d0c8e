/**
 * rclone (Debian's) with `vendor = owncloud` against the real server: it uploads with
 * OC-Checksum, reads oc:checksums, so `rclone check` compares hashes (not only sizes),
 * `rclone md5sum`/`sha1sum` equal md5sum/sha1sum of the files on disk, a same-size same-mtime
 * edit made on disk is found, and hashes survive server-side MOVE/COPY and a restart.
 */
import { expect } from 'chai';
import { mkdir, readFile, rm, writeFile, utimes } from 'node:fs/promises';
import { createHash, randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { makeTempDir, startTestServer, type TestServer } from '../helpers/server.js';
import { requireProgram, run } from '../helpers/run.js';
import { sameSizeSameMtimeEdit } from './helpers.js';

const FILES: Record<string, number> = {
  'a.txt': 12,
  'with space é.txt': 4000,
  'dir/b.bin': 70_000,
  'dir/sub/c.bin': 3 * 1024 * 1024 + 5,
  'empty': 0,
};

/** `<hex>  <path>` lines (md5sum/sha1sum and rclone's format), sorted. */
const sumLines = (out: string): string[] =>
  out
    .split('\n')
    .filter((l) => /^[0-9a-f]{32,40}  /.test(l))
    .sort();

describe('sync: rclone hashes (vendor owncloud, real client)', function () {
  this.timeout(180_000);
  let s: TestServer;
  let work: string;
  let root: string;
  let rclone: string;
  let env: NodeJS.ProcessEnv;
  const src = (): string => join(work, 'src');
  const rc = (...args: string[]) => run(rclone, [...args, '--retries', '1', '--low-level-retries', '1'], { env, timeoutMs: 150_000 });
  const onDisk = async (tool: 'md5sum' | 'sha1sum', dir: string): Promise<string[]> => {
    const r = await run('sh', ['-c', `cd "$1" && find . -type f -printf '%P\\0' | xargs -0 ${tool}`, 'sh', dir]);
    expect(r.code, r.output).to.equal(0);
    return sumLines(r.stdout);
  };

  before(async () => {
    rclone = requireProgram('rclone', 'rclone');
    work = await makeTempDir('rclone-hashes');
    root = join(work, 'served');
    await mkdir(root);
    for (const [rel, size] of Object.entries(FILES)) {
      await mkdir(join(src(), rel, '..'), { recursive: true });
      await writeFile(join(src(), rel), randomBytes(size));
      await utimes(join(src(), rel), 1_600_000_000, 1_600_000_000);
    }
    env = {
      ...process.env,
      RCLONE_CONFIG: join(work, 'rclone.conf'),
      RCLONE_CONFIG_DAV_TYPE: 'webdav',
      RCLONE_CONFIG_DAV_VENDOR: 'owncloud',
    };
  });
  after(async () => {
    await s?.close();
    await rm(work, { recursive: true, force: true });
  });
  const start = async (): Promise<void> => {
    s = await startTestServer({ root });
    env.RCLONE_CONFIG_DAV_URL = `${s.base}/`;
  };

  it('copy uploads with hashes, check compares them, md5sum/sha1sum equal the files on disk', async () => {
    await start();
    const cp = await rc('copy', '-vv', src(), 'dav:tree');
    expect(cp.code, cp.output).to.equal(0);
    // rclone sent OC-Checksum with every upload (the server verified it) and compared hashes after.
    expect(cp.output).not.to.match(/corrupted on transfer/);

    const check = await rc('check', '-vv', src(), 'dav:tree');
    expect(check.code, check.output).to.equal(0);
    expect(check.output).to.match(new RegExp(`${Object.keys(FILES).length} matching files`));
    expect(check.output).to.match(/0 differences found/);
    expect(check.output).not.to.match(/hashes could not be checked/);
    // One "md5 = <hex> OK" line per file: the hashes were compared, not only the sizes.
    for (const rel of Object.keys(FILES)) {
      const md5 = createHash('md5').update(await readFile(join(src(), rel))).digest('hex');
      expect(check.output, rel).to.include(`${rel}: md5 = ${md5} OK`);
    }

    const md5 = await rc('md5sum', 'dav:tree');
    expect(md5.code, md5.output).to.equal(0);
    expect(sumLines(md5.stdout)).to.deep.equal(await onDisk('md5sum', join(root, 'tree')));
    const sha1 = await rc('sha1sum', 'dav:tree');
    expect(sha1.code, sha1.output).to.equal(0);
    expect(sumLines(sha1.stdout)).to.deep.equal(await onDisk('sha1sum', join(root, 'tree')));
    expect(sumLines(sha1.stdout)).to.have.length(Object.keys(FILES).length);
  });

  it('files written on disk get hashes when rclone asks', async () => {
    await mkdir(join(root, 'tree', 'outside'), { recursive: true });
    await writeFile(join(root, 'tree', 'outside', 'x.bin'), randomBytes(300_000));
    const md5 = await rc('md5sum', 'dav:tree/outside');
    expect(md5.code, md5.output).to.equal(0);
    expect(sumLines(md5.stdout)).to.deep.equal(await onDisk('md5sum', join(root, 'tree', 'outside')));
    await rm(join(root, 'tree', 'outside'), { recursive: true });
  });

  it('a same-size, same-mtime edit made on disk is detected by rclone check', async () => {
    const file = join(root, 'tree', 'dir', 'b.bin');
    await sameSizeSameMtimeEdit(file, randomBytes(70_000));
    const check = await rc('check', src(), 'dav:tree');
    expect(check.code, check.output).to.not.equal(0);
    expect(check.output).to.match(/dir\/b\.bin: md5 differ/);
    expect(check.output).to.match(/1 differences found/);
    // put it back (rclone copy sees the hash differ and uploads it again)
    const cp = await rc('copy', '--checksum', src(), 'dav:tree');
    expect(cp.code, cp.output).to.equal(0);
    expect((await rc('check', src(), 'dav:tree')).code).to.equal(0);
  });

  it('hashes survive a server-side MOVE and COPY and a restart', async () => {
    const mv = await rc('moveto', 'dav:tree/dir/sub/c.bin', 'dav:tree/moved/c.bin');
    expect(mv.code, mv.output).to.equal(0);
    const cp = await rc('copyto', 'dav:tree/a.txt', 'dav:tree/moved/a copy.txt');
    expect(cp.code, cp.output).to.equal(0);
    await s.close();
    await start();
    const sha1 = await rc('sha1sum', 'dav:tree/moved');
    expect(sha1.code, sha1.output).to.equal(0);
    expect(sumLines(sha1.stdout)).to.deep.equal(await onDisk('sha1sum', join(root, 'tree', 'moved')));
    expect(sumLines(sha1.stdout)).to.have.length(2);
  });
});
