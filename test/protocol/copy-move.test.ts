import { expect } from 'chai';
import { readFile, readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { lockOk, mkcolOk, prop, propText, putOk, single } from '../helpers/dav.js';

const setProp = (value: string): string =>
  `<?xml version="1.0"?><D:propertyupdate xmlns:D="DAV:" xmlns:Z="urn:test"><D:set><D:prop><Z:tag>${value}</Z:tag></D:prop></D:set></D:propertyupdate>`;
const askProp = '<?xml version="1.0"?><D:propfind xmlns:D="DAV:"><D:prop><Z:tag xmlns:Z="urn:test"/></D:prop></D:propfind>';

describe('COPY and MOVE', () => {
  let s: TestServer;
  let host: string;
  beforeEach(async () => {
    s = await startTestServer();
    host = new URL(s.base).host;
  });
  afterEach(async () => s.close());

  const dest = (path: string): Record<string, string> => ({ Destination: `${s.base}${path}` });
  const tagOf = async (path: string): Promise<string | number> => {
    const r = single(await s.req('PROPFIND', path, { body: askProp, headers: { Depth: '0' } }));
    const p = prop(r, 'urn:test', 'tag')!;
    return p.status === 200 ? propText(r, 'urn:test', 'tag') : p.status;
  };

  describe('COPY', () => {
    it('201 to a new URL with Location; 204 over an existing one', async () => {
      await putOk(s, '/a.txt', 'A');
      const r = await s.req('COPY', '/a.txt', { headers: dest('/b.txt') });
      expect(r.status).to.equal(201);
      expect(r.headers['location']).to.equal('/b.txt');
      expect(await readFile(join(s.root, 'b.txt'), 'utf8')).to.equal('A');
      await putOk(s, '/c.txt', 'C');
      expect((await s.req('COPY', '/c.txt', { headers: dest('/b.txt') })).status).to.equal(204);
      expect(await readFile(join(s.root, 'b.txt'), 'utf8')).to.equal('C');
      expect(await readFile(join(s.root, 'a.txt'), 'utf8')).to.equal('A');
    });

    it('accepts an absolute URL or an absolute path as Destination', async () => {
      await putOk(s, '/a', 'A');
      expect((await s.req('COPY', '/a', { headers: { Destination: `http://${host}/by-url` } })).status).to.equal(201);
      expect((await s.req('COPY', '/a', { headers: { Destination: '/by-path' } })).status).to.equal(201);
      expect((await s.req('COPY', '/a', { headers: { Destination: '/with%20space' } })).status).to.equal(201);
      expect(await readdir(s.root)).to.include.members(['by-url', 'by-path', 'with space']);
    });

    it('502 when the Destination is on another server', async () => {
      await putOk(s, '/a', 'A');
      for (const d of ['http://example.com/x', `http://127.0.0.1:1/x`, 'ftp://127.0.0.1/x']) {
        expect((await s.req('COPY', '/a', { headers: { Destination: d } })).status, d).to.equal(502);
      }
    });

    it('400 without a Destination, for a bad Overwrite, and for a traversing Destination', async () => {
      await putOk(s, '/a', 'A');
      expect((await s.req('COPY', '/a')).status).to.equal(400);
      expect((await s.req('COPY', '/a', { headers: { ...dest('/b'), Overwrite: 'maybe' } })).status).to.equal(400);
      expect((await s.req('COPY', '/a', { headers: { Destination: `http://${host}/../../etc/x` } })).status).to.equal(400);
      expect((await s.req('COPY', '/a', { headers: { Destination: '/%2e%2e/x' } })).status).to.equal(400);
    });

    it('412 with Overwrite: F over an existing resource; T replaces', async () => {
      await putOk(s, '/a', 'A');
      await putOk(s, '/b', 'B');
      expect((await s.req('COPY', '/a', { headers: { ...dest('/b'), Overwrite: 'F' } })).status).to.equal(412);
      expect(await readFile(join(s.root, 'b'), 'utf8')).to.equal('B');
      expect((await s.req('COPY', '/a', { headers: { ...dest('/c'), Overwrite: 'F' } })).status).to.equal(201);
      expect((await s.req('COPY', '/a', { headers: { ...dest('/b'), Overwrite: 'T' } })).status).to.equal(204);
    });

    it('409 when the destination parent is missing', async () => {
      await putOk(s, '/a', 'A');
      expect((await s.req('COPY', '/a', { headers: dest('/no/such/b') })).status).to.equal(409);
    });

    it('403 when source and destination are the same, or the destination is inside the source', async () => {
      await putOk(s, '/a', 'A');
      expect((await s.req('COPY', '/a', { headers: dest('/a') })).status).to.equal(403);
      await mkcolOk(s, '/c');
      expect((await s.req('COPY', '/c/', { headers: dest('/c/inner') })).status).to.equal(403);
    });

    it('404 for a missing source', async () => {
      expect((await s.req('COPY', '/missing', { headers: dest('/b') })).status).to.equal(404);
    });

    it('a missing source is 404 and a missing destination parent 409 before any Destination or lock verdict', async () => {
      // Checked inside the write section on fresh state, but in the order clients rely on.
      for (const m of ['COPY', 'MOVE']) {
        expect((await s.req(m, '/missing', { headers: { Destination: 'http://elsewhere.example/x' } })).status, m).to.equal(404);
        expect((await s.req(m, '/missing', {})).status, `${m} without Destination`).to.equal(404);
      }
      await putOk(s, '/locked.txt', 'x');
      await lockOk(s, '/locked.txt');
      expect((await s.req('MOVE', '/locked.txt', { headers: dest('/no/parent.txt') })).status).to.equal(409);
      expect((await s.req('MOVE', '/locked.txt', { headers: dest('/moved.txt') })).status, 'the lock still guards the move').to.equal(423);
      expect((await s.req('COPY', '/locked.txt', { headers: dest('/copied.txt') })).status, 'a copy reads through a lock').to.equal(201);
    });

    it('copies a collection tree with Depth infinity, and only the collection with Depth 0', async () => {
      await mkcolOk(s, '/src');
      await mkcolOk(s, '/src/sub');
      await putOk(s, '/src/sub/f', 'deep');
      await putOk(s, '/src/g', 'top');
      expect((await s.req('COPY', '/src/', { headers: dest('/deep/') })).status).to.equal(201);
      expect(await readFile(join(s.root, 'deep', 'sub', 'f'), 'utf8')).to.equal('deep');
      expect(await readFile(join(s.root, 'deep', 'g'), 'utf8')).to.equal('top');
      expect((await s.req('COPY', '/src/', { headers: { ...dest('/shallow/'), Depth: '0' } })).status).to.equal(201);
      expect((await stat(join(s.root, 'shallow'))).isDirectory()).to.equal(true);
      expect(await readdir(join(s.root, 'shallow'))).to.deep.equal([]);
      expect((await s.req('COPY', '/src/', { headers: { ...dest('/x/'), Depth: '1' } })).status).to.equal(400);
    });

    it('a collection over a file and a file over a collection replace the target (204)', async () => {
      await mkcolOk(s, '/coll');
      await putOk(s, '/coll/m', 'm');
      await putOk(s, '/file', 'f');
      expect((await s.req('COPY', '/file', { headers: dest('/coll2') })).status).to.equal(201);
      expect((await s.req('COPY', '/coll/', { headers: dest('/file') })).status).to.equal(204);
      expect((await stat(join(s.root, 'file'))).isDirectory()).to.equal(true);
      expect((await s.req('COPY', '/coll2', { headers: dest('/coll') })).status).to.equal(204);
      expect((await stat(join(s.root, 'coll'))).isFile()).to.equal(true);
    });

    it('dead properties follow the copy (recursively) and the copies are independent', async () => {
      await mkcolOk(s, '/c');
      await putOk(s, '/c/f', 'x');
      expect((await s.req('PROPPATCH', '/c', { body: setProp('on-coll') })).status).to.equal(207);
      expect((await s.req('PROPPATCH', '/c/f', { body: setProp('on-member') })).status).to.equal(207);
      expect((await s.req('COPY', '/c/', { headers: dest('/d/') })).status).to.equal(201);
      expect(await tagOf('/d/')).to.equal('on-coll');
      expect(await tagOf('/d/f')).to.equal('on-member');
      expect((await s.req('PROPPATCH', '/d/f', { body: setProp('changed') })).status).to.equal(207);
      expect(await tagOf('/c/f')).to.equal('on-member');
      // Depth 0 copies the collection's own properties.
      expect((await s.req('COPY', '/c/', { headers: { ...dest('/e/'), Depth: '0' } })).status).to.equal(201);
      expect(await tagOf('/e/')).to.equal('on-coll');
    });

    it('copying over a resource with properties replaces them', async () => {
      await putOk(s, '/a', 'a');
      await putOk(s, '/b', 'b');
      expect((await s.req('PROPPATCH', '/b', { body: setProp('b-only') })).status).to.equal(207);
      expect((await s.req('COPY', '/a', { headers: dest('/b') })).status).to.equal(204);
      expect(await tagOf('/b')).to.equal(404);
    });

    it('the metadata directory is not a valid destination', async () => {
      await putOk(s, '/a', 'a');
      expect((await s.req('COPY', '/a', { headers: dest('/.davmeta') })).status).to.equal(403);
      expect((await s.req('COPY', '/a', { headers: dest('/.davmeta/x') })).status).to.equal(403);
    });
  });

  describe('MOVE', () => {
    it('201 to a new URL with Location; the source is gone', async () => {
      await putOk(s, '/a', 'A');
      const r = await s.req('MOVE', '/a', { headers: dest('/b') });
      expect(r.status).to.equal(201);
      expect(r.headers['location']).to.equal('/b');
      expect((await s.req('GET', '/a')).status).to.equal(404);
      expect((await s.req('GET', '/b')).body).to.equal('A');
    });

    it('204 over an existing resource; 412 with Overwrite: F', async () => {
      await putOk(s, '/a', 'A');
      await putOk(s, '/b', 'B');
      expect((await s.req('MOVE', '/a', { headers: { ...dest('/b'), Overwrite: 'F' } })).status).to.equal(412);
      expect((await s.req('GET', '/a')).body).to.equal('A');
      expect((await s.req('MOVE', '/a', { headers: dest('/b') })).status).to.equal(204);
      expect((await s.req('GET', '/b')).body).to.equal('A');
      expect((await s.req('GET', '/a')).status).to.equal(404);
    });

    it('moves collections with their members and properties (Location ends with /)', async () => {
      await mkcolOk(s, '/c');
      await mkcolOk(s, '/c/sub');
      await putOk(s, '/c/sub/f', 'deep');
      expect((await s.req('PROPPATCH', '/c/sub/f', { body: setProp('moved-along') })).status).to.equal(207);
      expect((await s.req('PROPPATCH', '/c', { body: setProp('coll') })).status).to.equal(207);
      const r = await s.req('MOVE', '/c/', { headers: { Destination: `http://${host}/d/` } });
      expect(r.status).to.equal(201);
      expect(r.headers['location']).to.equal('/d/');
      expect(await readFile(join(s.root, 'd', 'sub', 'f'), 'utf8')).to.equal('deep');
      expect(await tagOf('/d/sub/f')).to.equal('moved-along');
      expect(await tagOf('/d')).to.equal('coll');
      // The old URL is gone, and a new resource there has no properties.
      await mkcolOk(s, '/c');
      expect(await tagOf('/c')).to.equal(404);
    });

    it('a file moved into a folder that has no properties of its own takes its properties along', async () => {
      await mkcolOk(s, '/from');
      await mkcolOk(s, '/from/deep');
      await putOk(s, '/from/deep/f', 'x');
      expect((await s.req('PROPPATCH', '/from/deep/f', { body: setProp('travels') })).status).to.equal(207);
      await mkcolOk(s, '/to');
      await mkcolOk(s, '/to/new');
      // Nothing is kept for /to/new yet: the mirror folder of its members is made on the way.
      expect((await s.req('MOVE', '/from/deep/f', { headers: { Destination: `http://${host}/to/new/g` } })).status).to.equal(201);
      expect(await tagOf('/to/new/g')).to.equal('travels');
      await putOk(s, '/from/deep/f', 'new');
      expect(await tagOf('/from/deep/f'), 'a new file at the old URL starts clean').to.equal(404);
    });

    it('properties follow a MOVE between a short name and one stored hashed (over 180 bytes), both ways', async () => {
      const long = '/' + 'l'.repeat(240) + '.txt';
      await putOk(s, '/short.txt', 'x');
      expect((await s.req('PROPPATCH', '/short.txt', { body: setProp('kept') })).status).to.equal(207);
      expect((await s.req('MOVE', '/short.txt', { headers: { Destination: `http://${host}${long}` } })).status).to.equal(201);
      expect(await tagOf(long)).to.equal('kept');
      expect((await s.req('MOVE', long, { headers: { Destination: `http://${host}/back.txt` } })).status).to.equal(201);
      expect(await tagOf('/back.txt')).to.equal('kept');
      await putOk(s, long, 'new');
      expect(await tagOf(long), 'nothing left behind under the hashed name').to.equal(404);
    });

    it('a collection over an existing collection replaces it entirely', async () => {
      await mkcolOk(s, '/a');
      await putOk(s, '/a/one', '1');
      await mkcolOk(s, '/b');
      await putOk(s, '/b/two', '2');
      expect((await s.req('MOVE', '/a', { headers: dest('/b') })).status).to.equal(204);
      expect(await readdir(join(s.root, 'b'))).to.deep.equal(['one']);
    });

    it('Depth other than infinity on a collection is 400', async () => {
      await mkcolOk(s, '/c');
      expect((await s.req('MOVE', '/c', { headers: { ...dest('/d'), Depth: '0' } })).status).to.equal(400);
    });

    it('403 onto itself, into itself, or of the root; 409 without a parent; 502 elsewhere', async () => {
      await mkcolOk(s, '/c');
      expect((await s.req('MOVE', '/c', { headers: dest('/c') })).status).to.equal(403);
      expect((await s.req('MOVE', '/c', { headers: dest('/c/d') })).status).to.equal(403);
      expect((await s.req('MOVE', '/', { headers: dest('/x') })).status).to.equal(403);
      expect((await s.req('MOVE', '/c', { headers: dest('/no/where') })).status).to.equal(409);
      expect((await s.req('MOVE', '/c', { headers: { Destination: 'http://other.example/c2' } })).status).to.equal(502);
      expect((await stat(join(s.root, 'c'))).isDirectory()).to.equal(true);
    });

    it('If-Match on the source: 412 when stale', async () => {
      await putOk(s, '/a', 'A');
      expect((await s.req('MOVE', '/a', { headers: { ...dest('/b'), 'If-Match': '"stale"' } })).status).to.equal(412);
      expect((await s.req('GET', '/a')).status).to.equal(200);
    });
  });

  describe('behind a reverse proxy', () => {
    it('the forwarded host is ours only with --trust-proxy', async () => {
      const trusted = await startTestServer({ trustProxy: true });
      try {
        await putOk(trusted, '/a', 'A');
        const headers = { 'X-Forwarded-Host': 'dav.example.com', 'X-Forwarded-Proto': 'https', Destination: 'https://dav.example.com/b' };
        expect((await trusted.req('COPY', '/a', { headers })).status).to.equal(201);
        expect((await trusted.req('GET', '/b')).body).to.equal('A');
        await putOk(s, '/a', 'A');
        expect((await s.req('COPY', '/a', { headers })).status).to.equal(502);
      } finally {
        await trusted.close();
      }
    });
  });

  describe('under a prefix', () => {
    let p: TestServer;
    before(async () => (p = await startTestServer({ prefix: '/dav' })));
    after(async () => p.close());

    it('Destination paths and Location carry the prefix; outside the prefix is 502', async () => {
      expect((await p.req('PUT', '/dav/a', { body: 'A' })).status).to.equal(201);
      const r = await p.req('COPY', '/dav/a', { headers: { Destination: `${p.base}/dav/b` } });
      expect(r.status).to.equal(201);
      expect(r.headers['location']).to.equal('/dav/b');
      expect(await readFile(join(p.root, 'b'), 'utf8')).to.equal('A');
      expect((await p.req('COPY', '/dav/a', { headers: { Destination: '/dav/c' } })).status).to.equal(201);
      expect((await p.req('COPY', '/dav/a', { headers: { Destination: '/elsewhere/c' } })).status).to.equal(502);
    });
  });
});
