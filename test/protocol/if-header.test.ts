import { expect } from 'chai';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { lockOk, mkcolOk, putOk } from '../helpers/dav.js';

describe('If header (RFC 4918 10.4) over HTTP', () => {
  let s: TestServer;
  let etag: string;
  let token: string;
  beforeEach(async () => {
    s = await startTestServer({ lockStore: 'memory' });
    await putOk(s, '/f', 'content');
    await putOk(s, '/g', 'other');
    await mkcolOk(s, '/c');
    etag = String((await s.req('HEAD', '/f')).headers['etag']);
    token = (await lockOk(s, '/f')).token;
  });
  afterEach(async () => s.close());

  const put = async (If: string, path = '/f'): Promise<number> => (await s.req('PUT', path, { body: 'new', headers: { If } })).status;

  it('the lock token alone: 204', async () => expect(await put(`(<${token}>)`)).to.equal(204));
  it('token AND matching etag: 204', async () => expect(await put(`(<${token}> [${etag}])`)).to.equal(204));
  it('token AND stale etag: 412', async () => expect(await put(`(<${token}> ["stale"])`)).to.equal(412));
  it('lists are OR-ed: a failing list then a passing one: 204', async () => expect(await put(`(["stale"]) (<${token}>)`)).to.equal(204));
  it('every list fails: 412', async () => expect(await put(`(["stale"]) (<urn:uuid:00000000-0000-0000-0000-000000000000>)`)).to.equal(412));
  it('(<DAV:no-lock>) never holds: 412', async () => expect(await put('(<DAV:no-lock>)')).to.equal(412));
  it('(Not <DAV:no-lock>) holds but submits no token: 423', async () => expect(await put('(Not <DAV:no-lock>)')).to.equal(423));
  it('token OR (Not <DAV:no-lock>) (litmus cond_put_with_not): 204', async () => expect(await put(`(<${token}>) (Not <DAV:no-lock>)`)).to.equal(204));
  it('Not token: 412', async () => expect(await put(`(Not <${token}>)`)).to.equal(412));
  it('etag condition on an unlocked resource: 204 when it matches, 412 when not', async () => {
    const g = String((await s.req('HEAD', '/g')).headers['etag']);
    expect(await put(`([${g}])`, '/g')).to.equal(204);
    expect(await put(`([${g}])`, '/g')).to.equal(412);
    expect(await put(`(Not ["nope"])`, '/g')).to.equal(204);
  });
  it('tagged list for the Request-URI by absolute URL and by path: 204', async () => {
    expect(await put(`<${s.base}/f> (<${token}>)`)).to.equal(204);
    expect(await put(`</f> (<${token}>)`)).to.equal(204);
  });
  it('a tagged list about another resource decides by that resource', async () => {
    // /g carries no lock: the list is false -> 412 even though the token is valid for /f.
    expect(await put(`</g> (<${token}>)`)).to.equal(412);
    // The list on /g holds (its etag), but the token for /f is not submitted: 423.
    const g = String((await s.req('HEAD', '/g')).headers['etag']);
    expect(await put(`</g> ([${g}])`)).to.equal(423);
    // A tag naming another server never matches.
    expect(await put(`<http://elsewhere.example/f> (<${token}>)`)).to.equal(412);
  });
  it('applies to non-locking methods and to reads', async () => {
    expect((await s.req('GET', '/g', { headers: { If: '(["stale"])' } })).status).to.equal(412);
    expect((await s.req('PROPFIND', '/g', { headers: { If: '(["stale"])', Depth: '0' } })).status).to.equal(412);
    expect((await s.req('DELETE', '/g', { headers: { If: '(["stale"])' } })).status).to.equal(412);
    expect((await s.req('MKCOL', '/c/new', { headers: { If: '(<DAV:no-lock>)' } })).status).to.equal(412);
    expect((await s.req('PROPPATCH', '/g', { headers: { If: '(["stale"])' }, body: '<D:propertyupdate xmlns:D="DAV:"><D:set><D:prop><x xmlns="urn:x">1</x></D:prop></D:set></D:propertyupdate>' })).status).to.equal(412);
    expect((await s.req('COPY', '/g', { headers: { If: '(["stale"])', Destination: '/g2' } })).status).to.equal(412);
    expect((await s.req('MOVE', '/g', { headers: { If: '(["stale"])', Destination: '/g2' } })).status).to.equal(412);
    expect((await s.req('GET', '/g2')).status).to.equal(404);
    expect((await s.req('GET', '/g', { headers: { If: '(Not ["stale"])' } })).status).to.equal(200);
  });

  describe('a malformed If header is 400 on every method', () => {
    for (const header of ['garbage', '(<unterminated', '()', `</f>`, '(["no-close")', '(Not)', '(<a:b>) </late> (<c:d>)']) {
      it(header, async () => {
        for (const [method, path] of [['PUT', '/g'], ['DELETE', '/g'], ['PROPPATCH', '/g'], ['MKCOL', '/c/x'], ['LOCK', '/g'], ['GET', '/g'], ['PROPFIND', '/g']] as const) {
          const body = method === 'PUT' ? 'x' : method === 'PROPPATCH' ? '<D:propertyupdate xmlns:D="DAV:"><D:set><D:prop><x xmlns="urn:x">1</x></D:prop></D:set></D:propertyupdate>' : undefined;
          const r = await s.req(method, path, { headers: { If: header, Depth: '0' }, body });
          expect(r.status, `${method} ${path}`).to.equal(400);
        }
        expect((await s.req('GET', '/g')).body).to.equal('other');
      });
    }
  });

  it('MOVE evaluates both ends: a tagged destination token is needed for a locked destination', async () => {
    const { token: gt } = await lockOk(s, '/g');
    const r1 = await s.req('MOVE', '/f', { headers: { Destination: '/g', If: `(<${token}>)` } });
    expect(r1.status).to.equal(423);
    const r2 = await s.req('MOVE', '/f', { headers: { Destination: '/g', If: `</f> (<${token}>) </g> (<${gt}>)` } });
    expect(r2.status).to.equal(204);
    expect((await s.req('GET', '/g')).body).to.equal('content');
  });

  it("PUT of a member with the parent collection's ETag in a tagged list: 201, and 412 once the ETag is stale", async () => {
    const ctoken = (await lockOk(s, '/c/')).token;
    const etagOf = async (): Promise<string> => /<D:getetag>([^<]*)</.exec((await s.req('PROPFIND', '/c/', { headers: { Depth: '0' } })).body)![1]!.replace(/&quot;/g, '"');
    const before = await etagOf();
    // The body waits in a temp file inside /c before the If header is checked again: that must not count as a change of /c.
    expect(await put(`</c/> (<${ctoken}> [${before}])`, '/c/new')).to.equal(201);
    expect(await etagOf()).to.not.equal(before);
    expect(await put(`</c/> (<${ctoken}> [${before}])`, '/c/other')).to.equal(412);
  });
});
