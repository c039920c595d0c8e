import { expect } from 'chai';
import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { lockBody, startTestServer, type TestServer, type Res } from '../helpers/server.js';
import { DAV, childElements, davError, findChild, ifToken, lockOk, mkcolOk, multistatus, prop, putOk, single, streamRequest, textContent } from '../helpers/dav.js';
import { parseXml, type XmlElement } from '../../src/xml/parse.js';

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** The single activelock of a LOCK response body (prop/lockdiscovery/activelock). */
function activeLock(res: Res): XmlElement {
  expect(res.headers['content-type']).to.match(/^application\/xml/);
  const root = parseXml(res.body);
  expect(`{${root.ns}}${root.local}`).to.equal('{DAV:}prop');
  const ld = findChild(root, DAV, 'lockdiscovery')!;
  expect(ld).to.not.equal(undefined);
  const locks = childElements(ld);
  expect(locks.length).to.equal(1);
  expect(locks[0]!.local).to.equal('activelock');
  return locks[0]!;
}
const text = (el: XmlElement, ...path: string[]): string => {
  let cur: XmlElement | undefined = el;
  for (const p of path) cur = cur && findChild(cur, DAV, p);
  expect(cur, path.join('/')).to.not.equal(undefined);
  return textContent(cur!).trim();
};
const scopeOf = (al: XmlElement): string => childElements(findChild(al, DAV, 'lockscope')!)[0]!.local;

describe('LOCK', () => {
  let s: TestServer;
  beforeEach(async () => (s = await startTestServer({ lockStore: 'memory' })));
  afterEach(async () => s.close());

  it('200 with Lock-Token and a prop/lockdiscovery body describing the lock', async () => {
    await putOk(s, '/f.txt', 'x');
    const owner = '<D:href>http://example.org/~alice</D:href><X:note xmlns:X="urn:x" X:a="1">Grüße</X:note>';
    const { token, res } = await lockOk(s, '/f.txt', { owner, timeout: 'Second-300', depth: '0' });
    expect(res.status).to.equal(200);
    const al = activeLock(res);
    expect(childElements(findChild(al, DAV, 'locktype')!).map((e) => `{${e.ns}}${e.local}`)).to.deep.equal(['{DAV:}write']);
    expect(scopeOf(al)).to.equal('exclusive');
    expect(text(al, 'depth')).to.equal('0');
    expect(text(al, 'timeout')).to.match(/^Second-(29\d|300)$/);
    expect(text(al, 'locktoken', 'href')).to.equal(token);
    expect(text(al, 'lockroot', 'href')).to.equal('/f.txt');
    // Owner XML kept verbatim (namespaces, attributes, non-ASCII).
    const ownerEl = findChild(al, DAV, 'owner')!;
    expect(text(ownerEl, 'href')).to.equal('http://example.org/~alice');
    const note = findChild(ownerEl, 'urn:x', 'note')!;
    expect(textContent(note)).to.equal('Grüße');
    expect(note.attrs.map((a) => `{${a.ns}}${a.local}=${a.value}`)).to.deep.equal(['{urn:x}a=1']);
  });

  it('depth defaults to infinity; shared scope is reported', async () => {
    await mkcolOk(s, '/c');
    const { res } = await lockOk(s, '/c', { scope: 'shared' });
    const al = activeLock(res);
    expect(text(al, 'depth')).to.equal('infinity');
    expect(scopeOf(al)).to.equal('shared');
    expect(text(al, 'lockroot', 'href')).to.equal('/c/');
  });

  it('201 on an unmapped URL: an empty resource is created', async () => {
    const { res } = await lockOk(s, '/new.txt');
    expect(res.status).to.equal(201);
    expect(res.headers['lock-token']).to.match(/^<urn:uuid:/);
    expect((await stat(join(s.root, 'new.txt'))).size).to.equal(0);
    expect((await s.req('GET', '/new.txt')).status).to.equal(200);
    activeLock(res);
  });

  it('409 on an unmapped URL whose parent is missing; nothing locked', async () => {
    const r = await s.req('LOCK', '/no/parent.txt', { body: lockBody() });
    expect(r.status).to.equal(409);
    expect(r.headers['lock-token']).to.equal(undefined);
    expect((await s.req('MKCOL', '/no')).status).to.equal(201);
    await lockOk(s, '/no/parent.txt');
  });

  it('400 for a bad lockinfo and for a bad Depth', async () => {
    await putOk(s, '/f', 'x');
    for (const body of ['junk', '<D:lockinfo xmlns:D="DAV:"/>', '<D:lockinfo xmlns:D="DAV:"><D:lockscope><D:weird/></D:lockscope><D:locktype><D:write/></D:locktype></D:lockinfo>', '<D:propfind xmlns:D="DAV:"/>']) {
      expect((await s.req('LOCK', '/f', { body })).status, body).to.equal(400);
    }
    expect((await s.req('LOCK', '/f', { body: lockBody(), headers: { Depth: '1' } })).status).to.equal(400);
    // Still unlocked.
    await lockOk(s, '/f');
  });

  it('lock roots are percent-encoded hrefs in every body', async () => {
    await putOk(s, '/a%20b%C3%A9', 'x');
    const { res } = await lockOk(s, '/a%20b%C3%A9');
    expect(text(activeLock(res), 'lockroot', 'href')).to.equal('/a%20b%C3%A9');
    expect(davError(await s.req('PUT', '/a%20b%C3%A9', { body: 'y' }), 423, 'lock-token-submitted')).to.deep.equal(['/a%20b%C3%A9']);
  });

  it('LOCK honours If and If-Match: 412 when they fail, nothing locked', async () => {
    await putOk(s, '/f', 'x');
    expect((await s.req('LOCK', '/f', { body: lockBody(), headers: { If: '(["stale"])' } })).status).to.equal(412);
    expect((await s.req('LOCK', '/f', { body: lockBody(), headers: { 'If-Match': '"stale"' } })).status).to.equal(412);
    const etag = String((await s.req('HEAD', '/f')).headers['etag']);
    await lockOk(s, '/f', { headers: { If: `([${etag}])` } });
  });

  describe('timeouts', () => {
    it('refresh (If + no body) answers 200 with the new timeout, same token', async () => {
      await putOk(s, '/f', 'x');
      const { token } = await lockOk(s, '/f', { timeout: 'Second-100' });
      const r = await s.req('LOCK', '/f', { headers: { ...ifToken(token), Timeout: 'Second-5000' } });
      expect(r.status).to.equal(200);
      // RFC 4918 9.10.2: the Lock-Token header is not returned for a refresh.
      expect(r.headers['lock-token']).to.equal(undefined);
      const al = activeLock(r);
      expect(text(al, 'locktoken', 'href')).to.equal(token);
      expect(text(al, 'timeout')).to.match(/^Second-(499\d|5000)$/);
      const pf = single(await s.req('PROPFIND', '/f', { headers: { Depth: '0' }, body: '<D:propfind xmlns:D="DAV:"><D:prop><D:lockdiscovery/></D:prop></D:propfind>' }));
      expect(textContent(findChild(findChild(prop(pf, DAV, 'lockdiscovery')!.el, DAV, 'activelock')!, DAV, 'timeout')!)).to.match(/^Second-(499\d|5000)$/);
    });

    it('refresh of a member through the depth-infinity lock of its collection', async () => {
      await mkcolOk(s, '/c');
      await putOk(s, '/c/m', 'x');
      const { token } = await lockOk(s, '/c', { timeout: 'Second-100' });
      const r = await s.req('LOCK', '/c/m', { headers: { ...ifToken(token), Timeout: 'Second-200' } });
      expect(r.status).to.equal(200);
      expect(text(activeLock(r), 'lockroot', 'href')).to.equal('/c/');
    });

    it('refresh without If is 400; with an unknown token 412', async () => {
      await putOk(s, '/f', 'x');
      await lockOk(s, '/f');
      expect((await s.req('LOCK', '/f')).status).to.equal(400);
      expect((await s.req('LOCK', '/f', { headers: ifToken('urn:uuid:00000000-0000-0000-0000-000000000000') })).status).to.equal(412);
    });

    it('Timeout is capped by --max-lock-timeout (Infinite included); no Timeout gets the default', async () => {
      const capped = await startTestServer({ lockStore: 'memory', maxLockTimeout: 120, defaultLockTimeout: 60 });
      try {
        await putOk(capped, '/a', 'x');
        await putOk(capped, '/b', 'x');
        await putOk(capped, '/c', 'x');
        expect(text(activeLock((await lockOk(capped, '/a', { timeout: 'Second-99999' })).res), 'timeout')).to.match(/^Second-1(19|20)$/);
        expect(text(activeLock((await lockOk(capped, '/b', { timeout: 'Infinite, Second-4100000000' })).res), 'timeout')).to.match(/^Second-1(19|20)$/);
        expect(text(activeLock((await lockOk(capped, '/c')).res), 'timeout')).to.match(/^Second-(59|60)$/);
      } finally {
        await capped.close();
      }
    });

    it('an expired lock disappears on its own', async () => {
      await putOk(s, '/e', 'x');
      const { token } = await lockOk(s, '/e', { timeout: 'Second-1' });
      expect((await s.req('PUT', '/e', { body: 'y' })).status).to.equal(423);
      await sleep(1300);
      expect((await s.req('PUT', '/e', { body: 'y' })).status).to.equal(204);
      const pf = single(await s.req('PROPFIND', '/e', { headers: { Depth: '0' }, body: '<D:propfind xmlns:D="DAV:"><D:prop><D:lockdiscovery/></D:prop></D:propfind>' }));
      expect(childElements(prop(pf, DAV, 'lockdiscovery')!.el)).to.deep.equal([]);
      expect((await s.req('UNLOCK', '/e', { headers: { 'Lock-Token': `<${token}>` } })).status).to.equal(409);
    });
  });

  describe('conflicts', () => {
    it('a second exclusive or shared LOCK is 423 no-conflicting-lock naming the lock root', async () => {
      await putOk(s, '/f', 'x');
      await lockOk(s, '/f');
      for (const scope of ['exclusive', 'shared'] as const) {
        const r = await s.req('LOCK', '/f', { body: lockBody(scope) });
        expect(davError(r, 423, 'no-conflicting-lock')).to.deep.equal(['/f']);
      }
    });

    it('shared locks coexist; an exclusive one then conflicts', async () => {
      await putOk(s, '/f', 'x');
      const a = await lockOk(s, '/f', { scope: 'shared' });
      const b = await lockOk(s, '/f', { scope: 'shared' });
      expect(a.token).to.not.equal(b.token);
      davError(await s.req('LOCK', '/f', { body: lockBody('exclusive') }), 423, 'no-conflicting-lock');
      const pf = single(await s.req('PROPFIND', '/f', { headers: { Depth: '0' }, body: '<D:propfind xmlns:D="DAV:"><D:prop><D:lockdiscovery/></D:prop></D:propfind>' }));
      expect(childElements(prop(pf, DAV, 'lockdiscovery')!.el).length).to.equal(2);
      // Either token allows a write.
      expect((await s.req('PUT', '/f', { body: 'y', headers: ifToken(b.token) })).status).to.equal(204);
      expect((await s.req('PUT', '/f', { body: 'z' })).status).to.equal(423);
    });

    it('a token for one lock root does not stand in for another root (member lock vs collection lock)', async () => {
      await mkcolOk(s, '/d');
      await putOk(s, '/d/x', 'x');
      const coll = await lockOk(s, '/d', { depth: '0' });
      const member = await lockOk(s, '/d/x');
      expect(davError(await s.req('DELETE', '/d/x', { headers: ifToken(member.token) }), 423, 'lock-token-submitted')).to.deep.equal(['/d/']);
      expect((await s.req('DELETE', '/d/x', { headers: { If: `</d/x> (<${member.token}>) </d/> (<${coll.token}>)` } })).status).to.equal(204);
    });

    it('a depth-infinity lock conflicts with locks on members, and the other way round', async () => {
      await mkcolOk(s, '/c');
      await putOk(s, '/c/m', 'x');
      await lockOk(s, '/c');
      const r = await s.req('LOCK', '/c/m', { body: lockBody() });
      expect(r.status).to.equal(423);
      expect(r.body).to.include('/c/');
      await mkcolOk(s, '/d');
      await putOk(s, '/d/m', 'x');
      await lockOk(s, '/d/m');
      // 9.10.3: refused because of a member's lock: 207 naming the member (423) and the Request-URI (424).
      const refused = multistatus(await s.req('LOCK', '/d', { body: lockBody() }));
      expect([...refused.keys()]).to.deep.equal(['/d/m', '/d/']);
      expect(refused.get('/d/m')!.status).to.equal(423);
      expect(refused.get('/d/')!.status).to.equal(424);
      expect((await s.req('PUT', '/d/other', { body: 'x' })).status, 'no lock was taken').to.equal(201);
      await lockOk(s, '/d', { depth: '0' });
    });
  });

  describe('writes without the token are 423 lock-token-submitted; with it they succeed', () => {
    let token: string;
    beforeEach(async () => {
      await mkcolOk(s, '/c');
      await putOk(s, '/c/m.txt', 'member');
      await putOk(s, '/f.txt', 'file');
      await putOk(s, '/other.txt', 'other');
      token = (await lockOk(s, '/f.txt')).token;
    });

    const expect423 = async (r: Promise<Res>, root: string): Promise<void> => {
      expect(davError(await r, 423, 'lock-token-submitted')).to.deep.equal([root]);
    };

    it('PUT', async () => {
      await expect423(s.req('PUT', '/f.txt', { body: 'new' }), '/f.txt');
      expect(await readFile(join(s.root, 'f.txt'), 'utf8')).to.equal('file');
      expect((await s.req('PUT', '/f.txt', { body: 'new', headers: ifToken(token) })).status).to.equal(204);
    });

    it('DELETE', async () => {
      await expect423(s.req('DELETE', '/f.txt'), '/f.txt');
      expect((await s.req('DELETE', '/f.txt', { headers: ifToken(token) })).status).to.equal(204);
      // The lock went with the resource.
      expect((await s.req('PUT', '/f.txt', { body: 'again' })).status).to.equal(201);
    });

    it('PROPPATCH', async () => {
      const body = '<D:propertyupdate xmlns:D="DAV:"><D:set><D:prop><Z:a xmlns:Z="urn:z">1</Z:a></D:prop></D:set></D:propertyupdate>';
      await expect423(s.req('PROPPATCH', '/f.txt', { body }), '/f.txt');
      expect((await s.req('PROPPATCH', '/f.txt', { body, headers: ifToken(token) })).status).to.equal(207);
    });

    it('COPY onto a locked destination (the source is only read)', async () => {
      await expect423(s.req('COPY', '/other.txt', { headers: { Destination: '/f.txt' } }), '/f.txt');
      expect((await s.req('COPY', '/f.txt', { headers: { Destination: '/copy.txt' } })).status).to.equal(201);
      expect((await s.req('COPY', '/other.txt', { headers: { Destination: '/f.txt', If: `</f.txt> (<${token}>)` } })).status).to.equal(204);
      expect(await readFile(join(s.root, 'f.txt'), 'utf8')).to.equal('other');
    });

    it('MOVE of a locked source, and onto a locked destination', async () => {
      await expect423(s.req('MOVE', '/f.txt', { headers: { Destination: '/moved.txt' } }), '/f.txt');
      await expect423(s.req('MOVE', '/other.txt', { headers: { Destination: '/f.txt' } }), '/f.txt');
      expect(await readFile(join(s.root, 'other.txt'), 'utf8')).to.equal('other');
      const r = await s.req('MOVE', '/f.txt', { headers: { Destination: '/moved.txt', ...ifToken(token) } });
      expect(r.status).to.equal(201);
      // MOVE drops the source's locks: the moved resource is unlocked.
      expect((await s.req('PUT', '/moved.txt', { body: 'free' })).status).to.equal(204);
      expect((await s.req('UNLOCK', '/moved.txt', { headers: { 'Lock-Token': `<${token}>` } })).status).to.equal(409);
    });

    it('LOCK on the locked resource (no-conflicting-lock)', async () => {
      davError(await s.req('LOCK', '/f.txt', { body: lockBody() }), 423, 'no-conflicting-lock');
    });

    describe('members of a depth-infinity locked collection', () => {
      let ctoken: string;
      beforeEach(async () => (ctoken = (await lockOk(s, '/c')).token));

      it('PUT of a new or existing member, MKCOL, DELETE, PROPPATCH, LOCK of a new member', async () => {
        await expect423(s.req('PUT', '/c/m.txt', { body: 'x' }), '/c/');
        await expect423(s.req('PUT', '/c/new.txt', { body: 'x' }), '/c/');
        await expect423(s.req('MKCOL', '/c/sub'), '/c/');
        await expect423(s.req('DELETE', '/c/m.txt'), '/c/');
        await expect423(s.req('PROPPATCH', '/c/m.txt', { body: '<D:propertyupdate xmlns:D="DAV:"><D:set><D:prop><Z:a xmlns:Z="urn:z">1</Z:a></D:prop></D:set></D:propertyupdate>' }), '/c/');
        await expect423(s.req('COPY', '/other.txt', { headers: { Destination: '/c/copy.txt' } }), '/c/');
        await expect423(s.req('MOVE', '/other.txt', { headers: { Destination: '/c/moved.txt' } }), '/c/');
        await expect423(s.req('MOVE', '/c/m.txt', { headers: { Destination: '/out.txt' } }), '/c/');
        await expect423(s.req('DELETE', '/c'), '/c/');
        expect((await s.req('LOCK', '/c/new2.txt', { body: lockBody() })).status).to.equal(423);
        expect((await s.req('GET', '/c/new.txt')).status).to.equal(404);
        expect((await s.req('GET', '/c/m.txt')).body).to.equal('member');
      });

      it('the same requests with the token succeed (untagged or tagged with the lock root)', async () => {
        const h = ifToken(ctoken);
        expect((await s.req('PUT', '/c/m.txt', { body: 'x', headers: h })).status).to.equal(204);
        expect((await s.req('PUT', '/c/new.txt', { body: 'x', headers: { If: `<${s.base}/c/> (<${ctoken}>)` } })).status).to.equal(201);
        expect((await s.req('MKCOL', '/c/sub', { headers: h })).status).to.equal(201);
        expect((await s.req('PUT', '/c/sub/deep.txt', { body: 'd', headers: h })).status).to.equal(201);
        // The source is the Request-URI, so the destination's token goes in a list tagged with it (10.4.1).
        expect((await s.req('COPY', '/other.txt', { headers: { Destination: '/c/copy.txt', If: `</c/copy.txt> (<${ctoken}>)` } })).status).to.equal(201);
        expect((await s.req('DELETE', '/c/new.txt', { headers: h })).status).to.equal(204);
      });

      it('a rename inside the locked collection with its token keeps the collection lock', async () => {
        expect((await s.req('MOVE', '/c/m.txt', { headers: { Destination: '/c/renamed.txt', ...ifToken(ctoken) } })).status).to.equal(201);
        expect((await s.req('GET', '/c/renamed.txt')).body).to.equal('member');
        await expect423(s.req('PUT', '/c/renamed.txt', { body: 'x' }), '/c/');
      });

      it('a depth-0 lock on a collection protects its membership but not existing members', async () => {
        await mkcolOk(s, '/d');
        await putOk(s, '/d/existing', 'e');
        const { token: dtoken } = await lockOk(s, '/d', { depth: '0' });
        expect((await s.req('PUT', '/d/existing', { body: 'changed' })).status).to.equal(204);
        await expect423(s.req('PUT', '/d/new', { body: 'x' }), '/d/');
        await expect423(s.req('DELETE', '/d/existing'), '/d/');
        // The depth-0 lock does not cover /d/new, so its token is submitted tagged with the collection.
        expect((await s.req('PUT', '/d/new', { body: 'x', headers: { If: `</d/> (<${dtoken}>)` } })).status).to.equal(201);
      });
    });

    it('DELETE, MOVE and COPY-over of a tree with a locked member name the member lock', async () => {
      const { token: mt } = await lockOk(s, '/c/m.txt');
      await expect423(s.req('DELETE', '/c'), '/c/m.txt');
      await expect423(s.req('MOVE', '/c', { headers: { Destination: '/c2' } }), '/c/m.txt');
      await expect423(s.req('COPY', '/other.txt', { headers: { Destination: '/c' } }), '/c/m.txt');
      expect((await s.req('GET', '/c/m.txt')).body).to.equal('member');
      expect((await s.req('DELETE', '/c', { headers: { If: `</c/m.txt> (<${mt}>)` } })).status).to.equal(204);
    });

    it('a depth-infinity lock on the root protects everything', async () => {
      // The lock on /f.txt (taken in beforeEach) conflicts with a depth-infinity lock on / until released.
      const refused = multistatus(await s.req('LOCK', '/', { body: lockBody() }));
      expect(refused.get('/f.txt')!.status).to.equal(423);
      expect(refused.get('/')!.status).to.equal(424);
      expect((await s.req('UNLOCK', '/f.txt', { headers: { 'Lock-Token': `<${token}>` } })).status).to.equal(204);
      const { token: rt } = await lockOk(s, '/', { depth: 'infinity' });
      await expect423(s.req('PUT', '/anything.txt', { body: 'x' }), '/');
      await expect423(s.req('MKCOL', '/c/deeper'), '/');
      expect((await s.req('PUT', '/anything.txt', { body: 'x', headers: ifToken(rt) })).status).to.equal(201);
    });

    it('reads are never blocked', async () => {
      await lockOk(s, '/c');
      for (const [m, p] of [['GET', '/f.txt'], ['HEAD', '/f.txt'], ['GET', '/c/m.txt'], ['OPTIONS', '/f.txt']] as const) {
        expect((await s.req(m, p)).status, `${m} ${p}`).to.equal(200);
      }
      expect((await s.req('PROPFIND', '/c', { headers: { Depth: '1' } })).status).to.equal(207);
      expect((await s.req('COPY', '/c/m.txt', { headers: { Destination: '/outside.txt' } })).status).to.equal(201);
    });

    it('a token for another resource does not help', async () => {
      const other = (await lockOk(s, '/other.txt')).token;
      const r = await s.req('PUT', '/f.txt', { body: 'x', headers: { If: `(<${other}>)` } });
      // The If header itself fails (the token does not cover /f.txt): 412.
      expect(r.status).to.equal(412);
      const tagged = await s.req('PUT', '/f.txt', { body: 'x', headers: { If: `</other.txt> (<${other}>)` } });
      expect(davError(tagged, 423, 'lock-token-submitted')).to.deep.equal(['/f.txt']);
    });
  });

  describe('under a prefix', () => {
    it('lock roots and 423 hrefs carry the prefix; tagged If lists use prefixed URLs', async () => {
      const p = await startTestServer({ lockStore: 'memory', prefix: '/dav' });
      try {
        expect((await p.req('MKCOL', '/dav/c')).status).to.equal(201);
        const { token, res } = await lockOk(p, '/dav/c');
        expect(text(activeLock(res), 'lockroot', 'href')).to.equal('/dav/c/');
        expect(davError(await p.req('PUT', '/dav/c/f', { body: 'x' }), 423, 'lock-token-submitted')).to.deep.equal(['/dav/c/']);
        expect((await p.req('PUT', '/dav/c/f', { body: 'x', headers: { If: `<${p.base}/dav/c/> (<${token}>)` } })).status).to.equal(201);
        expect((await p.req('UNLOCK', '/dav/c/f', { headers: { 'Lock-Token': `<${token}>` } })).status).to.equal(204);
      } finally {
        await p.close();
      }
    });
  });

  describe('races', () => {
    it('many concurrent LOCKs on one resource: exactly one succeeds', async () => {
      await putOk(s, '/race.txt', 'x');
      const results = await Promise.all(Array.from({ length: 25 }, (_, i) => s.req('LOCK', '/race.txt', { body: lockBody('exclusive'), headers: { Depth: i % 2 ? '0' : 'infinity' } })));
      const statuses = results.map((r) => r.status);
      expect(statuses.filter((x) => x === 200).length, statuses.join(',')).to.equal(1);
      expect(statuses.filter((x) => x === 423).length).to.equal(24);
    });

    it('many concurrent LOCKs on an unmapped URL: exactly one 201', async () => {
      const results = await Promise.all(Array.from({ length: 25 }, () => s.req('LOCK', '/racenew.txt', { body: lockBody('exclusive') })));
      const statuses = results.map((r) => r.status);
      expect(statuses.filter((x) => x === 201).length, statuses.join(',')).to.equal(1);
      expect(statuses.filter((x) => x === 200 || x === 201).length).to.equal(1);
      expect(statuses.filter((x) => x === 423).length).to.equal(24);
    });

    it('concurrent LOCKs on a collection and its members: never both', async () => {
      await mkcolOk(s, '/t');
      await putOk(s, '/t/a', 'a');
      const results = await Promise.all([s.req('LOCK', '/t', { body: lockBody() }), s.req('LOCK', '/t/a', { body: lockBody() }), s.req('LOCK', '/t', { body: lockBody() })]);
      const ok = results.filter((r) => r.status === 200).length;
      expect(ok).to.equal(1);
    });

    it('a PUT whose body is still arriving when a LOCK is taken is refused and writes nothing', async () => {
      await putOk(s, '/r.txt', 'original');
      const chunks = ['part1-', 'part2-', 'part3-', 'part4'];
      const put = streamRequest(s, 'PUT', '/r.txt', chunks, { delayMs: 100 });
      await sleep(120);
      const { token } = await lockOk(s, '/r.txt');
      const res = await put;
      expect(res).to.not.equal('aborted');
      if (res === 'aborted') return;
      expect(davError(res, 423, 'lock-token-submitted')).to.deep.equal(['/r.txt']);
      expect(await readFile(join(s.root, 'r.txt'), 'utf8')).to.equal('original');
      expect((await s.req('PUT', '/r.txt', { body: 'owner', headers: ifToken(token) })).status).to.equal(204);
    });

    it('a PUT racing a LOCK either lands before the lock or not at all', async () => {
      for (let i = 0; i < 15; i++) {
        const path = `/race-${i}.txt`;
        await putOk(s, path, 'before');
        const [put, lock] = await Promise.all([s.req('PUT', path, { body: `put-${i}` }), s.req('LOCK', path, { body: lockBody() })]);
        expect(lock.status).to.equal(200);
        expect([204, 423]).to.include(put.status);
        const content = await readFile(join(s.root, path.slice(1)), 'utf8');
        expect(content).to.equal(put.status === 204 ? `put-${i}` : 'before');
      }
    });
  });

  it('COPY and MOVE over a collection destroy the locks of its members (9.9.3: the destination is deleted first); the destination keeps its own', async () => {
    for (const method of ['COPY', 'MOVE']) {
      await mkcolOk(s, '/src');
      await putOk(s, '/src/x', 'new');
      await mkcolOk(s, '/dst');
      await putOk(s, '/dst/x', 'old');
      await putOk(s, '/dst/gone', 'old');
      const member = (await lockOk(s, '/dst/x')).token;
      const gone = (await lockOk(s, '/dst/gone')).token;
      const own = (await lockOk(s, '/dst/', { depth: '0' })).token;
      const If = `</dst/> (<${own}>) </dst/x> (<${member}>) </dst/gone> (<${gone}>)`;
      expect((await s.req(method, '/src/', { headers: { Destination: '/dst/', If } })).status, method).to.equal(204);
      // Nobody holds a lock on what replaced /dst/x, and /dst/gone is free to be created again.
      expect((await s.req('PUT', '/dst/x', { body: 'free' })).status, method).to.equal(204);
      expect((await s.req('PUT', '/dst/gone', { body: 'free', headers: { If: `</dst/> (<${own}>)` } })).status, method).to.equal(201);
      expect((await s.req('PUT', '/dst/new', { body: 'x' })).status, method).to.equal(423);
      expect((await s.req('UNLOCK', '/dst/', { headers: { 'Lock-Token': `<${own}>` } })).status, method).to.equal(204);
      for (const p of ['/src/', '/dst/']) if ((await s.req('PROPFIND', p, { headers: { Depth: '0' } })).status === 207) expect((await s.req('DELETE', p)).status).to.equal(204);
    }
  });
});
