/**
 * The session signing key: workers of one server start together and must all end up with the
 * one key on disk, complete. Creating it in place let a worker read the file between its
 * creation and its bytes; CI saw "session key too short" with --workers 2.
 */
import { expect } from 'chai';
import { mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SessionAuth } from '../../../src/auth/session.js';
import type { ServerOptions } from '../../../src/config.js';

const make = (dir: string): Promise<SessionAuth> => SessionAuth.create({} as ServerOptions, dir, {} as never);

describe('session key', () => {
  let base: string;
  before(async () => {
    base = await mkdtemp(join(tmpdir(), 'session-key-'));
  });
  after(async () => {
    await rm(base, { recursive: true, force: true });
  });

  it('many starts at once agree on one complete key, and leave no temp file', async () => {
    for (let round = 0; round < 30; round++) {
      const dir = join(base, `r${round}`);
      const all = await Promise.all(Array.from({ length: 8 }, () => make(dir)));
      const tokens = new Set(all.map((a) => a.csrfOf('same cookie')));
      expect(tokens.size, `round ${round}: one key`).to.equal(1);
      expect((await readFile(join(dir, 'session.key'))).length).to.equal(32);
      expect(await readdir(dir)).to.deep.equal(['session.key']);
    }
  });

  it('is never seen on disk before its bytes are (what a worker starting alongside would read)', async () => {
    const partial: number[] = [];
    for (let round = 0; round < 30; round++) {
      const dir = join(base, `seen${round}`);
      let done = false;
      const made = make(dir).finally(() => (done = true));
      // Readers keep the threadpool busy beside the creation, as other workers' reads would.
      const reader = async (): Promise<void> => {
        while (!done) {
          const b = await readFile(join(dir, 'session.key')).catch(() => null);
          if (b && b.length !== 32) partial.push(b.length);
        }
      };
      await Promise.all([made, reader(), reader(), reader()]);
    }
    expect(partial, 'lengths read while the key was being made').to.deep.equal([]);
  });

  it('keeps the key across starts, and refuses a damaged one', async () => {
    const dir = join(base, 'kept');
    const first = (await make(dir)).csrfOf('c');
    expect((await make(dir)).csrfOf('c')).to.equal(first);
    await writeFile(join(dir, 'session.key'), 'short');
    let err: Error | undefined;
    await make(dir).catch((e: Error) => (err = e));
    expect(err?.message).to.match(/session key too short/);
  });
});
