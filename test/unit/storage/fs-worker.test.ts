/**
 * The fs worker (src/storage/fs/worker/) driven through its main-thread client over a real
 * directory: listings in parts (and released when abandoned), tree deletes and copies walked
 * there, reporting what the threadpool versions report. Every call here must be answered by the
 * worker itself (a null answer means it could not run, e.g. could not load its code under tsx).
 */
import { expect } from 'chai';
import { promises as fsp } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { statWorker, LIST_FIELDS, Kind } from '../../../src/storage/fs/stat-batch.js';
import { SMALL_SLOT, SMALL_SLOTS } from '../../../src/storage/fs/worker/protocol.js';
import { infoFromStats } from '../../../src/storage/fs/reads.js';
import { makeTempDir } from '../../helpers/server.js';

const openFds = async (): Promise<number> => (await fsp.readdir('/proc/self/fd')).length;

async function listAll(dir: string, path: string, max: number): Promise<{ names: string[]; links: string[]; parts: number }> {
  const parts = statWorker.list(dir, path, max, max);
  expect(parts, 'the worker runs').to.not.equal(null);
  const names: string[] = [];
  const links: string[] = [];
  let n = 0;
  for await (const part of parts!) {
    n++;
    const f = new Float64Array(part.buf);
    part.names.forEach((name, i) => {
      names.push(name);
      expect([Kind.File, Kind.Directory]).to.include(f[i * LIST_FIELDS]);
      if (f[i * LIST_FIELDS + LIST_FIELDS - 1] === 1) links.push(name);
    });
  }
  return { names: names.sort(), links: links.sort(), parts: n };
}

describe('fs worker', function () {
  this.timeout(30_000);
  let root: string;
  beforeEach(async () => {
    root = await makeTempDir('fs-worker');
    // The worker itself: no request done on this thread (the inline path has its own tests).
    statWorker.inlineEnabled = false;
  });
  afterEach(async () => {
    statWorker.inlineEnabled = true;
    await fsp.rm(root, { recursive: true, force: true });
  });

  it('lists a directory in parts: reserved names, special files and dangling links left out, links marked', async () => {
    for (let i = 0; i < 1100; i++) await fsp.writeFile(join(root, `f${i}`), '');
    await fsp.mkdir(join(root, '.davmeta'));
    await fsp.mkdir(join(root, 'sub'));
    await fsp.writeFile(join(root, '.~davtmp-x'), '');
    await fsp.symlink('f1', join(root, 'link'));
    await fsp.symlink('nowhere', join(root, 'dangling'));
    expect(spawnSync('mkfifo', [join(root, 'pipe')]).status).to.equal(0);
    const { names, links, parts } = await listAll(root, '/', 512);
    expect(parts).to.equal(3);
    expect(names).to.have.length(1102);
    expect(names).to.include.members(['f0', 'f1099', 'sub', 'link']);
    expect(names).to.not.include.members(['.davmeta', '.~davtmp-x', 'dangling', 'pipe']);
    expect(links).to.deep.equal(['link']);
    // below the top, .davmeta is an ordinary name
    await fsp.mkdir(join(root, 'sub', '.davmeta'));
    expect((await listAll(join(root, 'sub'), '/sub', 512)).names).to.deep.equal(['.davmeta']);
  });

  it('a large listing part does not hold up a stat asked in the same breath: the stat is answered first', async () => {
    for (let i = 0; i < 3000; i++) await fsp.writeFile(join(root, `f${i}`), '');
    const order: string[] = [];
    // the raw requests, so that each answer is seen the moment its message arrives
    const call = (statWorker as unknown as { call(m: object): Promise<{ names?: string[]; more?: boolean; id: number }> }).call.bind(statWorker);
    const listed = call({ op: 'list', dir: root, path: '/', max: 3000 }).then((r) => {
      order.push('list');
      return r;
    });
    const stated = statWorker.stat(join(root, 'f1'), false)!.then((r) => {
      order.push('stat');
      return r;
    });
    const [part] = await Promise.all([listed, stated]);
    expect(order).to.deep.equal(['stat', 'list']);
    expect(part.names).to.have.length(3000);
    if (part.more) (statWorker as unknown as { enqueue(m: object, t: ArrayBuffer[]): number }).enqueue({ op: 'close', list: part.id }, []);
  });

  it('reads small files side by side through the shared slots and past them, each getting its own bytes', async () => {
    // More reads at once than there are slots (SMALL_SLOTS): the rest take buffers of their own.
    // Sizes from empty to exactly one slot; a slot handed back too early would show another
    // file's bytes here. A file over `max` answers its stat without content.
    const sizes = Array.from({ length: SMALL_SLOTS * 2 + 7 }, (_, i) => [0, 1, 4095, 4096, 4097, SMALL_SLOT - 1, SMALL_SLOT][i % 7]!);
    const contents = sizes.map((n, i) => Buffer.alloc(n, (i * 37) % 251));
    await Promise.all(contents.map((c, i) => fsp.writeFile(join(root, `f${i}`), c)));
    await fsp.writeFile(join(root, 'big'), Buffer.alloc(SMALL_SLOT + 1, 7));
    for (let round = 0; round < 3; round++) {
      const before = statWorker.slotReads;
      const reads = await Promise.all(contents.map((_, i) => statWorker.readSmall(join(root, `f${i}`), SMALL_SLOT)));
      // Every slot was used (the worker got the area and wrote there), the rest read on their own.
      expect(statWorker.slotReads - before, 'reads answered through the shared area').to.equal(SMALL_SLOTS);
      reads.forEach((r, i) => {
        expect(r, 'the worker runs').to.not.equal(null);
        expect(r!.code).to.equal(undefined);
        expect(r!.stat[1], `size of f${i}`).to.equal(sizes[i]);
        expect(Buffer.compare(r!.body!, contents[i]!), `content of f${i}`).to.equal(0);
      });
    }
    const big = await statWorker.readSmall(join(root, 'big'), SMALL_SLOT);
    expect(big!.body).to.equal(null);
    expect(big!.stat[1]).to.equal(SMALL_SLOT + 1);
    const missing = await statWorker.readSmall(join(root, 'nothing'), SMALL_SLOT);
    expect(missing!.code).to.equal('ENOENT');
    // Every slot came back: a full set of reads still answers, after a failure too.
    const again = await Promise.all(contents.slice(0, SMALL_SLOTS).map((_, i) => statWorker.readSmall(join(root, `f${i}`), SMALL_SLOT)));
    again.forEach((r, i) => expect(Buffer.compare(r!.body!, contents[i]!)).to.equal(0));
  });

  it('closes a listing its reader abandons', async () => {
    for (let i = 0; i < 300; i++) await fsp.writeFile(join(root, `f${i}`), '');
    const before = await openFds();
    for (let k = 0; k < 5; k++) {
      for await (const part of statWorker.list(root, '/', 10, 10)!) {
        expect(part.names).to.have.length(10);
        break;
      }
    }
    await listAll(root, '/', 1000); // a round trip after the closes
    expect(await openFds()).to.equal(before);
  });

  it('reports a listing of something that is not a directory as its errno', async () => {
    await fsp.writeFile(join(root, 'file'), '');
    const fail = async (p: string): Promise<string | undefined> => {
      try {
        await listAll(p, '/x', 10);
      } catch (e) {
        return (e as NodeJS.ErrnoException).code;
      }
      return undefined;
    };
    expect(await fail(join(root, 'file'))).to.equal('ENOTDIR');
    expect(await fail(join(root, 'missing'))).to.equal('ENOENT');
  });

  it('stats a path with or without following links, and removes side data like rm -rf', async () => {
    await fsp.mkdir(join(root, 'd'));
    await fsp.writeFile(join(root, 'd', 'f'), 'abc');
    await fsp.symlink(join(root, 'd'), join(root, 'link'));
    const st = async (p: string, follow: boolean): Promise<number[] | string> => {
      const r = await statWorker.stat(join(root, p), follow);
      expect(r, 'the worker runs').to.not.equal(null);
      return r!.code ?? [r!.fields[0]!, r!.fields[1]!, r!.fields[LIST_FIELDS - 1]!];
    };
    expect(await st('d/f', false)).to.deep.equal([Kind.File, 3, 0]);
    expect(await st('link', false)).to.deep.include.members([1]);
    expect(await st('link', true)).to.deep.equal([Kind.Directory, (await fsp.stat(join(root, 'd'))).size, 0]);
    expect(await st('missing', false)).to.deep.equal([Kind.Missing, 0, 0]);
    expect(await st('d/f/below', false)).to.deep.equal([Kind.Missing, 0, 0]); // ENOTDIR: nothing there
    const removed = await statWorker.removeAll([join(root, 'd'), join(root, 'link'), join(root, 'missing')]);
    expect(removed).to.not.equal(null);
    expect(removed!.code).to.equal(undefined);
    expect(await fsp.readdir(root)).to.deep.equal([]);
  });

  it('replaces a small metadata file through a temp name, making its folder when missing', async () => {
    const file = join(root, 'a', 'b', 'rec.s');
    const w = async (tmp: string, body: string): Promise<string | undefined> => {
      const r = await statWorker.writeFile(join(root, 'a', 'b', tmp), file, body);
      expect(r, 'the worker runs').to.not.equal(null);
      return r!.code;
    };
    expect(await w('t1.tmp', 'one')).to.equal(undefined);
    expect(await fsp.readFile(file, 'utf8')).to.equal('one');
    expect(await w('t2.tmp', 'two')).to.equal(undefined);
    expect(await fsp.readFile(file, 'utf8')).to.equal('two');
    expect(await fsp.readdir(join(root, 'a', 'b'))).to.deep.equal(['rec.s']);
    // a temp name that exists is never overwritten (wx), and nothing else changes
    await fsp.writeFile(join(root, 'a', 'b', 'taken.tmp'), 'x');
    expect(await w('taken.tmp', 'three')).to.equal('EEXIST');
    expect(await fsp.readFile(file, 'utf8')).to.equal('two');
    // a folder in the way of the record: its errno, and the temp file is gone
    await fsp.rm(join(root, 'a', 'b', 'taken.tmp'));
    await fsp.rm(file);
    await fsp.mkdir(file);
    await fsp.writeFile(join(file, 'x'), '');
    expect(await w('t3.tmp', 'four')).to.be.oneOf(['EISDIR', 'ENOTEMPTY', 'EEXIST']);
    expect((await fsp.readdir(join(root, 'a', 'b'))).sort()).to.deep.equal(['rec.s']);
  });

  it('deletes a tree member by member: symbolic links themselves, never their targets', async () => {
    const outside = await makeTempDir('fs-worker-outside');
    try {
      await fsp.writeFile(join(outside, 'keep.txt'), 'keep');
      await fsp.mkdir(join(root, 't', 'a', 'b'), { recursive: true });
      for (let i = 0; i < 50; i++) await fsp.writeFile(join(root, 't', 'a', `f${i}`), 'x');
      await fsp.symlink(outside, join(root, 't', 'out'));
      await fsp.symlink(join(outside, 'keep.txt'), join(root, 't', 'a', 'b', 'file-link'));
      const r = await statWorker.removeTree(join(root, 't'), '/t');
      expect(r).to.not.equal(null);
      expect(r!.failed).to.deep.equal([]);
      expect(r!.changes).to.deep.equal([{ type: 'removed', path: '/t', isCollection: true }]);
      expect(await fsp.readdir(root)).to.deep.equal([]);
      expect(await fsp.readFile(join(outside, 'keep.txt'), 'utf8')).to.equal('keep');
      const missing = await statWorker.removeTree(join(root, 't'), '/t');
      expect(missing!.code).to.equal('ENOENT');
    } finally {
      await fsp.rm(outside, { recursive: true, force: true });
    }
  });

  it('renames side data that is there, skips what is not, and makes a missing target folder', async () => {
    await fsp.mkdir(join(root, 'a.d', 'x.d'), { recursive: true });
    await fsp.writeFile(join(root, 'a.p'), 'file');
    await fsp.writeFile(join(root, 'a.d', 'x.d', 'm.p'), 'member');
    const r = await statWorker.renameAll([
      [join(root, 'a.p'), join(root, 'new.d', 'deeper.d', 'b.p')],
      [join(root, 'missing.p'), join(root, 'never.p')],
      [join(root, 'a.d'), join(root, 'new.d', 'deeper.d', 'b.d')],
    ]);
    expect(r, 'the worker runs').to.not.equal(null);
    expect(r!.code).to.equal(undefined);
    expect(await fsp.readFile(join(root, 'new.d', 'deeper.d', 'b.p'), 'utf8')).to.equal('file');
    expect(await fsp.readFile(join(root, 'new.d', 'deeper.d', 'b.d', 'x.d', 'm.p'), 'utf8')).to.equal('member');
    expect((await fsp.readdir(root)).sort()).to.deep.equal(['new.d']);
    // A failure stops the pairs after it and is reported (a folder cannot replace a non-empty one).
    await fsp.mkdir(join(root, 'src.d'));
    await fsp.mkdir(join(root, 'full.d'));
    await fsp.writeFile(join(root, 'full.d', 'keep'), 'k');
    await fsp.writeFile(join(root, 'later.p'), 'l');
    const failed = await statWorker.renameAll([
      [join(root, 'src.d'), join(root, 'full.d')],
      [join(root, 'later.p'), join(root, 'moved.p')],
    ]);
    expect(failed!.code).to.be.oneOf(['ENOTEMPTY', 'EEXIST']);
    expect(await fsp.readFile(join(root, 'later.p'), 'utf8')).to.equal('l');
  });

  it('copies a tree into a staging name, following links only inside the boundary, reporting loops', async () => {
    const outside = await makeTempDir('fs-worker-outside');
    try {
      await fsp.writeFile(join(outside, 'secret.txt'), 'secret');
      const src = join(root, 'src');
      await fsp.mkdir(join(src, 'd'), { recursive: true });
      await fsp.writeFile(join(src, 'a.txt'), 'a');
      await fsp.writeFile(join(src, 'big.bin'), Buffer.alloc(3 * 1024 * 1024 + 1, 7));
      await fsp.writeFile(join(src, 'd', 'b.txt'), 'b');
      await fsp.chmod(join(src, 'a.txt'), 0o664);
      await fsp.symlink(join(src, 'a.txt'), join(src, 'inside-link'));
      await fsp.symlink(join(outside, 'secret.txt'), join(src, 'outside-link'));
      await fsp.symlink(src, join(src, 'd', 'loop'));
      // a special file is never opened (a FIFO would block a reader) and never copied
      expect(spawnSync('mkfifo', [join(src, 'pipe')]).status).to.equal(0);
      const real = await fsp.realpath(root);
      const target = join(root, 'staged');
      const r = await statWorker.copyTree({ src, target, from: '/src', to: '/dst', isCollection: true, recursive: true, bound: { root: real, meta: join(real, '.davmeta') } });
      expect(r).to.not.equal(null);
      expect(r!.code).to.equal(undefined);
      // a link to an ancestor is left out, as listings leave it out
      expect(r!.failed).to.deep.equal([]);
      expect((await fsp.readdir(target)).sort()).to.deep.equal(['a.txt', 'big.bin', 'd', 'inside-link']);
      expect(await fsp.readFile(join(target, 'inside-link'), 'utf8')).to.equal('a');
      expect((await fsp.lstat(join(target, 'inside-link'))).isSymbolicLink()).to.equal(false);
      expect((await fsp.stat(join(target, 'a.txt'))).mode & 0o777).to.equal(0o664);
      expect((await fsp.readFile(join(target, 'big.bin'))).equals(Buffer.alloc(3 * 1024 * 1024 + 1, 7))).to.equal(true);
      expect(await fsp.readdir(join(target, 'd'))).to.deep.equal(['b.txt']);
      expect(r!.changes).to.deep.equal([{ type: 'copied', from: '/src', to: '/dst', isCollection: true, deep: true }]);

      // Without a boundary every link is followed, and the one back to an ancestor is a loop:
      // the copy names each part that arrived.
      const open = join(root, 'staged2');
      const srcId = infoFromStats(await fsp.stat(src)).id;
      const r2 = await statWorker.copyTree({ src, target: open, from: '/src', to: '/dst', isCollection: true, srcId, recursive: true });
      expect(r2!.failed).to.deep.equal([{ path: '/dst/d/loop', kind: 'loop' }]);
      expect(await fsp.readFile(join(open, 'outside-link'), 'utf8')).to.equal('secret');
      const copied = r2!.changes.map((c) => (c.type === 'copied' ? `${c.to} ${c.deep}` : c.type)).sort();
      expect(copied).to.deep.equal(['/dst false', '/dst/a.txt false', '/dst/big.bin false', '/dst/d false', '/dst/d/b.txt false', '/dst/inside-link false', '/dst/outside-link false']);
    } finally {
      await fsp.rm(outside, { recursive: true, force: true });
    }
  });
});
