/**
 * One conformance suite for every LockManager implementation (memory, file, and later Redis).
 * It uses only the LockManager interface and real time (expiry with 1 s timeouts), so any
 * implementation, local or remote, can run it: call describeLockManager() from a *.test.ts.
 */
import { expect } from 'chai';
import type { Hold, LockInfo, LockManager, NewLock } from '../../../src/locks/manager.js';

export interface LockManagerFixture {
  manager: LockManager;
  cleanup(): Promise<void>;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export const newLock = (root: string, over: Partial<NewLock> = {}): NewLock => ({
  root,
  scope: 'exclusive',
  depth: 0,
  ownerXml: '<D:href xmlns:D="DAV:">mailto:someone@example.com</D:href>',
  timeoutSec: 600,
  ...over,
});

export function describeLockManager(name: string, make: () => Promise<LockManagerFixture>): void {
  describe(`LockManager conformance: ${name}`, function () {
    this.timeout(20_000);
    let fx: LockManagerFixture;
    let m: LockManager;

    beforeEach(async () => {
      fx = await make();
      m = fx.manager;
    });
    afterEach(async () => {
      await fx.cleanup();
    });

    async function create(root: string, over: Partial<NewLock> = {}): Promise<LockInfo> {
      const r = await m.create(newLock(root, over));
      if (!('lock' in r)) throw new Error(`expected a lock on ${root}, got a conflict with ${r.conflict.root}`);
      return r.lock;
    }

    async function conflictOf(root: string, over: Partial<NewLock> = {}): Promise<LockInfo> {
      const r = await m.create(newLock(root, over));
      if (!('conflict' in r)) throw new Error(`expected a conflict on ${root}, got lock ${r.lock.token}`);
      return r.conflict;
    }

    const tokens = (ls: LockInfo[]): string[] => ls.map((l) => l.token).sort();

    describe('create', () => {
      it('returns a complete lock record with a urn:uuid token', async () => {
        const before = Date.now();
        const l = await create('/a', { scope: 'shared', depth: 'infinity', timeoutSec: 120, principal: 'alice', ownerXml: '<x:o xmlns:x="urn:x">Grüße &amp; co</x:o>' });
        expect(l.token).to.match(/^urn:uuid:[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
        expect(l).to.include({ root: '/a', scope: 'shared', depth: 'infinity', timeoutSec: 120, principal: 'alice', ownerXml: '<x:o xmlns:x="urn:x">Grüße &amp; co</x:o>' });
        expect(l.expiresAt).to.be.within(before + 119_000, Date.now() + 121_000);
        expect(await m.byToken(l.token)).to.deep.equal(l);
      });

      it('gives every lock its own token', async () => {
        const ls = await Promise.all(['/a', '/b', '/c', '/d'].map((p) => create(p, { scope: 'shared' })));
        expect(new Set(ls.map((l) => l.token)).size).to.equal(4);
      });

      it('keeps owner XML, principal and unicode paths byte for byte, through refresh too', async () => {
        const owner = '<D:href>mailto:zoë@example.com</D:href><x:n xmlns:x="urn:x" a="&quot;1&quot;">é &amp; &lt;ß&gt; "q" \\ /</x:n>';
        const root = '/dir with space/naïve ✓.txt';
        const l = await create(root, { ownerXml: owner, principal: 'bob', depth: 'infinity' });
        expect(await m.byToken(l.token)).to.deep.include({ ownerXml: owner, root, principal: 'bob' });
        expect((await m.byToken((await create('/other')).token))?.principal).to.equal(undefined);
        expect(tokens(await m.covering(root))).to.deep.equal([l.token]);
        expect(await m.refresh(l.token, 90)).to.deep.include({ ownerXml: owner, principal: 'bob' });
        expect(await m.byToken(l.token)).to.deep.include({ ownerXml: owner, principal: 'bob', root, timeoutSec: 90, depth: 'infinity' });
        const zero = await create('/zero', { depth: 0, scope: 'shared', ownerXml: '' });
        expect(await m.refresh(zero.token, 30)).to.deep.include({ depth: 0, scope: 'shared', ownerXml: '', timeoutSec: 30 });
      });

      it('exclusive conflicts with exclusive and shared on the same resource', async () => {
        const l = await create('/a');
        expect((await conflictOf('/a')).token).to.equal(l.token);
        expect((await conflictOf('/a', { scope: 'shared' })).token).to.equal(l.token);
      });

      it('shared locks coexist; exclusive conflicts with them', async () => {
        const s1 = await create('/a', { scope: 'shared' });
        const s2 = await create('/a', { scope: 'shared' });
        expect(s1.token).to.not.equal(s2.token);
        expect([s1.token, s2.token]).to.include((await conflictOf('/a')).token);
        expect(tokens(await m.covering('/a'))).to.deep.equal(tokens([s1, s2]));
      });

      it('a depth-infinity lock conflicts with locks on its descendants', async () => {
        const l = await create('/c', { depth: 'infinity' });
        expect((await conflictOf('/c/x')).token).to.equal(l.token);
        expect((await conflictOf('/c/x/y/z', { depth: 'infinity' })).token).to.equal(l.token);
        expect((await conflictOf('/c/x', { scope: 'shared' })).token).to.equal(l.token);
      });

      it('a depth-0 lock does not extend to members', async () => {
        await create('/c', { depth: 0 });
        await create('/c/x');
        await create('/c/y', { depth: 'infinity' });
      });

      it('a new depth-infinity lock conflicts with a lock anywhere below', async () => {
        const deep = await create('/c/x/y');
        expect((await conflictOf('/c', { depth: 'infinity' })).token).to.equal(deep.token);
        expect((await conflictOf('/', { depth: 'infinity' })).token).to.equal(deep.token);
        // Depth 0 on the ancestor is fine.
        await create('/c', { depth: 0 });
      });

      it('a shared depth-infinity lock coexists with shared locks below but not exclusive ones', async () => {
        await create('/s/x', { scope: 'shared' });
        await create('/s', { scope: 'shared', depth: 'infinity' });
        const ex = await create('/t/x');
        expect((await conflictOf('/t', { scope: 'shared', depth: 'infinity' })).token).to.equal(ex.token);
      });

      it('does not confuse siblings that share a name prefix', async () => {
        await create('/ab', { depth: 'infinity' });
        await create('/a', { depth: 'infinity' });
        await create('/abc/x');
        await create('/a-b');
      });

      it('locks on the root collection', async () => {
        const l = await create('/', { depth: 'infinity' });
        expect((await conflictOf('/any/where')).token).to.equal(l.token);
      });
    });

    describe('covering', () => {
      it('finds locks rooted at the path and depth-infinity locks on ancestors only', async () => {
        const root0 = await create('/', { depth: 0, scope: 'shared' });
        const a = await create('/a', { depth: 'infinity', scope: 'shared' });
        const ab0 = await create('/a/b', { depth: 0, scope: 'shared' });
        const abc = await create('/a/b/c', { scope: 'shared' });
        const other = await create('/z', { depth: 'infinity' });
        expect(tokens(await m.covering('/'))).to.deep.equal([root0.token]);
        expect(tokens(await m.covering('/a'))).to.deep.equal([a.token]);
        expect(tokens(await m.covering('/a/b'))).to.deep.equal(tokens([a, ab0]));
        expect(tokens(await m.covering('/a/b/c'))).to.deep.equal(tokens([a, abc]));
        expect(tokens(await m.covering('/a/b/c/d'))).to.deep.equal([a.token]);
        expect(tokens(await m.covering('/z/1'))).to.deep.equal([other.token]);
        expect(await m.covering('/y')).to.deep.equal([]);
        expect(await m.covering('/ab')).to.deep.equal([]);
      });

      it('with descendants, adds locks rooted anywhere below', async () => {
        const a = await create('/a', { depth: 0 });
        const ab = await create('/a/b');
        const abcd = await create('/a/b/c/d', { depth: 'infinity' });
        await create('/ab');
        expect(tokens(await m.covering('/a', { descendants: true }))).to.deep.equal(tokens([a, ab, abcd]));
        expect(tokens(await m.covering('/a/b/c', { descendants: true }))).to.deep.equal([abcd.token]);
        expect(tokens(await m.covering('/a/b/c', { descendants: false }))).to.deep.equal([]);
        expect((await m.covering('/', { descendants: true })).length).to.equal(4);
      });

      it('returns each lock once', async () => {
        const l = await create('/a', { depth: 'infinity' });
        expect(tokens(await m.covering('/a', { descendants: true }))).to.deep.equal([l.token]);
      });
    });

    describe('refresh, remove, byToken, dropTree', () => {
      it('refresh sets a new timeout and expiry', async () => {
        const l = await create('/a', { timeoutSec: 10 });
        const before = Date.now();
        const r = await m.refresh(l.token, 500);
        expect(r).to.not.equal(null);
        expect(r!.token).to.equal(l.token);
        expect(r!.timeoutSec).to.equal(500);
        expect(r!.expiresAt).to.be.within(before + 499_000, Date.now() + 501_000);
        const seen = await m.byToken(l.token);
        expect(seen!.timeoutSec).to.equal(500);
        expect(seen!.expiresAt).to.equal(r!.expiresAt);
        expect((await m.covering('/a'))[0]!.timeoutSec).to.equal(500);
      });

      it('refresh of an unknown token is null', async () => {
        expect(await m.refresh('urn:uuid:00000000-0000-0000-0000-000000000000', 10)).to.equal(null);
      });

      it('remove frees the resource; a second remove is false', async () => {
        const l = await create('/a');
        expect(await m.remove(l.token)).to.equal(true);
        expect(await m.byToken(l.token)).to.equal(null);
        expect(await m.covering('/a')).to.deep.equal([]);
        expect(await m.remove(l.token)).to.equal(false);
        await create('/a');
      });

      it('remove of one shared lock leaves the other', async () => {
        const s1 = await create('/a', { scope: 'shared' });
        const s2 = await create('/a', { scope: 'shared' });
        await m.remove(s1.token);
        expect(tokens(await m.covering('/a'))).to.deep.equal([s2.token]);
      });

      it('byToken of an unknown token is null', async () => {
        expect(await m.byToken('urn:uuid:11111111-1111-1111-1111-111111111111')).to.equal(null);
      });

      it('dropTree removes locks rooted at or below the path only', async () => {
        const a = await create('/a', { depth: 0 });
        const ab = await create('/a/b');
        const abc = await create('/a/b/c', { depth: 'infinity' });
        const sib = await create('/ab');
        const top = await create('/', { depth: 0 });
        await m.dropTree('/a');
        for (const gone of [a, ab, abc]) expect(await m.byToken(gone.token)).to.equal(null);
        expect(await m.byToken(sib.token)).to.not.equal(null);
        expect(await m.byToken(top.token)).to.not.equal(null);
        await create('/a/b/c');
      });

      it('dropTree with below keeps the locks rooted at the path itself (a COPY/MOVE overwrite, RFC 4918 7.6)', async () => {
        const a = await create('/a', { depth: 0 });
        const ab = await create('/a/b');
        const abc = await create('/a/b/c');
        await m.dropTree('/a', { below: true });
        expect(await m.byToken(a.token)).to.not.equal(null);
        for (const gone of [ab, abc]) expect(await m.byToken(gone.token)).to.equal(null);
        const top = await create('/', { depth: 0 });
        const x = await create('/x');
        await m.dropTree('/', { below: true });
        expect(await m.byToken(top.token)).to.not.equal(null);
        expect(await m.byToken(x.token)).to.equal(null);
      });

      it('caps the live locks of one principal (anonymous clients count as one); removing makes room', async () => {
        const alice = await Promise.all([0, 1, 2].map((i) => m.create(newLock(`/al${i}`, { principal: 'alice' }), { maxPerPrincipal: 3 })));
        let refused: unknown;
        try {
          await m.create(newLock('/al3', { principal: 'alice' }), { maxPerPrincipal: 3 });
        } catch (e) {
          refused = e;
        }
        expect((refused as { status?: number }).status).to.equal(507);
        expect((refused as Error).message).to.include('3 locks');
        expect('lock' in (await m.create(newLock('/bob0', { principal: 'bob' }), { maxPerPrincipal: 3 }))).to.equal(true);
        for (let i = 0; i < 3; i++) await create(`/anon${i}`);
        expect(await m.create(newLock('/anon3'), { maxPerPrincipal: 3 }).then(() => 'granted', (e: { status?: number }) => e.status)).to.equal(507);
        const first = alice[0]!;
        if (!('lock' in first)) throw new Error('expected a lock');
        await m.remove(first.lock.token);
        expect('lock' in (await m.create(newLock('/al3', { principal: 'alice' }), { maxPerPrincipal: 3 }))).to.equal(true);
        await m.dropTree('/al1');
        expect('lock' in (await m.create(newLock('/al4', { principal: 'alice' }), { maxPerPrincipal: 3 }))).to.equal(true);
      });

      it('dropTree of a path without locks is harmless', async () => {
        const l = await create('/a');
        await m.dropTree('/nothing/here');
        expect(await m.byToken(l.token)).to.not.equal(null);
      });
    });

    describe('expiry (real time)', () => {
      it('an expired lock is gone from byToken and covering, and no longer conflicts', async () => {
        const l = await create('/e', { timeoutSec: 1, depth: 'infinity' });
        expect(await m.byToken(l.token)).to.not.equal(null);
        await sleep(1200);
        expect(await m.byToken(l.token)).to.equal(null);
        expect(await m.covering('/e')).to.deep.equal([]);
        expect(await m.covering('/e/x')).to.deep.equal([]);
        expect(await m.covering('/', { descendants: true })).to.deep.equal([]);
        await create('/e/x');
        await create('/e', { depth: 0 });
      });

      it('an expired lock cannot be refreshed or removed', async () => {
        const l = await create('/e', { timeoutSec: 1 });
        await sleep(1200);
        expect(await m.refresh(l.token, 60)).to.equal(null);
        expect(await m.remove(l.token)).to.equal(false);
      });

      it('a refresh before expiry keeps the lock alive', async () => {
        // Wide margins (1 s before the first expiry, 2.5 s before the second): a loaded CI
        // machine must not turn scheduling delays into a failure.
        const l = await create('/e', { timeoutSec: 2 });
        await sleep(1000);
        expect(await m.refresh(l.token, 4)).to.not.equal(null);
        await sleep(1500);
        expect(await m.byToken(l.token)).to.not.equal(null);
        expect((await conflictOf('/e')).token).to.equal(l.token);
      });

      it('only the expired lock goes', async () => {
        const short = await create('/e', { timeoutSec: 1, scope: 'shared' });
        const long = await create('/e', { timeoutSec: 600, scope: 'shared' });
        await sleep(1200);
        expect(tokens(await m.covering('/e'))).to.deep.equal([long.token]);
        expect(await m.byToken(short.token)).to.equal(null);
      });
    });

    describe('exclusive critical sections', () => {
      /** Runs two sections that record their start/end; resolves with the event order. */
      async function order(p1: (string | Hold)[], p2: (string | Hold)[]): Promise<string[]> {
        const events: string[] = [];
        let release!: () => void;
        const gate = new Promise<void>((r) => (release = r));
        const first = m.exclusive(p1, async () => {
          events.push('1 start');
          await gate;
          events.push('1 end');
        });
        await sleep(20);
        const second = m.exclusive(p2, async () => {
          events.push('2 start');
          events.push('2 end');
        });
        await sleep(50);
        release();
        await Promise.all([first, second]);
        return events;
      }

      const serial = ['1 start', '1 end', '2 start', '2 end'];
      const concurrent = ['1 start', '2 start', '2 end', '1 end'];

      it('serialises sections on the same path', async () => expect(await order(['/a'], ['/a'])).to.deep.equal(serial));
      it('serialises an ancestor with a descendant', async () => expect(await order(['/a'], ['/a/b/c'])).to.deep.equal(serial));
      it('serialises a descendant with an ancestor', async () => expect(await order(['/a/b'], ['/a'])).to.deep.equal(serial));
      it('serialises when any of several paths overlap', async () => expect(await order(['/x', '/a/b'], ['/y', '/a'])).to.deep.equal(serial));
      it('serialises everything against the root', async () => expect(await order(['/'], ['/q'])).to.deep.equal(serial));
      it('runs unrelated paths concurrently', async () => expect(await order(['/a'], ['/b'])).to.deep.equal(concurrent));
      it('runs siblings sharing a name prefix concurrently', async () => expect(await order(['/a'], ['/ab'])).to.deep.equal(concurrent));
      const read = (path: string): Hold => ({ path, mode: 'read' });
      const write = (path: string): Hold => ({ path, mode: 'write' });
      it('runs readers of one path side by side (COPYs of one source)', async () =>
        expect(await order([read('/src'), '/d1'], [read('/src/x'), '/d2'])).to.deep.equal(concurrent));
      it('serialises a writer with a reader of an overlapping path (MOVE of a COPY source)', async () =>
        expect(await order([read('/src'), '/d1'], [write('/src')])).to.deep.equal(serial));

      it('tells the section it still holds it', async () => {
        await m.exclusive(['/held'], async (held) => {
          expect(held.stillHeld()).to.equal(true);
          expect(held.signal.aborted).to.equal(false);
        });
      });

      it('returns the value of fn and propagates its errors, releasing the section', async () => {
        expect(await m.exclusive(['/a'], async () => 42)).to.equal(42);
        let caught: unknown;
        try {
          await m.exclusive(['/a'], async () => {
            throw new Error('boom');
          });
        } catch (e) {
          caught = e;
        }
        expect((caught as Error).message).to.equal('boom');
        expect(await m.exclusive(['/a'], async () => 'after')).to.equal('after');
      });

      it('never runs two overlapping sections at once under load', async () => {
        let inside = 0;
        let max = 0;
        await Promise.all(
          Array.from({ length: 30 }, (_, i) =>
            m.exclusive([i % 2 ? '/p' : '/p/child'], async () => {
              inside++;
              max = Math.max(max, inside);
              await sleep(2);
              inside--;
            }),
          ),
        );
        expect(max).to.equal(1);
      });

      it('a racing set of check-then-create steps yields exactly one exclusive lock', async () => {
        const results = await Promise.all(
          Array.from({ length: 20 }, () =>
            m.exclusive(['/race'], async () => {
              const existing = await m.covering('/race');
              if (existing.length) return null;
              return m.create(newLock('/race'));
            }),
          ),
        );
        const made = results.filter((r) => r && 'lock' in r);
        expect(made.length).to.equal(1);
      });

      it('racing creates without a critical section still yield exactly one lock', async () => {
        const results = await Promise.all(Array.from({ length: 20 }, (_, i) => m.create(newLock('/race2', { depth: i % 2 ? 0 : 'infinity' }))));
        expect(results.filter((r) => 'lock' in r).length).to.equal(1);
        expect(results.filter((r) => 'conflict' in r).length).to.equal(19);
        expect((await m.covering('/race2')).length).to.equal(1);
      });

      it('racing ancestor and descendant creates never both win', async () => {
        const results = await Promise.all([
          m.create(newLock('/tree', { depth: 'infinity' })),
          m.create(newLock('/tree/leaf')),
          m.create(newLock('/tree/leaf/deeper', { depth: 'infinity' })),
        ]);
        const won = results.filter((r) => 'lock' in r).map((r) => (r as { lock: LockInfo }).lock.root);
        expect(won.includes('/tree') && won.length > 1, won.join(',')).to.equal(false);
      });
    });
  });
}
