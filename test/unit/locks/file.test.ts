import { expect } from 'chai';
import { mkdtemp, readFile, rm, writeFile, readdir, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describeLockManager, newLock } from './conformance.js';
import { FileLockManager } from '../../../src/locks/file.js';

async function fresh(): Promise<{ dir: string; file: string; manager: FileLockManager }> {
  const dir = await mkdtemp(join(tmpdir(), 'webdav-test-locks-'));
  const file = join(dir, 'locks.json');
  const manager = new FileLockManager(file);
  await manager.init();
  return { dir, file, manager };
}

describeLockManager('file', async () => {
  const { dir, manager } = await fresh();
  return {
    manager,
    cleanup: async () => {
      await manager.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
});

describe('FileLockManager persistence', () => {
  let dir: string;
  let file: string;
  let m: FileLockManager;
  beforeEach(async () => ({ dir, file, manager: m } = await fresh()));
  afterEach(async () => {
    await m.close();
    await rm(dir, { recursive: true, force: true });
  });

  const reopen = async (): Promise<FileLockManager> => {
    await m.close();
    const again = new FileLockManager(file);
    await again.init();
    return again;
  };

  it('a new manager on the same file sees the persisted locks and their conflicts', async () => {
    const r = await m.create(newLock('/a', { depth: 'infinity', ownerXml: '<o>Grüße</o>', principal: 'bob' }));
    if (!('lock' in r)) throw new Error('expected a lock');
    const shared = await m.create(newLock('/s', { scope: 'shared' }));
    if (!('lock' in shared)) throw new Error('expected a lock');
    m = await reopen();
    expect(await m.byToken(r.lock.token)).to.deep.equal(r.lock);
    expect((await m.covering('/a/x')).map((l) => l.token)).to.deep.equal([r.lock.token]);
    const again = await m.create(newLock('/a/x'));
    expect('conflict' in again && again.conflict.token).to.equal(r.lock.token);
    expect('lock' in (await m.create(newLock('/s', { scope: 'shared' })))).to.equal(true);
  });

  it('persists refresh, remove and dropTree', async () => {
    const made = await Promise.all(['/a', '/b', '/c/d'].map((p) => m.create(newLock(p, { timeoutSec: 100 }))));
    const [a, b, cd] = made.map((r) => ('lock' in r ? r.lock : undefined)!);
    await m.refresh(a!.token, 900);
    await m.remove(b!.token);
    await m.dropTree('/c');
    m = await reopen();
    expect((await m.byToken(a!.token))!.timeoutSec).to.equal(900);
    expect(await m.byToken(b!.token)).to.equal(null);
    expect(await m.byToken(cd!.token)).to.equal(null);
  });

  it('does not load locks that expired while it was down', async () => {
    const r = await m.create(newLock('/a', { timeoutSec: 1 }));
    if (!('lock' in r)) throw new Error('expected a lock');
    await m.close();
    await new Promise((res) => setTimeout(res, 1200));
    m = new FileLockManager(file);
    await m.init();
    expect(await m.byToken(r.lock.token)).to.equal(null);
    expect('lock' in (await m.create(newLock('/a')))).to.equal(true);
  });

  it('a lock change appends a line to the journal instead of rewriting a store of every lock', async () => {
    await Promise.all(Array.from({ length: 3000 }, (_, i) => m.create(newLock(`/many/${i}`, { ownerXml: '<D:href>someone</D:href>' }))));
    m = await reopen();
    const before = await stat(file);
    expect(before.size).to.be.greaterThan(3000 * 100);
    const r = await m.create(newLock('/one-more'));
    if (!('lock' in r)) throw new Error('expected a lock');
    await m.refresh(r.lock.token, 60);
    const after = await stat(file);
    expect([after.ino, after.size, after.mtimeMs]).to.deep.equal([before.ino, before.size, before.mtimeMs]);
    expect((await stat(`${file}.journal`)).size, 'two journal lines').to.be.below(1500);
    // A kill right now: the journal replays on the next start (and a torn last line is skipped).
    await writeFile(`${file}.journal`, (await readFile(`${file}.journal`, 'utf8')) + '{"op":"put","lock":{"tok');
    const again = new FileLockManager(file);
    await again.init();
    expect((await again.byToken(r.lock.token))?.timeoutSec).to.equal(60);
    expect((await again.covering('/many', { descendants: true })).length).to.equal(3000);
    await again.close();
  });

  it('writes valid JSON through a temp file and leaves no temp files behind', async () => {
    await Promise.all(Array.from({ length: 25 }, (_, i) => m.create(newLock(`/f${i}`))));
    await m.close();
    expect((await readdir(dir)).filter((n) => n !== 'locks.json.journal')).to.deep.equal([]);
    m = new FileLockManager(file);
    await m.init();
    // The start replays the journal into a fresh snapshot of valid JSON.
    const saved = JSON.parse(await readFile(file, 'utf8')) as unknown[];
    expect(saved.length).to.equal(25);
    expect(await readdir(dir)).to.deep.equal(['locks.json']);
  });

  it('starts empty when the file does not exist, and refuses a corrupt file with a clear message', async () => {
    expect(await m.covering('/', { descendants: true })).to.deep.equal([]);
    await writeFile(file, '{not json');
    const bad = new FileLockManager(file);
    let err: unknown;
    try {
      await bad.init();
    } catch (e) {
      err = e;
    }
    expect((err as Error).message).to.match(/not valid JSON/);
    await bad.close();
  });
});
