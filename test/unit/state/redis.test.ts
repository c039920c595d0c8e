import { expect } from 'chai';
import { randomUUID } from 'node:crypto';
import { RedisStateStore } from '../../../src/state/redis.js';
import { StateStoreUnavailable } from '../../../src/state/store.js';
import { TestRedis } from '../../redis/redis-server.js';
import { describeStateStore } from './conformance.js';

describe('RedisStateStore', () => {
  let redis: TestRedis;
  before(async function () {
    this.timeout(20_000);
    redis = await TestRedis.start();
  });
  after(async () => {
    await redis?.stop();
  });

  describeStateStore('redis', async () => {
    const namespace = `test-${randomUUID()}`;
    const store = await RedisStateStore.open({ url: redis.url, namespace });
    return {
      store,
      other: () => RedisStateStore.open({ url: redis.url, namespace }),
      cleanup: () => store.close(),
    };
  });

  describe('RedisStateStore while Redis is down', function () {
    this.timeout(30_000);
    it('fails at once with StateStoreUnavailable and works again when Redis is back', async () => {
      const s = await RedisStateStore.open({ url: redis.url, namespace: `down-${randomUUID()}` });
      try {
        await s.set('t:x', 1);
        await redis.kill();
        const started = Date.now();
        let err: unknown;
        try {
          await s.incr('t:x');
        } catch (e) {
          err = e;
        }
        expect(err).to.be.instanceOf(StateStoreUnavailable);
        expect(Date.now() - started).to.be.below(5_000);
        await redis.start();
        let back = false;
        for (let i = 0; i < 50 && !back; i++) {
          try {
            await s.set('t:y', 2);
            back = true;
          } catch {
            await new Promise((r) => setTimeout(r, 100));
          }
        }
        expect(back).to.equal(true);
        expect(await s.get('t:y')).to.equal(2);
      } finally {
        await s.close();
      }
    });
  });
});
