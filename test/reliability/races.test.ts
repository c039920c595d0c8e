/**
 * Writes that race each other, and the answers they give: COPY against a MOVE or DELETE of its
 * source, PUT against a MOVE of its parent, concurrent PUTs and their ETags, a second instance
 * starting while an upload is in flight, readers of a COPY destination, symlink loops and named
 * pipes inside the tree, If-header tags spelled differently from the stored name.
 */
import { expect } from 'chai';
import { promises as fsp } from 'node:fs';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { request as httpRequest } from 'node:http';
import { ensureBuilt, eventually, lockOk, mkcolOk, multistatus, putOk, stagedFiles, tempFiles } from '../helpers/dav.js';
import { request, spawnCli, startTestServer, type CliServer, type Res, type TestServer } from '../helpers/server.js';
import { run, requireProgram } from '../helpers/run.js';

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Every file below `dir` on disk, relative, sorted (the metadata folder left out). */
async function filesBelow(dir: string): Promise<string[]> {
  const names = (await fsp.readdir(dir, { recursive: true, withFileTypes: true })) as import('node:fs').Dirent[];
  return names
    .filter((d) => d.isFile())
    .map((d) => join(d.parentPath ?? (d as unknown as { path: string }).path, d.name).slice(dir.length + 1))
    .filter((n) => !n.startsWith('.davmeta'))
    .sort();
}

/** A request that fails the test if it takes longer than `ms`. */
function timed(s: TestServer, method: string, path: string, opts: { headers?: Record<string, string>; body?: string } = {}, ms = 20_000): Promise<Res> {
  return Promise.race([s.req(method, path, opts), sleep(ms).then(() => Promise.reject(new Error(`${method} ${path} did not answer within ${ms} ms`)))]);
}

describe('reliability: races and hostile trees', function () {
  this.timeout(60_000);
  let s: TestServer;
  beforeEach(async () => {
    s = await startTestServer();
  });
  afterEach(() => s.close());

  async function makeTree(dir: string, files: number, bytes: number): Promise<void> {
    await mkcolOk(s, dir);
    await fsp.mkdir(join(s.root, dir, 'sub'));
    for (let i = 0; i < files; i++) await fsp.writeFile(join(s.root, dir, i % 2 ? 'sub' : '', `f${i}`), randomBytes(bytes));
  }

  for (const rival of ['MOVE', 'DELETE'] as const) {
    it(`COPY of a collection whose source is hit by a ${rival} meanwhile never answers 201 with members missing`, async () => {
      const N = 600;
      await makeTree('/src', N, 8192);
      const expected = await filesBelow(join(s.root, 'src'));
      const copying = s.req('COPY', '/src', { headers: { Destination: '/dst' } });
      // Wait until the copy is under way (its destination exists, on disk or in the staging area).
      expect(await eventually(async () => (await stagedFiles(s.root)).length > 0 || (await fsp.access(join(s.root, 'dst')).then(() => true, () => false)), 5000)).to.equal(true);
      const rivalRes = await s.req(rival, '/src', rival === 'MOVE' ? { headers: { Destination: '/moved' } } : {});
      const copied = await copying;
      expect([201, 204]).to.include(rivalRes.status);
      if (copied.status === 207) {
        expect(multistatus(copied).size, 'a 207 names what is missing').to.be.greaterThan(0);
        return;
      }
      expect(copied.status, copied.body).to.equal(201);
      expect(await filesBelow(join(s.root, 'dst')), 'a 201 means every member was copied').to.deep.equal(expected);
    });
  }

  it('COPYs of one source run side by side (readers), both complete', async () => {
    await makeTree('/src', 100, 4096);
    const expected = await filesBelow(join(s.root, 'src'));
    const [a, b] = await Promise.all([s.req('COPY', '/src', { headers: { Destination: '/a' } }), s.req('COPY', '/src', { headers: { Destination: '/b' } })]);
    expect([a.status, b.status]).to.deep.equal([201, 201]);
    expect(await filesBelow(join(s.root, 'a'))).to.deep.equal(expected);
    expect(await filesBelow(join(s.root, 'b'))).to.deep.equal(expected);
  });

  it('a PUT racing a MOVE of its parent answers 409 or 201 and leaves no temp file anywhere', async () => {
    await mkcolOk(s, '/p');
    const url = new URL(s.base);
    const body = randomBytes(512 * 1024);
    const status = new Promise<number>((resolve, reject) => {
      const req = httpRequest({ host: url.hostname, port: url.port, method: 'PUT', path: '/p/f.bin', headers: { 'Content-Length': body.length }, agent: false }, (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode ?? 0));
      });
      req.on('error', reject);
      req.write(body.subarray(0, 256 * 1024));
      void (async () => {
        await eventually(async () => (await stagedFiles(s.root)).length > 0 || (await tempFiles(join(s.root, 'p'))).length > 0, 5000);
        const mv = await s.req('MOVE', '/p', { headers: { Destination: '/q' } });
        expect(mv.status).to.equal(201);
        req.end(body.subarray(256 * 1024));
      })().catch(reject);
    });
    const st = await status;
    expect([201, 409]).to.include(st);
    if (st === 201) expect((await s.req('GET', '/p/f.bin')).raw.equals(body)).to.equal(true);
    else expect((await s.req('GET', '/p/f.bin')).status).to.equal(404);
    expect(await tempFiles(join(s.root, 'q')), 'temp file moved along with the parent').to.deep.equal([]);
    expect(await eventually(async () => (await stagedFiles(s.root)).length === 0, 3000)).to.equal(true);
    expect((await fsp.readdir(join(s.root, 'q'))).filter((n) => n !== 'f.bin')).to.deep.equal([]);
  });

  it('ETags never repeat for different content at a URL, even with a client-set mtime and reused inodes', async () => {
    const seen = new Map<string, string>();
    for (let i = 0; i < 40; i++) {
      const body = `version ${String(i).padStart(4, '0')} ` + 'x'.repeat(200);
      const r = await s.req('PUT', '/e.txt', { body, headers: { 'X-OC-Mtime': '1000000000' } });
      expect(r.status).to.be.oneOf([201, 204]);
      expect(r.headers['x-oc-mtime']).to.equal('accepted');
      const etag = String(r.headers.etag);
      expect(seen.has(etag), `ETag ${etag} of version ${i} was already given to ${seen.get(etag)}`).to.equal(false);
      seen.set(etag, body.slice(0, 12));
      // The ETag answered is the one of the stored bytes.
      const got = await s.req('GET', '/e.txt');
      expect(got.headers.etag).to.equal(etag);
      expect(got.body).to.equal(body);
    }
  });

  it('concurrent PUTs each answer the ETag of the bytes they stored', async () => {
    const N = 24;
    const rs = await Promise.all(
      Array.from({ length: N }, (_, i) => s.req('PUT', '/c.txt', { body: 'y'.repeat(100 + i), headers: { 'X-OC-Mtime': '1000000000' } })),
    );
    const etags = rs.map((r) => String(r.headers.etag));
    expect(new Set(etags).size, etags.join(' ')).to.equal(N);
    const final = await s.req('GET', '/c.txt');
    expect(etags[final.body.length - 100]).to.equal(final.headers.etag);
  });

  it('an If header tag spelled in another Unicode form names the same resource as the Request-URI', async () => {
    const nfc = 'caf\u00e9.txt';
    const nfd = 'cafe\u0301.txt';
    await putOk(s, `/${encodeURIComponent(nfc)}`, 'v1');
    const { token } = await lockOk(s, `/${encodeURIComponent(nfc)}`);
    const r = await s.req('PUT', `/${encodeURIComponent(nfc)}`, { body: 'v2', headers: { If: `<${s.base}/${encodeURIComponent(nfd)}> (<${token}>)` } });
    expect(r.status, r.body).to.equal(204);
    const etag = String((await s.req('GET', `/${encodeURIComponent(nfc)}`)).headers.etag);
    const cond = await s.req('PUT', `/${encodeURIComponent(nfd)}`, { body: 'v3', headers: { If: `</${encodeURIComponent(nfd)}> (<${token}> [${etag}])` } });
    expect(cond.status, cond.body).to.equal(204);
    expect((await s.req('GET', `/${encodeURIComponent(nfc)}`)).body).to.equal('v3');
  });

  it('readers never see a partial COPY destination', async () => {
    const big = randomBytes(48 * 1024 * 1024);
    await fsp.writeFile(join(s.root, 'big.bin'), big);
    const target = join(s.root, 'copy.bin');
    const sizes = new Set<number>();
    let done = false;
    const watcher = (async () => {
      while (!done) {
        const st = await fsp.stat(target).catch(() => null);
        if (st) sizes.add(st.size);
        await new Promise((r) => setImmediate(r));
      }
    })();
    const r = await s.req('COPY', '/big.bin', { headers: { Destination: '/copy.bin' } });
    done = true;
    await watcher;
    expect(r.status).to.equal(201);
    expect([...sizes].filter((n) => n !== big.length), 'sizes seen at the destination').to.deep.equal([]);
    expect((await fsp.readFile(target)).equals(big)).to.equal(true);
  });

  it('symlink loops inside the root: PROPFIND Depth infinity and COPY finish, the loop reported', async () => {
    // /x/to-y -> /y and /y/to-x -> /x: each walk meets a collection it is already inside.
    await mkcolOk(s, '/x');
    await mkcolOk(s, '/y');
    await putOk(s, '/x/a.txt', 'a');
    await putOk(s, '/y/b.txt', 'b');
    await fsp.symlink('../y', join(s.root, 'x', 'to-y'));
    await fsp.symlink('../x', join(s.root, 'y', 'to-x'));
    // Links to an ancestor of themselves are loops by construction: no resource at all (and never
    // a way into the metadata folder under another name).
    await fsp.symlink('.', join(s.root, 'x', 'self'));
    await fsp.symlink('..', join(s.root, 'x', 'up'));
    const pf = await timed(s, 'PROPFIND', '/', { headers: { Depth: 'infinity' } });
    const hrefs = [...multistatus(pf).keys()];
    expect(hrefs.filter((h) => h.startsWith('/x/')).sort()).to.deep.equal(['/x/', '/x/a.txt', '/x/to-y/', '/x/to-y/b.txt', '/x/to-y/to-x/']);
    expect(hrefs.some((h) => h.includes('davmeta'))).to.equal(false);
    for (const p of ['/x/up/', '/x/self/', '/x/up/.davmeta/']) expect((await s.req('PROPFIND', p, { headers: { Depth: '0' } })).status, p).to.be.oneOf([403, 404]);
    const cp = await timed(s, 'COPY', '/x', { headers: { Destination: '/copied' } });
    const failed = multistatus(cp);
    expect([...failed.keys()]).to.deep.equal(['/copied/to-y/to-x']);
    expect(failed.get('/copied/to-y/to-x')!.status).to.equal(508);
    expect((await s.req('GET', '/copied/a.txt')).body).to.equal('a');
    expect((await s.req('GET', '/copied/to-y/b.txt')).body).to.equal('b');
  });

  it('a named pipe inside a copied tree: COPY answers at once (the pipe is no resource), nobody waits', async () => {
    await mkcolOk(s, '/ff');
    await putOk(s, '/ff/a.txt', 'a');
    for (let i = 0; i < 6; i++) await run(requireProgram('mkfifo', 'coreutils'), [join(s.root, 'ff', `pipe${i}`)]);
    const list = await timed(s, 'PROPFIND', '/ff', { headers: { Depth: '1' } }, 5000);
    expect([...multistatus(list).keys()].sort()).to.deep.equal(['/ff/', '/ff/a.txt']);
    const copies = Array.from({ length: 3 }, (_, i) => timed(s, 'COPY', '/ff', { headers: { Destination: `/ff${i}` } }, 5000));
    // Meanwhile everything else is served (the threadpool is not stuck on a pipe).
    for (let i = 0; i < 8; i++) expect((await timed(s, 'PUT', `/other${i}.txt`, { body: 'x' }, 5000)).status).to.equal(201);
    for (const c of await Promise.all(copies)) expect(c.status, c.body).to.equal(201);
    expect((await s.req('GET', '/ff0/a.txt')).body).to.equal('a');
    expect((await timed(s, 'GET', '/ff/pipe0', {}, 5000)).status).to.be.oneOf([403, 404]);
  });
});

describe('reliability: a second instance never deletes an upload in flight', function () {
  this.timeout(180_000);
  let a: TestServer;
  let b: CliServer | undefined;
  before(() => ensureBuilt());
  beforeEach(async () => {
    a = await startTestServer();
  });
  afterEach(async () => {
    await b?.stop();
    b = undefined;
    await a.close();
  });

  it('an instance starting on the same root (its start-up sweep included) leaves the running upload alone', async () => {
    const body = randomBytes(2 * 1024 * 1024);
    const url = new URL(a.base);
    let req!: import('node:http').ClientRequest;
    const status = new Promise<number>((resolve, reject) => {
      req = httpRequest({ host: url.hostname, port: url.port, method: 'PUT', path: '/inflight.bin', headers: { 'Content-Length': body.length }, agent: false }, (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode ?? 0));
      });
      req.on('error', reject);
    });
    req.write(body.subarray(0, 1024 * 1024));
    const inFlight = async (): Promise<number> => (await stagedFiles(a.root)).length + (await tempFiles(a.root)).length;
    expect(await eventually(async () => (await inFlight()) > 0, 5000)).to.equal(true);
    await sleep(50); // the staged file is older than the second instance's start
    b = await spawnCli(['--root', a.root, '--port', '0']);
    // Its sweep runs in the background at start: give it time to finish.
    expect((await request(b.base, 'PUT', '/from-b.txt', { body: 'b' })).status).to.equal(201);
    await sleep(500);
    expect(await inFlight(), 'the upload in flight is still staged').to.be.greaterThan(0);
    req.end(body.subarray(1024 * 1024));
    expect(await status).to.equal(201);
    expect((await fsp.readFile(join(a.root, 'inflight.bin'))).equals(body)).to.equal(true);
  });
});
