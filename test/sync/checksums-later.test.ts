/**
 * Checksums of large uploads: a body over 8 MiB without an OC-Checksum claim is not hashed while
 * it streams (MD5 is slower than the upload path) but right after it is stored, in the
 * background, by the fs worker reading the stored file. These tests pin what a client can see:
 * the record appears without anyone asking, under the ETag the PUT answered; a client asking
 * meanwhile gets the right digests; an edit on disk during the background hashing is never given
 * the old digests; a claim is still verified before anything is stored; a server stopped
 * mid-hashing stops at once and the next one computes the digests when asked; MOVE, COPY and
 * DELETE right after the upload leave every URL with the digests of what it holds.
 */
import { expect } from 'chai';
import { randomBytes } from 'node:crypto';
import { readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { startTestServer, makeTempDir, type TestServer } from '../helpers/server.js';
import { streamRequest } from '../helpers/dav.js';
import { checksumList as list, hex, record, sums } from './helpers.js';

const MiB = 1024 * 1024;

/** Waits (up to 20 s) for the record of `name` to exist; nothing else touches the server meanwhile. */
async function recordAppears(root: string, name: string): Promise<{ e: string; d: Record<string, string> }> {
  for (let i = 0; i < 400; i++) {
    const rec = await record(root, '/' + name);
    if (rec) return rec;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`no checksum record for ${name} after 20 s`);
}

describe('checksums of large uploads: hashed after they are stored', function () {
  this.timeout(120_000);
  let s: TestServer;
  beforeEach(async () => {
    s = await startTestServer();
  });
  afterEach(async () => {
    await s.close();
  });

  it('a PUT of 24 MiB (Content-Length) is answered, then recorded in the background under the ETag it answered', async () => {
    const big = randomBytes(24 * MiB + 3);
    const r = await s.req('PUT', '/big.bin', { body: big });
    expect(r.status).to.equal(201);
    const rec = await recordAppears(s.root, 'big.bin');
    expect(rec.e).to.equal(r.headers.etag);
    expect(rec.d).to.deep.equal({ sha1: hex('sha1', big), md5: hex('md5', big), sha256: hex('sha256', big) });
    expect(await sums(s, '/big.bin')).to.equal(list(big));
    expect((await s.req('HEAD', '/big.bin')).headers['oc-checksum']).to.equal(`SHA1:${hex('sha1', big)}`);
  });

  it('a chunked PUT that grows past 8 MiB stops hashing as it streams and is recorded once stored; a replacement gets its own digests', async () => {
    const first = randomBytes(20 * MiB);
    const chunks = Array.from({ length: 20 }, (_, i) => first.subarray(i * MiB, (i + 1) * MiB));
    const r = await streamRequest(s, 'PUT', '/c.bin', chunks, { headers: { 'Transfer-Encoding': 'chunked' } });
    expect(r !== 'aborted' && r.status).to.equal(201);
    expect((await recordAppears(s.root, 'c.bin')).d.md5).to.equal(hex('md5', first));
    const second = randomBytes(20 * MiB);
    const r2 = await s.req('PUT', '/c.bin', { body: second });
    expect(r2.status).to.equal(204);
    // Asked at once: the answer waits for the background computation (or makes it), never the old record.
    expect(await sums(s, '/c.bin')).to.equal(list(second));
    expect((await record(s.root, '/c.bin'))?.e).to.equal(r2.headers.etag);
  });

  it('a large PUT with OC-Checksum is still verified before it is stored: a mismatch is 400 and leaves the old content', async () => {
    const good = randomBytes(12 * MiB);
    const bad = randomBytes(12 * MiB);
    expect((await s.req('PUT', '/v.bin', { body: good, headers: { 'OC-Checksum': `SHA1:${hex('sha1', good)}` } })).status).to.equal(201);
    // verified, so recorded by the PUT itself: the record is there when the answer is
    expect((await record(s.root, '/v.bin'))?.d.sha1).to.equal(hex('sha1', good));
    const r = await s.req('PUT', '/v.bin', { body: bad, headers: { 'OC-Checksum': `MD5:${hex('md5', good)}` } });
    expect(r.status).to.equal(400);
    expect(r.body).to.match(/nothing was stored/);
    expect((await readFile(join(s.root, 'v.bin'))).equals(good)).to.equal(true);
    expect(await sums(s, '/v.bin')).to.equal(list(good));
  });

  it('an edit on disk while the upload is hashed in the background is never answered with the uploaded bytes\' digests', async () => {
    const uploaded = randomBytes(64 * MiB);
    expect((await s.req('PUT', '/e.bin', { body: uploaded })).status).to.equal(201);
    // Replaced on disk at once, while the fs worker is (most likely) still reading the upload.
    const edited = randomBytes(64 * MiB);
    await writeFile(join(s.root, 'e.bin'), edited);
    expect(await sums(s, '/e.bin')).to.equal(list(edited));
    expect((await s.req('HEAD', '/e.bin')).headers['oc-checksum']).to.equal(`SHA1:${hex('sha1', edited)}`);
  });
});

for (const storage of ['fs', 'memory'] as const) {
  describe(`checksums of large uploads: tree changes during the background hashing (--storage ${storage})`, function () {
    this.timeout(120_000);
    let s: TestServer;
    beforeEach(async () => {
      s = await startTestServer(storage === 'memory' ? { storage: 'memory' } : {});
    });
    afterEach(async () => {
      await s.close();
    });

    it('MOVE, COPY and DELETE right after the PUT: every URL answers the digests of what it holds, a new file at the old URL its own', async () => {
      for (let round = 0; round < 3; round++) {
        const big = randomBytes(40 * MiB + round);
        expect((await s.req('PUT', '/m.bin', { body: big })).status).to.be.oneOf([201, 204]);
        // at once, while the fs worker is (most likely) still reading it
        expect((await s.req('MOVE', '/m.bin', { headers: { Destination: `${s.base}/moved-${round}.bin` } })).status).to.equal(201);
        expect((await s.req('COPY', `/moved-${round}.bin`, { headers: { Destination: `${s.base}/copy-${round}.bin` } })).status).to.equal(201);
        const small = `a different, small file ${round}`;
        expect((await s.req('PUT', '/m.bin', { body: small })).status).to.equal(201);
        expect(await sums(s, '/m.bin')).to.equal(list(small));
        expect(await sums(s, `/moved-${round}.bin`)).to.equal(list(big));
        expect(await sums(s, `/copy-${round}.bin`)).to.equal(list(big));
        expect((await s.req('DELETE', `/moved-${round}.bin`)).status).to.equal(204);
        // a new large file where the moved one was: its own digests, never the old record's
        const other = randomBytes(12 * MiB);
        expect((await s.req('PUT', `/moved-${round}.bin`, { body: other })).status).to.equal(201);
        expect(await sums(s, `/moved-${round}.bin`)).to.equal(list(other));
        expect(await sums(s, '/m.bin')).to.equal(list(small));
      }
    });
  });
}

describe('checksums of large uploads: a stop during the background hashing', function () {
  this.timeout(120_000);
  it('the server stops without finishing it, and the next start computes the digests when asked', async () => {
    const root = await makeTempDir('sums-later');
    try {
      let s = await startTestServer({ root });
      const big = randomBytes(96 * MiB);
      expect((await s.req('PUT', '/stop.bin', { body: big })).status).to.equal(201);
      await s.close(); // resolves once the background hashing has stopped (and written nothing half way)
      const rec = await record(root, '/stop.bin');
      if (rec) expect(rec.d.md5).to.equal(hex('md5', big)); // finished before the stop: then whole and right
      s = await startTestServer({ root });
      expect(await sums(s, '/stop.bin')).to.equal(list(big));
      expect((await record(root, '/stop.bin'))?.d.md5).to.equal(hex('md5', big));
      await s.close();
    } finally {
      await rm(root, { recursive: true, force: true });
    }
  });
});
