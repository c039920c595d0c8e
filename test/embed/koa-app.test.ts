/**
 * examples/koa-app/server.js, started as a user would (`node examples/koa-app/server.js --port
 * PORT --root DIR`): its own GET /hello answers beside WebDAV mounted at /dav/ with @koa/router,
 * and litmus passes against http://127.0.0.1:PORT/dav/, anonymous and through the app's own login.
 */
import { expect } from 'chai';
import { spawn, type ChildProcess } from 'node:child_process';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { makeTempDir, repoRoot, request } from '../helpers/server.js';
import { ensureBuilt, multistatus } from '../helpers/dav.js';
import { basic } from '../helpers/auth.js';
import { run, type RunResult } from '../helpers/run.js';

interface Example {
  proc: ChildProcess;
  base: string;
  stop(): Promise<number | null>;
}

function startExample(args: string[]): Promise<Example> {
  const proc = spawn(process.execPath, [join(repoRoot, 'examples', 'koa-app', 'server.js'), ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  const exited = new Promise<number | null>((r) => proc.once('exit', (code) => r(code)));
  return new Promise((resolve, reject) => {
    proc.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      const m = /listening on (http:\/\/[\d.]+:\d+)\//.exec(out);
      if (m) {
        resolve({
          proc,
          base: m[1]!,
          stop: async () => {
            if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGTERM');
            return exited;
          },
        });
      }
    });
    proc.stderr!.on('data', (d: Buffer) => (out += d.toString()));
    proc.once('exit', (code) => reject(new Error(`example exited with ${code} before listening:\n${out}`)));
  });
}

/** scripts/litmus.mjs against a running server (no server of its own). */
const litmus = (url: string, extra: string[] = []): Promise<RunResult> =>
  run(process.execPath, [join(repoRoot, 'scripts', 'litmus.mjs'), '--url', url, ...extra], { timeoutMs: 300_000 });

describe('examples/koa-app: the embedded middleware in a real Koa app', function () {
  this.timeout(300_000);
  let root: string;
  let app: Example | undefined;
  before(() => ensureBuilt());
  beforeEach(async () => {
    root = await makeTempDir('koa-app');
  });
  afterEach(async () => {
    if (app) expect(await app.stop()).to.equal(0);
    app = undefined;
    await rm(root, { recursive: true, force: true });
  });

  it('answers GET /hello beside WebDAV at /dav/, and passes litmus against /dav/', async () => {
    app = await startExample(['--port', '0', '--root', root]);
    const hello = await request(app.base, 'GET', '/hello');
    expect(hello.status).to.equal(200);
    expect(hello.body).to.equal('Hello from the host app\n');
    const ms = multistatus(await request(app.base, 'PROPFIND', '/dav/', { headers: { Depth: '0' } }));
    expect([...ms.keys()]).to.deep.equal(['/dav/']);
    expect((await request(app.base, 'GET', '/nothing')).status).to.equal(404);

    const { code, output } = await litmus(`${app.base}/dav/`);
    expect(output).to.match(/litmus: suites basic, copymove, props, locks, http; failed 0; warnings 0; skipped 0$/m);
    expect(code, output).to.equal(0);
    // The host route still answers after the whole suite.
    expect((await request(app.base, 'GET', '/hello')).status).to.equal(200);
  });

  it('passes litmus through the app\'s own login, which hands the user to WebDAV', async () => {
    app = await startExample(['--port', '0', '--root', root, '--user', 'alice:s3cret']);
    expect((await request(app.base, 'PROPFIND', '/dav/', { headers: { Depth: '0' } })).status).to.equal(401);
    expect((await request(app.base, 'GET', '/hello')).status).to.equal(200);
    const page = await request(app.base, 'GET', '/dav/', { headers: { Accept: 'text/html', Authorization: basic('alice', 's3cret') } });
    expect(page.body).to.contain('Signed in as <strong>alice</strong>');
    const { code, output } = await litmus(`${app.base}/dav/`, ['--suites', 'basic locks', '--user', 'alice', '--pass', 's3cret']);
    expect(code, output).to.equal(0);
  });
});
