/** The lock view of a user with shared folders: the conformance suite through it, and its path translation. */
import { expect } from 'chai';
import { describeLockManager, newLock } from './conformance.js';
import { MemoryLockManager } from '../../../src/locks/memory.js';
import { MountedLockManager } from '../../../src/locks/mounted.js';
import { MountMap } from '../../../src/storage/mounted.js';

const map = new MountMap('/home/alice', [{ name: 'team', target: '/teams/eng' }]);

describeLockManager('mounted (home /home/alice, /team -> /teams/eng)', async () => {
  const inner = new MemoryLockManager();
  return { manager: new MountedLockManager(inner, map), cleanup: () => inner.close() };
});

describe('MountMap and MountedLockManager', () => {
  it('translates view paths to the served tree and back', () => {
    expect(map.abs('/')).to.equal('/home/alice');
    expect(map.abs('/x/y')).to.equal('/home/alice/x/y');
    expect(map.abs('/team')).to.equal('/teams/eng');
    expect(map.abs('/team/a')).to.equal('/teams/eng/a');
    expect(map.abs('/teamx')).to.equal('/home/alice/teamx');
    expect(map.rel('/teams/eng/a')).to.equal('/team/a');
    expect(map.rel('/teams/eng')).to.equal('/team');
    expect(map.rel('/home/alice/x')).to.equal('/x');
    expect(map.rel('/home/bob/x')).to.equal(null);
    expect(map.isMountPoint('/team')).to.equal(true);
    expect(map.isMountPoint('/team/a')).to.equal(false);
    expect(map.scopeOf('/team/a')).to.equal('/teams/eng');
    expect(map.scopeOf('/x')).to.equal('/home/alice');
    const admin = new MountMap('/', [{ name: 'team', target: '/teams/eng' }]);
    expect(admin.rel('/teams/eng/a')).to.equal('/team/a'); // the mount wins over the home that also holds it
    expect(admin.rel('/teams/other')).to.equal('/teams/other');
  });

  it('shows locks of the shared folder taken elsewhere, at their place in this view, and hides others', async () => {
    const inner = new MemoryLockManager();
    const alice = new MountedLockManager(inner, map);
    const bob = new MountedLockManager(inner, new MountMap('/home/bob', [{ name: 'eng', target: '/teams/eng' }]));
    const r = await bob.create(newLock('/eng/doc.txt'));
    if (!('lock' in r)) throw new Error('expected a lock');
    expect(r.lock.root).to.equal('/eng/doc.txt');
    expect((await alice.covering('/team/doc.txt')).map((l) => l.root)).to.deep.equal(['/team/doc.txt']);
    expect((await alice.covering('/', { descendants: true })).map((l) => l.root)).to.deep.equal(['/team/doc.txt']);
    expect((await alice.byToken(r.lock.token))?.root).to.equal('/team/doc.txt');
    const conflict = await alice.create(newLock('/team/doc.txt'));
    expect('conflict' in conflict && conflict.conflict.root).to.equal('/team/doc.txt');
    const own = await bob.create(newLock('/private.txt'));
    if (!('lock' in own)) throw new Error('expected a lock');
    expect(await alice.byToken(own.lock.token)).to.equal(null);
    expect(await alice.remove(own.lock.token)).to.equal(false);
    // An administrator's depth-infinity lock above the shared folder covers it, rooted at its top here.
    expect(await alice.remove(r.lock.token)).to.equal(true);
    const above = await inner.create(newLock('/teams', { depth: 'infinity' }));
    if (!('lock' in above)) throw new Error('expected a lock');
    expect((await alice.covering('/team/new.txt')).map((l) => l.root).sort()).to.deep.equal(['/team']);
    await inner.close();
  });
});
