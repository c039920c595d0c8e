/** Litmus against a server that requires Basic authentication (basic + locks; every suite through a per-user root). */
import { expect } from 'chai';
import { spawn } from 'node:child_process';
import { rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { makeTempDir, repoRoot } from './helpers/server.js';
import { makeCert, writeHtpasswd } from './helpers/auth.js';

describe('litmus with Basic authentication', function () {
  this.timeout(300_000);

  it('passes basic and locks when litmus authenticates, and cannot start without credentials', async () => {
    const dir = await makeTempDir('litmus-auth');
    try {
      const htpasswd = await writeHtpasswd(dir, { litmus: 'li7mus pass' });
      const run = (creds: string[], suites = 'basic locks', extra: string[] = []): Promise<{ code: number | null; output: string }> =>
        new Promise((resolve) => {
          const p = spawn(process.execPath, [join(repoRoot, 'scripts', 'litmus.mjs'), '--suites', suites, ...creds, '--', '--htpasswd', htpasswd, ...extra], {
            stdio: ['ignore', 'pipe', 'pipe'],
          });
          let output = '';
          p.stdout.on('data', (d) => (output += d));
          p.stderr.on('data', (d) => (output += d));
          p.once('exit', (code) => resolve({ code, output }));
        });
      const ok = await run(['--user', 'litmus', '--pass', 'li7mus pass']);
      expect(ok.code, ok.output).to.equal(0);
      expect(ok.output).to.match(/litmus: suites basic, locks; failed 0; warnings 0; skipped 0$/m);
      // Through a per-user root (scoped storage, properties and locks) under a prefix, every suite.
      const users = join(dir, 'users.yaml');
      await writeFile(users, 'users:\n  litmus: { root: /home/litmus, access: rw }\n');
      const scoped = await run(['--user', 'litmus', '--pass', 'li7mus pass'], 'basic copymove props locks http', ['--users', users, '--prefix', '/dav']);
      expect(scoped.code, scoped.output).to.equal(0);
      expect(scoped.output).to.match(/failed 0; warnings 0; skipped 0$/m);
      // Over TLS, with users and a prefix (litmus skips its expect100 test over TLS by itself).
      const { cert, key } = makeCert(dir);
      const tls = await run(['--user', 'litmus', '--pass', 'li7mus pass'], 'basic http', ['--users', users, '--prefix', '/dav', '--tls-cert', cert, '--tls-key', key]);
      expect(tls.code, tls.output).to.equal(0);
      expect(tls.output).to.include('skipping for SSL server'); // litmus did speak TLS
      expect(tls.output).to.match(/litmus: suites basic, http; failed 0; warnings 0; skipped 0$/m);
      const denied = await run([]);
      expect(denied.code).to.not.equal(0);
      expect(denied.output).to.match(/401 Unauthorized/);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
