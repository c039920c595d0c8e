/**
 * What every LockManager must do, written against the interface only, so the same cases run
 * against MemoryLockManager (the reference) and RedisLockManager. Same signature as the shared
 * conformance suite's describeLockManager(name, make), so it can be folded into it.
 */
import { expect } from 'chai';
import type { LockManager, NewLock } from '../../src/locks/manager.js';

export interface Made {
  manager: LockManager;
  cleanup(): Promise<void>;
}

const req = (root: string, over: Partial<NewLock> = {}): NewLock => ({
  root,
  scope: 'exclusive',
  depth: 'infinity',
  ownerXml: '<D:href>mailto:a@example.com</D:href>',
  timeoutSec: 60,
  ...over,
});

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export function lockManagerContract(name: string, make: () => Promise<Made>): void {
  describe(`LockManager contract: ${name}`, function () {
    this.timeout(20_000);
    let m: LockManager;
    let made: Made;

    beforeEach(async () => {
      made = await make();
      m = made.manager;
    });
    afterEach(async () => {
      await made.cleanup();
    });

    async function take(root: string, over: Partial<NewLock> = {}) {
      const r = await m.create(req(root, over));
      if (!('lock' in r)) throw new Error(`expected a lock on ${root}, got a conflict with ${r.conflict.root}`);
      return r.lock;
    }

    it('creates a lock with a urn:uuid token, the requested fields and an expiry from the timeout', async () => {
      const before = Date.now();
      const l = await take('/a.txt', { scope: 'shared', depth: 0, timeoutSec: 120, principal: 'alice' });
      expect(l.token).to.match(/^urn:uuid:[0-9a-f-]{36}$/);
      expect(l).to.include({ root: '/a.txt', scope: 'shared', depth: 0, timeoutSec: 120, principal: 'alice' });
      expect(l.ownerXml).to.equal('<D:href>mailto:a@example.com</D:href>');
      expect(l.expiresAt).to.be.within(before + 119_000, Date.now() + 121_000);
      expect(await m.byToken(l.token)).to.deep.equal(l);
      expect(await m.byToken('urn:uuid:00000000-0000-0000-0000-000000000000')).to.equal(null);
    });

    it('keeps owner XML, principal and unicode paths byte for byte', async () => {
      const owner = '<D:href>mailto:zoë@example.com</D:href><x:n xmlns:x="urn:x" a="&quot;1&quot;">é &amp; &lt;ß&gt; "q" \\ /</x:n>';
      const l = await take('/dir with space/naïve ✓.txt', { ownerXml: owner, principal: 'bob' });
      const back = await m.byToken(l.token);
      expect(back?.ownerXml).to.equal(owner);
      expect(back?.root).to.equal('/dir with space/naïve ✓.txt');
      expect(back?.principal).to.equal('bob');
      const noPrincipal = await take('/other');
      expect((await m.byToken(noPrincipal.token))?.principal).to.equal(undefined);
      expect((await m.covering('/dir with space/naïve ✓.txt')).map((x) => x.token)).to.deep.equal([l.token]);
      const refreshed = await m.refresh(l.token, 90);
      expect(refreshed?.ownerXml).to.equal(owner);
      expect(refreshed?.principal).to.equal('bob');
      expect((await m.byToken(l.token))).to.deep.include({ ownerXml: owner, principal: 'bob', root: '/dir with space/naïve ✓.txt', timeoutSec: 90, depth: 'infinity' });
      const zero = await take('/zero', { depth: 0, scope: 'shared', ownerXml: '' });
      expect(await m.refresh(zero.token, 30)).to.deep.include({ depth: 0, scope: 'shared', ownerXml: '', timeoutSec: 30 });
    });

    it('exclusive conflicts with anything at the same root; shared locks coexist', async () => {
      const s1 = await take('/s', { scope: 'shared' });
      const s2 = await take('/s', { scope: 'shared' });
      const c = await m.create(req('/s', { scope: 'exclusive' }));
      expect(c).to.have.property('conflict');
      expect([s1.token, s2.token]).to.include((c as { conflict: { token: string } }).conflict.token);
      const e = await take('/e');
      for (const scope of ['exclusive', 'shared'] as const) {
        const r = await m.create(req('/e', { scope }));
        expect(r).to.have.property('conflict');
        expect((r as { conflict: { token: string } }).conflict.token).to.equal(e.token);
      }
    });

    it('a depth-infinity lock covers its descendants; a depth-0 lock does not', async () => {
      const deep = await take('/d', { depth: 'infinity' });
      const r = await m.create(req('/d/x/y.txt'));
      expect(r).to.have.property('conflict');
      expect((r as { conflict: { token: string } }).conflict.token).to.equal(deep.token);
      await take('/z', { depth: 0 });
      await take('/z/member.txt');
      expect((await m.covering('/d/x/y.txt')).map((l) => l.token)).to.deep.equal([deep.token]);
      expect(await m.covering('/z/member.txt')).to.have.length(1);
      expect((await m.covering('/z/member.txt'))[0]!.root).to.equal('/z/member.txt');
    });

    it('a new depth-infinity lock conflicts with a lock below it; a depth-0 one does not', async () => {
      const below = await take('/p/q/r.txt');
      const r = await m.create(req('/p', { depth: 'infinity' }));
      expect(r).to.have.property('conflict');
      expect((r as { conflict: { token: string } }).conflict.token).to.equal(below.token);
      await take('/p', { depth: 0 });
    });

    it('covering: the path itself, ancestors with depth infinity, and with descendants the locks below', async () => {
      const rootLock = await take('/', { scope: 'shared', depth: 'infinity' });
      const a0 = await take('/a', { scope: 'shared', depth: 0 });
      const ab = await take('/a/b', { scope: 'shared', depth: 'infinity' });
      const abc = await take('/a/b/c', { scope: 'shared', depth: 0 });
      const sibling = await take('/ab', { scope: 'shared', depth: 'infinity' });
      const sib2 = await take('/a-b', { scope: 'shared', depth: 'infinity' });
      const tokens = async (p: string, descendants = false) => (await m.covering(p, { descendants })).map((l) => l.token).sort();
      expect(await tokens('/a/b/c')).to.deep.equal([rootLock.token, ab.token, abc.token].sort());
      expect(await tokens('/a/b/c/d')).to.deep.equal([rootLock.token, ab.token].sort());
      expect(await tokens('/a')).to.deep.equal([rootLock.token, a0.token].sort());
      expect(await tokens('/a', true)).to.deep.equal([rootLock.token, a0.token, ab.token, abc.token].sort());
      expect(await tokens('/ab', true)).to.deep.equal([rootLock.token, sibling.token].sort());
      expect(await tokens('/', true)).to.deep.equal([rootLock.token, a0.token, ab.token, abc.token, sibling.token, sib2.token].sort());
      expect(await tokens('/')).to.deep.equal([rootLock.token]);
      expect(await tokens('/elsewhere', true)).to.deep.equal([rootLock.token]);
    });

    it('refresh extends the expiry and records the new timeout; unknown tokens give null', async () => {
      const l = await take('/r', { timeoutSec: 10 });
      const firstExpiry = l.expiresAt;
      const r = await m.refresh(l.token, 500);
      expect(r).to.not.equal(null);
      expect(r!.token).to.equal(l.token);
      expect(r!.timeoutSec).to.equal(500);
      expect(r!.expiresAt).to.be.greaterThan(firstExpiry + 400_000);
      expect((await m.byToken(l.token))!.expiresAt).to.equal(r!.expiresAt);
      expect((await m.covering('/r'))[0]!.timeoutSec).to.equal(500);
      expect(await m.refresh('urn:uuid:nope', 10)).to.equal(null);
    });

    it('remove frees the resource once; a second remove is false', async () => {
      const l = await take('/x');
      expect(await m.remove(l.token)).to.equal(true);
      expect(await m.remove(l.token)).to.equal(false);
      expect(await m.byToken(l.token)).to.equal(null);
      expect(await m.covering('/x')).to.deep.equal([]);
      await take('/x');
    });

    it('dropTree removes the locks at and below a path, not those of siblings', async () => {
      const keep = await take('/tree-x', { depth: 0 });
      const keep2 = await take('/tre', { depth: 0 });
      await take('/tree', { depth: 0 });
      await take('/tree/a', { depth: 0 });
      await take('/tree/a/b/c', { depth: 0 });
      await m.dropTree('/tree');
      expect(await m.covering('/tree', { descendants: true })).to.deep.equal([]);
      expect((await m.byToken(keep.token))?.root).to.equal('/tree-x');
      expect((await m.byToken(keep2.token))?.root).to.equal('/tre');
      await m.dropTree('/');
      expect(await m.byToken(keep.token)).to.equal(null);
      expect(await m.covering('/', { descendants: true })).to.deep.equal([]);
    });

    it('an expired lock is gone for every operation and no longer conflicts', async () => {
      const l = await take('/exp', { timeoutSec: 1 });
      const kept = await take('/kept', { timeoutSec: 60 });
      await sleep(1_150);
      expect(await m.byToken(l.token)).to.equal(null);
      expect(await m.covering('/exp', { descendants: true })).to.deep.equal([]);
      expect(await m.covering('/', { descendants: true })).to.have.length(1);
      expect(await m.refresh(l.token, 60)).to.equal(null);
      expect(await m.remove(l.token)).to.equal(false);
      await take('/exp');
      expect((await m.byToken(kept.token))?.root).to.equal('/kept');
    });

    it('exclusive(): overlapping sections never interleave, unrelated ones run side by side', async () => {
      const events: string[] = [];
      const section = (label: string, paths: string[], ms: number) =>
        m.exclusive(paths, async () => {
          events.push(`${label}+`);
          await sleep(ms);
          events.push(`${label}-`);
          return label;
        });
      const a = section('a', ['/c'], 150);
      await sleep(20);
      const b = section('b', ['/c/d/e'], 10);
      const c = section('c', ['/other'], 10);
      expect(await Promise.all([a, b, c])).to.deep.equal(['a', 'b', 'c']);
      expect(events.indexOf('b+')).to.be.greaterThan(events.indexOf('a-'));
      expect(events.indexOf('c-')).to.be.lessThan(events.indexOf('a-'));
      // A failing section releases its paths.
      await m.exclusive(['/c'], async () => Promise.reject(new Error('boom'))).catch(() => undefined);
      expect(await m.exclusive(['/c'], async () => 'again')).to.equal('again');
    });
  });
}
