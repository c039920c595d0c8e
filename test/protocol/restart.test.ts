/**
 * Locks survive a restart of the real CLI (default file lock store): start, LOCK, stop, start
 * again on the same root, then a PUT without the token is still 423 and with it succeeds.
 */
import { expect } from 'chai';
import { rm } from 'node:fs/promises';
import { lockBody, makeTempDir, request, spawnCli, type CliServer } from '../helpers/server.js';
import { davError, ensureBuilt } from '../helpers/dav.js';

describe('restart (compiled CLI)', function () {
  this.timeout(120_000);
  let root: string;
  let srv: CliServer | undefined;

  before(() => ensureBuilt());
  beforeEach(async () => (root = await makeTempDir('restart')));
  afterEach(async () => {
    await srv?.stop();
    srv = undefined;
    await rm(root, { recursive: true, force: true });
  });

  const start = async (extra: string[] = []): Promise<CliServer> => (srv = await spawnCli(['--root', root, '--port', '0', ...extra]));

  it('a lock taken before a restart still protects the resource after it', async () => {
    let s = await start();
    expect((await request(s.base, 'PUT', '/doc.txt', { body: 'v1' })).status).to.equal(201);
    expect((await request(s.base, 'MKCOL', '/dir')).status).to.equal(201);
    const lock = await request(s.base, 'LOCK', '/doc.txt', { body: lockBody(), headers: { Timeout: 'Second-3600' } });
    expect(lock.status).to.equal(200);
    const token = /^<(.+)>$/.exec(String(lock.headers['lock-token']))![1]!;
    const dirLock = await request(s.base, 'LOCK', '/dir', { body: lockBody(), headers: { Depth: 'infinity' } });
    expect(dirLock.status).to.equal(200);
    const dirToken = /^<(.+)>$/.exec(String(dirLock.headers['lock-token']))![1]!;
    expect(await s.stop()).to.equal(0);

    s = await start();
    expect(davError(await request(s.base, 'PUT', '/doc.txt', { body: 'v2' }), 423, 'lock-token-submitted')).to.deep.equal(['/doc.txt']);
    expect(davError(await request(s.base, 'PUT', '/dir/new.txt', { body: 'x' }), 423, 'lock-token-submitted')).to.deep.equal(['/dir/']);
    expect((await request(s.base, 'GET', '/doc.txt')).body).to.equal('v1');
    expect((await request(s.base, 'PUT', '/doc.txt', { body: 'v2', headers: { If: `(<${token}>)` } })).status).to.equal(204);
    expect((await request(s.base, 'PUT', '/dir/new.txt', { body: 'x', headers: { If: `(<${dirToken}>)` } })).status).to.equal(201);
    // The lock is listed and can be released after the restart too.
    const pf = await request(s.base, 'PROPFIND', '/doc.txt', { headers: { Depth: '0' }, body: '<D:propfind xmlns:D="DAV:"><D:prop><D:lockdiscovery/></D:prop></D:propfind>' });
    expect(pf.body).to.include(token);
    expect((await request(s.base, 'UNLOCK', '/doc.txt', { headers: { 'Lock-Token': `<${token}>` } })).status).to.equal(204);
    expect(await s.stop()).to.equal(0);

    s = await start();
    expect((await request(s.base, 'PUT', '/doc.txt', { body: 'v3' })).status).to.equal(204);
    expect((await request(s.base, 'PUT', '/dir/new.txt', { body: 'y' })).status).to.equal(423);
  });

  it('with --lock-store memory, locks are forgotten on restart', async () => {
    let s = await start(['--lock-store', 'memory']);
    expect((await request(s.base, 'PUT', '/doc.txt', { body: 'v1' })).status).to.equal(201);
    expect((await request(s.base, 'LOCK', '/doc.txt', { body: lockBody() })).status).to.equal(200);
    expect((await request(s.base, 'PUT', '/doc.txt', { body: 'v2' })).status).to.equal(423);
    await s.stop();
    s = await start(['--lock-store', 'memory']);
    expect((await request(s.base, 'PUT', '/doc.txt', { body: 'v2' })).status).to.equal(204);
  });
});
