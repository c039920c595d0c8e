/**
 * The COPY and DELETE walks (src/storage/fs/worker/tree.ts) against a local user who swaps
 * members, or the folder being walked, for symbolic links while they run. A walk is a generator
 * that yields after each member, so the test steps it and swaps between the directory read and
 * the next member: exactly the window a racing user has. COPY never copies a file from outside
 * the root (a link swapped in that stays inside is copied as links are); DELETE never removes
 * anything outside it (a link swapped in is removed itself).
 */
import { expect } from 'chai';
import { promises as fsp, realpathSync } from 'node:fs';
import { join } from 'node:path';
import { copyTree, removeTree } from '../../../src/storage/fs/worker/tree.js';
import type { TreeReply } from '../../../src/storage/fs/worker/protocol.js';
import { makeTempDir } from '../../helpers/server.js';

describe('COPY walk against members swapped for links while it runs', function () {
  this.timeout(30_000);
  let dir: string;
  let root: string;
  let outside: string;
  beforeEach(async () => {
    dir = realpathSync.native(await makeTempDir('copy-race'));
    root = join(dir, 'root');
    outside = join(dir, 'outside');
    await fsp.mkdir(join(root, 'src'), { recursive: true });
    await fsp.mkdir(join(root, '.davmeta'));
    await fsp.mkdir(join(outside, 'secrets'), { recursive: true });
    await fsp.writeFile(join(outside, 'secret.txt'), 'SECRET');
    await fsp.writeFile(join(outside, 'big-secret.bin'), Buffer.alloc(3 * 1024 * 1024, 0x53));
    await fsp.writeFile(join(outside, 'secrets', 'key'), 'KEY');
    await fsp.writeFile(join(root, 'inside.txt'), 'INSIDE');
  });
  afterEach(async () => {
    await fsp.rm(dir, { recursive: true, force: true });
  });

  /**
   * Copies root/src to root/dst member by member; `swap(name)` runs after the first member was
   * copied (and after the directory was read), given the name of a member not copied yet.
   */
  async function copyWithSwap(swap: (pending: string) => Promise<void>): Promise<{ reply: TreeReply; pending: string }> {
    const walk = copyTree({
      op: 'copy',
      id: 1,
      src: join(root, 'src'),
      target: join(root, 'dst'),
      from: '/src',
      to: '/dst',
      isCollection: true,
      recursive: true,
      bound: { root, meta: join(root, '.davmeta') },
    });
    const names = (await fsp.readdir(join(root, 'src'))).sort();
    let pending: string | undefined;
    for (;;) {
      const r = walk.next();
      if (r.done) return { reply: r.value, pending: pending! };
      if (pending === undefined) {
        let copied: string[] = [];
        try {
          copied = await fsp.readdir(join(root, 'dst'));
        } catch {
          // not made yet
        }
        if (copied.length === 1) {
          pending = names.find((n) => !copied.includes(n))!;
          await swap(pending);
        }
      }
    }
  }

  it('leaves out a file swapped for a link to a file outside the root, small or large', async () => {
    // Each source member is small or large like the file its link then leads to (the large
    // copy goes through the kernel's copy of the checked descriptor).
    for (const [target, own] of [
      ['secret.txt', Buffer.from('own b')],
      ['big-secret.bin', Buffer.alloc(2 * 1024 * 1024, 1)],
    ] as const) {
      await fsp.rm(join(root, 'dst'), { recursive: true, force: true });
      await fsp.rm(join(root, 'src'), { recursive: true, force: true });
      await fsp.mkdir(join(root, 'src'));
      await fsp.writeFile(join(root, 'src', 'a'), own);
      await fsp.writeFile(join(root, 'src', 'b'), own);
      const { reply, pending } = await copyWithSwap(async (name) => {
        await fsp.rm(join(root, 'src', name));
        await fsp.symlink(join(outside, target), join(root, 'src', name));
      });
      expect(reply.code, target).to.equal(undefined);
      const copied = await fsp.readdir(join(root, 'dst'));
      expect(copied, `${target}: the swapped member is left out`).to.not.include(pending);
      for (const n of copied) {
        const body = await fsp.readFile(join(root, 'dst', n));
        expect(Buffer.compare(body, own), `${n} holds its own bytes, nothing from outside`).to.equal(0);
      }
    }
  });

  it('copies a file swapped for a link that stays inside the root', async () => {
    await fsp.writeFile(join(root, 'src', 'a'), 'A');
    await fsp.writeFile(join(root, 'src', 'b'), 'B');
    const { reply, pending } = await copyWithSwap(async (name) => {
      await fsp.rm(join(root, 'src', name));
      await fsp.symlink(join(root, 'inside.txt'), join(root, 'src', name));
    });
    expect(reply.code).to.equal(undefined);
    expect(reply.failed).to.deep.equal([]);
    expect(await fsp.readFile(join(root, 'dst', pending), 'utf8')).to.equal('INSIDE');
  });

  it('leaves out a folder swapped for a link to a folder outside the root', async () => {
    for (const n of ['a', 'b']) {
      await fsp.mkdir(join(root, 'src', n));
      await fsp.writeFile(join(root, 'src', n, 'key'), 'mine');
    }
    const { reply, pending } = await copyWithSwap(async (name) => {
      await fsp.rm(join(root, 'src', name), { recursive: true });
      await fsp.symlink(join(outside, 'secrets'), join(root, 'src', name));
    });
    expect(reply.code).to.equal(undefined);
    const copied = await fsp.readdir(join(root, 'dst'));
    expect(copied, 'the swapped folder is left out').to.deep.equal(['a', 'b'].filter((n) => n !== pending));
    expect(await fsp.readFile(join(root, 'dst', copied[0]!, 'key'), 'utf8')).to.equal('mine');
  });

  it('copies the rest of a folder from that folder when it is swapped for a link out of the root mid-walk', async () => {
    await fsp.mkdir(join(root, 'src', 'sub'));
    for (const n of ['a', 'b', 'c']) {
      await fsp.writeFile(join(root, 'src', 'sub', n), `own ${n}`);
      await fsp.writeFile(join(outside, 'secrets', n), `SECRET ${n}`);
    }
    const walk = copyTree({ op: 'copy', id: 1, src: join(root, 'src'), target: join(root, 'dst'), from: '/src', to: '/dst', isCollection: true, recursive: true, bound: { root, meta: join(root, '.davmeta') } });
    let swapped = false;
    let r = walk.next();
    while (!r.done) {
      if (!swapped && (await fsp.readdir(join(root, 'dst', 'sub')).catch(() => [])).length === 1) {
        // the folder being walked goes away and a link to a folder outside takes its name
        await fsp.rename(join(root, 'src', 'sub'), join(root, 'src', 'sub-moved'));
        await fsp.symlink(join(outside, 'secrets'), join(root, 'src', 'sub'));
        swapped = true;
      }
      r = walk.next();
    }
    expect(swapped, 'the swap happened mid-walk').to.equal(true);
    expect(r.value.code).to.equal(undefined);
    const copied = (await fsp.readdir(join(root, 'dst', 'sub'))).sort();
    expect(copied).to.deep.equal(['a', 'b', 'c']);
    for (const n of copied) expect(await fsp.readFile(join(root, 'dst', 'sub', n), 'utf8'), n).to.equal(`own ${n}`);
  });

  it('still copies large files whole, mode kept, and never over an existing name', async () => {
    const big = Buffer.alloc(5 * 1024 * 1024 + 17);
    for (let i = 0; i < big.length; i += 4096) big[i] = (i / 4096) % 251;
    await fsp.writeFile(join(root, 'src', 'big'), big, { mode: 0o640 });
    await fsp.chmod(join(root, 'src', 'big'), 0o640);
    const { reply } = await copyWithSwap(async () => undefined);
    expect(reply.code).to.equal(undefined);
    expect(Buffer.compare(await fsp.readFile(join(root, 'dst', 'big')), big)).to.equal(0);
    expect((await fsp.stat(join(root, 'dst', 'big'))).mode & 0o777).to.equal(0o640);
  });
});

describe('DELETE walk against folders swapped for links while it runs', function () {
  this.timeout(30_000);
  let dir: string;
  let root: string;
  let outside: string;
  beforeEach(async () => {
    dir = realpathSync.native(await makeTempDir('delete-race'));
    root = join(dir, 'root');
    outside = join(dir, 'outside');
    await fsp.mkdir(join(root, 'd', 'sub'), { recursive: true });
    await fsp.mkdir(join(outside, 'victims'), { recursive: true });
    for (const n of ['a', 'b', 'c']) {
      await fsp.writeFile(join(root, 'd', 'sub', n), `own ${n}`);
      await fsp.writeFile(join(outside, 'victims', n), `keep ${n}`);
    }
  });
  afterEach(async () => {
    await fsp.rm(dir, { recursive: true, force: true });
  });

  const outsideIntact = async (): Promise<void> => {
    expect((await fsp.readdir(join(outside, 'victims'))).sort(), 'nothing outside the root is removed').to.deep.equal(['a', 'b', 'c']);
  };

  it('removes the rest of a folder swapped for a link mid-walk from that folder, nothing outside', async () => {
    const walk = removeTree({ op: 'rm', id: 1, file: join(root, 'd'), path: '/d', noLink: false });
    let swapped = false;
    let r = walk.next();
    while (!r.done) {
      if (!swapped && (await fsp.readdir(join(root, 'd', 'sub'))).length === 2) {
        await fsp.rename(join(root, 'd', 'sub'), join(root, 'd-sub-moved'));
        await fsp.symlink(join(outside, 'victims'), join(root, 'd', 'sub'));
        swapped = true;
      }
      r = walk.next();
    }
    expect(swapped, 'the swap happened mid-walk').to.equal(true);
    await outsideIntact();
    // the moved folder's members went (its own entry had moved away, so it stays, empty)
    expect(await fsp.readdir(join(root, 'd-sub-moved'))).to.deep.equal([]);
  });

  it('removes a folder swapped for a link before it is entered as the link itself', async () => {
    await fsp.writeFile(join(root, 'd', 'x'), 'x');
    await fsp.writeFile(join(root, 'd', 'y'), 'y');
    const walk = removeTree({ op: 'rm', id: 1, file: join(root, 'd'), path: '/d', noLink: false });
    let swapped = false;
    let r = walk.next();
    while (!r.done) {
      // once a file of d went and sub is still there: sub becomes a link to the victims
      if (!swapped) {
        const left = await fsp.readdir(join(root, 'd'));
        if (left.length < 3 && left.includes('sub') && (await fsp.readdir(join(root, 'd', 'sub'))).length === 3) {
          await fsp.rm(join(root, 'd', 'sub'), { recursive: true });
          await fsp.symlink(join(outside, 'victims'), join(root, 'd', 'sub'));
          swapped = true;
        }
      }
      r = walk.next();
    }
    expect(swapped, 'the swap happened before sub was entered').to.equal(true);
    await outsideIntact();
    await fsp.access(join(root, 'd')).then(() => expect.fail('d is gone'), () => undefined);
    expect(r.value.code).to.equal(undefined);
  });
});
