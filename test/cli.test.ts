/** The compiled CLI: --help, start-up banner, clear errors for a bad root or flag. */
import { expect } from 'chai';
import { execFile } from 'node:child_process';
import { rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { cliPath, makeTempDir, request, spawnCli } from './helpers/server.js';
import { ensureBuilt } from './helpers/dav.js';
import { OPTION_SPECS } from '../src/config.js';

function runCli(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [cliPath, ...args], { timeout: 20_000 }, (err, stdout, stderr) => {
      resolve({ code: err ? ((err as { code?: number }).code ?? null) : 0, stdout, stderr });
    });
  });
}

describe('CLI', function () {
  this.timeout(120_000);
  before(() => ensureBuilt());

  it('--help lists every flag', async () => {
    const r = await runCli(['--help']);
    expect(r.code).to.equal(0);
    for (const o of OPTION_SPECS) expect(r.stdout).to.include(`--${o.flag}`);
    expect(r.stdout).to.include('--help');
  });

  it('a --prefix with a space or a non-ASCII character is refused at start-up with a clear message', async () => {
    const dir = await makeTempDir('cli-prefix');
    try {
      for (const prefix of ['/my dav', '/dåv', '/a%20b']) {
        const r = await runCli(['--root', dir, '--port', '0', '--prefix', prefix]);
        expect(r.code, prefix).to.equal(2);
        expect(r.stderr).to.include(`invalid prefix: ${prefix}`);
        expect(r.stderr).to.not.match(/\n\s+at /);
      }
      // Characters that need no encoding work, hrefs included.
      const srv = await spawnCli(['--root', dir, '--port', '0', '--prefix', "/dav-1_x.y~z@o'k"]);
      try {
        const r = await request(srv.base, 'PROPFIND', "/dav-1_x.y~z@o'k/", { headers: { Depth: '0' } });
        expect(r.status).to.equal(207);
        expect(r.body).to.include("<D:href>/dav-1_x.y~z@o'k/</D:href>");
      } finally {
        await srv.stop();
      }
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('a missing root is one clear line and exit code 2, no stack trace', async () => {
    const r = await runCli(['--root', '/nonexistent/webdav-root-for-test', '--port', '0']);
    expect(r.code).to.equal(2);
    expect(r.stderr).to.include('/nonexistent/webdav-root-for-test');
    expect(r.stderr).to.not.match(/\n\s+at /);
  });

  it('a root that is a file, an unknown flag and a bad number are clear errors too', async () => {
    const dir = await makeTempDir('cli');
    try {
      await writeFile(join(dir, 'file'), 'x');
      for (const args of [['--root', join(dir, 'file'), '--port', '0'], ['--no-such-flag'], ['--root', dir, '--port', 'abc']]) {
        const r = await runCli(args);
        expect(r.code, args.join(' ')).to.equal(2);
        expect(r.stderr).to.not.match(/\n\s+at /);
      }
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('prints the URL and the root, and serves it', async () => {
    const dir = await makeTempDir('cli');
    const s = await spawnCli(['--root', dir, '--port', '0']);
    try {
      expect(s.url).to.match(/^http:\/\/127\.0\.0\.1:\d+\/$/);
      expect(s.output()).to.include(dir);
      const r = await request(s.base, 'OPTIONS', '/');
      expect(r.headers['dav']).to.equal('1, 2');
    } finally {
      expect(await s.stop()).to.equal(0);
      await rm(dir, { recursive: true, force: true });
    }
  });
});
