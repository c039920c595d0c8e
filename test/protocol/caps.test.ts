/**
 * Side data a client can make the server keep is capped (src/storage/caps.ts), with an answer
 * that names the cap: lock owner XML (413), dead-property values and their total per resource
 * (507 in the PROPPATCH multistatus, every other instruction 424), locks per resource (507).
 * The per-principal lock cap is in the LockManager conformance suite.
 */
import { expect } from 'chai';
import { lockBody, startTestServer, type TestServer } from '../helpers/server.js';
import { lockOk, multistatus, putOk } from '../helpers/dav.js';
import { MAX_DEAD_PROP_BYTES, MAX_DEAD_PROPS_PER_RESOURCE_BYTES, MAX_LOCK_OWNER_BYTES, MAX_LOCKS_PER_RESOURCE } from '../../src/storage/caps.js';

const setProps = (props: Record<string, string>): string =>
  `<?xml version="1.0"?><D:propertyupdate xmlns:D="DAV:" xmlns:Z="urn:z"><D:set><D:prop>${Object.entries(props)
    .map(([k, v]) => `<Z:${k}>${v}</Z:${k}>`)
    .join('')}</D:prop></D:set></D:propertyupdate>`;

describe('caps on locks and dead properties', function () {
  this.timeout(60_000);
  let s: TestServer;
  beforeEach(async () => {
    s = await startTestServer();
    await putOk(s, '/f', 'f');
  });
  afterEach(() => s.close());

  it('a lock owner over the cap is 413 with a body naming it, and no lock is taken', async () => {
    const r = await s.req('LOCK', '/f', { body: lockBody('exclusive', `<D:href>${'o'.repeat(MAX_LOCK_OWNER_BYTES + 1)}</D:href>`) });
    expect(r.status).to.equal(413);
    expect(r.body).to.include(String(MAX_LOCK_OWNER_BYTES));
    expect((await s.req('PUT', '/f', { body: 'still unlocked' })).status).to.equal(204);
    await lockOk(s, '/f', { owner: `<D:href>${'o'.repeat(MAX_LOCK_OWNER_BYTES - 100)}</D:href>` });
  });

  it('a dead-property value over the cap is 507 (the others 424) and nothing is stored', async () => {
    const r = await s.req('PROPPATCH', '/f', { body: setProps({ small: 'ok', big: 'b'.repeat(MAX_DEAD_PROP_BYTES + 1) }) });
    const resp = multistatus(r).get('/f')!;
    const by = Object.fromEntries(resp.propstats.flatMap((p) => p.props.map((e) => [e.local, p.status])));
    expect(by).to.deep.equal({ small: 424, big: 507 });
    expect(r.body).to.include(`at most ${MAX_DEAD_PROP_BYTES} bytes`);
    const pf = await s.req('PROPFIND', '/f', { headers: { Depth: '0' }, body: '<?xml version="1.0"?><D:propfind xmlns:D="DAV:"><D:propname/></D:propfind>' });
    expect(pf.body).to.not.include('small');
  });

  it('the total per resource is capped across requests (507), and removing makes room again', async () => {
    const chunk = 'c'.repeat(MAX_DEAD_PROP_BYTES - 100);
    const fits = Math.floor(MAX_DEAD_PROPS_PER_RESOURCE_BYTES / MAX_DEAD_PROP_BYTES);
    for (let i = 0; i < fits; i++) {
      const r = await s.req('PROPPATCH', '/f', { body: setProps({ [`p${i}`]: chunk }) });
      expect(r.body, `property ${i}`).to.include('200 OK');
    }
    const over = await s.req('PROPPATCH', '/f', { body: setProps({ extra: chunk }) });
    expect(over.body).to.include('507');
    expect(over.body).to.include(`${MAX_DEAD_PROPS_PER_RESOURCE_BYTES} bytes in all`);
    const remove = `<?xml version="1.0"?><D:propertyupdate xmlns:D="DAV:" xmlns:Z="urn:z"><D:remove><D:prop><Z:p0/></D:prop></D:remove><D:set><D:prop><Z:extra>${chunk}</Z:extra></D:prop></D:set></D:propertyupdate>`;
    expect((await s.req('PROPPATCH', '/f', { body: remove })).body).to.include('200 OK');
  });

  it('locks per resource are capped (507 naming the cap)', async () => {
    for (let i = 0; i < MAX_LOCKS_PER_RESOURCE; i++) await lockOk(s, '/f', { scope: 'shared' });
    const r = await s.req('LOCK', '/f', { body: lockBody('shared') });
    expect(r.status).to.equal(507);
    expect(r.body).to.include(String(MAX_LOCKS_PER_RESOURCE));
  });
});
