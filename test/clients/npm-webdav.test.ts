/**
 * The npm `webdav` library (perry-mitchell/webdav-client, a devDependency), driven for real: it
 * is what Obsidian's remotely-save (remotely-save/remotely-save src/fsWebdav.ts) and many
 * Node/Electron apps use. Its request shapes are in node_modules/webdav/dist/node/operations/
 * (directoryContents: PROPFIND Depth 1 or infinity; putFileContents with overwrite: false sends
 * If-None-Match: *; lock sends Timeout "Infinite, Second-4100000000" and refreshes with the
 * bare token as If; unlock sends the bare token as Lock-Token).
 */
import { expect } from 'chai';
import { createClient, type FileStat, type WebDAVClient } from 'webdav';
import { makeTempDir, startTestServer, type TestServer } from '../helpers/server.js';
import { writeHtpasswd } from '../helpers/auth.js';

describe('clients: npm webdav library (real)', () => {
  let s: TestServer;
  let client: WebDAVClient;
  before(async () => {
    const dir = await makeTempDir('npm-webdav');
    s = await startTestServer({ lockStore: 'memory', prefix: '/dav', htpasswd: await writeHtpasswd(dir, { obsidian: 'vault-pass' }) });
    client = createClient(`${s.base}/dav`, { username: 'obsidian', password: 'vault-pass', headers: { 'Cache-Control': 'no-cache' } });
  });
  after(() => s.close());

  it('remotely-save start-up: exists, createDirectory, getDAVCompliance', async () => {
    expect(await client.exists('/MyVault/')).to.equal(false);
    await client.createDirectory('/MyVault/');
    expect(await client.exists('/MyVault/')).to.equal(true);
    const c = await client.getDAVCompliance('/MyVault/');
    expect(c.compliance).to.include('1').and.include('2');
  });

  it('writes, reads, stats and lists (depth 1 walk and deep listing agree)', async () => {
    await client.createDirectory('/MyVault/notes/daily', { recursive: true });
    expect(await client.putFileContents('/MyVault/notes/Welcome.md', '# Hello\n')).to.equal(true);
    expect(await client.putFileContents('/MyVault/notes/daily/2024-01-01.md', Buffer.from('day one'))).to.equal(true);
    expect(await client.putFileContents('/MyVault/notes/Welcome.md', 'again', { overwrite: false })).to.equal(false);
    expect(await client.getFileContents('/MyVault/notes/Welcome.md', { format: 'text' })).to.equal('# Hello\n');
    const st = (await client.stat('/MyVault/notes/Welcome.md')) as FileStat;
    expect(st.type).to.equal('file');
    expect(st.size).to.equal(8);
    expect(st.etag).to.be.a('string').and.not.equal('');
    const shallow = (await client.getDirectoryContents('/MyVault')) as FileStat[];
    expect(shallow.map((f) => `${f.type} ${f.filename}`)).to.deep.equal(['directory /MyVault/notes']);
    const deep = (await client.getDirectoryContents('/MyVault', { deep: true })) as FileStat[];
    expect(deep.map((f) => f.filename).sort()).to.deep.equal(['/MyVault/notes', '/MyVault/notes/Welcome.md', '/MyVault/notes/daily', '/MyVault/notes/daily/2024-01-01.md']);
  });

  it('ETag and Last-Modified are stable while nothing changes, and change with the content', async () => {
    const a = (await client.stat('/MyVault/notes/Welcome.md')) as FileStat;
    const b = (await client.stat('/MyVault/notes/Welcome.md')) as FileStat;
    expect(b.etag).to.equal(a.etag);
    expect(b.lastmod).to.equal(a.lastmod);
    const listed = ((await client.getDirectoryContents('/MyVault/notes')) as FileStat[]).find((f) => f.basename === 'Welcome.md')!;
    expect(listed.etag).to.equal(a.etag);
    await new Promise((r) => setTimeout(r, 20));
    await client.putFileContents('/MyVault/notes/Welcome.md', '# Hello, edited\n');
    const c = (await client.stat('/MyVault/notes/Welcome.md')) as FileStat;
    expect(c.etag).to.not.equal(a.etag);
  });

  it('moves, copies and deletes', async () => {
    await client.copyFile('/MyVault/notes/Welcome.md', '/MyVault/copy.md');
    await client.moveFile('/MyVault/copy.md', '/MyVault/notes/daily/moved.md');
    expect(await client.exists('/MyVault/copy.md')).to.equal(false);
    expect(await client.getFileContents('/MyVault/notes/daily/moved.md', { format: 'text' })).to.equal('# Hello, edited\n');
    await client.deleteFile('/MyVault/notes/daily/moved.md');
    expect(await client.exists('/MyVault/notes/daily/moved.md')).to.equal(false);
  });

  it('lock, refresh (bare token as If, body again), unlock (bare Lock-Token)', async () => {
    const lock = await client.lock('/MyVault/notes/Welcome.md');
    expect(lock.token).to.match(/^urn:uuid:/);
    const refreshed = await client.lock('/MyVault/notes/Welcome.md', { refreshToken: lock.token });
    expect(refreshed.token).to.equal(lock.token);
    await client.unlock('/MyVault/notes/Welcome.md', lock.token);
    await client.putFileContents('/MyVault/notes/Welcome.md', 'unlocked');
  });

  it('partial reads with a range, quota', async () => {
    const part = await client.getFileContents('/MyVault/notes/Welcome.md', { format: 'text', details: false, headers: { Range: 'bytes=2-5' } });
    expect(part).to.equal('lock');
    // getQuota() reads quota from an allprop answer, which RFC 4331 3 leaves it out of: null, as
    // with Apache. Asking for the properties by name works.
    expect(await client.getQuota()).to.equal(null);
    const r = await client.customRequest('/', {
      method: 'PROPFIND',
      headers: { Depth: '0' },
      data: '<?xml version="1.0"?><d:propfind xmlns:d="DAV:"><d:prop><d:quota-used-bytes/><d:quota-available-bytes/></d:prop></d:propfind>',
    });
    expect(r.status).to.equal(207);
    expect(await r.text()).to.match(/<D:quota-used-bytes>\d+<\/D:quota-used-bytes>/);
  });

  it('with --depth-infinity off a deep listing fails with 403 and depth-1 walks still work', async () => {
    const dir = await makeTempDir('npm-webdav-off');
    const off = await startTestServer({ lockStore: 'memory', depthInfinity: 'off', root: dir });
    try {
      const c = createClient(off.base);
      await c.createDirectory('/a/b', { recursive: true });
      let status = 0;
      try {
        await c.getDirectoryContents('/', { deep: true });
      } catch (e) {
        status = (e as { status?: number }).status ?? -1;
      }
      expect(status).to.equal(403);
      expect(((await c.getDirectoryContents('/a')) as FileStat[]).map((f) => f.filename)).to.deep.equal(['/a/b']);
    } finally {
      await off.close();
      const { rm } = await import('node:fs/promises');
      await rm(dir, { recursive: true, force: true });
    }
  });
});
