/**
 * One conformance suite for every StateStore implementation (files, Redis). It uses only the
 * StateStore interface and real time (expiry with short TTLs), so a new store passes the same
 * checks: call describeStateStore() from a *.test.ts.
 */
import { expect } from 'chai';
import type { StateStore } from '../../../src/state/store.js';

export interface StateStoreFixture {
  store: StateStore;
  /** A second store over the same state (another process would see the same). */
  other(): Promise<StateStore>;
  cleanup(): Promise<void>;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export function describeStateStore(name: string, make: () => Promise<StateStoreFixture>): void {
  describe(`StateStore conformance: ${name}`, function () {
    this.timeout(20_000);
    let fx: StateStoreFixture;
    let s: StateStore;

    beforeEach(async () => {
      fx = await make();
      s = fx.store;
    });
    afterEach(() => fx.cleanup());

    it('stores and returns JSON values; a missing key is undefined', async () => {
      expect(await s.get('t:missing')).to.equal(undefined);
      const values: [string, unknown][] = [
        ['t:obj', { a: 1, b: ['x', null, true], c: { d: 'Grüße ✓' } }],
        ['t:str', 'plain'],
        ['t:num', 42.5],
        ['t:zero', 0],
        ['t:false', false],
        ['t:null', null],
      ];
      for (const [k, v] of values) await s.set(k, v);
      for (const [k, v] of values) expect(await s.get(k), k).to.deep.equal(v);
      await s.set('t:str', 'replaced');
      expect(await s.get('t:str')).to.equal('replaced');
    });

    it('accepts keys with any printable text after the namespace, long ones included', async () => {
      const keys = ['t:a/b?c=d&e', 't:ünï cödé', 't:%41', 't:..', 't:.', 't:' + 'x'.repeat(900), 't:[*?]\\', 't:1.2.3.4', 't:2001:db8::/64'];
      for (const [i, k] of keys.entries()) await s.set(k, i);
      for (const [i, k] of keys.entries()) expect(await s.get(k), k).to.equal(i);
      expect((await s.list('t:')).map((e) => e.key)).to.deep.equal([...keys].sort());
    });

    it('refuses keys without a namespace or with control characters', async () => {
      for (const k of ['nonamespace', ':x', 'UPPER:x', 't:a\nb', 't:\x00']) {
        let failed = false;
        try {
          await s.set(k, 1);
        } catch {
          failed = true;
        }
        expect(failed, JSON.stringify(k)).to.equal(true);
      }
    });

    it('delete removes a key and says whether it was there', async () => {
      await s.set('t:d', 1);
      expect(await s.delete('t:d')).to.equal(true);
      expect(await s.get('t:d')).to.equal(undefined);
      expect(await s.delete('t:d')).to.equal(false);
    });

    it('expires values after their TTL; set without TTL keeps them', async () => {
      await s.set('t:short', 'v', { ttlMs: 300 });
      await s.set('t:long', 'v');
      expect(await s.get('t:short')).to.equal('v');
      await sleep(450);
      expect(await s.get('t:short')).to.equal(undefined);
      expect(await s.get('t:long')).to.equal('v');
      expect((await s.list('t:')).map((e) => e.key)).to.deep.equal(['t:long']);
    });

    it('add stores only when the key is absent or expired', async () => {
      expect(await s.add('t:once', 'first', { ttlMs: 300 })).to.equal(true);
      expect(await s.add('t:once', 'second')).to.equal(false);
      expect(await s.get('t:once')).to.equal('first');
      await sleep(450);
      expect(await s.add('t:once', 'third')).to.equal(true);
      expect(await s.get('t:once')).to.equal('third');
    });

    it('incr counts from 0, by any whole amount, and the TTL of a new counter is a fixed window', async () => {
      expect(await s.incr('t:c')).to.equal(1);
      expect(await s.incr('t:c', { by: 5 })).to.equal(6);
      expect(await s.incr('t:c', { by: -2 })).to.equal(4);
      expect(await s.get('t:c')).to.equal(4);
      expect(await s.incr('t:w', { ttlMs: 400 })).to.equal(1);
      await sleep(250);
      expect(await s.incr('t:w', { ttlMs: 400 })).to.equal(2); // does not extend the window
      await sleep(250);
      expect(await s.get('t:w')).to.equal(undefined);
      expect(await s.incr('t:w', { ttlMs: 400 })).to.equal(1);
    });

    it('incr of a key holding something else than a number fails', async () => {
      await s.set('t:s', 'text');
      let failed = false;
      try {
        await s.incr('t:s');
      } catch {
        failed = true;
      }
      expect(failed).to.equal(true);
    });

    it('concurrent increments from two stores over the same state are never lost', async () => {
      const b = await fx.other();
      try {
        const n = 60;
        const results = await Promise.all(Array.from({ length: n }, (_, i) => (i % 2 ? s : b).incr('t:race', { ttlMs: 60_000 })));
        expect(await s.get('t:race')).to.equal(n);
        expect([...results].sort((x, y) => x - y)).to.deep.equal(Array.from({ length: n }, (_, i) => i + 1));
        const adds = await Promise.all(Array.from({ length: 20 }, (_, i) => (i % 2 ? s : b).add('t:winner', i)));
        expect(adds.filter(Boolean)).to.have.length(1);
      } finally {
        await b.close();
      }
    });

    it('list returns live keys with a prefix, sorted, and only inside its namespace', async () => {
      await s.set('u:b:2', 'b2');
      await s.set('u:a:1', 'a1');
      await s.set('u:a:2', { x: 1 });
      await s.set('u:ab', 'ab');
      await s.set('v:a:1', 'other namespace');
      await s.incr('u:a:3');
      expect(await s.list('u:a:')).to.deep.equal([
        { key: 'u:a:1', value: 'a1' },
        { key: 'u:a:2', value: { x: 1 } },
        { key: 'u:a:3', value: 1 },
      ]);
      expect((await s.list('u:')).map((e) => e.key)).to.deep.equal(['u:a:1', 'u:a:2', 'u:a:3', 'u:ab', 'u:b:2']);
      expect(await s.list('w:')).to.deep.equal([]);
    });

    it('a second store over the same state sees every change', async () => {
      const b = await fx.other();
      try {
        await s.set('t:shared', { v: 1 });
        expect(await b.get('t:shared')).to.deep.equal({ v: 1 });
        await b.delete('t:shared');
        expect(await s.get('t:shared')).to.equal(undefined);
      } finally {
        await b.close();
      }
    });
  });
}
