/**
 * Password managers that keep their database on WebDAV and save it "safely": upload a temp
 * file, then move it over the database.
 *
 * - KeePass 2.x: KeePassLib/Serialization/FileTransactionEx.cs (CommitWriteTransaction: the
 *   temp file is the database name + ".tmp"; if the database exists it is DELETEd, then
 *   IOConnection.RenameFile) and IOConnection.cs (RenameFile: MOVE with `Destination: <full
 *   URL>` and no Overwrite header; FileExists: GET that reads one byte and closes); mirror
 *   dlech/KeePass2.x.
 * - KeeWeb: keeweb/keeweb app/scripts/storage/impl/storage-webdav.js (save(): HEAD for the
 *   revision = Last-Modified, PUT of `.name.kdbx.<Date.now()>`, HEAD again, MOVE with an
 *   absolute `Destination: encodeURI(url)` and `Overwrite: T`, HEAD for the new revision).
 * - Keepass2Android: PhilippC/keepass2android src/java/JavaFileStorage/.../WebDavStorage.java
 *   (uploadFile(writeTransactional): PUT of `name.tmp.<8 hex>.kdbx`, chunked when chunkSize is
 *   set; renameOrMoveWebDavResource: PROPFIND Depth 0 to see whether the target exists, DELETE
 *   it, then MOVE with `Overwrite: T`; listFiles: PROPFIND Depth 1 with displayname,
 *   getlastmodified, getcontentlength, isDirectory = href ends with '/').
 * - KeePassXC and Strongbox have no WebDAV code of their own to read here: KeePassXC saves
 *   through a mounted drive (davfs2, rclone mount: a temp file renamed over the database, which
 *   reaches the server as the same PUT + MOVE Overwrite: T), and the database can be locked by
 *   the mount's own LOCK while the MOVE lands on it (the last case below).
 */
import { expect } from 'chai';
import { readFile, readdir, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { request as httpRequest } from 'node:http';
import { startTestServer, lockBody, type TestServer } from '../helpers/server.js';
import { chunkedPut, parseMultistatus } from '../helpers/replay.js';

const DB1 = Buffer.from('KDBX database, version 1');
const DB2 = Buffer.from('KDBX database, version 2 (saved)');

describe('clients: KeePass family safe-save', () => {
  let s: TestServer;
  beforeEach(async () => {
    s = await startTestServer({ lockStore: 'memory', prefix: '/dav' });
    await writeFile(join(s.root, 'Passwords.kdbx'), DB1);
  });
  afterEach(() => s.close());

  const files = async (): Promise<string[]> => (await readdir(s.root)).filter((n) => n !== '.davmeta').sort();

  it('KeePass 2.x: PUT db.kdbx.tmp, GET (exists check, read one byte), DELETE db, MOVE tmp with a full-URL Destination', async () => {
    expect((await s.req('PUT', '/dav/Passwords.kdbx.tmp', { body: DB2 })).status).to.equal(201);
    // FileExists: a GET whose reader stops after one byte and closes.
    await new Promise<void>((resolve, reject) => {
      const url = new URL(s.base);
      const req = httpRequest({ host: url.hostname, port: url.port, path: '/dav/Passwords.kdbx', method: 'GET', agent: false }, (res) => {
        expect(res.statusCode).to.equal(200);
        res.once('data', () => {
          res.destroy();
          resolve();
        });
      });
      req.on('error', reject);
      req.end();
    });
    expect((await s.req('DELETE', '/dav/Passwords.kdbx')).status).to.equal(204);
    const mv = await s.req('MOVE', '/dav/Passwords.kdbx.tmp', { headers: { Destination: `${s.base}/dav/Passwords.kdbx` } });
    expect(mv.status).to.equal(201);
    expect(await readFile(join(s.root, 'Passwords.kdbx'))).to.deep.equal(DB2);
    expect(await files()).to.deep.equal(['Passwords.kdbx']);
  });

  it('KeeWeb: revision from HEAD Last-Modified, dot-named temp PUT, MOVE Overwrite: T, new revision', async () => {
    const cache = { 'Cache-Control': 'no-cache' };
    const rev0 = (await s.req('HEAD', '/dav/Passwords.kdbx', { headers: cache })).headers['last-modified'];
    expect(rev0).to.be.a('string');
    const tmp = `/dav/.Passwords.kdbx.${Date.now()}`;
    expect((await s.req('PUT', tmp, { headers: { 'Content-Type': 'application/octet-stream' }, body: DB2 })).status).to.equal(201);
    // The revision check between the upload and the move: unchanged.
    expect((await s.req('HEAD', '/dav/Passwords.kdbx', { headers: cache })).headers['last-modified']).to.equal(rev0);
    // Make the new revision observable at one-second Last-Modified resolution.
    const t = new Date(Date.now() + 5000);
    const { utimes } = await import('node:fs/promises');
    await utimes(join(s.root, tmp.slice('/dav/'.length)), t, t);
    const mv = await s.req('MOVE', tmp, { headers: { Destination: encodeURI(`${s.base}/dav/Passwords.kdbx`), Overwrite: 'T' } });
    expect(mv.status).to.equal(204);
    const rev1 = (await s.req('HEAD', '/dav/Passwords.kdbx', { headers: cache })).headers['last-modified'];
    expect(rev1).to.not.equal(rev0);
    expect(await readFile(join(s.root, 'Passwords.kdbx'))).to.deep.equal(DB2);
    expect(await files()).to.deep.equal(['Passwords.kdbx']);
  });

  it('Keepass2Android: chunked PUT of name.tmp.<hex>.kdbx, PROPFIND Depth 0, DELETE, MOVE Overwrite: T; listing', async () => {
    const tmp = '/dav/Passwords.tmp.0a1b2c3d.kdbx';
    const put = await chunkedPut(s.base, tmp, [DB2.subarray(0, 10), DB2.subarray(10)], { 'Content-Type': 'application/binary' });
    expect(put.status).to.equal(201);
    const exists = await s.req('PROPFIND', '/dav/Passwords.kdbx', {
      headers: { Depth: '0', 'Content-Type': 'application/xml' },
      body: '<?xml version="1.0" encoding="utf-8" ?>\n<D:propfind xmlns:D="DAV:">\n    <D:prop>\n        <D:resourcetype/>\n    </D:prop>\n</D:propfind>',
    });
    expect(exists.status).to.equal(207);
    expect((await s.req('DELETE', '/dav/Passwords.kdbx')).status).to.equal(204);
    const mv = await s.req('MOVE', tmp, { headers: { Destination: `${s.base}/dav/Passwords.kdbx`, Overwrite: 'T' } });
    expect(mv.status).to.equal(201);
    expect(await readFile(join(s.root, 'Passwords.kdbx'))).to.deep.equal(DB2);

    const list = await s.req('PROPFIND', '/dav', {
      headers: { Depth: '1', 'Content-Type': 'application/xml' },
      body: '<?xml version="1.0" encoding="UTF-8"?>\n<d:propfind xmlns:d="DAV:">\n <d:prop><d:displayname/><d:getlastmodified/><d:getcontentlength/></d:prop>\n</d:propfind>\n',
    });
    const entries = parseMultistatus(list.body);
    // isDirectory = href ends with '/': the collection's href must carry its slash.
    expect([...entries.keys()].sort()).to.deep.equal(['/dav/', '/dav/Passwords.kdbx']);
    const db = entries.get('/dav/Passwords.kdbx')!.props;
    expect(db.get('{DAV:}displayname')?.text).to.equal('Passwords.kdbx');
    expect(Number(db.get('{DAV:}getcontentlength')?.text)).to.equal(DB2.length);
    expect(Number.isNaN(Date.parse(db.get('{DAV:}getlastmodified')!.text))).to.equal(false);
  });

  it('behind a TLS proxy (--trust-proxy): the public https Destination is this server', async () => {
    const p = await startTestServer({ lockStore: 'memory', trustProxy: true });
    try {
      await writeFile(join(p.root, 'db.kdbx'), DB1);
      expect((await p.req('PUT', '/.db.kdbx.1', { body: DB2 })).status).to.equal(201);
      const headers = { 'X-Forwarded-Host': 'vault.example.org', 'X-Forwarded-Proto': 'https', Destination: 'https://vault.example.org/db.kdbx', Overwrite: 'T' };
      expect((await p.req('MOVE', '/.db.kdbx.1', { headers })).status).to.equal(204);
      expect(await readFile(join(p.root, 'db.kdbx'))).to.deep.equal(DB2);
    } finally {
      await p.close();
    }
  });

  it('the MOVE lands on a database the same client has locked: with its token 204, without 423', async () => {
    const lk = await s.req('LOCK', '/dav/Passwords.kdbx', { body: lockBody('exclusive', '<D:href>keepassxc@laptop</D:href>') });
    const token = /<([^>]+)>/.exec(String(lk.headers['lock-token']))![1]!;
    expect((await s.req('PUT', '/dav/.Passwords.kdbx.tmp', { body: DB2 })).status).to.equal(201);
    const without = await s.req('MOVE', '/dav/.Passwords.kdbx.tmp', { headers: { Destination: `${s.base}/dav/Passwords.kdbx`, Overwrite: 'T' } });
    expect(without.status).to.equal(423);
    expect(await readFile(join(s.root, 'Passwords.kdbx'))).to.deep.equal(DB1);
    const withToken = await s.req('MOVE', '/dav/.Passwords.kdbx.tmp', {
      headers: { Destination: `${s.base}/dav/Passwords.kdbx`, Overwrite: 'T', If: `<${s.base}/dav/Passwords.kdbx> (<${token}>)` },
    });
    expect(withToken.status).to.equal(204);
    expect(await readFile(join(s.root, 'Passwords.kdbx'))).to.deep.equal(DB2);
    expect((await stat(join(s.root, 'Passwords.kdbx'))).size).to.equal(DB2.length);
    expect(await files()).to.deep.equal(['Passwords.kdbx']);
  });
});
