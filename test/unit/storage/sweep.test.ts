/** The start-up sweep of temp files left by interrupted writes, over a real directory. */
import { expect } from 'chai';
import { promises as fsp } from 'node:fs';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import { FsBackend } from '../../../src/storage/fs/backend.js';
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

  it('stops after its entry budget and says so', async () => {
    const b = new FsBackend({ root });
    await b.init();
    for (let i = 0; i < 50; i++) await touch(join(root, `d${i}`, 'f'), 0);
    const report = await b.sweepStale(Date.now(), 20);
    expect(report.complete).to.equal(false);
    expect(report.scanned).to.be.at.most(21 + 16);
  });
});
