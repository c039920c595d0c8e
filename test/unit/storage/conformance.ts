/**
 * One conformance suite for every StorageBackend (filesystem, memory, and later others): call
 * describeStorageBackend(name, make) from a *.test.ts. It uses only the StorageBackend and
 * PropertyStore interfaces and the tree-event subscribers, so any backend can run it: reads,
 * writes, listings, unicode and 255-byte names, tree operations and what they report, partial
 * failures, and the life cycle of side data (dead properties) through tree events.
 */
import { expect } from 'chai';
import { Readable } from 'node:stream';
import type { ResourceInfo, StorageBackend, TreeChange } from '../../../src/storage/backend.js';
import { StorageError, type StorageErrorKind } from '../../../src/storage/errors.js';
import { TreeEvents } from '../../../src/storage/events.js';
import { propsFollowTree } from '../../../src/storage/props-follow.js';

export interface StorageFixture {
  storage: StorageBackend;
  /** Makes removing the file at `path` fail (as a read-only or immutable file does). */
  failRemove(path: string): Promise<void>;
  cleanup(): Promise<void>;
}

const body = (s: string | Buffer): Readable => Readable.from([Buffer.from(s)]);

async function readAll(r: Readable): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of r as AsyncIterable<Buffer>) chunks.push(c);
  return Buffer.concat(chunks).toString();
}

async function kindOf(p: Promise<unknown>): Promise<StorageErrorKind | 'no error'> {
  try {
    await p;
    return 'no error';
  } catch (e) {
    if (e instanceof StorageError) return e.kind;
    throw e;
  }
}

export function describeStorageBackend(name: string, make: () => Promise<StorageFixture>): void {
  describe(`StorageBackend conformance: ${name}`, function () {
    this.timeout(20_000);
    let fx: StorageFixture;
    let s: StorageBackend;
    let events: TreeEvents;
    let seen: TreeChange[];

    beforeEach(async () => {
      fx = await make();
      s = fx.storage;
      seen = [];
      events = new TreeEvents((e) => {
        throw e;
      });
      events.subscribe(propsFollowTree(s.props), 'props');
      events.subscribe((c) => void seen.push(...c), 'recorder');
    });
    afterEach(() => fx.cleanup());

    async function put(path: string, content: string | Buffer, mtimeMs?: number): Promise<{ created: boolean; info: ResourceInfo }> {
      const up = await s.receive(path, body(content), { length: Buffer.byteLength(content) });
      const r = await up.commit(await s.stat(path), { mtimeMs });
      await events.publish(r.changes);
      return r;
    }
    const mkdir = async (path: string): Promise<void> => events.publish(await s.mkdir(path));
    const names = async (path: string): Promise<string[]> => {
      const out: string[] = [];
      for await (const e of s.list(path)) out.push(e.name);
      return out.sort();
    };
    const setProp = (path: string, v: string): Promise<void> => s.props.patch(path, [{ op: 'set', prop: { ns: 'urn:z', local: 'v', xml: v } }]);
    const propOf = async (path: string): Promise<string | undefined> => (await s.props.get(path)).find((p) => p.local === 'v')?.xml;

    describe('reads and writes', () => {
      it('stat: the root is a collection, a missing path is null', async () => {
        expect((await s.stat('/'))!.isCollection).to.equal(true);
        expect(await s.stat('/missing')).to.equal(null);
        expect(await s.stat('/missing/deeper')).to.equal(null);
      });

      it('receive + commit creates, then replaces; the info describes the stored bytes', async () => {
        const a = await put('/f.txt', 'hello');
        expect(a.created).to.equal(true);
        expect(a.info).to.include({ isCollection: false, size: 5 });
        expect(seen).to.deep.equal([{ type: 'created', path: '/f.txt', isCollection: false }]);
        const b = await put('/f.txt', 'hello world');
        expect(b.created).to.equal(false);
        expect(b.info.size).to.equal(11);
        expect(b.info.etag).to.not.equal(a.info.etag);
        // previousId (where the backend has ids) names the content that was replaced.
        expect(seen[1]).to.deep.include({ type: 'replaced', path: '/f.txt' });
        if (a.info.id !== undefined) expect(seen[1]).to.have.property('previousId', a.info.id);
        expect((await s.stat('/f.txt'))!.etag).to.equal(b.info.etag);
        expect(await readAll(await s.read('/f.txt'))).to.equal('hello world');
        expect(await readAll(await s.read('/f.txt', { start: 6, end: 10 }))).to.equal('world');
      });

      it('an upload is invisible until commit and gone after abort; observe sees exactly the stored bytes', async () => {
        const chunks: Buffer[] = [];
        const big = Buffer.alloc(300_000, 'q');
        const up = await s.receive('/u.bin', Readable.from([big.subarray(0, 100_000), big.subarray(100_000)]), { observe: (c) => void chunks.push(Buffer.from(c)) });
        expect(await s.stat('/u.bin')).to.equal(null);
        expect(Buffer.concat(chunks).equals(big)).to.equal(true);
        await up.abort();
        expect(await s.stat('/u.bin')).to.equal(null);
        expect(await names('/')).to.deep.equal([]);
      });

      it('commit applies a client mtime before the file is visible, and ETags never repeat for other content', async () => {
        const etags = new Set<string>();
        for (let i = 0; i < 12; i++) {
          const r = await put('/m.txt', `content ${String(i).padStart(3, '0')}`, 1_000_000_000_000);
          expect(r.info.mtimeMs).to.be.closeTo(1_000_000_000_000, 1);
          expect(etags.has(r.info.etag), `etag ${r.info.etag} repeated`).to.equal(false);
          etags.add(r.info.etag);
        }
      });

      it('commit refuses a collection and a missing parent, leaving nothing', async () => {
        await mkdir('/d');
        const up = await s.receive('/d', body('x'), { length: 1 });
        expect(await kindOf(up.commit(await s.stat('/d')))).to.equal('is-collection');
        const up2 = await s.receive('/nope/f', body('x'), { length: 1 });
        expect(await kindOf(up2.commit(null))).to.equal('parent-missing');
        expect(await s.stat('/nope/f')).to.equal(null);
      });

      it('openFile describes the bytes it streams, even when the file is replaced meanwhile', async () => {
        await put('/o.txt', 'first');
        const f = (await s.openFile!('/o.txt'))!;
        await put('/o.txt', 'second version');
        expect(f.info.size).to.equal(5);
        expect(await readAll(f.stream())).to.equal('first');
        expect(await s.openFile!('/missing')).to.equal(null);
      });

      it('list: members with their info; a missing path or a file is an error', async () => {
        await mkdir('/d');
        await put('/d/a.txt', 'a');
        await mkdir('/d/sub');
        const entries: Record<string, boolean> = {};
        for await (const e of s.list('/d')) entries[e.name] = e.info.isCollection;
        expect(entries).to.deep.equal({ 'a.txt': false, sub: true });
        expect(await kindOf((async () => { for await (const _ of s.list('/missing')) void _; })())).to.equal('not-found');
        expect(await kindOf((async () => { for await (const _ of s.list('/d/a.txt')) void _; })())).to.be.oneOf(['not-collection', 'parent-missing']);
      });

      it('reserved names are never listed or addressable', async () => {
        expect(s.isReserved('/.davmeta')).to.equal(true);
        expect(s.isReserved('/.DAVMETA/props')).to.equal(true);
        expect(s.isReserved('/.dav/x')).to.equal(true);
        expect(s.isReserved('/a/.dav')).to.equal(false);
        await put('/visible.txt', 'v');
        expect(await names('/')).to.deep.equal(['visible.txt']);
      });
    });

    describe('names', () => {
      const long = { ascii: 'n'.repeat(255), accented: 'é'.repeat(127) + 'x', emoji: '😀'.repeat(63) + 'abc', nfd: 'cafe\u0301 ☕' };
      for (const [label, n] of Object.entries(long)) {
        it(`${label}: stored, listed, copied, moved and given properties under its own name`, async () => {
          await mkdir('/n');
          await put(`/n/${n}`, label);
          expect(await names('/n')).to.deep.equal([n]);
          await setProp(`/n/${n}`, label);
          await mkdir('/m');
          await events.publish((await s.copy(`/n/${n}`, `/m/${n}`, { recursive: true })).changes);
          expect(await propOf(`/m/${n}`)).to.equal(label);
          await events.publish((await s.move(`/m/${n}`, `/m/moved-${label}`)).changes);
          expect(await propOf(`/m/moved-${label}`)).to.equal(label);
          expect(await propOf(`/m/${n}`)).to.equal(undefined);
          expect(await s.props.membersWithProps('/n')).to.deep.equal(new Set([n]));
          expect(await readAll(await s.read(`/n/${n}`))).to.equal(label);
        });
      }

      it('a name over 255 bytes is refused (name-too-long) and leaves nothing', async () => {
        const up = await s.receive(`/${'x'.repeat(256)}`, body('x'), { length: 1 });
        expect(await kindOf(up.commit(null))).to.equal('name-too-long');
        expect(await kindOf(s.mkdir(`/${'y'.repeat(256)}`))).to.equal('name-too-long');
        expect(await names('/')).to.deep.equal([]);
      });
    });

    describe('tree operations report exactly what changed', () => {
      it('mkdir and createEmpty', async () => {
        expect(await s.mkdir('/c')).to.deep.equal([{ type: 'created', path: '/c', isCollection: true }]);
        expect(await kindOf(s.mkdir('/c'))).to.equal('exists');
        expect(await kindOf(s.mkdir('/x/y'))).to.equal('parent-missing');
        expect(await s.createEmpty('/c/e')).to.deep.equal([{ type: 'created', path: '/c/e', isCollection: false }]);
        expect(await s.createEmpty('/c/e')).to.deep.equal([]);
        expect((await s.stat('/c/e'))!.size).to.equal(0);
      });

      it('remove: one event for a whole tree; not-found for nothing', async () => {
        await mkdir('/t');
        await put('/t/a', 'a');
        await mkdir('/t/s');
        await put('/t/s/b', 'b');
        const r = await s.remove('/t');
        expect(r).to.deep.equal({ changes: [{ type: 'removed', path: '/t', isCollection: true }], failed: [] });
        expect(await s.stat('/t')).to.equal(null);
        expect(await kindOf(s.remove('/t'))).to.equal('not-found');
      });

      it('copy: deep, depth 0, over a file, over a collection, to a missing parent', async () => {
        await mkdir('/src');
        await put('/src/a', 'a');
        await mkdir('/src/s');
        await put('/src/s/b', 'b');
        expect((await s.copy('/src', '/deep', { recursive: true })).changes).to.deep.equal([{ type: 'copied', from: '/src', to: '/deep', isCollection: true, deep: true }]);
        expect(await readAll(await s.read('/deep/s/b'))).to.equal('b');
        expect((await s.copy('/src', '/shallow', { recursive: false })).changes).to.deep.equal([{ type: 'copied', from: '/src', to: '/shallow', isCollection: true, deep: false }]);
        expect(await names('/shallow')).to.deep.equal([]);
        await put('/f1', 'one');
        await put('/f2', 'two');
        expect((await s.copy('/f1', '/f2', { recursive: true })).changes).to.deep.equal([
          { type: 'removed', path: '/f2', isCollection: false, overwritten: true },
          { type: 'copied', from: '/f1', to: '/f2', isCollection: false, deep: false },
        ]);
        expect(await readAll(await s.read('/f2'))).to.equal('one');
        const over = await s.copy('/src', '/deep', { recursive: true });
        expect(over.changes[0]).to.deep.equal({ type: 'removed', path: '/deep', isCollection: true, overwritten: true });
        expect(await kindOf(s.copy('/f1', '/nope/f1', { recursive: true }))).to.equal('parent-missing');
        expect(await s.stat('/nope')).to.equal(null);
      });

      it('move: a whole subtree, over an existing resource, to a missing parent', async () => {
        await mkdir('/a');
        await put('/a/x', 'x');
        expect((await s.move('/a', '/b')).changes).to.deep.equal([{ type: 'moved', from: '/a', to: '/b', isCollection: true }]);
        expect(await s.stat('/a')).to.equal(null);
        expect(await readAll(await s.read('/b/x'))).to.equal('x');
        await put('/f', 'f');
        await put('/g', 'g');
        expect((await s.move('/f', '/g')).changes).to.deep.equal([
          { type: 'removed', path: '/g', isCollection: false, overwritten: true },
          { type: 'moved', from: '/f', to: '/g', isCollection: false },
        ]);
        expect(await kindOf(s.move('/g', '/nope/g'))).to.equal('parent-missing');
        expect(await readAll(await s.read('/g'))).to.equal('f');
      });

      it('a partial remove names the member that failed and reports each member that went', async () => {
        await mkdir('/p');
        await put('/p/a', 'a');
        await put('/p/stuck', 's');
        await mkdir('/p/sub');
        await put('/p/sub/b', 'b');
        await fx.failRemove('/p/stuck');
        const r = await s.remove('/p');
        expect(r.failed.map((f) => f.path)).to.deep.equal(['/p/stuck']);
        expect(r.changes.map((c) => (c.type === 'removed' ? c.path : c.type)).sort()).to.deep.equal(['/p/a', '/p/sub']);
        expect(await names('/p')).to.deep.equal(['stuck']);
      });
    });

    describe('side data through tree events', () => {
      it('properties follow copy and move, go with remove, and a new resource at a URL starts clean', async () => {
        await mkdir('/d');
        await put('/d/f', 'f');
        await setProp('/d', 'dir');
        await setProp('/d/f', 'file');
        await events.publish((await s.copy('/d', '/c', { recursive: true })).changes);
        expect([await propOf('/c'), await propOf('/c/f')]).to.deep.equal(['dir', 'file']);
        await events.publish((await s.move('/c', '/m')).changes);
        expect([await propOf('/c/f'), await propOf('/m/f')]).to.deep.equal([undefined, 'file']);
        await events.publish((await s.remove('/m')).changes);
        expect(await propOf('/m/f')).to.equal(undefined);
        // Properties left for a path whose resource went another way (outside the server) do not
        // reach the next resource there.
        await setProp('/ghost', 'stale');
        await put('/ghost', 'new');
        expect(await propOf('/ghost')).to.equal(undefined);
        await setProp('/ghostdir', 'stale');
        await setProp('/ghostdir/member', 'stale');
        await mkdir('/ghostdir');
        await put('/ghostdir/member', 'new');
        expect([await propOf('/ghostdir'), await propOf('/ghostdir/member')]).to.deep.equal([undefined, undefined]);
        // A file replaced in place keeps its properties.
        await setProp('/ghost', 'kept');
        await put('/ghost', 'newer');
        expect(await propOf('/ghost')).to.equal('kept');
      });

      it('a partial remove drops the properties of exactly the members that went', async () => {
        await mkdir('/p');
        for (const n of ['a', 'stuck']) {
          await put(`/p/${n}`, n);
          await setProp(`/p/${n}`, n);
        }
        await fx.failRemove('/p/stuck');
        await events.publish((await s.remove('/p')).changes);
        expect([await propOf('/p/a'), await propOf('/p/stuck')]).to.deep.equal([undefined, 'stuck']);
      });
    });
  });
}
