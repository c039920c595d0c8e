/**
 * Share tokens go on command lines (`share revoke TOKEN`) and into URLs: base64url, so one in 64
 * random tokens would start with '-', which a command line takes for an option. None does.
 */
import { expect } from 'chai';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { Shares, looksLikeToken } from '../../../src/auth/shares.js';
import { FileStateStore } from '../../../src/state/file.js';
import { makeTempDir } from '../../helpers/server.js';

describe('share tokens', function () {
  this.timeout(60_000);

  it('never start with a dash, and keep their form and their randomness', async () => {
    const dir = await makeTempDir('share-tokens');
    const store = new FileStateStore(join(dir, 'state'), { sweepIntervalMs: 0 });
    try {
      const shares = new Shares(store);
      const tokens = new Set<string>();
      // 400 tokens: without the rule, the chance that none starts with '-' is (63/64)^400 < 0.2%.
      for (let i = 0; i < 400; i++) {
        const r = await shares.create({ user: 'alice', path: '/docs', target: '/docs', within: '/', kind: 'folder' });
        expect(r.token, r.token).to.match(/^[A-Za-z0-9_][A-Za-z0-9_-]{31}$/);
        expect(looksLikeToken(r.token)).to.equal(true);
        tokens.add(r.token);
      }
      expect(tokens.size).to.equal(400);
    } finally {
      await store.close();
      await rm(dir, { recursive: true, force: true });
    }
  });
});
