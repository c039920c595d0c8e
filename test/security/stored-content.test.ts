/**
 * Stored files cannot script the server's origin: every stored file carries
 * `X-Content-Type-Options: nosniff`, and every type a browser may render as an active document
 * (HTML, XHTML, SVG, the XML family with RSS and Atom, and anything unknown) carries
 * `Content-Security-Policy: sandbox`; passive types keep their viewers.
 */
import { expect } from 'chai';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { guardedServer } from './helpers.js';

const ACTIVE = ['page.html', 'page.htm', 'page.xhtml', 'pic.svg', 'data.xml', 'feed.rss', 'feed.atom', 'style.xsl', 'unknown.zzz', 'no-extension', 'app.wasm', 'doc.mht', 'script.xml.bin'];
const PASSIVE = ['notes.txt', 'photo.png', 'photo.jpg', 'paper.pdf', 'data.json', 'song.mp3', 'movie.mp4', 'style.css', 'font.woff2'];

describe('security: stored active content', function () {
  this.timeout(30_000);
  const g = guardedServer('stored', async (f) => {
    for (const n of [...ACTIVE, ...PASSIVE]) await writeFile(join(f.root, n), '<script>alert(document.cookie)</script>');
  });

  it('sends nosniff with every stored file (GET, HEAD and ranges)', async () => {
    for (const n of [...ACTIVE, ...PASSIVE]) {
      for (const [method, headers] of [['GET', {}], ['HEAD', {}], ['GET', { Range: 'bytes=0-3' }]] as const) {
        const r = await g.srv.req(method, `/${n}`, { headers });
        expect(r.status, `${method} ${n}`).to.be.oneOf([200, 206]);
        expect(r.headers['x-content-type-options'], `${method} ${n}`).to.equal('nosniff');
      }
    }
  });

  it('sandboxes every type a browser may run as a document, unknown types included', async () => {
    for (const n of ACTIVE) {
      for (const method of ['GET', 'HEAD']) {
        const r = await g.srv.req(method, `/${n}`);
        expect(r.headers['content-security-policy'], `${method} ${n} (${r.headers['content-type']})`).to.equal('sandbox');
      }
    }
  });

  it('leaves passive types to their viewers', async () => {
    for (const n of PASSIVE) {
      const r = await g.srv.req('GET', `/${n}`);
      expect(r.headers['content-security-policy'], `${n} (${r.headers['content-type']})`).to.equal(undefined);
      expect(r.headers['x-content-type-options']).to.equal('nosniff');
    }
  });
});
