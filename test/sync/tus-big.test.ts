/**
 * The resumable upload's reason to exist: a 2 GiB file through a proxy that refuses request
 * bodies over 100 MB (Cloudflare's cap), in 64 MiB chunks, with the connection dropped half way;
 * the upload resumes from what the server stored, so no byte is sent twice beyond the chunk that
 * was in flight. The bytes are generated as they are sent (never held) and written on the normal
 * disk temp dir, removed afterwards.
 */
import { expect } from 'chai';
import { rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { makeTempDir, request, spawnCli, type CliServer } from '../helpers/server.js';
import { ensureBuilt, single, prop, findChild, textContent } from '../helpers/dav.js';
import { startProxy, type TestProxy } from './proxy.js';
import { generatedBytes, sourceSha1, tusUpload } from './tus-client.js';

const GiB = 1024 * 1024 * 1024;
const MiB = 1024 * 1024;
const OC = 'http://owncloud.org/ns';

describe('tus: 2 GiB through a proxy that refuses bodies over 100 MB, cut and resumed', function () {
  this.timeout(15 * 60_000);
  let root: string;
  let srv: CliServer;
  let proxy: TestProxy;

  before(async () => {
    await ensureBuilt();
    root = await makeTempDir('tus-big');
    srv = await spawnCli(['--root', root, '--port', '0', '--lock-store', 'memory']);
    proxy = await startProxy(srv.base, 100 * 1000 * 1000);
  });
  after(async () => {
    await proxy?.close();
    await srv?.stop();
    await rm(root, { recursive: true, force: true });
  });

  it('a plain PUT of the file is refused by the proxy; tus gets it through, resuming after the cut', async () => {
    const size = 2 * GiB;
    const chunk = 64 * MiB;
    const source = generatedBytes('two gibibytes');
    // What the proxy does to a one-request upload of this size:
    const put = await request(proxy.base, 'PUT', '/big.bin', { headers: { 'Content-Length': String(size) } });
    expect(put.status).to.equal(413);

    const expected = sourceSha1(source, size);
    const cut = proxy.cutAfter(GiB + 10 * MiB); // inside the 17th chunk
    const up = await tusUpload({ base: proxy.base, path: '/big.bin', size, chunk, source });
    await cut;
    expect(up.last.status).to.equal(201);
    expect(up.failures).to.equal(1);
    // The server kept what arrived of the cut chunk: the client resumed past the chunk's start.
    expect(up.resumedAt).to.have.length(1);
    expect(up.resumedAt[0]!).to.be.greaterThan(16 * chunk).and.at.most(GiB + 10 * MiB);
    // Every byte went through at most once, but for what was in flight when the connection dropped.
    const resent = proxy.bodyBytes - size;
    expect(resent).to.be.at.least(0).and.at.most(chunk);
    expect(proxy.largestBody).to.be.at.most(100 * 1000 * 1000);
    expect(proxy.refused).to.equal(1); // the PUT alone
    // The stored file: complete, and its checksums computed as it arrived.
    expect((await stat(join(root, 'big.bin'))).size).to.equal(size);
    const sha1 = await expected;
    const pf = single(await request(srv.base, 'PROPFIND', '/big.bin', { headers: { Depth: '0' }, body: `<d:propfind xmlns:d="DAV:" xmlns:oc="${OC}"><d:prop><oc:checksums/></d:prop></d:propfind>` }));
    expect(textContent(findChild(prop(pf, OC, 'checksums')!.el, OC, 'checksum')!)).to.match(new RegExp(`^SHA1:${sha1} MD5:[0-9a-f]{32} SHA256:[0-9a-f]{64}$`));
    console.log(`      2 GiB via tus: ${proxy.bodyBytes - size} bytes sent twice (cut at ${GiB + 10 * MiB}, resumed at ${up.resumedAt[0]})`);
  });
});
