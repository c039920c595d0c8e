/** GET on a collection from a browser: an escaped HTML listing with links, sizes and dates. */
import { expect } from 'chai';
import { writeFile, mkdir, utimes } from 'node:fs/promises';
import { join } from 'node:path';
import { startTestServer, type TestServer } from '../helpers/server.js';

describe('browser listing (GET on a collection)', () => {
  let s: TestServer;
  beforeEach(async () => (s = await startTestServer()));
  afterEach(async () => s.close());

  it('lists folders first, then files, with links, sizes and dates; hides metadata and temp files', async () => {
    await mkdir(join(s.root, 'zeta folder'));
    await writeFile(join(s.root, 'alpha.txt'), Buffer.alloc(2048));
    await writeFile(join(s.root, 'beta.bin'), 'x');
    await writeFile(join(s.root, '.~davtmp-leftover'), 'x');
    await utimes(join(s.root, 'alpha.txt'), new Date('2024-05-06T07:08:00Z'), new Date('2024-05-06T07:08:00Z'));
    const r = await s.req('GET', '/', { headers: { Accept: 'text/html,application/xhtml+xml' } });
    expect(r.status).to.equal(200);
    expect(r.headers['content-type']).to.equal('text/html; charset=utf-8');
    expect(r.headers['content-security-policy']).to.include("default-src 'none'");
    const body = r.body;
    expect(body).to.match(/^<!doctype html>/);
    expect(body).to.match(/<a class="open" href="\/zeta%20folder\/"><span class="icon k-dir" aria-hidden="true"><\/span><span class="label">zeta folder\/<\/span><\/a>/);
    expect(body).to.match(/<a class="open" href="\/alpha.txt"><span class="icon k-text" aria-hidden="true"><\/span><span class="label">alpha.txt<\/span><\/a>/);
    expect(body).to.include('2.0 KiB');
    expect(body).to.include('1 B');
    expect(body).to.include('2024-05-06 07:08');
    expect(body.indexOf('zeta folder/')).to.be.lessThan(body.indexOf('alpha.txt'));
    expect(body.indexOf('alpha.txt')).to.be.lessThan(body.indexOf('beta.bin'));
    expect(body).not.to.include('.davmeta');
    expect(body).not.to.include('davtmp');
    expect(body).not.to.include('Parent folder'); // no parent link at the root
  });

  it('escapes names in text and links (no markup injection)', async () => {
    await mkdir(join(s.root, 'sub'));
    const evil = `<img src=x onerror=alert(1)>&"q"'s.html`;
    await writeFile(join(s.root, 'sub', evil), 'x');
    const r = await s.req('GET', '/sub/');
    expect(r.status).to.equal(200);
    expect(r.body).not.to.include('<img');
    expect(r.body).to.include('&lt;img src=x onerror=alert(1)&gt;&amp;&quot;q&quot;&#39;s.html');
    expect(r.body).to.include(`href="/sub/%3Cimg%20src=x%20onerror=alert(1)%3E&amp;%22q%22&#39;s.html"`);
    expect(r.body).to.include('<tr class="up"><td class="sel"></td><td class="name"><a href="/">');
    expect(r.body).to.include('<title>sub · Files</title>');
    // The link works when followed (after HTML unescaping).
    const link = /href="(\/sub\/%3C[^"]+)"/.exec(r.body)![1]!.replace(/&amp;/g, '&').replace(/&#39;/g, "'");
    expect((await s.req('GET', link)).body).to.equal('x');
  });

  it('HEAD gives the headers and length without a body; an empty folder lists nothing', async () => {
    await mkdir(join(s.root, 'empty'));
    const get = await s.req('GET', '/empty/');
    const head = await s.req('HEAD', '/empty/');
    expect(head.status).to.equal(200);
    expect(head.body).to.equal('');
    expect(Number(head.headers['content-length'])).to.equal(Buffer.byteLength(get.body));
    expect(get.body).not.to.match(/<td><a href="\/empty\/[^"]/);
  });
});
