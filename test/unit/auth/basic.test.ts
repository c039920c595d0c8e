/** The credential cache: a password is checked once per header per TTL, and the cache never vouches for anything else. */
import { expect } from 'chai';
import { readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { BasicAuthenticator } from '../../../src/auth/basic.js';
import { HtpasswdFile } from '../../../src/auth/htpasswd.js';
import { PasswordVerifier } from '../../../src/auth/verify.js';
import { Defender } from '../../../src/auth/defender.js';
import { FileStateStore } from '../../../src/state/file.js';
import { makeTempDir } from '../../helpers/server.js';
import { basic, writeHtpasswd } from '../../helpers/auth.js';

class CountingHtpasswd extends HtpasswdFile {
  verifications = 0;
  override async verify(user: string, password: string, client?: string): Promise<boolean> {
    this.verifications++;
    return super.verify(user, password, client);
  }
}

describe('BasicAuthenticator cache', () => {
  let dir: string;
  let file: string;
  let state: FileStateStore;
  before(async () => {
    dir = await makeTempDir('basic-unit');
    file = await writeHtpasswd(dir, { alice: 'pw', bob: 'pw2' });
    state = new FileStateStore(join(dir, 'state'), { sweepIntervalMs: 0 });
  });
  after(async () => {
    await state.close();
    await rm(dir, { recursive: true, force: true });
  });

  const authenticator = (h: HtpasswdFile, opts: ConstructorParameters<typeof BasicAuthenticator>[1] = {}): BasicAuthenticator =>
    new BasicAuthenticator(new PasswordVerifier(h, new Defender(state, { maxFailures: 0, maxUserFailures: 0, windowSec: 60, banSec: 60 })), opts);
  const user = async (a: BasicAuthenticator, header: string): Promise<string | null> => {
    const o = await a.authenticate(header, '127.0.0.1');
    return o.ok ? o.user : null;
  };

  it('verifies once per TTL, re-verifies after expiry, and never caches failures', async () => {
    const h = new CountingHtpasswd(file, 0);
    await h.load();
    let now = 1_000_000;
    const a = authenticator(h, { ttlMs: 60_000, clock: () => now });
    for (let i = 0; i < 5; i++) expect(await user(a, basic('alice', 'pw'))).to.equal('alice');
    expect(h.verifications).to.equal(1);
    for (let i = 0; i < 3; i++) expect(await user(a, basic('alice', 'bad'))).to.equal(null);
    expect(h.verifications).to.equal(4);
    expect(await user(a, basic('bob', 'pw'))).to.equal(null);
    now += 60_001;
    expect(await user(a, basic('alice', 'pw'))).to.equal('alice');
    expect(h.verifications).to.equal(6);
  });

  it('misses the cache once the stored hash changes', async () => {
    const own = join(dir, 'own');
    await writeFile(own, await readFile(file, 'utf8'));
    const h = new CountingHtpasswd(own, 0);
    await h.load();
    const a = authenticator(h);
    expect(await user(a, basic('alice', 'pw'))).to.equal('alice');
    const other = await makeTempDir('basic-unit2');
    await writeFile(own, await readFile(await writeHtpasswd(other, { alice: 'new' }), 'utf8'));
    await rm(other, { recursive: true, force: true });
    await h.load();
    expect(await user(a, basic('alice', 'pw'))).to.equal(null);
    expect(await user(a, basic('alice', 'new'))).to.equal('alice');
  });

  it('bounds the number of cached entries', async () => {
    const h = new CountingHtpasswd(file, 0);
    await h.load();
    const a = authenticator(h, { maxEntries: 1 });
    await a.authenticate(basic('alice', 'pw'), '');
    await a.authenticate(basic('bob', 'pw2'), '');
    await a.authenticate(basic('alice', 'pw'), '');
    expect(h.verifications).to.equal(3);
  });

  it('keys the cache by a keyed hash of the header: no password or header text is held', async () => {
    const h = new CountingHtpasswd(file, 0);
    await h.load();
    const a = authenticator(h);
    const header = basic('alice', 'pw');
    await a.authenticate(header, '');
    const held = JSON.stringify([...(a as unknown as { cache: Map<string, unknown> }).cache.entries()]);
    expect(held).to.not.include(header.slice(6));
    expect(held).to.not.include('"pw"');
    // A different spelling of the same credentials is a different key (checked again, still good).
    expect(await user(a, 'basic ' + header.slice(6))).to.equal('alice');
    expect(h.verifications).to.equal(2);
  });
});
