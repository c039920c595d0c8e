/** --hide-os-junk (opt-in): OS metadata files are accepted, never stored, and read as 404. */
import { expect } from 'chai';
import { readdir, writeFile } from 'node:fs/promises';
import { startTestServer, lockBody, type TestServer } from '../helpers/server.js';
import { multistatus, putOk } from '../helpers/dav.js';
import { join } from 'node:path';

const JUNK = ['._report.pdf', '.DS_Store', 'Thumbs.db', 'desktop.ini', 'DESKTOP.INI'];

describe('protocol: --hide-os-junk', () => {
  let s: TestServer;
  afterEach(() => s.close());

  it('off (the default): such files are stored like any other', async () => {
    s = await startTestServer({ lockStore: 'memory' });
    await putOk(s, '/.DS_Store', 'finder');
    expect((await s.req('GET', '/.DS_Store')).body).to.equal('finder');
  });

  it('on: PUT answers 201 and stores nothing; GET/HEAD/PROPFIND answer 404', async () => {
    s = await startTestServer({ lockStore: 'memory', hideOsJunk: true });
    for (const name of JUNK) {
      const put = await s.req('PUT', `/${name}`, { body: Buffer.alloc(5000, 1) });
      expect(put.status, name).to.equal(201);
      for (const m of ['GET', 'HEAD', 'PROPFIND']) expect((await s.req(m, `/${name}`)).status, `${m} ${name}`).to.equal(404);
      expect((await s.req('DELETE', `/${name}`)).status, name).to.equal(204);
    }
    expect((await readdir(s.root)).filter((n) => n !== '.davmeta')).to.deep.equal([]);
    // Names that merely look similar are real files.
    await putOk(s, '/_report.pdf', 'x');
    await putOk(s, '/.DS_Store.txt', 'x');
    expect((await s.req('GET', '/.DS_Store.txt')).status).to.equal(200);
  });

  it('on: the macOS copy sequence for ._name (PUT, LOCK, PUT with If, PROPPATCH, UNLOCK) succeeds without storing', async () => {
    s = await startTestServer({ lockStore: 'memory', hideOsJunk: true });
    await putOk(s, '/photo.jpg', 'jpeg');
    expect((await s.req('PUT', '/._photo.jpg', { body: '' })).status).to.equal(201);
    const lock = await s.req('LOCK', '/._photo.jpg', { body: lockBody(), headers: { 'Content-Type': 'application/xml' } });
    expect(lock.status).to.equal(201);
    const token = /<(urn:uuid:[^>]+)>/.exec(String(lock.headers['lock-token']))![1]!;
    expect(lock.body).to.include(`<D:locktoken><D:href>${token}</D:href></D:locktoken>`);
    expect((await s.req('PUT', '/._photo.jpg', { body: 'appledouble', headers: { If: `(<${token}>)` } })).status).to.equal(201);
    const pp = await s.req('PROPPATCH', '/._photo.jpg', {
      body: '<D:propertyupdate xmlns:D="DAV:" xmlns:Z="urn:schemas-microsoft-com:"><D:set><D:prop><Z:Win32FileAttributes>00000020</Z:Win32FileAttributes></D:prop></D:set></D:propertyupdate>',
    });
    expect(pp.status).to.equal(207);
    expect(pp.body).to.include('HTTP/1.1 200 OK').and.include('Win32FileAttributes');
    const refresh = await s.req('LOCK', '/._photo.jpg', { headers: { If: `(<${token}>)` } });
    expect(refresh.status).to.equal(200);
    expect((await s.req('UNLOCK', '/._photo.jpg', { headers: { 'Lock-Token': `<${token}>` } })).status).to.equal(204);
    expect((await readdir(s.root)).filter((n) => n !== '.davmeta')).to.deep.equal(['photo.jpg']);
  });

  it('on: junk already on disk is hidden from listings and reads', async () => {
    s = await startTestServer({ lockStore: 'memory', hideOsJunk: true });
    await writeFile(join(s.root, '.DS_Store'), 'old');
    await writeFile(join(s.root, 'keep.txt'), 'k');
    const all = multistatus(await s.req('PROPFIND', '/', { headers: { Depth: '1' } }));
    expect([...all.keys()].sort()).to.deep.equal(['/', '/keep.txt']);
    expect((await s.req('GET', '/.DS_Store')).status).to.equal(404);
  });
});
