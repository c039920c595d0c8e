import { expect } from 'chai';
import { describeLockManager, newLock } from './conformance.js';
import { MemoryLockManager } from '../../../src/locks/memory.js';

describeLockManager('memory', async () => {
  const manager = new MemoryLockManager();
  return { manager, cleanup: () => manager.close() };
});

describe('MemoryLockManager with an injected clock', () => {
  it('expires locks by the clock and sweeps them', async () => {
    let now = 1_000_000;
    const m = new MemoryLockManager({ clock: () => now, sweepIntervalMs: 0 });
    const r = await m.create(newLock('/a', { timeoutSec: 10 }));
    if (!('lock' in r)) throw new Error('expected a lock');
    expect(r.lock.expiresAt).to.equal(1_010_000);
    now += 9_999;
    expect(m.sweep()).to.equal(0);
    expect(await m.byToken(r.lock.token)).to.not.equal(null);
    now += 1;
    expect(m.sweep()).to.equal(1);
    expect(await m.byToken(r.lock.token)).to.equal(null);
    await m.close();
  });
});
