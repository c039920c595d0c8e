/** Lock store and --workers validation for the Redis lock store. */
import { expect } from 'chai';
import { ConfigError, isRedisUrl, resolveOptions } from '../../src/config.js';

describe('config: redis lock store and workers', () => {
  it('accepts redis:// and rediss:// URLs with an optional numeric database', () => {
    for (const u of ['redis://127.0.0.1:6379/0', 'redis://localhost', 'redis://:secret@h:1/15', 'rediss://user:pw@redis.example:6380/2', 'redis://[::1]:6379/']) {
      expect(isRedisUrl(u), u).to.equal(true);
      expect(resolveOptions({ lockStore: u }).lockStore).to.equal(u);
    }
  });

  it('rejects malformed lock stores with the list of valid forms', () => {
    for (const u of ['redis://', 'redis://host/abc', 'redis:host', 'http://host:6379', 'mem']) {
      expect(isRedisUrl(u), u).to.equal(false);
      expect(() => resolveOptions({ lockStore: u })).to.throw(ConfigError, /memory, file, file:PATH or redis:\/\/host:port\/db/);
    }
  });

  it('allows several workers only with a shared (redis) lock store', () => {
    expect(resolveOptions({}).workers).to.equal(1);
    expect(resolveOptions({ workers: 4, lockStore: 'redis://h:6379/0' }).workers).to.equal(4);
    for (const lockStore of ['file', 'memory', 'file:/tmp/x.json']) {
      expect(() => resolveOptions({ workers: 2, lockStore })).to.throw(ConfigError, /needs a lock store all workers share/);
    }
    for (const workers of [0, -1, 1.5, 257]) expect(() => resolveOptions({ workers, lockStore: 'redis://h' })).to.throw(ConfigError, /invalid workers/);
  });
});
