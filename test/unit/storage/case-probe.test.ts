/**
 * A case-insensitive filesystem (macOS, Windows shares, ext4/tmpfs casefold) would let `/A` and
 * `/a` be one file but two lock and property keys, so a different spelling could bypass a lock:
 * the server probes at start-up and refuses to serve such a tree with a clear message. This
 * kernel offers no casefold mount to the tests, so the refusal is tested with an injected probe,
 * and the real probe on a case-sensitive directory.
 */
import { expect } from 'chai';
import { promises as fsp } from 'node:fs';
import { CaseInsensitiveRootError, FsBackend } from '../../../src/storage/fs/backend.js';
import { isCaseInsensitive } from '../../../src/storage/fs/paths.js';
import { makeTempDir } from '../../helpers/server.js';

describe('case-insensitive filesystems', () => {
  let root: string;
  beforeEach(async () => {
    root = await makeTempDir('case');
  });
  afterEach(() => fsp.rm(root, { recursive: true, force: true }));

  it('the probe tells a case-sensitive directory, and leaves nothing behind', async () => {
    expect(await isCaseInsensitive(root)).to.equal(false);
    expect(await fsp.readdir(root)).to.deep.equal([]);
  });

  it('a root on a case-insensitive filesystem is refused with a message naming it', async () => {
    const b = new FsBackend({ root, caseProbe: async () => true });
    let err: unknown;
    await b.init().catch((e: unknown) => (err = e));
    expect(err).to.be.instanceOf(CaseInsensitiveRootError);
    expect((err as Error).message).to.include(root);
    expect((err as Error).message).to.include('case-insensitive');
  });
});
