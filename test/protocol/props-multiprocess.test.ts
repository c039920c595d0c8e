/**
 * Dead properties written by several server processes over one directory: two instances setting
 * different properties of one resource at the same time must keep every update (no lost update
 * between the read and the write of the property file).
 */
import { expect } from 'chai';
import { rm } from 'node:fs/promises';
import { makeTempDir, request, spawnCli, type CliServer } from '../helpers/server.js';

const proppatch = (i: number): string =>
  `<?xml version="1.0"?><D:propertyupdate xmlns:D="DAV:" xmlns:x="urn:example:mp"><D:set><D:prop><x:p${i}>value ${i}</x:p${i}></D:prop></D:set></D:propertyupdate>`;

describe('dead properties with several processes on one root', function () {
  this.timeout(60_000);
  let root: string;
  let a: CliServer;
  let b: CliServer;

  before(async () => {
    root = await makeTempDir('props-mp');
    // Two independent processes: neither the in-process mutex nor a shared lock store helps here.
    a = await spawnCli(['--root', root, '--port', '0', '--lock-store', 'memory']);
    b = await spawnCli(['--root', root, '--port', '0', '--lock-store', 'memory']);
  });
  after(async () => {
    await Promise.all([a?.stop(), b?.stop()]);
    await rm(root, { recursive: true, force: true });
  });

  it('keeps every property when both instances PROPPATCH one resource concurrently', async () => {
    expect((await request(a.base, 'PUT', '/shared.txt', { body: 'x' })).status).to.equal(201);
    const n = 80;
    const results = await Promise.all(
      Array.from({ length: n }, (_, i) => request(i % 2 ? a.base : b.base, 'PROPPATCH', '/shared.txt', { body: proppatch(i), headers: { 'Content-Type': 'application/xml' } })),
    );
    for (const r of results) {
      expect(r.status).to.equal(207);
      expect(r.body).to.include('HTTP/1.1 200 OK');
    }
    const pf = await request(b.base, 'PROPFIND', '/shared.txt', { headers: { Depth: '0' } });
    expect(pf.status).to.equal(207);
    const missing = Array.from({ length: n }, (_, i) => i).filter((i) => !pf.body.includes(`value ${i}<`));
    expect(missing, 'properties lost between the two instances').to.deep.equal([]);
  });
});
