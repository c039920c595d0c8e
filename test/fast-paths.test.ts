/**
 * The performance shortcuts must answer exactly what the general paths answer: small GET
 * bodies read in one call, listings stat'ed in batches on the stat worker, PROPFIND skipping
 * per-entry lock lookups and memoising dates and types, COPY copying only existing dead
 * properties. Speed itself is measured by `npm run bench`, never asserted here.
 */
import { expect } from 'chai';
import { mkdir, rm, symlink, utimes, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { lockBody, makeTempDir, spawnCli, startTestServer, type TestServer } from './helpers/server.js';

const ALLPROP = '<?xml version="1.0" encoding="utf-8"?><D:propfind xmlns:D="DAV:"><D:allprop/></D:propfind>';

/** <D:response> elements of a multistatus, keyed by href. */
function responses(xml: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const m of xml.matchAll(/<D:response><D:href>([^<]*)<\/D:href>(.*?)<\/D:response>/gs)) {
    expect(out.has(m[1]!), `duplicate ${m[1]}`).to.equal(false);
    out.set(m[1]!, m[2]!);
  }
  return out;
}
const prop = (entry: string, name: string): string | undefined => new RegExp(`<D:${name}>(.*?)</D:${name}>`, 's').exec(entry)?.[1];

describe('fast paths', () => {
  let s: TestServer;
  beforeEach(async () => {
    s = await startTestServer();
  });
  afterEach(async () => {
    await s.close();
  });

  describe('GET of small files (one read into an exact-size buffer)', () => {
    it('returns the exact bytes, length and the ETag PROPFIND reports', async () => {
      const body = Buffer.from(Array.from({ length: 4096 }, (_, i) => i % 251));
      await writeFile(join(s.root, 'small.bin'), body);
      const r = await s.req('GET', '/small.bin');
      expect(r.status).to.equal(200);
      expect(r.headers['content-length']).to.equal('4096');
      expect(r.headers['content-type']).to.equal('application/octet-stream');
      expect(r.raw.equals(body)).to.equal(true);
      const pf = await s.req('PROPFIND', '/small.bin', { headers: { Depth: '0' }, body: ALLPROP });
      expect(prop(pf.body, 'getetag')).to.equal(r.headers.etag);
    });

    it('serves ranges, HEAD and empty files from the small path', async () => {
      await writeFile(join(s.root, 'a.txt'), '0123456789');
      await writeFile(join(s.root, 'empty.txt'), '');
      const part = await s.req('GET', '/a.txt', { headers: { Range: 'bytes=2-5' } });
      expect(part.status).to.equal(206);
      expect(part.body).to.equal('2345');
      expect(part.headers['content-range']).to.equal('bytes 2-5/10');
      expect(part.headers['content-length']).to.equal('4');
      const tail = await s.req('GET', '/a.txt', { headers: { Range: 'bytes=-3' } });
      expect(tail.body).to.equal('789');
      const head = await s.req('HEAD', '/a.txt');
      expect(head.status).to.equal(200);
      expect(head.headers['content-length']).to.equal('10');
      expect(head.body).to.equal('');
      const empty = await s.req('GET', '/empty.txt');
      expect(empty.status).to.equal(200);
      expect(empty.headers['content-length']).to.equal('0');
      expect(empty.body).to.equal('');
    });

    it('answers 404 for missing names, 304 on a matching ETag and a listing for collections', async () => {
      await mkdir(join(s.root, 'dir'));
      await writeFile(join(s.root, 'dir', 'x.txt'), 'x');
      expect((await s.req('GET', '/nope.txt')).status).to.equal(404);
      expect((await s.req('GET', '/dir/x.txt/child')).status).to.equal(404);
      const x = await s.req('GET', '/dir/x.txt');
      const again = await s.req('GET', '/dir/x.txt', { headers: { 'If-None-Match': x.headers.etag! } });
      expect(again.status).to.equal(304);
      expect(again.body).to.equal('');
      const listing = await s.req('GET', '/dir/');
      expect(listing.status).to.equal(200);
      expect(listing.body).to.contain('x.txt');
      // replaced content is read afresh, with a new ETag
      await writeFile(join(s.root, 'dir', 'x.txt'), 'changed');
      const y = await s.req('GET', '/dir/x.txt');
      expect(y.body).to.equal('changed');
      expect(y.headers.etag).to.not.equal(x.headers.etag);
    });

    it('does not hang on a FIFO in the tree', async () => {
      const { spawnSync } = await import('node:child_process');
      expect(spawnSync('mkfifo', [join(s.root, 'pipe')]).status).to.equal(0);
      await writeFile(join(s.root, 'after.txt'), 'after');
      const r = await s.req('GET', '/pipe');
      expect(r.status).to.equal(403); // not a regular file: refused at once, never opened blocking
      expect((await s.req('GET', '/after.txt')).body).to.equal('after');
      const pf = await s.req('PROPFIND', '/', { headers: { Depth: '1' }, body: ALLPROP });
      expect(pf.status).to.equal(207);
      expect(pf.body).to.contain('<D:href>/after.txt</D:href>');
    });

    it('streams files just above the small-body limit intact', async () => {
      const big = Buffer.alloc(64 * 1024 + 1, 'z');
      big[big.length - 1] = 0x21;
      await writeFile(join(s.root, 'big.bin'), big);
      const r = await s.req('GET', '/big.bin');
      expect(r.status).to.equal(200);
      expect(r.raw.equals(big)).to.equal(true);
    });
  });

  describe('GET of large files (reused read buffers)', () => {
    const pattern = (n: number, seed: number): Buffer => {
      const b = Buffer.allocUnsafe(n);
      for (let i = 0; i < n; i++) b[i] = (i * 31 + seed) & 0xff;
      return b;
    };

    it('sends whole files and ranges intact, several at once', async () => {
      const a = pattern(3 * 1024 * 1024 + 5, 1);
      const b = pattern(2 * 1024 * 1024 + 777, 2);
      await writeFile(join(s.root, 'a.bin'), a);
      await writeFile(join(s.root, 'b.bin'), b);
      const [ra, rb, ra2] = await Promise.all([s.req('GET', '/a.bin'), s.req('GET', '/b.bin'), s.req('GET', '/a.bin')]);
      for (const [r, want] of [[ra, a], [rb, b], [ra2, a]] as const) {
        expect(r.status).to.equal(200);
        expect(r.headers['content-length']).to.equal(String(want.length));
        expect(r.raw.equals(want)).to.equal(true);
      }
      const part = await s.req('GET', '/a.bin', { headers: { Range: 'bytes=1000000-2100000' } });
      expect(part.status).to.equal(206);
      expect(part.headers['content-length']).to.equal('1100001');
      expect(part.raw.equals(a.subarray(1000000, 2100001))).to.equal(true);
    });

    it('survives clients that hang up mid-body, and serves the next request intact', async () => {
      const a = pattern(8 * 1024 * 1024, 3);
      await writeFile(join(s.root, 'a.bin'), a);
      const { request: httpRequest } = await import('node:http');
      const url = new URL(s.base);
      for (let i = 0; i < 3; i++) {
        await new Promise<void>((resolve) => {
          const req = httpRequest({ host: url.hostname, port: url.port, path: '/a.bin', agent: false }, (res) => {
            res.once('data', () => {
              res.destroy();
              resolve();
            });
          });
          req.on('error', () => resolve());
          req.end();
        });
      }
      const r = await s.req('GET', '/a.bin');
      expect(r.status).to.equal(200);
      expect(r.raw.equals(a)).to.equal(true);
    });
  });

  describe('PROPFIND over a listing stat-ed in batches', () => {
    it('lists every member once with its own size, type and dates, across batch boundaries', async () => {
      const dir = join(s.root, 'big');
      await mkdir(dir);
      const n = 600; // over two 256-name batches
      for (let i = 0; i < n; i++) await writeFile(join(dir, `f${String(i).padStart(4, '0')}.${i % 2 ? 'txt' : 'JSON'}`), 'x'.repeat(i));
      await mkdir(join(dir, 'sub'));
      await symlink(join(dir, 'missing-target'), join(dir, 'dangling'));
      // two members with mtimes in different seconds (the date formatting is memoised per second)
      await utimes(join(dir, 'f0001.txt'), new Date('2001-02-03T04:05:06Z'), new Date('2001-02-03T04:05:06Z'));
      await utimes(join(dir, 'f0002.JSON'), new Date('2011-12-13T14:15:16Z'), new Date('2011-12-13T14:15:16.999Z'));

      const r = await s.req('PROPFIND', '/big/', { headers: { Depth: '1' }, body: ALLPROP });
      expect(r.status).to.equal(207);
      const all = responses(r.body);
      expect(all.size).to.equal(1 + n + 1);
      expect(all.has('/big/dangling')).to.equal(false);
      const sub = all.get('/big/sub/')!;
      expect(sub).to.contain('<D:collection/>');
      expect(prop(sub, 'getcontentlength')).to.equal(undefined);
      for (let i = 0; i < n; i++) {
        const name = `f${String(i).padStart(4, '0')}.${i % 2 ? 'txt' : 'JSON'}`;
        const e = all.get(`/big/${name}`);
        expect(e, name).to.be.a('string');
        expect(prop(e!, 'getcontentlength'), name).to.equal(String(i));
        expect(prop(e!, 'displayname'), name).to.equal(name);
        expect(prop(e!, 'getcontenttype'), name).to.equal(i % 2 ? 'text/plain; charset=utf-8' : 'application/json; charset=utf-8');
        expect(e!, name).to.contain('<D:lockdiscovery/>');
      }
      expect(prop(all.get('/big/f0001.txt')!, 'getlastmodified')).to.equal('Sat, 03 Feb 2001 04:05:06 GMT');
      expect(prop(all.get('/big/f0002.JSON')!, 'getlastmodified')).to.equal('Tue, 13 Dec 2011 14:15:16 GMT');
      expect(prop(all.get('/big/f0003.txt')!, 'getlastmodified')).to.not.equal('Tue, 13 Dec 2011 14:15:16 GMT');
      expect(prop(all.get('/big/f0003.txt')!, 'creationdate')).to.match(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
      // the batched stat gives the same validators as a single stat
      const g = await s.req('HEAD', '/big/f0123.txt');
      expect(prop(all.get('/big/f0123.txt')!, 'getetag')).to.equal(g.headers.etag);
    });

    it('reports the active lock of one member among many, and only there', async () => {
      const dir = join(s.root, 'locked');
      await mkdir(dir);
      for (let i = 0; i < 100; i++) await writeFile(join(dir, `f${i}.txt`), 'x');
      const lock = await s.req('LOCK', '/locked/f42.txt', { headers: { 'Content-Type': 'application/xml' }, body: lockBody() });
      expect(lock.status).to.equal(200);
      const token = lock.headers['lock-token']!.slice(1, -1);

      const r = await s.req('PROPFIND', '/locked/', { headers: { Depth: '1' }, body: ALLPROP });
      const all = responses(r.body);
      expect(all.get('/locked/f42.txt')).to.contain(`<D:locktoken><D:href>${token}</D:href></D:locktoken>`);
      const withLocks = [...all].filter(([, e]) => e.includes('<D:activelock>')).map(([h]) => h);
      expect(withLocks).to.deep.equal(['/locked/f42.txt']);

      // a depth-infinity lock on the collection shows on every member
      await s.req('UNLOCK', '/locked/f42.txt', { headers: { 'Lock-Token': `<${token}>` } });
      const deep = await s.req('LOCK', '/locked/', { headers: { 'Content-Type': 'application/xml', Depth: 'infinity' }, body: lockBody() });
      expect(deep.status).to.equal(200);
      const r2 = responses((await s.req('PROPFIND', '/locked/', { headers: { Depth: '1' }, body: ALLPROP })).body);
      expect([...r2.values()].every((e) => e.includes('<D:activelock>'))).to.equal(true);
      expect(r2.size).to.equal(101);
    });
  });

  describe('PUT of small bodies (collected, then written and renamed in one step)', () => {
    it('creates, replaces and reports the ETag GET sees; no temp files remain', async () => {
      const body = Buffer.alloc(4096, 'q');
      const c = await s.req('PUT', '/p.bin', { body });
      expect(c.status).to.equal(201);
      const g = await s.req('GET', '/p.bin');
      expect(g.raw.equals(body)).to.equal(true);
      expect(c.headers.etag).to.equal(g.headers.etag);
      const r = await s.req('PUT', '/p.bin', { body: 'second' });
      expect(r.status).to.equal(204);
      const g2 = await s.req('GET', '/p.bin');
      expect(g2.body).to.equal('second');
      expect(r.headers.etag).to.equal(g2.headers.etag);
      const e = await s.req('PUT', '/empty.bin', { body: '' });
      expect(e.status).to.equal(201);
      expect((await s.req('GET', '/empty.bin')).headers['content-length']).to.equal('0');
      const { readdir } = await import('node:fs/promises');
      expect((await readdir(s.root)).filter((n) => n.startsWith('.~davtmp'))).to.deep.equal([]);
    });

    it('answers 405 on a collection and 409 without a parent, leaving nothing behind', async () => {
      await mkdir(join(s.root, 'coll'));
      expect((await s.req('PUT', '/coll', { body: 'x' })).status).to.equal(405);
      expect((await s.req('PUT', '/missing/x.txt', { body: 'x' })).status).to.equal(409);
      const { readdir } = await import('node:fs/promises');
      expect(await readdir(join(s.root, 'coll'))).to.deep.equal([]);
      expect((await readdir(s.root)).filter((n) => n.startsWith('.~davtmp'))).to.deep.equal([]);
    });

    it('keeps the old content when the client hangs up before the whole body arrived', async () => {
      await writeFile(join(s.root, 'keep.txt'), 'old content');
      const { connect } = await import('node:net');
      const url = new URL(s.base);
      await new Promise<void>((resolve) => {
        const sock = connect(Number(url.port), url.hostname, () => {
          sock.write('PUT /keep.txt HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\nonly part of it');
          setTimeout(() => sock.destroy(), 50);
        });
        sock.on('close', () => resolve());
        sock.on('error', () => resolve());
      });
      await new Promise((r) => setTimeout(r, 50));
      expect((await s.req('GET', '/keep.txt')).body).to.equal('old content');
      const { readdir } = await import('node:fs/promises');
      expect((await readdir(s.root)).filter((n) => n.startsWith('.~davtmp'))).to.deep.equal([]);
    });
  });

  describe('COPY of a tree', () => {
    const setProp = (v: string): string =>
      `<?xml version="1.0" encoding="utf-8"?><D:propertyupdate xmlns:D="DAV:" xmlns:Z="urn:z"><D:set><D:prop><Z:p>${v}</Z:p></D:prop></D:set></D:propertyupdate>`;
    const getProp = async (path: string): Promise<string | undefined> => {
      const r = await s.req('PROPFIND', path, {
        headers: { Depth: '0' },
        body: '<?xml version="1.0" encoding="utf-8"?><D:propfind xmlns:D="DAV:" xmlns:Z="urn:z"><D:prop><Z:p/></D:prop></D:propfind>',
      });
      expect(r.status).to.equal(207);
      return /<x:p xmlns:x="urn:z">([^<]*)<\/x:p>/.exec(r.body)?.[1];
    };

    it('copies the properties members have, and leaves none where they had none', async () => {
      await mkdir(join(s.root, 'src', 'd'), { recursive: true });
      for (let i = 0; i < 50; i++) await writeFile(join(s.root, 'src', `f${i}.txt`), `f${i}`);
      await writeFile(join(s.root, 'src', 'd', 'inner.txt'), 'inner');
      expect((await s.req('PROPPATCH', '/src/f7.txt', { body: setProp('seven') })).status).to.equal(207);
      expect((await s.req('PROPPATCH', '/src/d/', { body: setProp('dir') })).status).to.equal(207);
      expect((await s.req('PROPPATCH', '/src/d/inner.txt', { body: setProp('inner') })).status).to.equal(207);

      // stale properties at the destination, left by a tree removed outside WebDAV
      await mkdir(join(s.root, 'dst'));
      await writeFile(join(s.root, 'dst', 'f8.txt'), 'old');
      expect((await s.req('PROPPATCH', '/dst/f8.txt', { body: setProp('stale') })).status).to.equal(207);
      await rm(join(s.root, 'dst'), { recursive: true });

      const c = await s.req('COPY', '/src/', { headers: { Destination: `${s.base}/dst/` } });
      expect(c.status).to.equal(201);
      expect(await getProp('/dst/f7.txt')).to.equal('seven');
      expect(await getProp('/dst/d/')).to.equal('dir');
      expect(await getProp('/dst/d/inner.txt')).to.equal('inner');
      expect(await getProp('/dst/f8.txt')).to.equal(undefined);
      expect(await getProp('/dst/f9.txt')).to.equal(undefined);
      expect((await s.req('GET', '/dst/f49.txt')).body).to.equal('f49');
      expect(await getProp('/src/f7.txt')).to.equal('seven');
    });
  });
});

describe('PUT of a large body (its socket buffers freed as it streams)', () => {
  it('stores 256 MiB intact while the server grows by far less than V8 would let garbage buffers pile up', async function () {
    if (process.platform !== 'linux') this.skip();
    this.timeout(180_000);
    const { request } = await import('node:http');
    const { createHash } = await import('node:crypto');
    const { readFile } = await import('node:fs/promises');
    const root = await makeTempDir('put-large');
    const srv = await spawnCli(['--host', '127.0.0.1', '--port', '0', '--root', root]);
    const status = async (): Promise<Record<string, number>> =>
      Object.fromEntries([...(await readFile(`/proc/${srv.proc.pid}/status`, 'utf8')).matchAll(/^(Vm\w+):\s+(\d+) kB/gm)].map((m) => [m[1]!, Number(m[2]) / 1024]));
    const chunk = Buffer.alloc(1 << 20);
    for (let i = 0; i < chunk.length; i += 4) chunk.writeUInt32LE((i * 2654435761) >>> 0, i);
    const put = (name: string, mib: number): Promise<number> =>
      new Promise<number>((resolve, reject) => {
        const req = request(`${srv.base}/${name}`, { method: 'PUT', headers: { 'content-length': String(mib * chunk.length) } }, (res) => {
          res.resume();
          res.on('end', () => resolve(res.statusCode!));
        });
        req.on('error', reject);
        let sent = 0;
        const more = (): void => {
          while (sent < mib) {
            sent++;
            if (!req.write(chunk)) return void req.once('drain', more);
          }
          req.end();
        };
        more();
      });
    try {
      // the first streamed upload starts the hashing thread: measured after it
      expect(await put('warm.bin', 2)).to.equal(201);
      await new Promise((r) => setTimeout(r, 300));
      const before = (await status()).VmRSS!;
      let peak = before;
      const sample = setInterval(() => void status().then((st) => (peak = Math.max(peak, st.VmRSS!)), () => undefined), 10);
      const n = 256;
      expect(await put('big.bin', n)).to.equal(201);
      clearInterval(sample);
      const want = createHash('sha1');
      for (let i = 0; i < n; i++) want.update(chunk);
      const got = await new Promise<string>((resolve, reject) => {
        const body = '<?xml version="1.0"?><D:propfind xmlns:D="DAV:" xmlns:oc="http://owncloud.org/ns"><D:prop><oc:checksums/><D:getcontentlength/></D:prop></D:propfind>';
        const req = request(`${srv.base}/big.bin`, { method: 'PROPFIND', headers: { depth: '0', 'content-type': 'application/xml' } }, (res) => {
          let t = '';
          res.on('data', (d: Buffer) => (t += d.toString()));
          res.on('end', () => resolve(t));
        });
        req.on('error', reject);
        req.end(body);
      });
      expect(got).to.contain(`<D:getcontentlength>${n * chunk.length}</D:getcontentlength>`);
      expect(got.toLowerCase()).to.contain(`sha1:${want.digest('hex')}`);
      // Without the minor GCs every few MiB the socket buffers pile up to V8's external-memory
      // limit (~64 MiB) before anything frees them (+35 MiB and more, measured).
      expect(peak - before, 'MiB the server grew during the upload').to.be.below(24);
    } finally {
      await srv.stop();
      await rm(root, { recursive: true, force: true });
    }
  });
});

describe('fs worker lifetime', () => {
  it('a process that served through the fs worker exits once its server is closed', async function () {
    this.timeout(30_000);
    const { spawn } = await import('node:child_process');
    const { repoRoot } = await import('./helpers/server.js');
    // A child that starts the server, has the worker stat a listing and read a small file,
    // closes the server and then has nothing left to do: it must exit by itself.
    const script = `
      import { startTestServer } from ${JSON.stringify(join(repoRoot, 'test', 'helpers', 'server.ts'))};
      import { writeFile } from 'node:fs/promises';
      import { join } from 'node:path';
      const s = await startTestServer();
      for (let i = 0; i < 40; i++) await writeFile(join(s.root, 'f' + i + '.txt'), 'x');
      const a = await s.req('GET', '/f1.txt');
      const b = await s.req('PROPFIND', '/', { headers: { Depth: '1' } });
      await s.close();
      console.log('served', a.status, b.status);
    `;
    const { mkdtemp } = await import('node:fs/promises');
    const { tmpdir } = await import('node:os');
    const dir = await mkdtemp(join(tmpdir(), 'worker-exit-'));
    const file = join(dir, 'child.mts');
    await writeFile(file, script);
    const child = spawn(process.execPath, ['--import', 'tsx', file], { cwd: repoRoot, stdio: ['ignore', 'pipe', 'pipe'] });
    child.once('exit', () => void rm(dir, { recursive: true, force: true }));
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (out += d));
    const code = await new Promise<number | string>((resolve) => {
      const t = setTimeout(() => {
        child.kill('SIGKILL');
        resolve('still running 15 s after its server closed');
      }, 15_000);
      child.once('exit', (c) => {
        clearTimeout(t);
        resolve(c ?? 'killed');
      });
    });
    expect(code, out).to.equal(0);
    expect(out).to.include('served 200 207');
  });
});
