/**
 * The query forms on resource URLs over HTTP, against the real server under --prefix and
 * --htpasswd/--users: `?thumb=SIZE` (sharp, disk cache in .davmeta, invalidation, bounds),
 * `?q=TEXT` (streamed search, per-user roots, hidden names, bounds), `?download=zip` (content,
 * UTF-8 names, selection, per-user roots, links out of the root, ZIP64 past 4 GiB with flat
 * memory) and `?download` on a file.
 */
import { expect } from 'chai';
import { execFileSync } from 'node:child_process';
import { link, mkdir, readFile, readdir, rm, stat, symlink, truncate, utimes, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { request as httpRequest } from 'node:http';
import { crc32 } from 'node:zlib';
import sharp from 'sharp';
import { makeTempDir, spawnCli, startTestServer, type Res, type TestServer } from '../helpers/server.js';
import { basic, writeHtpasswd } from '../helpers/auth.js';
import { thumbCache } from '../../src/browser/thumbs.js';

const ALICE = { Authorization: basic('alice', 'alice pw') };
const BOB = { Authorization: basic('bob', 'bob pw') };
const JSON_ACCEPT = { Accept: 'application/json' };

const jpeg = (w: number, h: number, color = '#3366cc'): Promise<Buffer> => sharp({ create: { width: w, height: h, channels: 3, background: color } }).jpeg().toBuffer();

describe('page views on resource URLs (HTTP)', function () {
  this.timeout(120_000);
  let dir: string;
  let srv: TestServer;
  const home = (...p: string[]): string => join(srv.root, 'home', 'alice', ...p);
  const get = (path: string, headers: Record<string, string> = {}): Promise<Res> => srv.req('GET', `/dav${path}`, { headers: { ...ALICE, ...headers } });
  const unzipList = (buf: Buffer): string[] => {
    const f = join(dir, `z-${Date.now()}.zip`);
    execFileSync('sh', ['-c', 'cat > "$0"', f], { input: buf });
    const out = execFileSync('unzip', ['-Z1', f], { encoding: 'utf8' });
    execFileSync('unzip', ['-tq', f]);
    return out.split('\n').filter(Boolean).sort();
  };

  before(async () => {
    dir = await makeTempDir('views');
    const htpasswd = await writeHtpasswd(dir, { alice: 'alice pw', bob: 'bob pw' });
    const users = join(dir, 'users.yaml');
    await writeFile(users, 'users:\n  alice: { root: /home/alice, access: read-write }\n  bob: { root: /shared, access: read-only }\n');
    // maxClientConnections 0: the thumbnail queue test sends 200 requests at once from one address,
    // which the per-address connection cap (64 by default) would otherwise answer with 429.
    srv = await startTestServer({ prefix: '/dav', lockStore: 'memory', htpasswd, users, maxClientConnections: 0 });
    await mkdir(home('photos', 'trip 2024'), { recursive: true });
    await mkdir(home('empty dir'), { recursive: true });
    await writeFile(home('photos', 'big.jpg'), await jpeg(1600, 1200));
    await writeFile(home('photos', 'trip 2024', 'Été à Nîmes.jpg'), await jpeg(800, 600, '#cc3333'));
    await writeFile(home('photos', 'broken.jpg'), 'not an image at all');
    await writeFile(home('notes.txt'), 'notes\n');
    await writeFile(home('École plan.md'), '# plan\n');
    await mkdir(join(srv.root, 'shared'), { recursive: true });
    await writeFile(join(srv.root, 'shared', 'pic.jpg'), await jpeg(300, 200));
    await writeFile(join(srv.root, 'top-secret.jpg'), await jpeg(100, 100));
    await writeFile(join(srv.root, 'top-secret-plan.txt'), 'nobody');
  });
  after(async () => {
    await srv.close();
    await rm(dir, { recursive: true, force: true });
  });

  describe('?thumb=SIZE', () => {
    it('answers a small WebP (JPEG without WebP in Accept), bounded to the size asked for, with an ETag', async () => {
      const r = await get('/photos/big.jpg?thumb=200', { Accept: 'image/avif,image/webp,*/*' });
      expect(r.status).to.equal(200);
      expect(r.headers['content-type']).to.equal('image/webp');
      expect(r.headers.vary).to.contain('Accept');
      expect(r.headers['x-content-type-options']).to.equal('nosniff');
      expect(Number(r.headers['content-length'])).to.equal(r.raw.length);
      const m = await sharp(r.raw).metadata();
      expect(m.format).to.equal('webp');
      expect([m.width, m.height]).to.deep.equal([256, 192]); // 200 rounds up to 256, aspect kept
      const j = await get('/photos/big.jpg?thumb=64', { Accept: 'image/jpeg' });
      expect(j.headers['content-type']).to.equal('image/jpeg');
      expect((await sharp(j.raw).metadata()).width).to.equal(64);
      expect(j.raw.length).to.be.lessThan(5000);
      const again = await get('/photos/big.jpg?thumb=200', { Accept: 'image/webp', 'If-None-Match': r.headers.etag! });
      expect(again.status).to.equal(304);
      expect(again.raw.length).to.equal(0);
    });

    it('caches on disk in the hidden metadata folder and makes a new one when the file changes', async () => {
      const thumbs = join(srv.root, '.davmeta', 'thumbs');
      const count = async (): Promise<number> => (await Promise.all((await readdir(thumbs)).map((d) => readdir(join(thumbs, d))))).flat().filter((f) => !f.endsWith('.tmp')).length;
      await writeFile(home('photos', 'cached.jpg'), await jpeg(400, 300, '#00aa00'));
      const before = await count().catch(() => 0);
      const a = await get('/photos/cached.jpg?thumb=128', { Accept: 'image/webp' });
      expect(await count()).to.equal(before + 1);
      const b = await get('/photos/cached.jpg?thumb=128', { Accept: 'image/webp' });
      expect(b.raw.equals(a.raw)).to.equal(true);
      expect(b.headers.etag).to.equal(a.headers.etag);
      expect(await count(), 'served from the cache').to.equal(before + 1);
      // The cache is never reachable as a file.
      expect((await get('/../.davmeta/thumbs/')).status).to.be.oneOf([400, 404]);
      expect((await srv.req('PROPFIND', '/dav/', { headers: { ...ALICE, Depth: '1' } })).body).to.not.contain('davmeta');
      // Changed content (a red image now): another ETag, another thumbnail.
      await writeFile(home('photos', 'cached.jpg'), await jpeg(400, 300, '#ff0000'));
      await utimes(home('photos', 'cached.jpg'), new Date(), new Date(Date.now() + 5000));
      const c = await get('/photos/cached.jpg?thumb=128', { Accept: 'image/webp', 'If-None-Match': a.headers.etag! });
      expect(c.status).to.equal(200);
      expect(c.headers.etag).to.not.equal(a.headers.etag);
      const { data } = await sharp(c.raw).raw().toBuffer({ resolveWithObject: true });
      expect(data[0]).to.be.greaterThan(200); // red
      expect(data[1]).to.be.lessThan(60);
    });

    it('prunes the cache, least recently used first, when it grows past its budget', async () => {
      const thumbs = join(srv.root, '.davmeta', 'thumbs');
      const saved = thumbCache.max;
      thumbCache.max = 4000;
      try {
        for (let i = 0; i < 8; i++) {
          await writeFile(home('photos', `p${i}.jpg`), await jpeg(300 + i, 200, `#${(i * 30).toString(16).padStart(2, '0')}4080`));
          expect((await get(`/photos/p${i}.jpg?thumb=512`, { Accept: 'image/webp' })).status).to.equal(200);
        }
        await new Promise((r) => setTimeout(r, 300));
        const sizes = await Promise.all(
          (await readdir(thumbs)).flatMap(async (d) => Promise.all((await readdir(join(thumbs, d))).map(async (f) => (await stat(join(thumbs, d, f))).size))),
        );
        const total = sizes.flat().reduce((a, b) => a + b, 0);
        expect(total).to.be.at.most(4000 + 2000); // pruned to 80% of the budget, plus what arrived since
      } finally {
        thumbCache.max = saved;
      }
    });

    it('refuses what is not an image, unreadable or outside the user (415/404), and folders (400)', async () => {
      expect((await get('/notes.txt?thumb=64')).status).to.equal(415);
      const broken = await get('/photos/broken.jpg?thumb=64');
      expect(broken.status).to.equal(415);
      expect(broken.headers['content-type']).to.equal('text/plain; charset=utf-8');
      expect((await get('/photos/?thumb=64')).status).to.equal(400);
      expect((await get('/photos/missing.jpg?thumb=64')).status).to.equal(404);
      // Alice's root is /home/alice: the top-level image has no URL for her.
      expect((await get('/../../top-secret.jpg?thumb=64')).status).to.be.oneOf([400, 404]);
      expect((await srv.req('GET', '/dav/top-secret.jpg?thumb=64', { headers: ALICE })).status).to.equal(404);
      // No credentials: no thumbnail.
      expect((await srv.req('GET', '/dav/photos/big.jpg?thumb=64')).status).to.equal(401);
      // A read-only user reads, so gets thumbnails of what they can read.
      const bob = await srv.req('GET', '/dav/pic.jpg?thumb=64', { headers: BOB });
      expect(bob.status).to.equal(200);
      // A file the server process cannot open (mode 000; root ignores modes, so only when not root).
      if (process.getuid?.() !== 0) {
        await writeFile(home('photos', 'closed.jpg'), await jpeg(50, 50));
        execFileSync('chmod', ['000', home('photos', 'closed.jpg')]);
        expect((await get('/photos/closed.jpg?thumb=64')).status).to.equal(403);
      }
    });

    it('bounds the work: at most a queue of jobs waits, the rest is told to retry (503 + Retry-After)', async () => {
      await mkdir(home('many'), { recursive: true });
      // A PNG decodes whole (no shrink-on-load as with JPEG): slow enough for a queue to form.
      // Hard links: 200 names (200 thumbnails to make), one file's worth of disk.
      const png = await sharp({ create: { width: 3000, height: 2000, channels: 3, background: '#808080' } }).png({ compressionLevel: 1 }).toBuffer();
      await writeFile(home('many', 'm0.png'), png);
      for (let i = 1; i < 200; i++) await link(home('many', 'm0.png'), home('many', `m${i}.png`));
      const all = await Promise.all(Array.from({ length: 200 }, (_, i) => get(`/many/m${i}.png?thumb=64`, { Accept: 'image/webp' })));
      const by = (s: number): Res[] => all.filter((r) => r.status === s);
      expect(by(200).length + by(503).length).to.equal(200);
      expect(by(503).length, 'some were refused at once').to.be.greaterThan(0);
      expect(by(200).length, 'the two running and the 64 queued were served').to.be.at.least(66);
      expect(by(503)[0]!.headers['retry-after']).to.equal('2');
      await rm(home('many'), { recursive: true });
    });
  });

  describe('?q=TEXT', () => {
    it('finds names below the folder (any case, accents folded) as JSON, streamed, with hrefs under the prefix', async () => {
      const r = await get('/?q=ETE%20nimes', JSON_ACCEPT);
      expect(r.status).to.equal(200);
      expect(r.headers['content-type']).to.equal('application/json; charset=utf-8');
      expect(r.headers['transfer-encoding']).to.equal('chunked');
      const j = JSON.parse(r.body);
      expect(j.results.map((x: { path: string }) => x.path)).to.deep.equal(['/photos/trip 2024/Été à Nîmes.jpg']);
      expect(j.results[0]).to.include({ name: 'Été à Nîmes.jpg', dir: false, kind: 'image', thumb: true, href: '/dav/photos/trip%202024/%C3%89t%C3%A9%20%C3%A0%20N%C3%AEmes.jpg', parent: '/dav/photos/trip%202024/' });
      expect(j).to.include({ count: 1, truncated: false });
      const folders = JSON.parse((await get('/?q=trip', JSON_ACCEPT)).body);
      expect(folders.results.map((x: { path: string; dir: boolean }) => [x.path, x.dir])).to.deep.equal([['/photos/trip 2024', true]]);
      // Below a subfolder only.
      expect(JSON.parse((await get('/photos/trip%202024/?q=plan', JSON_ACCEPT)).body).count).to.equal(0);
      expect(JSON.parse((await get('/?q=plan', JSON_ACCEPT)).body).results.map((x: { name: string }) => x.name)).to.deep.equal(['École plan.md']);
    });

    it('answers browsers with an escaped HTML page that works without JavaScript', async () => {
      await writeFile(home('<img src=x onerror=alert(1)> plan.txt'), 'x');
      const r = await get('/?q=plan', { Accept: 'text/html' });
      expect(r.status).to.equal(200);
      expect(r.headers['content-type']).to.equal('text/html; charset=utf-8');
      expect(r.headers['content-security-policy']).to.contain("script-src 'self'");
      expect(r.body).to.contain('<span class="label">&lt;img src=x onerror=alert(1)&gt; plan.txt</span>');
      expect(r.body).to.not.contain('<img src=x');
      expect(r.body).to.contain('value="plan"');
      expect(r.body).to.contain('2 matches for “plan”.');
      expect(r.body).to.contain('<h1>Search in Home</h1>');
      await rm(home('<img src=x onerror=alert(1)> plan.txt'));
    });

    it("keeps to the user's root and never shows hidden names", async () => {
      const alice = JSON.parse((await get('/?q=secret', JSON_ACCEPT)).body);
      expect(alice.count).to.equal(0);
      await writeFile(home('.~davtmp-secret'), 'x');
      expect(JSON.parse((await get('/?q=davtmp', JSON_ACCEPT)).body).count).to.equal(0);
      expect(JSON.parse((await get('/?q=davmeta', JSON_ACCEPT)).body).count).to.equal(0);
      expect(JSON.parse((await get('/?q=thumbs', JSON_ACCEPT)).body).count).to.equal(0);
      const bob = JSON.parse((await srv.req('GET', '/dav/?q=pic', { headers: { ...BOB, ...JSON_ACCEPT } })).body);
      expect(bob.results.map((x: { path: string }) => x.path)).to.deep.equal(['/pic.jpg']);
      await rm(home('.~davtmp-secret'));
    });

    it('stops at its result limit and says so', async () => {
      await mkdir(home('lots'), { recursive: true });
      for (let i = 0; i < 1100; i += 100) await Promise.all(Array.from({ length: 100 }, (_, j) => writeFile(home('lots', `hit ${i + j}.txt`), '')));
      const j = JSON.parse((await get('/lots/?q=hit', JSON_ACCEPT)).body);
      expect(j.count).to.equal(1000);
      expect(j.results).to.have.length(1000);
      expect(j.truncated).to.equal('results');
      const html = await get('/lots/?q=hit', { Accept: 'text/html' });
      expect(html.body).to.contain('1000 matches for “hit” (stopped after 1000 matches; narrow the search).');
      await rm(home('lots'), { recursive: true });
    });
  });

  describe('?download', () => {
    it('zips a folder: every file and folder, UTF-8 names, attachment with the folder name', async () => {
      const r = await get('/photos/?download=zip');
      expect(r.status).to.equal(200);
      expect(r.headers['content-type']).to.equal('application/zip');
      expect(r.headers['content-disposition']).to.equal(`attachment; filename="photos.zip"; filename*=UTF-8''photos.zip`);
      const names = unzipList(r.raw);
      expect(names).to.include.members(['big.jpg', 'broken.jpg', 'trip 2024/', 'trip 2024/Été à Nîmes.jpg', 'cached.jpg']);
      // The UTF-8 flag is set (general purpose bit 11) so unzip shows the name as stored.
      expect(r.raw.includes(Buffer.from('Été à Nîmes.jpg', 'utf8'))).to.equal(true);
    });

    it('zips a selection (&f=NAME, repeatable) and refuses names that are not members', async () => {
      const r = await get(`/?download=zip&f=notes.txt&f=${encodeURIComponent('École plan.md')}&f=empty%20dir`);
      expect(r.status).to.equal(200);
      expect(unzipList(r.raw)).to.deep.equal(['empty dir/', 'notes.txt', 'École plan.md'].sort());
      expect(r.headers['content-disposition']).to.contain('filename="files.zip"');
      expect((await get('/?download=zip&f=nope.txt')).status).to.equal(404);
      expect((await get('/?download=zip&f=..')).status).to.equal(400);
      expect((await get('/?download=zip&f=.davmeta')).status).to.equal(404);
      const one = await get('/?download=zip&f=photos');
      expect(one.headers['content-disposition']).to.contain('filename="photos.zip"');
    });

    it("holds only what the user could GET: their root, no hidden names, no links out of the root", async () => {
      await symlink(join(srv.root, 'top-secret-plan.txt'), home('link-out.txt'));
      await writeFile(home('.~davtmp-upload'), 'partial');
      const r = await get('/?download=zip');
      const names = unzipList(r.raw);
      expect(names).to.not.include('link-out.txt');
      expect(names.some((n) => n.includes('davtmp') || n.includes('davmeta') || n.includes('secret'))).to.equal(false);
      expect(names).to.include('notes.txt');
      await rm(home('link-out.txt'));
      await rm(home('.~davtmp-upload'));
      // A read-only user downloads too.
      const bob = await srv.req('GET', '/dav/?download=zip', { headers: BOB });
      expect(bob.status).to.equal(200);
      expect(unzipList(bob.raw)).to.deep.equal(['pic.jpg']);
      // HEAD: the headers, nothing read.
      const head = await srv.req('HEAD', '/dav/?download=zip', { headers: ALICE });
      expect(head.status).to.equal(200);
      expect(head.raw.length).to.equal(0);
    });

    it('sends a single file as an attachment on ?download, with its UTF-8 name', async () => {
      const r = await get(`/${encodeURIComponent('École plan.md')}?download`);
      expect(r.status).to.equal(200);
      expect(r.body).to.equal('# plan\n');
      expect(r.headers['content-disposition']).to.equal(`attachment; filename="_cole plan.md"; filename*=UTF-8''%C3%89cole%20plan.md`);
      expect((await get('/notes.txt')).headers['content-disposition']).to.equal(undefined);
    });
  });

  describe('ZIP64 (the compiled server in its own process)', () => {
    it('streams a file past 4 GiB as ZIP64 with memory flat', async function () {
      this.timeout(300_000);
      const size = 4 * 1024 ** 3 + 1024 ** 2 + 7; // sparse: no disk used
      const root = await makeTempDir('zip64');
      await mkdir(join(root, 'huge'), { recursive: true });
      await writeFile(join(root, 'huge', 'small.txt'), 'small');
      await writeFile(join(root, 'huge', 'zeros.bin'), '');
      await truncate(join(root, 'huge', 'zeros.bin'), size);
      await mkdir(join(root, 'tiny'));
      await writeFile(join(root, 'tiny', 'a.txt'), 'a');
      // The server in its own process: its memory is measured alone, and it has a core to itself.
      const cli = await spawnCli(['--root', root, '--port', '0', '--lock-store', 'memory']);
      const rss = async (): Promise<number> => Number(/VmRSS:\s+(\d+)/.exec(await readFile(`/proc/${cli.proc.pid}/status`, 'utf8'))![1]) * 1024;
      const download = (path: string, onData: (c: Buffer) => void): Promise<void> =>
        new Promise<void>((resolve, reject) => {
          const req = httpRequest({ host: '127.0.0.1', port: new URL(cli.base).port, path }, (res) => {
            expect(res.statusCode).to.equal(200);
            res.on('data', onData);
            res.on('end', resolve);
            res.on('error', reject);
          });
          req.on('error', reject);
          req.end();
        });
      // What does not grow with the file is paid before the baseline: one small zip first (the
      // fs worker starts, the zip code is compiled). The server idles below those since it
      // starts them lazily, and a baseline taken at start counted them as growth.
      await download('/tiny/?download=zip', () => undefined);
      const rss0 = await rss();
      let peak = rss0;
      const sampler = setInterval(() => void rss().then((v) => (peak = Math.max(peak, v)), () => undefined), 200);
      let total = 0;
      let tail = Buffer.alloc(0);
      try {
        await download('/huge/?download=zip', (c) => {
          total += c.length;
          tail = Buffer.concat([tail, c]).subarray(-4096);
        });
      } finally {
        clearInterval(sampler);
        await cli.stop();
        await rm(root, { recursive: true, force: true });
      }
      expect(total).to.be.greaterThan(size);
      expect(peak - rss0, 'server memory stays flat').to.be.lessThan(64 * 1024 * 1024);
      // ZIP64 end of central directory locator and record are there; the big entry's central
      // record carries its real size and CRC in a ZIP64 extra field.
      expect(tail.indexOf(Buffer.from([0x50, 0x4b, 0x06, 0x07]))).to.be.greaterThan(-1);
      expect(tail.indexOf(Buffer.from([0x50, 0x4b, 0x06, 0x06]))).to.be.greaterThan(-1);
      const name = Buffer.from('zeros.bin');
      const at = tail.indexOf(name);
      const cd = at - 46;
      expect(tail.readUInt32LE(cd)).to.equal(0x02014b50);
      expect(tail.readUInt32LE(cd + 24), 'uncompressed size deferred to ZIP64').to.equal(0xffffffff);
      const extra = cd + 46 + tail.readUInt16LE(cd + 28);
      let p = extra;
      let found = -1;
      while (p < extra + tail.readUInt16LE(cd + 30)) {
        if (tail.readUInt16LE(p) === 0x0001) found = p;
        p += 4 + tail.readUInt16LE(p + 2);
      }
      expect(found).to.be.greaterThan(-1);
      expect(Number(tail.readBigUInt64LE(found + 4))).to.equal(size);
      let crc = 0;
      const zero = Buffer.alloc(64 * 1024 * 1024);
      for (let left = size; left > 0; left -= zero.length) crc = crc32(zero.subarray(0, Math.min(zero.length, left)), crc);
      expect(tail.readUInt32LE(cd + 16)).to.equal(crc >>> 0);
    });
  });
});
