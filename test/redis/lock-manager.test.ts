/**
 * RedisLockManager against a real redis-server: the LockManager conformance suite the memory
 * and file managers pass (test/unit/locks/conformance.ts), then what only a shared store has to
 * do: several managers on one Redis, atomic races, leases, expiry, outages.
 */
import { expect } from 'chai';
import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { RedisLockManager, type RedisLockOptions } from '../../src/locks/redis.js';
import { LockStoreUnavailable } from '../../src/locks/errors.js';
import type { NewLock } from '../../src/locks/manager.js';
import { describeLockManager } from '../unit/locks/conformance.js';
import { TestRedis } from './redis-server.js';

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

const req = (root: string, over: Partial<NewLock> = {}): NewLock => ({ root, scope: 'exclusive', depth: 'infinity', ownerXml: '', timeoutSec: 60, ...over });

describe('RedisLockManager', function () {
  this.timeout(30_000);
  let redis: TestRedis;
  const open: RedisLockManager[] = [];
  const logs: string[] = [];

  const make = async (opts: Partial<RedisLockOptions> = {}): Promise<RedisLockManager> => {
    const m = new RedisLockManager({ url: redis.url, sweepIntervalMs: 0, log: (l) => logs.push(l), ...opts });
    await m.init();
    open.push(m);
    return m;
  };

  before(async () => {
    redis = await TestRedis.start();
  });
  after(async () => {
    await redis.stop();
  });
  afterEach(async () => {
    await Promise.all(open.splice(0).map((m) => m.close()));
  });

  // The same conformance suite the memory and file managers pass (test/unit/locks/).
  describeLockManager('redis', async () => {
    const manager = await make({ namespace: `conformance-${randomUUID()}` });
    return { manager, cleanup: () => manager.close() };
  });

  describe('shared by several instances', () => {
    it('a lock taken through one manager is seen, refreshed and removed through another', async () => {
      const ns = randomUUID();
      const a = await make({ namespace: ns });
      const b = await make({ namespace: ns });
      const created = await a.create(req('/shared.txt', { timeoutSec: 30 }));
      const lock = (created as { lock: { token: string; expiresAt: number } }).lock;
      expect((await b.covering('/shared.txt')).map((l) => l.token)).to.deep.equal([lock.token]);
      expect(await b.create(req('/shared.txt'))).to.have.property('conflict');
      const refreshed = await b.refresh(lock.token, 3000);
      expect(refreshed!.expiresAt).to.be.greaterThan(lock.expiresAt + 2_000_000);
      expect((await a.byToken(lock.token))!.timeoutSec).to.equal(3000);
      expect(await b.remove(lock.token)).to.equal(true);
      expect(await a.covering('/shared.txt')).to.deep.equal([]);
    });

    it('namespaces keep deployments apart', async () => {
      const a = await make({ namespace: randomUUID() });
      const b = await make({ namespace: randomUUID() });
      await a.create(req('/n'));
      expect(await b.covering('/n')).to.deep.equal([]);
    });

    it('concurrent creates through two managers: exactly one exclusive lock wins', async () => {
      const ns = randomUUID();
      const a = await make({ namespace: ns });
      const b = await make({ namespace: ns });
      const results = await Promise.all(Array.from({ length: 40 }, (_, i) => (i % 2 ? a : b).create(i % 4 < 2 ? req('/race') : req('/race/child', { depth: i % 3 ? 'infinity' : 0 }))));
      const won = results.filter((r) => 'lock' in r);
      expect(won).to.have.length(1);
    });

    it('exclusive() holds off an overlapping section of another instance until it ends', async () => {
      const ns = randomUUID();
      const a = await make({ namespace: ns });
      const b = await make({ namespace: ns });
      const events: string[] = [];
      const first = a.exclusive(['/dir'], async () => {
        events.push('a+');
        await sleep(300);
        events.push('a-');
      });
      await sleep(30);
      const overlapping = b.exclusive(['/x', '/dir/sub/file'], async () => void events.push('b'));
      const unrelated = b.exclusive(['/elsewhere'], async () => void events.push('c'));
      await Promise.all([first, overlapping, unrelated]);
      expect(events).to.deep.equal(['a+', 'c', 'a-', 'b']);
    });

    it('a lease held by an instance that died expires after leaseMs', async () => {
      const ns = randomUUID();
      const a = await make({ namespace: ns, leaseMs: 400 });
      const b = await make({ namespace: ns, leaseMs: 400 });
      // Simulate a crash inside a section: the renewal stops with the process.
      let release!: () => void;
      const hold = a.exclusive(['/crash'], () => new Promise<void>((r) => (release = r)));
      await sleep(50);
      await a.close(); // renewals and the final release now fail; the lease must time out
      const started = Date.now();
      await b.exclusive(['/crash/file'], async () => undefined);
      expect(Date.now() - started).to.be.within(100, 3_000);
      release();
      await hold.catch(() => undefined);
    });

    it('with an injected clock, expiry follows that clock; sweep removes the expired entries from Redis', async () => {
      let now = 1_000_000;
      const ns = randomUUID();
      const m = await make({ namespace: ns, clock: () => now });
      const l = (await m.create(req('/clocked', { timeoutSec: 10 })) as { lock: { token: string; expiresAt: number } }).lock;
      expect(l.expiresAt).to.equal(1_010_000);
      now = 1_009_999;
      expect(await m.byToken(l.token)).to.not.equal(null);
      await m.create(req('/other', { timeoutSec: 1 }));
      now = 1_010_000;
      expect(await m.covering('/clocked')).to.deep.equal([]);
      now = 1_011_000;
      expect(await m.sweep()).to.equal(2);
      const raw = new Redis(redis.url);
      try {
        expect(await raw.hlen(`{${ns}}:locks`)).to.equal(0);
        expect(await raw.zcard(`{${ns}}:expiry`)).to.equal(0);
        expect(await raw.zcard(`{${ns}}:roots`)).to.equal(0);
      } finally {
        raw.disconnect();
      }
    });

    it('without an injected clock, Redis TIME is the clock every instance shares', async () => {
      const m = await make({ namespace: randomUUID() });
      const before = Date.now();
      const l = (await m.create(req('/t', { timeoutSec: 5 })) as { lock: { expiresAt: number } }).lock;
      expect(l.expiresAt).to.be.within(before + 4_000, Date.now() + 6_000);
    });
  });

  describe('a section whose lease is lost is told', () => {
    it('signal aborts and stillHeld() turns false when the lease expires under it', async () => {
      const ns = `lost-${randomUUID()}`;
      const m = await make({ namespace: ns, leaseMs: 300 });
      const raw = new Redis(redis.url);
      try {
        const seen = await m.exclusive(['/a'], async (held) => {
          expect(held.stillHeld()).to.equal(true);
          // Another party (an operator, a Redis failover) drops the lease.
          await raw.del(`{${ns}}:leases`);
          const aborted = await new Promise<boolean>((resolve) => {
            if (held.signal.aborted) return resolve(true);
            held.signal.addEventListener('abort', () => resolve(true));
            setTimeout(() => resolve(false), 2000);
          });
          return { aborted, stillHeld: held.stillHeld(), reason: (held.signal.reason as Error | undefined)?.message };
        });
        expect(seen.aborted).to.equal(true);
        expect(seen.stillHeld).to.equal(false);
        expect(seen.reason).to.match(/lease was lost/);
        expect(logs.some((l) => l.includes('lost its lease'))).to.equal(true);
      } finally {
        raw.disconnect();
      }
    });

    it('readers of one path share a lease across instances; a writer waits for them', async () => {
      const ns = `rw-${randomUUID()}`;
      const a = await make({ namespace: ns });
      const b = await make({ namespace: ns });
      const events: string[] = [];
      let release!: () => void;
      const gate = new Promise<void>((r) => (release = r));
      const first = a.exclusive([{ path: '/src', mode: 'read' }], async () => {
        events.push('a read');
        await gate;
        events.push('a done');
      });
      await new Promise((r) => setTimeout(r, 50));
      await b.exclusive([{ path: '/src/x', mode: 'read' }], async () => void events.push('b read'));
      const writer = b.exclusive(['/src'], async () => void events.push('b write'));
      await new Promise((r) => setTimeout(r, 100));
      release();
      await Promise.all([first, writer]);
      expect(events).to.deep.equal(['a read', 'b read', 'a done', 'b write']);
    });
  });

  describe('when Redis goes away', () => {
    it('a stalled Redis times out instead of queueing, later calls fail fast, and it comes back', async () => {
      const m = await make({ namespace: randomUUID(), commandTimeoutMs: 300 });
      await m.create(req('/stall'));
      logs.length = 0;
      redis.pause();
      try {
        let started = Date.now();
        await m.covering('/stall').then(
          () => expect.fail('must time out'),
          (e: unknown) => expect(e).to.be.instanceOf(LockStoreUnavailable),
        );
        expect(Date.now() - started).to.be.within(250, 1_500);
        started = Date.now();
        await m.covering('/stall').catch((e: unknown) => expect(e).to.be.instanceOf(LockStoreUnavailable));
        expect(Date.now() - started).to.be.lessThan(100);
        expect(logs.filter((x) => /unreachable \(Command timed out\)/.test(x))).to.have.length(1);
      } finally {
        redis.resume();
      }
      await sleep(1_100);
      expect(await m.covering('/stall')).to.have.length(1);
      expect(logs.some((x) => /reachable again/.test(x))).to.equal(true);
    });

    it('fails fast with LockStoreUnavailable (503, Retry-After), logs once, and recovers on its own', async () => {
      const m = await make({ namespace: randomUUID() });
      const l = (await m.create(req('/o', { timeoutSec: 600 })) as { lock: { token: string } }).lock;
      logs.length = 0;
      await redis.kill();
      try {
        const started = Date.now();
        const err = await m.covering('/o').then(
          () => null,
          (e: unknown) => e,
        );
        expect(err).to.be.instanceOf(LockStoreUnavailable);
        expect((err as LockStoreUnavailable).status).to.equal(503);
        expect((err as LockStoreUnavailable).headers['Retry-After']).to.match(/^\d+$/);
        expect(Date.now() - started).to.be.lessThan(2_500);
        await m.create(req('/p')).then(
          () => expect.fail('create must fail while Redis is down'),
          (e: unknown) => expect(e).to.be.instanceOf(LockStoreUnavailable),
        );
        await m.exclusive(['/p'], async () => expect.fail('no section may run without its lease')).then(
          () => expect.fail('exclusive must fail while Redis is down'),
          (e: unknown) => expect(e).to.be.instanceOf(LockStoreUnavailable),
        );
        expect(logs.filter((x) => /unreachable/.test(x))).to.have.length(1);
        expect(logs[0]).to.include(`127.0.0.1:${redis.port}`);
      } finally {
        await redis.start();
      }
      // The data did not survive (no persistence here), but the manager works again by itself.
      const deadline = Date.now() + 10_000;
      for (;;) {
        try {
          expect(await m.byToken(l.token)).to.equal(null);
          break;
        } catch (e) {
          if (!(e instanceof LockStoreUnavailable) || Date.now() > deadline) throw e;
          await sleep(100);
        }
      }
      expect(await m.create(req('/o'))).to.have.property('lock');
      expect(logs.some((x) => /reachable again/.test(x))).to.equal(true);
    });
  });
});
