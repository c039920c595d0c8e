/**
 * Side data (dead properties, locks) follows every tree change and never outlives its resource:
 * after a partial DELETE or MOVE, after PUT, LOCK or MKCOL of a URL whose earlier resource was
 * deleted outside WebDAV, a new resource starts clean. Against the real server over a real
 * directory; partial failures come from an immutable file (chattr +i, as root, which CI is).
 */
import { expect } from 'chai';
import { promises as fsp } from 'node:fs';
import { join } from 'node:path';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { lockOk, mkcolOk, multistatus, prop, putOk, single, textContent } from '../helpers/dav.js';
import { run, requireProgram } from '../helpers/run.js';

const Z = 'urn:z';
const setProp = (value: string): string =>
  `<?xml version="1.0"?><D:propertyupdate xmlns:D="DAV:" xmlns:Z="${Z}"><D:set><D:prop><Z:v>${value}</Z:v></D:prop></D:set></D:propertyupdate>`;
const askProps = '<?xml version="1.0"?><D:propfind xmlns:D="DAV:" xmlns:Z="urn:z"><D:prop><Z:v/><D:lockdiscovery/></D:prop></D:propfind>';

/** The dead property Z:v of a resource (undefined when it has none) and whether any lock shows. */
async function sideData(s: TestServer, path: string): Promise<{ v?: string; locked: boolean }> {
  const r = single(await s.req('PROPFIND', path, { headers: { Depth: '0' }, body: askProps }));
  const v = prop(r, Z, 'v');
  const ld = prop(r, 'DAV:', 'lockdiscovery');
  return { v: v && v.status === 200 ? textContent(v.el) : undefined, locked: !!ld && ld.el.children.length > 0 };
}

async function proppatchOk(s: TestServer, path: string, value: string): Promise<void> {
  const r = await s.req('PROPPATCH', path, { body: setProp(value) });
  expect(r.status, r.body).to.equal(207);
  expect(r.body).to.include('200 OK');
}

async function chattr(flag: '+i' | '-i', file: string): Promise<void> {
  const r = await run(requireProgram('chattr', 'e2fsprogs'), [flag, file]);
  if (r.code !== 0) throw new Error(`chattr ${flag} ${file} failed (needs root on ext4/xfs/btrfs): ${r.output}`);
}

describe('reliability: side data follows the tree', function () {
  this.timeout(30_000);
  let s: TestServer;
  const immutable: string[] = [];
  beforeEach(async () => {
    s = await startTestServer();
  });
  afterEach(async () => {
    for (const f of immutable.splice(0)) await chattr('-i', f).catch(() => undefined);
    await s.close();
  });

  describe('files deleted outside WebDAV leave nothing to the next resource at their URL', () => {
    it('PUT of the URL: no dead property, no lock (the lock does not even block the PUT)', async () => {
      await putOk(s, '/f.txt', 'old');
      await proppatchOk(s, '/f.txt', 'of the old file');
      await lockOk(s, '/f.txt');
      await fsp.rm(join(s.root, 'f.txt'));
      const r = await s.req('PUT', '/f.txt', { body: 'new' });
      expect(r.status, r.body).to.equal(201);
      expect(await sideData(s, '/f.txt')).to.deep.equal({ v: undefined, locked: false });
    });

    it('LOCK of the URL creates a clean resource', async () => {
      await putOk(s, '/g.txt', 'old');
      await proppatchOk(s, '/g.txt', 'of the old file');
      await lockOk(s, '/g.txt');
      await fsp.rm(join(s.root, 'g.txt'));
      const { res, token } = await lockOk(s, '/g.txt');
      expect(res.status).to.equal(201);
      const after = await sideData(s, '/g.txt');
      expect(after.v).to.equal(undefined);
      expect(after.locked).to.equal(true);
      const ps = single(await s.req('PROPFIND', '/g.txt', { headers: { Depth: '0' }, body: askProps }));
      expect(JSON.stringify(ps), 'only the new lock').to.include(token);
      expect((ps.propstats.find((p) => p.status === 200)?.props ?? []).map((p) => p.local)).to.not.include('v');
    });

    it('MKCOL of the URL: the collection and whatever is later created below start clean', async () => {
      await mkcolOk(s, '/c');
      await putOk(s, '/c/m.txt', 'old');
      await proppatchOk(s, '/c', 'of the old collection');
      await proppatchOk(s, '/c/m.txt', 'of the old member');
      await lockOk(s, '/c/m.txt');
      await fsp.rm(join(s.root, 'c'), { recursive: true });
      await mkcolOk(s, '/c');
      expect((await s.req('PUT', '/c/m.txt', { body: 'new' })).status).to.equal(201);
      expect(await sideData(s, '/c')).to.deep.equal({ v: undefined, locked: false });
      expect(await sideData(s, '/c/m.txt')).to.deep.equal({ v: undefined, locked: false });
    });

    it('COPY and MOVE to the URL bring the source\'s properties, never the old ones', async () => {
      await putOk(s, '/src.txt', 'source');
      await putOk(s, '/old.txt', 'old');
      await proppatchOk(s, '/old.txt', 'of the old file');
      await lockOk(s, '/old.txt');
      await fsp.rm(join(s.root, 'old.txt'));
      expect((await s.req('COPY', '/src.txt', { headers: { Destination: '/old.txt' } })).status).to.equal(201);
      expect(await sideData(s, '/old.txt')).to.deep.equal({ v: undefined, locked: false });
      await putOk(s, '/old2.txt', 'old');
      await proppatchOk(s, '/old2.txt', 'of the old file');
      await fsp.rm(join(s.root, 'old2.txt'));
      expect((await s.req('MOVE', '/src.txt', { headers: { Destination: '/old2.txt' } })).status).to.equal(201);
      expect(await sideData(s, '/old2.txt')).to.deep.equal({ v: undefined, locked: false });
    });
  });

  describe('partial failures', () => {
    it('a partial DELETE drops the locks and properties of every member it deleted', async () => {
      await mkcolOk(s, '/d');
      for (const n of ['a', 'b', 'stuck']) {
        await putOk(s, `/d/${n}`, n);
        await proppatchOk(s, `/d/${n}`, `old ${n}`);
      }
      const { token } = await lockOk(s, '/d/a');
      await chattr('+i', join(s.root, 'd', 'stuck'));
      immutable.push(join(s.root, 'd', 'stuck'));
      const r = await s.req('DELETE', '/d', { headers: { If: `</d/a> (<${token}>)` } });
      const ms = multistatus(r);
      expect([...ms.keys()]).to.deep.equal(['/d/stuck']);
      expect(ms.get('/d/stuck')!.status).to.equal(403);
      // The member that failed keeps its properties; the ones that went took theirs along.
      expect((await sideData(s, '/d/stuck')).v).to.equal('old stuck');
      for (const n of ['a', 'b']) {
        expect((await s.req('PUT', `/d/${n}`, { body: 'new' })).status, `PUT /d/${n} after the partial DELETE`).to.equal(201);
        expect(await sideData(s, `/d/${n}`), n).to.deep.equal({ v: undefined, locked: false });
      }
    });

    it('a MOVE over a collection that cannot be deleted whole answers 207 and drops what it deleted', async () => {
      await mkcolOk(s, '/from');
      await mkcolOk(s, '/to');
      for (const n of ['x', 'stuck']) {
        await putOk(s, `/to/${n}`, n);
        await proppatchOk(s, `/to/${n}`, `old ${n}`);
      }
      const { token } = await lockOk(s, '/to/x');
      await chattr('+i', join(s.root, 'to', 'stuck'));
      immutable.push(join(s.root, 'to', 'stuck'));
      const r = await s.req('MOVE', '/from', { headers: { Destination: '/to', Overwrite: 'T', If: `</to/x> (<${token}>)` } });
      expect([...multistatus(r).keys()]).to.deep.equal(['/to/stuck']);
      expect((await s.req('PUT', '/to/x', { body: 'new' })).status).to.equal(201);
      expect(await sideData(s, '/to/x')).to.deep.equal({ v: undefined, locked: false });
      expect((await s.req('PROPFIND', '/from', { headers: { Depth: '0' } })).status, 'the source stays').to.equal(207);
    });
  });

  describe('locks and properties follow MOVE and COPY as RFC 4918 7.6 says', () => {
    it('MOVE takes the properties along and leaves the locks; COPY copies properties, never locks', async () => {
      await mkcolOk(s, '/m');
      await putOk(s, '/m/f', 'f');
      await proppatchOk(s, '/m', 'coll');
      await proppatchOk(s, '/m/f', 'member');
      const { token } = await lockOk(s, '/m/f');
      expect((await s.req('COPY', '/m', { headers: { Destination: '/c' } })).status).to.equal(201);
      expect(await sideData(s, '/c')).to.deep.equal({ v: 'coll', locked: false });
      expect(await sideData(s, '/c/f')).to.deep.equal({ v: 'member', locked: false });
      expect((await s.req('MOVE', '/m', { headers: { Destination: '/n', If: `</m/f> (<${token}>)` } })).status).to.equal(201);
      expect(await sideData(s, '/n/f')).to.deep.equal({ v: 'member', locked: false });
      expect((await s.req('PUT', '/m/f', { body: 'again' })).status, 'the moved lock is gone').to.equal(409);
      await mkcolOk(s, '/m');
      expect((await s.req('PUT', '/m/f', { body: 'again' })).status).to.equal(201);
      expect(await sideData(s, '/m/f')).to.deep.equal({ v: undefined, locked: false });
    });

    it('a COPY over a locked collection keeps the lock on its URL and drops its members\' locks', async () => {
      await mkcolOk(s, '/a');
      await putOk(s, '/a/x', 'x');
      await mkcolOk(s, '/b');
      await putOk(s, '/b/x', 'old');
      const { token: root } = await lockOk(s, '/b', { depth: '0' });
      const { token: member } = await lockOk(s, '/b/x');
      const r = await s.req('COPY', '/a', { headers: { Destination: '/b', If: `</b> (<${root}>) </b/x> (<${member}>)` } });
      expect(r.status, r.body).to.equal(204);
      expect((await sideData(s, '/b')).locked).to.equal(true);
      expect((await sideData(s, '/b/x')).locked).to.equal(false);
      expect((await s.req('PUT', '/b/x', { body: 'mine' })).status).to.equal(204);
      expect((await s.req('PUT', '/b/new', { body: 'new' })).status, 'depth-0 lock on /b protects its membership').to.equal(423);
      expect((await s.req('PUT', '/b/new', { body: 'new', headers: { If: `</b> (<${root}>)` } })).status).to.equal(201);
    });
  });
});
