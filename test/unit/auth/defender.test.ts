/** The brute-force defender over a real file state store, with an injected clock. */
import { expect } from 'chai';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { Defender, addressKey, type DefenderOptions } from '../../../src/auth/defender.js';
import { FileStateStore } from '../../../src/state/file.js';
import { StateStoreUnavailable, type StateStore } from '../../../src/state/store.js';
import { makeTempDir } from '../../helpers/server.js';

describe('Defender', () => {
  let dir: string;
  let now: number;
  let store: FileStateStore;
  let lines: string[];
  const make = (over: Partial<DefenderOptions> = {}, s: StateStore = store): Defender =>
    new Defender(s, { maxFailures: 5, maxUserFailures: 8, windowSec: 60, banSec: 300, clock: () => now, log: (l) => lines.push(l), ...over });

  beforeEach(async () => {
    dir = await makeTempDir('defender');
    now = 1_000_000;
    store = new FileStateStore(join(dir, 'state'), { clock: () => now, sweepIntervalMs: 0 });
    lines = [];
  });
  afterEach(async () => {
    await store.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('bans an address after maxFailures in a window, logs it once, and lets other addresses in', async () => {
    const d = make();
    const bans: unknown[] = [];
    d.on('ban', (b) => bans.push(b));
    for (let i = 1; i < 5; i++) expect(await d.failed('10.0.0.1', `user${i}`)).to.equal(null);
    expect(await d.check('10.0.0.1', 'alice')).to.equal(null);
    expect(await d.failed('10.0.0.1', 'user5')).to.deep.equal({ retryAfterSec: 300 });
    expect(await d.check('10.0.0.1', 'alice')).to.deep.equal({ retryAfterSec: 300 });
    expect(await d.failed('10.0.0.1', 'user6')).to.deep.equal({ retryAfterSec: 300 }); // already banned: not logged again
    expect(await d.check('10.0.0.2', 'alice')).to.equal(null);
    expect(lines).to.have.length(1);
    expect(lines[0]).to.match(/^\[defender\] banned address 10\.0\.0\.1 for 300 s after 5 failed logins in 60 s$/);
    expect(bans).to.have.length(1);
    expect(d.stats).to.deep.include({ failures: 6, bans: 1, refused: 1 });
    now += 120_000;
    expect(await d.check('10.0.0.1', 'alice')).to.deep.equal({ retryAfterSec: 180 });
    now += 181_000;
    expect(await d.check('10.0.0.1', 'alice')).to.equal(null);
  });

  it('counts in fixed windows: failures spread wider than the window never ban', async () => {
    const d = make();
    for (let i = 0; i < 12; i++) {
      expect(await d.failed('10.0.0.1', 'alice')).to.equal(null);
      if (i % 4 === 3) now += 61_000;
    }
  });

  it('bans a user name for the addresses that failed on it, not for a fresh address', async () => {
    const d = make({ maxFailures: 100 });
    for (let i = 0; i < 8; i++) await d.failed(`10.0.1.${i}`, 'alice');
    expect(await d.check('10.0.1.3', 'alice')).to.deep.equal({ retryAfterSec: 300 });
    expect(await d.check('10.0.1.3', 'bob')).to.equal(null);
    expect(await d.check('10.0.9.9', 'alice')).to.equal(null);
    expect(lines.join('\n')).to.include('banned user name "alice" for the addresses that failed on it');
  });

  it('does nothing when turned off', async () => {
    const d = make({ maxFailures: 0 });
    for (let i = 0; i < 20; i++) expect(await d.failed('10.0.0.1', 'alice')).to.equal(null);
    expect(await d.check('10.0.0.1', 'alice')).to.equal(null);
    expect(lines).to.deep.equal([]);
  });

  it('steps aside when the state store is down (logins keep working) and says so once', async () => {
    const broken = new Proxy(store, {
      get: (t, p) => (['get', 'incr', 'add'].includes(String(p)) ? () => Promise.reject(new StateStoreUnavailable('down')) : Reflect.get(t, p)),
    });
    const d = make({}, broken);
    for (let i = 0; i < 10; i++) expect(await d.failed('10.0.0.1', 'alice')).to.equal(null);
    expect(await d.check('10.0.0.1', 'alice')).to.equal(null);
    expect(lines).to.have.length(1);
    expect(lines[0]).to.match(/state store unavailable/);
    expect(d.stats.storeErrors).to.equal(11);
  });

  it('keys IPv4 addresses as they are and IPv6 ones by /64', () => {
    expect(addressKey('192.0.2.7')).to.equal('192.0.2.7');
    expect(addressKey('::ffff:192.0.2.7')).to.equal('192.0.2.7');
    expect(addressKey('2001:db8:1:2:aaaa::1')).to.equal('2001:db8:1:2::/64');
    expect(addressKey('2001:db8:1:2:bbbb:cccc:dddd:eeee')).to.equal('2001:db8:1:2::/64');
    expect(addressKey('2001:db8::1')).to.equal('2001:db8:0:0::/64');
    expect(addressKey('::1')).to.equal('0:0:0:0::/64');
  });
});
