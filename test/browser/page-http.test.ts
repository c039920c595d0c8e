/**
 * The file page over plain HTTP: content negotiation, escaping, security headers, sorting,
 * lock marks, --prefix, and the assets (ETag / 304, served by the compiled CLI too).
 */
import { expect } from 'chai';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { lockBody, makeTempDir, request, spawnCli, startTestServer, type TestServer } from '../helpers/server.js';

const XSS = '<img src=x onerror=alert(1)>.txt';
const QUOTES = `a"b'c.txt`;
const HTML = { Accept: 'text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8' };
const rowNames = (html: string): string[] => [...html.matchAll(/<tr class="entry[^"]*" data-name="([^"]*)"/g)].map((m) => m[1]!);

describe('browser page over HTTP', () => {
  let srv: TestServer;

  before(async () => {
    srv = await startTestServer({ prefix: '/dav', lockStore: 'memory' });
    await mkdir(join(srv.root, 'sub dir'));
    await writeFile(join(srv.root, XSS), 'x');
    await writeFile(join(srv.root, QUOTES), 'quotes!');
    await writeFile(join(srv.root, 'big.bin'), Buffer.alloc(5000));
    await writeFile(join(srv.root, 'page.html'), '<script>alert(1)</script>');
    await writeFile(join(srv.root, 'app.js'), 'user file');
  });
  after(() => srv.close());

  it('answers a browser with the page, escaped, under a strict CSP and never cached', async () => {
    const res = await srv.req('GET', '/dav/', { headers: HTML });
    expect(res.status).to.equal(200);
    expect(res.headers['content-type']).to.equal('text/html; charset=utf-8');
    const csp = res.headers['content-security-policy']!;
    expect(csp).to.contain("default-src 'none'").and.contain("script-src 'self'").and.contain("frame-ancestors 'none'");
    expect(csp).to.not.contain('unsafe-inline');
    expect(res.headers['x-content-type-options']).to.equal('nosniff');
    expect(res.headers['cache-control']).to.contain('no-store');
    expect(res.headers['vary']).to.equal('Accept, Accept-Encoding'); // HTML or JSON; br, gzip or none
    expect(res.headers.etag).to.equal(undefined);
    expect(Number(res.headers['content-length'])).to.equal(res.raw.length);
    expect(res.body).to.not.contain('<img src=x');
    expect(res.body).to.contain('<span class="label">&lt;img src=x onerror=alert(1)&gt;.txt</span>');
    expect(res.body).to.contain('href="/dav/%3Cimg%20src=x%20onerror=alert(1)%3E.txt"');
    expect(res.body).to.contain('data-name="a&quot;b&#39;c.txt"');
    expect(res.body).to.not.match(/<script>(?!<\/script>)/);
    expect(res.body).to.contain('<script src="/dav/.dav/assets/app.js" defer></script>');
    expect(res.body).to.contain('<link rel="stylesheet" href="/dav/.dav/assets/app.css">');
    expect(rowNames(res.body)).to.deep.equal(['sub dir', '&lt;img src=x onerror=alert(1)&gt;.txt', 'a&quot;b&#39;c.txt', 'app.js', 'big.bin', 'page.html']);
    // A heading, a favicon, a title naming the folder.
    expect(res.body).to.contain('<h1 id="folder-title">Home</h1>');
    expect(res.body).to.contain('<title>Home · Files</title>');
    expect(res.body).to.contain('<link rel="icon" href="/dav/.dav/assets/favicon.svg" type="image/svg+xml">');
    const icon = await srv.req('GET', '/dav/.dav/assets/favicon.svg');
    expect(icon.status).to.equal(200);
    expect(icon.headers['content-type']).to.equal('image/svg+xml');
    expect(icon.body).to.match(/^<svg /);
  });

  it('gives curl (*/*) the page and text/plain clients one name per line', async () => {
    const any = await srv.req('GET', '/dav/', { headers: { Accept: '*/*' } });
    expect(any.headers['content-type']).to.equal('text/html; charset=utf-8');
    const plain = await srv.req('GET', '/dav/', { headers: { Accept: 'text/plain' } });
    expect(plain.status).to.equal(200);
    expect(plain.headers['content-type']).to.equal('text/plain; charset=utf-8');
    expect(plain.body).to.equal(`sub dir/\n${XSS}\n${QUOTES}\napp.js\nbig.bin\npage.html\n`);
  });

  it('answers HEAD with the length of the page and no body', async () => {
    const get = await srv.req('GET', '/dav/', { headers: HTML });
    const head = await srv.req('HEAD', '/dav/', { headers: HTML });
    expect(head.status).to.equal(200);
    expect(head.raw.length).to.equal(0);
    expect(Number(head.headers['content-length'])).to.equal(get.raw.length);
  });

  it('streams a large folder in chunks (no Content-Length), every row in order, HEAD without a body', async () => {
    await mkdir(join(srv.root, 'many'));
    const count = 2000; // 200 rows of HTML and ~100 bytes of JSON each: past the 256 KiB sent whole
    for (let i = 0; i < count; i += 250) await Promise.all(Array.from({ length: 250 }, (_, j) => writeFile(join(srv.root, 'many', `f ${i + j} <&>.txt`), 'x')));
    const res = await srv.req('GET', '/dav/many/', { headers: HTML });
    expect(res.status).to.equal(200);
    expect(res.headers['content-length']).to.equal(undefined);
    expect(res.headers['transfer-encoding']).to.equal('chunked');
    expect(res.headers['content-type']).to.equal('text/html; charset=utf-8');
    expect(res.headers['content-security-policy']).to.contain("default-src 'none'");
    expect(res.raw.length).to.be.greaterThan(256 * 1024);
    // One page of rows, and every member in the JSON data block (escaped for a script element).
    const names = rowNames(res.body);
    expect(names).to.have.length(200);
    expect(names.slice(0, 3)).to.deep.equal(['f 0 &lt;&amp;&gt;.txt', 'f 1 &lt;&amp;&gt;.txt', 'f 2 &lt;&amp;&gt;.txt']);
    const data = JSON.parse(/<script type="application\/json" id="listing-data">([^<]*)<\/script>/.exec(res.body)![1]!);
    expect(data.entries).to.have.length(count);
    expect(data.entries[count - 1].name).to.equal(`f ${count - 1} <&>.txt`);
    expect(res.body).to.contain('f 1999 \\u003c&\\u003e.txt');
    expect(res.body).to.match(/^<!doctype html>/);
    expect(res.body.endsWith('</body></html>\n')).to.equal(true);
    const head = await srv.req('HEAD', '/dav/many/', { headers: HTML });
    expect(head.status).to.equal(200);
    expect(head.raw.length).to.equal(0);
    expect(head.headers['content-type']).to.equal('text/html; charset=utf-8');
    const plain = await srv.req('GET', '/dav/many/', { headers: { Accept: 'text/plain' } });
    expect(plain.body.split('\n').filter(Boolean)).to.have.length(count);
    expect(Number(plain.headers['content-length'])).to.equal(plain.raw.length);
    await rm(join(srv.root, 'many'), { recursive: true });
  });

  it('sorts by size and date on request, folders first', async () => {
    const bySize = await srv.req('GET', '/dav/?sort=size&order=desc', { headers: HTML });
    expect(rowNames(bySize.body).slice(0, 3)).to.deep.equal(['sub dir', 'big.bin', 'page.html']);
    expect(bySize.body).to.contain('<th scope="col" class="size" aria-sort="descending"><a href="?sort=size&amp;order=asc"');
    // Folder links carry the sort into the subfolder.
    expect(bySize.body).to.contain('<a class="open" href="/dav/sub%20dir/?sort=size&amp;order=desc">');
    const byDate = await srv.req('GET', '/dav/?sort=mtime', { headers: HTML });
    expect(byDate.body).to.contain('<th scope="col" class="mtime" aria-sort="ascending">');
  });

  it('builds breadcrumbs and hrefs under the prefix with encoded names', async () => {
    await mkdir(join(srv.root, 'sub dir', '#5 100% ü 😀'));
    const res = await srv.req('GET', '/dav/sub%20dir/%235%20100%25%20%C3%BC%20%F0%9F%98%80/', { headers: HTML });
    expect(res.status).to.equal(200);
    expect(res.body).to.contain(
      '<li><a href="/dav/">Home</a></li><li><a href="/dav/sub%20dir/">sub dir</a></li><li><a href="/dav/sub%20dir/%235%20100%25%20%C3%BC%20%F0%9F%98%80/" aria-current="page">#5 100% ü 😀</a></li>',
    );
    expect(res.body).to.contain('data-base="/dav/sub%20dir/%235%20100%25%20%C3%BC%20%F0%9F%98%80/" data-root="/dav/"');
    expect(res.body).to.contain('<tr class="up"><td class="sel"></td><td class="name"><a href="/dav/sub%20dir/">');
  });

  it('marks locked members, and a folder under a depth-infinity lock', async () => {
    const lock = await srv.req('LOCK', '/dav/big.bin', { headers: { 'Content-Type': 'application/xml' }, body: lockBody() });
    expect(lock.status).to.equal(200);
    const root = await srv.req('GET', '/dav/', { headers: HTML });
    expect(root.body).to.match(/<tr class="entry is-locked" data-name="big.bin"/);
    expect(root.body).to.match(/<tr class="entry" data-name="page.html"/);
    const dirLock = await srv.req('LOCK', '/dav/sub%20dir/', { headers: { 'Content-Type': 'application/xml', Depth: 'infinity' }, body: lockBody('shared') });
    expect(dirLock.status).to.equal(200);
    const sub = await srv.req('GET', '/dav/sub%20dir/', { headers: HTML });
    expect(sub.body).to.contain('This folder is locked');
    expect(sub.body).to.match(/<tr class="entry dir is-locked" data-name="#5 100% ü 😀"/);
  });

  it('serves the assets with ETags and answers 304 to If-None-Match', async () => {
    for (const [name, type] of [
      ['app.js', 'text/javascript; charset=utf-8'],
      ['app.css', 'text/css; charset=utf-8'],
    ] as const) {
      const res = await srv.req('GET', `/dav/.dav/assets/${name}`);
      expect(res.status).to.equal(200);
      expect(res.headers['content-type']).to.equal(type);
      expect(res.headers.etag).to.match(/^"[\w-]{22}"$/);
      expect(res.headers['cache-control']).to.equal('no-cache');
      expect(res.raw.length).to.be.within(1000, 80_000);
      const again = await srv.req('GET', `/dav/.dav/assets/${name}`, { headers: { 'If-None-Match': res.headers.etag! } });
      expect(again.status).to.equal(304);
      expect(again.raw.length).to.equal(0);
      expect(again.headers.etag).to.equal(res.headers.etag);
      const stale = await srv.req('GET', `/dav/.dav/assets/${name}`, { headers: { 'If-None-Match': '"old"' } });
      expect(stale.status).to.equal(200);
    }
    expect((await srv.req('GET', '/dav/.dav/assets/..%2F..%2Fpackage.json')).status).to.equal(404);
    expect((await srv.req('GET', '/dav/.dav/assets/constructor')).status).to.equal(404);
    // The asset URL never collides with a stored file of the same name.
    expect((await srv.req('GET', '/dav/app.js')).body).to.equal('user file');
  });

  it('sandboxes stored HTML so it cannot script this origin', async () => {
    const html = await srv.req('GET', '/dav/page.html');
    expect(html.status).to.equal(200);
    expect(html.headers['content-security-policy']).to.equal('sandbox');
    const txt = await srv.req('GET', `/dav/${encodeURIComponent(QUOTES)}`);
    expect(txt.body).to.equal('quotes!');
    expect(txt.headers['content-security-policy']).to.equal(undefined);
  });

  it('serves the page and its assets from the compiled CLI (npm run build + npm start)', async function () {
    this.timeout(20_000);
    const root = await makeTempDir('cli-page');
    const cli = await spawnCli(['--root', root, '--port', '0', '--lock-store', 'memory']);
    try {
      const page = await request(cli.base, 'GET', '/', { headers: HTML });
      expect(page.status).to.equal(200);
      expect(page.body).to.contain('<script src="/.dav/assets/app.js" defer></script>');
      const js = await request(cli.base, 'GET', '/.dav/assets/app.js');
      expect(js.status).to.equal(200);
      expect(js.body).to.contain('DavPage');
      const upload = await request(cli.base, 'GET', '/.dav/assets/upload.js');
      expect(upload.body).to.contain('XMLHttpRequest');
    } finally {
      await cli.stop();
      await rm(root, { recursive: true, force: true });
    }
  });
});
