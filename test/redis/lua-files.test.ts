/**
 * The Redis lock store's Lua lives in src/locks/redis/lua/*.lua: the compiled store (dist/) must
 * find them at run time, and the npm package must ship them.
 */
import { expect } from 'chai';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { ensureBuilt } from '../helpers/dav.js';
import { repoRoot } from '../helpers/server.js';
import { run } from '../helpers/run.js';

describe('Redis lock store: Lua scripts as .lua files', function () {
  this.timeout(120_000);
  before(() => ensureBuilt());

  it('the compiled store loads every script from the .lua files', async () => {
    const r = await run(process.execPath, ['--input-type=module', '-e', "const m = await import('./dist/locks/redis/scripts.js'); console.log(JSON.stringify({ lock: Object.keys(m.LOCK), lease: Object.keys(m.LEASE), sha: m.LOCK.create.sha, body: m.LOCK.create.body.includes('PRINCIPALS') }))"], { cwd: repoRoot });
    expect(r.code, r.output).to.equal(0);
    const out = JSON.parse(r.stdout) as { lock: string[]; lease: string[]; sha: string; body: boolean };
    expect(out.lock).to.deep.equal(['create', 'refresh', 'remove', 'byToken', 'covering', 'dropTree', 'sweep']);
    expect(out.lease).to.deep.equal(['acquire', 'renew', 'release']);
    expect(out.sha).to.match(/^[0-9a-f]{40}$/);
    expect(out.body).to.equal(true);
  });

  it('npm pack ships them', async () => {
    const r = await run('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], { cwd: repoRoot });
    expect(r.code, r.output).to.equal(0);
    const files = (JSON.parse(r.stdout) as { files: { path: string }[] }[])[0]!.files.map((f) => f.path);
    const lua = readdirSync(join(repoRoot, 'src', 'locks', 'redis', 'lua')).filter((n) => n.endsWith('.lua'));
    expect(lua.length).to.be.greaterThan(10);
    for (const n of lua) expect(files, n).to.include(`src/locks/redis/lua/${n}`);
    expect(files).to.include('dist/locks/redis/scripts.js');
  });
});
