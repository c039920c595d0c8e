/**
 * A large upload is hashed (MD5, SHA-1, SHA-256) on the fs worker as it streams in, and the
 * server's memory stays flat while it does: the batches that carry the bytes there come back with
 * the worker's acknowledgement and are filled again, and the upload's socket buffers are freed as
 * it streams (src/util/gc.ts). (A fresh batch per 256 KiB on a hashing thread of its own left the
 * upload as garbage in two heaps until a GC: +95 MiB here, +117 in `npm run bench`.)
 */
import { expect } from 'chai';
import { createHash } from 'node:crypto';
import { readFile, rm, stat } from 'node:fs/promises';
import { request as httpRequest } from 'node:http';
import { join } from 'node:path';
import { makeTempDir, spawnCli } from '../helpers/server.js';

const MIB = 1024 * 1024;
const SIZE = 512 * MIB;

describe('checksums: a large upload is hashed with memory flat', function () {
  this.timeout(300_000);

  it('PUT of 512 MiB: RSS grows by less than 64 MiB, and the stored checksums are those of the bytes', async () => {
    const root = await makeTempDir('checksum-memory');
    // The compiled server in its own process: its memory is measured alone.
    const cli = await spawnCli(['--root', root, '--port', '0', '--lock-store', 'memory']).catch(async (e) => {
      await rm(root, { recursive: true, force: true });
      throw e;
    });
    const rss = async (): Promise<number> => Number(/VmRSS:\s+(\d+)/.exec(await readFile(`/proc/${cli.proc.pid}/status`, 'utf8'))![1]) * 1024;
    try {
      // Warm up: the first upload starts the hashing thread, whose own heap is not growth.
      await put(cli.base, '/warm.bin', 4 * MIB);
      await new Promise((r) => setTimeout(r, 500));
      const rss0 = await rss();
      let peak = rss0;
      const sampler = setInterval(() => void rss().then((v) => (peak = Math.max(peak, v)), () => undefined), 100);
      let sha1: string;
      try {
        sha1 = await put(cli.base, '/big.bin', SIZE);
      } finally {
        clearInterval(sampler);
      }
      expect((await stat(join(root, 'big.bin'))).size).to.equal(SIZE);
      const head = await new Promise<Record<string, string | string[] | undefined>>((resolve, reject) => {
        const req = httpRequest(`${cli.base}/big.bin`, { method: 'HEAD' }, (res) => {
          res.resume();
          expect(res.statusCode).to.equal(200);
          resolve(res.headers);
        });
        req.on('error', reject);
        req.end();
      });
      expect(head['oc-checksum']).to.equal(`SHA1:${sha1}`);
      expect((peak - rss0) / MIB, `RSS growth during the upload (MiB), from ${Math.round(rss0 / MIB)}`).to.be.below(64);
    } finally {
      await cli.stop();
      await rm(root, { recursive: true, force: true });
    }
  });
});

/** PUTs `size` bytes (a pattern that changes every MiB) and resolves with their SHA-1. */
function put(base: string, path: string, size: number): Promise<string> {
  const hash = createHash('sha1');
  return new Promise((resolve, reject) => {
    const req = httpRequest(`${base}${path}`, { method: 'PUT', headers: { 'Content-Length': size } }, (res) => {
      res.resume();
      res.on('end', () => (res.statusCode === 201 || res.statusCode === 204 ? resolve(hash.digest('hex')) : reject(new Error(`PUT ${path}: ${res.statusCode}`))));
    });
    req.on('error', reject);
    const chunk = Buffer.alloc(MIB);
    let sent = 0;
    const pump = (): void => {
      while (sent < size) {
        chunk.fill(sent / MIB);
        chunk.writeUInt32BE(sent / MIB, 0);
        const n = Math.min(MIB, size - sent);
        const piece = n === MIB ? chunk : chunk.subarray(0, n);
        hash.update(piece);
        sent += n;
        // A copy goes out: the buffer is refilled for the next MiB while this one is queued.
        if (!req.write(Buffer.from(piece))) {
          req.once('drain', pump);
          return;
        }
      }
      req.end();
    };
    pump();
  });
}
