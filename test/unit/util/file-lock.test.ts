/** withFileLock: mutual exclusion through an O_EXCL lock file, and recovery from a crashed holder. */
import { expect } from 'chai';
import { rm, stat, utimes, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { withFileLock } from '../../../src/util/file-lock.js';
import { makeTempDir } from '../../helpers/server.js';

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

describe('withFileLock', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await makeTempDir('flock');
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('runs holders of one lock file one at a time and removes the file afterwards', async () => {
    const lock = join(dir, 'sub', 'x.p.lock');
    let inside = 0;
    let most = 0;
    await Promise.all(
      Array.from({ length: 12 }, () =>
        withFileLock(lock, async () => {
          inside++;
          most = Math.max(most, inside);
          await sleep(5);
          inside--;
        }),
      ),
    );
    expect(most).to.equal(1);
    await stat(lock).then(
      () => expect.fail('lock file left behind'),
      (e: NodeJS.ErrnoException) => expect(e.code).to.equal('ENOENT'),
    );
  });

  it('waits for a live holder and breaks the lock file of a holder that died', async () => {
    const lock = join(dir, 'y.p.lock');
    await writeFile(lock, '');
    const started = Date.now();
    const fresh = withFileLock(lock, async () => Date.now() - started, { staleMs: 300 });
    expect(await fresh).to.be.at.least(250); // waited until the file counted as stale
    await writeFile(lock, '');
    const old = new Date(Date.now() - 60_000);
    await utimes(lock, old, old);
    const t0 = Date.now();
    await withFileLock(lock, async () => undefined);
    expect(Date.now() - t0).to.be.lessThan(1_000);
  });

  it('releases the lock file when the holder throws', async () => {
    const lock = join(dir, 'z.p.lock');
    await withFileLock(lock, async () => Promise.reject(new Error('boom'))).catch(() => undefined);
    expect(await withFileLock(lock, async () => 'next')).to.equal('next');
  });
});
