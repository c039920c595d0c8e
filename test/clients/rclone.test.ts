/**
 * rclone as a WebDAV client, driven for real (configured through RCLONE_CONFIG_* variables):
 * copy a tree with Unicode and spaced names and a 50 MiB file, `rclone check --download`
 * finds no difference, mtimes arrive through X-OC-Mtime, then moveto, delete and purge.
 */
import { expect } from 'chai';
import { mkdir, readFile, readdir, rm, stat, writeFile, utimes } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { makeTempDir, startTestServer, type TestServer } from '../helpers/server.js';
import { requireProgram, run } from '../helpers/run.js';

const FILES: Record<string, number> = {
  'plain.txt': 10,
  'with space & symbols #1.txt': 1000,
  'Ünïcödé café/naïve – résumé.md': 5000,
  'Ünïcödé café/日本語 フォルダ/写真 01.jpg': 70_000,
  'deep/er/est/empty file': 0,
  'big/fifty MiB.bin': 50 * 1024 * 1024,
};

describe('clients: rclone (real client)', function () {
  this.timeout(180_000);
  let s: TestServer;
  let work: string;
  let rclone: string;
  let env: NodeJS.ProcessEnv;
  const src = (): string => join(work, 'src');
  const rc = (...args: string[]) => run(rclone, [...args, '--retries', '1', '--low-level-retries', '1'], { env, timeoutMs: 150_000 });

  before(async () => {
    rclone = requireProgram('rclone', 'rclone');
    work = await makeTempDir('rclone');
    for (const [rel, size] of Object.entries(FILES)) {
      await mkdir(join(src(), rel, '..'), { recursive: true });
      await writeFile(join(src(), rel), randomBytes(size));
      // Whole seconds so the comparison below is exact.
      await utimes(join(src(), rel), 1_600_000_000 + size % 1000, 1_600_000_000 + size % 1000);
    }
  });
  after(async () => rm(work, { recursive: true, force: true }));
  beforeEach(async () => {
    s = await startTestServer();
    env = {
      ...process.env,
      RCLONE_CONFIG: join(work, 'rclone.conf'),
      RCLONE_CONFIG_DAV_TYPE: 'webdav',
      RCLONE_CONFIG_DAV_URL: `${s.base}/`,
      // owncloud: rclone sends X-OC-Mtime so the server keeps modification times.
      RCLONE_CONFIG_DAV_VENDOR: 'owncloud',
    };
  });
  afterEach(async () => s.close());

  it('copies a tree, check --download finds no difference, and bytes and mtimes on disk match', async () => {
    const cp = await rc('copy', src(), 'dav:tree');
    expect(cp.code, cp.output).to.equal(0);
    const check = await rc('check', '--download', src(), 'dav:tree');
    expect(check.code, check.output).to.equal(0);
    expect(check.output).to.match(/0 differences found/);
    expect(check.output).to.match(new RegExp(`${Object.keys(FILES).length} matching files`));
    for (const [rel, size] of Object.entries(FILES)) {
      const onDisk = join(s.root, 'tree', rel);
      const st = await stat(onDisk);
      expect(st.size, rel).to.equal(size);
      expect((await readFile(onDisk)).equals(await readFile(join(src(), rel))), rel).to.equal(true);
      expect(st.mtimeMs, `${rel} mtime via X-OC-Mtime`).to.equal((await stat(join(src(), rel))).mtimeMs);
    }
    // A second copy has nothing to do (sizes and times agree).
    const again = await rc('copy', '-v', src(), 'dav:tree');
    expect(again.code, again.output).to.equal(0);
    expect(again.output).not.to.match(/: Copied/);
  });

  it('moveto renames, delete removes files only, purge removes the tree', async () => {
    expect((await rc('copy', src(), 'dav:tree')).code).to.equal(0);
    const mv = await rc('moveto', 'dav:tree/Ünïcödé café/naïve – résumé.md', 'dav:tree/moved here/résumé final.md');
    expect(mv.code, mv.output).to.equal(0);
    expect(await readFile(join(s.root, 'tree', 'moved here', 'résumé final.md'))).to.deep.equal(await readFile(join(src(), 'Ünïcödé café/naïve – résumé.md')));
    expect((await readdir(join(s.root, 'tree', 'Ünïcödé café'))).sort()).to.deep.equal(['日本語 フォルダ']);

    const del = await rc('delete', 'dav:tree/Ünïcödé café');
    expect(del.code, del.output).to.equal(0);
    expect(await readdir(join(s.root, 'tree', 'Ünïcödé café', '日本語 フォルダ'))).to.deep.equal([]);
    expect(await readFile(join(s.root, 'tree', 'plain.txt'))).to.deep.equal(await readFile(join(src(), 'plain.txt')));

    const purge = await rc('purge', 'dav:tree');
    expect(purge.code, purge.output).to.equal(0);
    expect((await readdir(s.root)).filter((n) => n !== '.davmeta')).to.deep.equal([]);
    const ls = await rc('lsf', 'dav:');
    expect(ls.code, ls.output).to.equal(0);
    expect(ls.stdout.trim()).to.equal('');
  });
});
