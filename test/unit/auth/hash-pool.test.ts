/** The password-check pool: every scheme, the dummy hash, round-robin turns per client, and the queue bound. */
import { expect } from 'chai';
import bcrypt from 'bcryptjs';
import { rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { makeTempDir, repoRoot } from '../../helpers/server.js';
import { run } from '../../helpers/run.js';
import { HashPool } from '../../../src/auth/hash-pool.js';
import { dummyHash, hashKind } from '../../../src/auth/htpasswd.js';
import { DavError } from '../../../src/errors.js';

describe('HashPool', function () {
  this.timeout(30_000);
  let pool: HashPool;
  beforeEach(() => (pool = new HashPool({ size: 1, maxQueued: 8 })));
  afterEach(() => pool.close());

  it('checks bcrypt, apr1 and {SHA} hashes (made by Apache htpasswd) and refuses anything else', async () => {
    const cases: [string, string][] = [
      ['secret', '$2y$05$klsecaTzVJDG7B8mB7ZiQuxAjXthYBpPuiD8MvCrPdJPjUaTya.y6'],
      ['secret', '$apr1$b235Vx.h$CifKpaLUZi/S3VX28z5ve0'],
      ['secret', '{SHA}5en6G6MezRroT3XKqkdPOmY/BfQ='],
      ['wonder land', bcrypt.hashSync('wonder land', 4)],
    ];
    for (const [pw, hash] of cases) {
      expect(await pool.verify(pw, hash), hash).to.equal(true);
      expect(await pool.verify(pw + 'x', hash), hash).to.equal(false);
    }
    expect(await pool.verify('secret', 'secret')).to.equal(false);
    expect(await pool.verify('secret', '$2y$05$short')).to.equal(false);
  });

  it('a dummy hash has the scheme and cost most users have, and matches no password', async () => {
    const b5 = bcrypt.hashSync('a', 5);
    const dummy = dummyHash([b5, b5, bcrypt.hashSync('b', 4), '{SHA}5en6G6MezRroT3XKqkdPOmY/BfQ=', 'plain']);
    expect(dummy).to.match(/^\$2b\$05\$/);
    expect(hashKind(dummy)).to.equal('bcrypt');
    expect(await pool.verify('a', dummy)).to.equal(false);
    expect(await pool.verify('', dummy)).to.equal(false);
    expect(hashKind(dummyHash(['{SHA}5en6G6MezRroT3XKqkdPOmY/BfQ=']))).to.equal('sha1');
    expect(hashKind(dummyHash(['$apr1$b235Vx.h$CifKpaLUZi/S3VX28z5ve0']))).to.equal('apr1');
    expect(dummyHash([])).to.match(/^\$2b\$10\$/);
    expect(dummyHash([])).to.not.equal(dummyHash([]));
  });

  it('serves clients in turns: one client with a long queue does not delay another behind all of it', async () => {
    const hash = bcrypt.hashSync('x', 6);
    const order: string[] = [];
    const jobs = [
      ...Array.from({ length: 5 }, (_, i) => pool.verify('x', hash, 'flood').then(() => order.push(`flood${i}`))),
      pool.verify('x', hash, 'other').then(() => order.push('other')),
    ];
    await Promise.all(jobs);
    // The first flood check was already running; the other client's check is next.
    expect(order.indexOf('other')).to.be.at.most(2);
    expect(order.filter((o) => o.startsWith('flood'))).to.deep.equal(['flood0', 'flood1', 'flood2', 'flood3', 'flood4']);
  });

  it('refuses checks past the queue bound with 503 + Retry-After', async () => {
    const hash = bcrypt.hashSync('x', 8);
    const results = await Promise.allSettled(Array.from({ length: 12 }, () => pool.verify('x', hash, 'c')));
    const refused = results.filter((r) => r.status === 'rejected').map((r) => (r as PromiseRejectedResult).reason as DavError);
    expect(refused.length).to.be.within(1, 4);
    for (const e of refused) {
      expect(e.status).to.equal(503);
      expect(e.headers['Retry-After']).to.match(/^\d+$/);
    }
    expect(results.filter((r) => r.status === 'fulfilled' && r.value === true).length).to.equal(12 - refused.length);
  });

  it('keeps a process alive while a check is in flight, and lets it exit when idle', async () => {
    const dir = await makeTempDir('hashpool');
    try {
      const script = join(dir, 'check.mts');
      await writeFile(script, `import { hashPool } from ${JSON.stringify(join(repoRoot, 'src/auth/hash-pool.ts'))};\nconsole.log('answer', await hashPool.verify('secret', '$apr1$b235Vx.h$CifKpaLUZi/S3VX28z5ve0'));\n`);
      const r = await run(process.execPath, ['--import', 'tsx', script], { cwd: repoRoot, timeoutMs: 20_000 });
      expect(r.stdout.trim(), r.output).to.equal('answer true');
      expect(r.code).to.equal(0);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
