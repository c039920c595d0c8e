import { expect } from 'chai';
import { createHash, randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { Writable } from 'node:stream';
import { digestFd, digestStream, hashBatchesMade, hashingTransform, streamHasher } from '../../../src/checksums/engine.js';
import { open, mkdtemp, rm, truncate, writeFile as writeFileP } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join as joinPath } from 'node:path';
import { statWorker } from '../../../src/storage/fs/stat-batch.js';
import { checksumList, claimMismatch, digestsOf, parseChecksumClaims } from '../../../src/checksums/digests.js';

const hex = (alg: string, b: Buffer): string => createHash(alg).update(b).digest('hex');

describe('checksums engine', () => {
  it('hashes a stream on the fs worker exactly like crypto does in one go', async () => {
    const data = randomBytes(5 * 1024 * 1024 + 12345);
    const chunks: Buffer[] = [];
    for (let o = 0; o < data.length; o += 65536 + 17) chunks.push(data.subarray(o, o + 65536 + 17));
    const d = await digestStream(Readable.from(chunks));
    expect(d).to.deep.equal({ md5: hex('md5', data), sha1: hex('sha1', data), sha256: hex('sha256', data) });
  });

  it('hashes inline when asked, and the empty stream', async () => {
    const d = await digestStream(Readable.from([]), { inline: true });
    expect(d.sha1).to.equal(hex('sha1', Buffer.alloc(0)));
    expect((await digestStream(Readable.from([Buffer.alloc(0)]))).md5).to.equal(hex('md5', Buffer.alloc(0)));
  });

  it('passes bytes through unchanged while hashing', async () => {
    const data = randomBytes(16 * 1024 * 1024);
    const h = streamHasher();
    const out: Buffer[] = [];
    await pipeline(
      Readable.from((function* () {
        for (let o = 0; o < data.length; o += 1 << 20) yield data.subarray(o, o + (1 << 20));
      })()),
      hashingTransform(h),
      new Writable({
        write(c: Buffer, _e, cb) {
          out.push(c);
          cb();
        },
      }),
    );
    expect(Buffer.concat(out).equals(data)).to.equal(true);
    expect(h.bytes).to.equal(data.length);
    expect((await h.digest()).sha256).to.equal(hex('sha256', data));
  });

  it('reuses the batch buffers the fs worker hands back', async function () {
    this.timeout(20_000);
    const chunk = randomBytes(65536);
    const h = createHash('sha256');
    const before = hashBatchesMade();
    const d = await digestStream(
      Readable.from(
        (function* () {
          for (let i = 0; i < 1024; i++) {
            h.update(chunk);
            yield chunk; // 64 MiB
          }
        })(),
      ),
    );
    expect(d.sha256).to.equal(h.digest('hex'));
    // 256 batches of 256 KiB went through; at most the in-flight window's worth were allocated
    expect(hashBatchesMade() - before).to.be.at.most(12);
  });

  it('a job whose fs worker stopped between two parts fails instead of hashing only the rest', async function () {
    this.timeout(20_000);
    const h = streamHasher();
    const part = randomBytes(300_000);
    expect(h.update(part)).to.equal(undefined);
    await new Promise((r) => setTimeout(r, 100)); // the first batch is hashed and handed back
    await (statWorker as unknown as { worker: { terminate(): Promise<number> } }).worker.terminate();
    await new Promise((r) => setTimeout(r, 50));
    let failed: unknown;
    try {
      const wait = h.update(part);
      if (wait) await wait;
      await h.digest();
    } catch (e) {
      failed = e;
    }
    expect(String(failed)).to.match(/fs worker stopped/);
    // a new job runs on the new worker
    expect((await digestStream(Readable.from([part]))).md5).to.equal(hex('md5', part));
  });

  it('hashes a stored file through its descriptor on the fs worker; a file that shrank or a stop is an error, never digests', async function () {
    this.timeout(30_000);
    const dir = await mkdtemp(joinPath(tmpdir(), 'hashfd-'));
    try {
      const data = randomBytes(3 * 1024 * 1024 + 999);
      const file = joinPath(dir, 'f.bin');
      await writeFileP(file, data);
      let fh = await open(file, 'r');
      try {
        expect(await digestFd(fh.fd, data.length)).to.deep.equal({ md5: hex('md5', data), sha1: hex('sha1', data), sha256: hex('sha256', data) });
        // only the first `length` bytes count
        expect((await digestFd(fh.fd, 1000))?.sha1).to.equal(hex('sha1', data.subarray(0, 1000)));
        expect((await digestFd(fh.fd, 0))?.md5).to.equal(hex('md5', Buffer.alloc(0)));
        // shorter than it was said to be
        await truncate(file, 1_000_000);
        let failed: unknown;
        await digestFd(fh.fd, data.length).catch((e) => (failed = e));
        expect(String(failed)).to.match(/could not hash the file \(ESHORT\)/);
      } finally {
        await fh.close();
      }
      // stopped: an abort before the end ends it with an error (and an abort before the start too)
      await writeFileP(file, randomBytes(64 * 1024 * 1024));
      fh = await open(file, 'r');
      try {
        const stop = new AbortController();
        const p = digestFd(fh.fd, 64 * 1024 * 1024, stop.signal);
        stop.abort();
        let failed: unknown;
        await p.catch((e) => (failed = e));
        expect(String(failed)).to.match(/ECANCELED/);
        failed = undefined;
        await digestFd(fh.fd, 10, stop.signal).catch((e) => (failed = e));
        expect(String(failed)).to.match(/stopped/);
      } finally {
        await fh.close();
      }
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('a stream that grows past upTo stops being hashed and passes whole; under it, it is hashed', async () => {
    const data = randomBytes(3 * 1024 * 1024);
    const run = async (upTo: number): Promise<{ out: Buffer; dropped: boolean; h: ReturnType<typeof streamHasher> }> => {
      const h = streamHasher();
      const t = hashingTransform(h, upTo);
      const out: Buffer[] = [];
      await pipeline(
        Readable.from((function* () {
          for (let o = 0; o < data.length; o += 100_000) yield data.subarray(o, o + 100_000);
        })()),
        t,
        new Writable({
          write(c: Buffer, _e, cb) {
            out.push(c);
            cb();
          },
        }),
      );
      return { out: Buffer.concat(out), dropped: t.dropped, h };
    };
    const over = await run(1024 * 1024);
    expect(over.out.equals(data)).to.equal(true);
    expect(over.dropped).to.equal(true);
    expect(over.h.bytes).to.be.at.most(1024 * 1024);
    const under = await run(data.length);
    expect(under.out.equals(data)).to.equal(true);
    expect(under.dropped).to.equal(false);
    expect((await under.h.digest()).md5).to.equal(hex('md5', data));
  });

  it('many jobs at once keep their states apart', async () => {
    const datas = Array.from({ length: 8 }, (_, i) => randomBytes(300_000 + i * 1000));
    const ds = await Promise.all(datas.map((b) => digestStream(Readable.from([b.subarray(0, 1000), b.subarray(1000)]))));
    ds.forEach((d, i) => expect(d.md5).to.equal(hex('md5', datas[i]!)));
  });
});

describe('checksums digests', () => {
  const d = digestsOf(Buffer.from('hello\n'));
  it('lists SHA1, MD5 and SHA256 the way oc:checksum does', () => {
    expect(checksumList(d)).to.equal('SHA1:f572d396fae9206628714fb2ce00f72e94f2258f MD5:b1946ac92492d2347c6235b4d2611184 SHA256:5891b5b522d5df086d0ff0b110fbd9d21bb4fc7163af34d08286a2e846f6be03');
  });
  it('parses OC-Checksum claims, ignores types it cannot verify, refuses malformed ones', () => {
    expect(parseChecksumClaims('SHA1:F572D396FAE9206628714FB2CE00F72E94F2258F')).to.deep.equal([{ algorithm: 'sha1', hex: 'f572d396fae9206628714fb2ce00f72e94f2258f' }]);
    expect(parseChecksumClaims('ADLER32:084b021f md5:b1946ac92492d2347c6235b4d2611184')).to.deep.equal([{ algorithm: 'md5', hex: 'b1946ac92492d2347c6235b4d2611184' }]);
    expect(parseChecksumClaims(undefined)).to.deep.equal([]);
    expect(() => parseChecksumClaims('SHA1:abc')).to.throw(/40 hex digits/);
    expect(() => parseChecksumClaims('nonsense')).to.throw(/SHA1:<hex>/);
  });
  it('names the first claim the content does not satisfy', () => {
    expect(claimMismatch(parseChecksumClaims('MD5:b1946ac92492d2347c6235b4d2611184'), d)).to.equal(undefined);
    expect(claimMismatch(parseChecksumClaims('SHA1:' + '0'.repeat(40)), d)).to.match(/SHA1 checksum of the received body is f572d396.*nothing was stored/);
  });
});

describe('checksums store', () => {
  it('removes a subtree while records are written into it (no ENOTEMPTY from the race)', async () => {
    const { FsChecksumStore } = await import('../../../src/checksums/store.js');
    const { mkdtemp, rm, readdir } = await import('node:fs/promises');
    const { tmpdir } = await import('node:os');
    const { join } = await import('node:path');
    const base = await mkdtemp(join(tmpdir(), 'sums-race-'));
    try {
      const store = new FsChecksumStore(base);
      const rec = { etag: '"e"', size: 1, mtimeMs: 1, digests: { md5: 'a'.repeat(32), sha1: 'b'.repeat(40), sha256: 'c'.repeat(64) } };
      for (let round = 0; round < 30; round++) {
        let writing = true;
        const writers = Array.from({ length: 4 }, async (_, w) => {
          for (let i = 0; writing; i++) await store.put(`/d/sub${i % 5}/f${w}-${i}`, rec);
        });
        await new Promise((r) => setTimeout(r, 2));
        await store.removeTree('/d');
        writing = false;
        await Promise.all(writers);
      }
      await store.removeTree('/d');
      expect(await readdir(join(base, 'root.d'))).to.deep.equal([]);
    } finally {
      await rm(base, { recursive: true, force: true });
    }
  });
});
