/**
 * GNOME Files' own machinery, driven for real: gvfs's dav backend through the `gio` command on a
 * private D-Bus session (mount, mkdir, copy in and out, list, filesystem info from quota,
 * rename, remove, unmount). Asserts what gio reports and the bytes on the server's disk.
 */
import { expect } from 'chai';
import { mkdir, readFile, readdir, rm, writeFile, chmod } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { makeTempDir, startTestServer, type TestServer } from '../helpers/server.js';
import { requireProgram, run } from '../helpers/run.js';

describe('clients: GNOME gvfs through gio (real client)', function () {
  this.timeout(120_000);
  let s: TestServer;
  let work: string;
  let gvfsd: string;

  before(() => {
    requireProgram('gio', 'libglib2.0-bin');
    requireProgram('dbus-run-session', 'dbus');
    requireProgram('gvfsd-dav', 'gvfs-backends');
    gvfsd = requireProgram('gvfsd', 'gvfs-daemons');
  });
  beforeEach(async () => {
    s = await startTestServer();
    work = await makeTempDir('gio');
    await mkdir(join(work, 'run'), { mode: 0o700 });
    await chmod(join(work, 'run'), 0o700);
  });
  afterEach(async () => {
    await s.close();
    await rm(work, { recursive: true, force: true });
  });

  it('mounts, copies in and out, lists, reports free space, renames, removes and unmounts', async () => {
    const big = randomBytes(3 * 1024 * 1024 + 7);
    await writeFile(join(work, 'big.bin'), big);
    await writeFile(join(work, 'note.txt'), 'from GNOME\n');
    const port = new URL(s.base).port;
    const url = `dav://127.0.0.1:${port}`;
    const folder = `${url}/${encodeURIComponent('Fotos 2024 – été')}`;
    const script = `set -e
${gvfsd} --no-fuse & GVFSD_PID=$!
trap 'kill $GVFSD_PID 2>/dev/null || true' EXIT
gio mount "${url}/" </dev/null
echo step:mounted
gio mkdir "${folder}"
gio copy "$WORK/big.bin" "${folder}/${encodeURIComponent('grand fichier.bin')}"
gio copy "$WORK/note.txt" "${folder}/note.txt"
echo step:copied
gio list -l "${folder}/"
gio info -f "${url}/" | grep 'filesystem::free'
gio move "${folder}/note.txt" "${folder}/${encodeURIComponent('note renommée.txt')}"
echo step:renamed
gio copy "${folder}/${encodeURIComponent('grand fichier.bin')}" "$WORK/back.bin"
gio remove "${folder}/${encodeURIComponent('grand fichier.bin')}"
echo step:removed
gio mount -u "${url}/"
echo step:unmounted
`;
    const r = await run('dbus-run-session', ['--', 'sh', '-c', script], {
      env: { ...process.env, HOME: work, WORK: work, XDG_RUNTIME_DIR: join(work, 'run'), GIO_USE_VFS: 'gvfs' },
      timeoutMs: 100_000,
    });
    expect(r.output).to.include('step:unmounted');
    expect(r.code, r.output).to.equal(0);
    expect(r.stdout).to.match(/grand fichier\.bin\t3145735\t\(regular\)/);
    expect(r.stdout).to.match(/note\.txt\t11\t\(regular\)/);
    expect(r.stdout).to.match(/filesystem::free: [1-9]\d*/);

    const dir = join(s.root, 'Fotos 2024 – été');
    expect((await readdir(dir)).sort()).to.deep.equal(['note renommée.txt']);
    expect(await readFile(join(dir, 'note renommée.txt'), 'utf8')).to.equal('from GNOME\n');
    expect((await readFile(join(work, 'back.bin'))).equals(big)).to.equal(true);
  });
});
