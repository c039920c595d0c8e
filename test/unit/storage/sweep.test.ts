/** The start-up sweep of temp files left by interrupted writes, over a real directory. */
import { expect } from 'chai';
import { promises as fsp } from 'node:fs';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import { FsBackend } from '../../../src/storage/fs/backend.js';
import { TREE_SWEPT } from '../../../src/storage/fs/sweep.js';
import { makeTempDir } from '../../helpers/server.js';

const HOUR = 3600_000;

async function touch(file: string, ageMs: number): Promise<void> {
  await fsp.mkdir(join(file, '..'), { recursive: true });
  await fsp.writeFile(file, 'x');
  const t = new Date(Date.now() - ageMs);
  await fsp.utimes(file, t, t);
}

describe('FsBackend.sweepStale', () => {
  let root: string;
  let outside: string;
  beforeEach(async () => {
    root = await makeTempDir('sweep');
    outside = await makeTempDir('sweep-outside');
  });
  afterEach(async () => {
    await fsp.rm(root, { recursive: true, force: true });
    await fsp.rm(outside, { recursive: true, force: true });
  });

  it('removes old upload and metadata temp files anywhere, keeps fresh ones and real files, never follows symlinks', async () => {
    const b = new FsBackend({ root });
    await b.init();
    const stale = [join(root, '.~davtmp-1'), join(root, 'a', 'b', '.~davtmp-2'), join(root, '.davmeta', 'props', 'root.d', `x.p.${randomUUID()}.tmp`), join(root, '.davmeta', `locks.json.${randomUUID()}.tmp`)];
    const kept = [
      join(root, 'a', '.~davtmp-fresh'), // being written by an upload that started after the server
      join(root, 'a', 'notes.tmp'), // a user's file: .tmp names only count inside .davmeta
      join(root, 'a', `y.${randomUUID()}.tmp`),
      join(root, '.davmeta', 'props', 'root.d', 'x.p'),
      join(outside, '.~davtmp-elsewhere'),
    ];
    for (const f of stale) await touch(f, HOUR);
    for (const f of kept) await touch(f, HOUR);
    await touch(kept[0]!, -HOUR); // modified after the start
    await fsp.symlink(outside, join(root, 'link'));
    const report = await b.sweepStale(Date.now());
    expect(report).to.include({ removed: stale.length, complete: true });
    for (const f of stale) await fsp.access(f).then(() => expect.fail(`${f} should be gone`), () => undefined);
    for (const f of kept) await fsp.access(f);
  });

  it('walks the served tree once: later starts sweep only the metadata folder', async () => {
    const b = new FsBackend({ root });
    await b.init();
    await touch(join(root, 'a', '.~davtmp-1'), HOUR);
    expect(await b.sweepStale(Date.now())).to.include({ removed: 1, complete: true });
    await fsp.access(join(root, '.davmeta', TREE_SWEPT));
    // Planted after the tree was swept (no version that writes these runs any more): left alone,
    // and the tree is not walked (only the metadata folder's entries are counted).
    for (let i = 0; i < 30; i++) await touch(join(root, `d${i}`, 'f'), 0);
    await touch(join(root, 'a', '.~davtmp-2'), HOUR);
    const meta = join(root, '.davmeta', `locks.json.${randomUUID()}.tmp`);
    await touch(meta, HOUR);
    const again = await b.sweepStale(Date.now());
    expect(again).to.include({ removed: 1, complete: true });
    expect(again.scanned).to.be.below(30);
    await fsp.access(join(root, 'a', '.~davtmp-2'));
    await fsp.access(meta).then(() => expect.fail('the metadata temp file should be gone'), () => undefined);
  });

  it('marks nothing when its budget ran out, so the next start walks the tree again', async () => {
    const b = new FsBackend({ root });
    await b.init();
    for (let i = 0; i < 50; i++) await touch(join(root, `d${i}`, 'f'), 0);
    expect((await b.sweepStale(Date.now(), 20)).complete).to.equal(false);
    await fsp.access(join(root, '.davmeta', TREE_SWEPT)).then(() => expect.fail('no marker'), () => undefined);
    await touch(join(root, 'd7', '.~davtmp-3'), HOUR);
    expect(await b.sweepStale(Date.now())).to.include({ removed: 1, complete: true });
  });

  it('stops when the store closes, and writes nothing in the metadata folder afterwards', async () => {
    // Found by the suite: a sweep still running after close wrote its marker into .davmeta while
    // a test removed the folder (ENOTEMPTY).
    const b = new FsBackend({ root });
    await b.init();
    for (let i = 0; i < 40; i++) await touch(join(root, `d${i}`, 'f'), 0);
    const running = b.sweepStale(Date.now());
    await b.close();
    expect((await running).complete).to.equal(false);
    await fsp.access(join(root, '.davmeta', TREE_SWEPT)).then(() => expect.fail('no marker after close'), () => undefined);
    await fsp.rm(root, { recursive: true });
  });

  it('stops after its entry budget and says so', async () => {
    const b = new FsBackend({ root });
    await b.init();
    for (let i = 0; i < 50; i++) await touch(join(root, `d${i}`, 'f'), 0);
    const report = await b.sweepStale(Date.now(), 20);
    expect(report.complete).to.equal(false);
    expect(report.scanned).to.be.at.most(21 + 16);
  });
});
