/**
 * davfs2 (neon) request habits replayed: it LOCKs a name before creating it (LOCK on an unmapped
 * URL makes an empty file, 201), PUTs the content on close with a tagged If header, then
 * UNLOCKs; it revalidates its cache with If-None-Match (304) and guards updates with If-Match.
 */
import { expect } from 'chai';
import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { startTestServer, lockBody, type TestServer } from '../helpers/server.js';
import { DAV, lockTokenOf, parseMultistatus, propfindBody } from '../helpers/replay.js';

const UA = { 'User-Agent': 'davfs2/1.7.0 neon/0.32.5' };
const DAVFS2_PROPS = ['getetag', 'getlastmodified', 'creationdate', 'getcontentlength', 'resourcetype', '{http://apache.org/dav/props/}executable'];

describe('clients: davfs2 request sequence', () => {
  let s: TestServer;
  beforeEach(async () => (s = await startTestServer()));
  afterEach(async () => s.close());

  it('LOCK before create, PUT with a tagged If on close, UNLOCK', async () => {
    const lk = await s.req('LOCK', '/notes.txt', {
      headers: { ...UA, Timeout: 'Second-1800', Depth: '0' },
      body: lockBody('exclusive', '<D:href>davfs2-user</D:href>'),
    });
    expect(lk.status).to.equal(201);
    const token = lockTokenOf(lk.headers);
    expect((await stat(join(s.root, 'notes.txt'))).size).to.equal(0);
    // The empty file is visible with its lock while the editor works.
    const pf = await s.req('PROPFIND', '/', { headers: { ...UA, Depth: '1' }, body: propfindBody([...DAVFS2_PROPS, 'lockdiscovery']) });
    const entry = parseMultistatus(pf.body).get('/notes.txt')!;
    expect(entry.props.get(`{${DAV}}getcontentlength`)?.text).to.equal('0');
    expect(entry.props.get(`{${DAV}}lockdiscovery`)?.text).to.include(token);
    expect(entry.props.get('{http://apache.org/dav/props/}executable')?.status).to.equal(404);
    // On close: the content, proving the lock with a tagged list naming the full URL.
    const body = 'first line\nsecond line\n';
    const put = await s.req('PUT', '/notes.txt', { headers: { ...UA, If: `<${s.base}/notes.txt> (<${token}>)` }, body });
    expect(put.status).to.equal(204);
    const etag = String(put.headers['etag']);
    expect((await s.req('UNLOCK', '/notes.txt', { headers: { ...UA, 'Lock-Token': `<${token}>` } })).status).to.equal(204);
    expect(await readFile(join(s.root, 'notes.txt'), 'utf8')).to.equal(body);

    // Cache revalidation and guarded update.
    const cached = await s.req('GET', '/notes.txt', { headers: { ...UA, 'If-None-Match': etag } });
    expect(cached.status).to.equal(304);
    const stale = await s.req('PUT', '/notes.txt', { headers: { ...UA, 'If-Match': '"not-the-etag"' }, body: 'lost update' });
    expect(stale.status).to.equal(412);
    const fresh = await s.req('PUT', '/notes.txt', { headers: { ...UA, 'If-Match': etag }, body: 'v2' });
    expect(fresh.status).to.equal(204);
    expect(await readFile(join(s.root, 'notes.txt'), 'utf8')).to.equal('v2');
    expect((await s.req('GET', '/notes.txt', { headers: { ...UA, 'If-None-Match': etag } })).status).to.equal(200);
  });

  it('a second client cannot take or write the name while davfs2 holds the lock', async () => {
    const lk = await s.req('LOCK', '/draft.md', { headers: UA, body: lockBody() });
    expect(lk.status).to.equal(201);
    expect((await s.req('LOCK', '/draft.md', { body: lockBody() })).status).to.equal(423);
    expect((await s.req('PUT', '/draft.md', { body: 'intruder' })).status).to.equal(423);
    expect((await s.req('PUT', '/draft.md', { headers: { 'If-None-Match': '*' }, body: 'x' })).status).to.be.oneOf([412, 423]);
    expect((await stat(join(s.root, 'draft.md'))).size).to.equal(0);
  });
});
