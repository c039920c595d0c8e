/** The credential cache: bcrypt runs once per user:password per TTL, and the cache never vouches for anything else. */
import { expect } from 'chai';
import { readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { BasicAuthenticator } from '../../../src/auth/basic.js';
import { HtpasswdFile } from '../../../src/auth/htpasswd.js';
import { makeTempDir } from '../../helpers/server.js';
import { basic, writeHtpasswd } from '../../helpers/auth.js';

class CountingHtpasswd extends HtpasswdFile {
  verifications = 0;
  override async verify(user: string, password: string): Promise<boolean> {
    this.verifications++;
    return super.verify(user, password);
  }
}

describe('BasicAuthenticator cache', () => {
  let dir: string;
  let file: string;
  before(async () => {
    dir = await makeTempDir('basic-unit');
    file = await writeHtpasswd(dir, { alice: 'pw', bob: 'pw2' });
  });
  after(() => rm(dir, { recursive: true, force: true }));

  it('verifies once per TTL, re-verifies after expiry, and never caches failures', async () => {
    const h = new CountingHtpasswd(file, 0);
    await h.load();
    let now = 1_000_000;
    const a = new BasicAuthenticator(h, { ttlMs: 60_000, clock: () => now });
    for (let i = 0; i < 5; i++) expect(await a.authenticate(basic('alice', 'pw'))).to.equal('alice');
    expect(h.verifications).to.equal(1);
    for (let i = 0; i < 3; i++) expect(await a.authenticate(basic('alice', 'bad'))).to.equal(null);
    expect(h.verifications).to.equal(4);
    expect(await a.authenticate(basic('bob', 'pw'))).to.equal(null);
    now += 60_001;
    expect(await a.authenticate(basic('alice', 'pw'))).to.equal('alice');
    expect(h.verifications).to.equal(6);
  });

  it('misses the cache once the stored hash changes', async () => {
    const own = join(dir, 'own');
    await writeFile(own, await readFile(file, 'utf8'));
    const h = new CountingHtpasswd(own, 0);
    await h.load();
    const a = new BasicAuthenticator(h);
    expect(await a.authenticate(basic('alice', 'pw'))).to.equal('alice');
    const other = await makeTempDir('basic-unit2');
    await writeFile(own, await readFile(await writeHtpasswd(other, { alice: 'new' }), 'utf8'));
    await rm(other, { recursive: true, force: true });
    await h.load();
    expect(await a.authenticate(basic('alice', 'pw'))).to.equal(null);
    expect(await a.authenticate(basic('alice', 'new'))).to.equal('alice');
  });

  it('bounds the number of cached entries', async () => {
    const h = new CountingHtpasswd(file, 0);
    await h.load();
    const a = new BasicAuthenticator(h, { maxEntries: 1 });
    await a.authenticate(basic('alice', 'pw'));
    await a.authenticate(basic('bob', 'pw2'));
    await a.authenticate(basic('alice', 'pw'));
    expect(h.verifications).to.equal(3);
  });
});
