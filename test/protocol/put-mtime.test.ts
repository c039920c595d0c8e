/** X-OC-Mtime on PUT (rclone, ownCloud/Nextcloud clients): sets mtime and answers "accepted". */
import { expect } from 'chai';
import { stat, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { DAV, parseMultistatus } from '../helpers/replay.js';
import { parseOcMtime } from '../../src/methods/put.js';

describe('PUT with X-OC-Mtime', () => {
  let s: TestServer;
  beforeEach(async () => (s = await startTestServer()));
  afterEach(async () => s.close());

  it('sets the mtime of a new and of a replaced file, answers X-OC-Mtime: accepted, and getlastmodified follows', async () => {
    const r1 = await s.req('PUT', '/f.txt', { headers: { 'X-OC-Mtime': '1600000000' }, body: 'one' });
    expect(r1.status).to.equal(201);
    expect(r1.headers['x-oc-mtime']).to.equal('accepted');
    expect((await stat(join(s.root, 'f.txt'))).mtimeMs).to.equal(1600000000_000);
    const r2 = await s.req('PUT', '/f.txt', { headers: { 'X-OC-Mtime': '1500000000.5' }, body: 'two' });
    expect(r2.status).to.equal(204);
    expect(r2.headers['x-oc-mtime']).to.equal('accepted');
    expect((await stat(join(s.root, 'f.txt'))).mtimeMs).to.equal(1500000000_500);
    expect(await readFile(join(s.root, 'f.txt'), 'utf8')).to.equal('two');
    const pf = await s.req('PROPFIND', '/f.txt', { headers: { Depth: '0' } });
    expect(parseMultistatus(pf.body).get('/f.txt')!.props.get(`{${DAV}}getlastmodified`)?.text).to.equal(new Date(1500000000_000).toUTCString());
    // The ETag answered by PUT is the one the file now has.
    expect((await s.req('HEAD', '/f.txt')).headers['etag']).to.equal(r2.headers['etag']);
  });

  it('ignores a malformed value (no header in the answer, mtime is now)', async () => {
    for (const v of ['yesterday', '-5', '1e10', '']) {
      const r = await s.req('PUT', '/g.txt', { headers: { 'X-OC-Mtime': v }, body: 'g' });
      expect(r.status).to.be.oneOf([201, 204]);
      expect(r.headers['x-oc-mtime'], v).to.equal(undefined);
      expect(Date.now() - (await stat(join(s.root, 'g.txt'))).mtimeMs).to.be.below(60_000);
    }
  });

  it('parseOcMtime reads whole and fractional Unix seconds only', () => {
    expect(parseOcMtime('1700000000')).to.equal(1700000000_000);
    expect(parseOcMtime(' 12.25 ')).to.equal(12_250);
    expect(parseOcMtime('0x10')).to.equal(undefined);
    expect(parseOcMtime('1'.repeat(13))).to.equal(undefined);
  });
});
