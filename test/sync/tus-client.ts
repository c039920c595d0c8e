/**
 * A small tus 1.0 client for tests (Node): creates an upload, sends it in chunks streamed from a
 * byte source that can start at any offset, and after any failure asks the server for its offset
 * (HEAD) and carries on from there, as tus clients do.
 */
import { createCipheriv, createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import { request, type Res } from '../helpers/server.js';
import { patchHeaders, TUS, tusMetadata } from './helpers.js';

export type ByteSource = (offset: number, length: number) => Readable;

const ZEROS = Buffer.alloc(1 << 20);

/**
 * Pseudo-random bytes that can be produced from any offset without the ones before (AES-128-CTR
 * keystream): gigabytes without holding them anywhere.
 */
export function generatedBytes(seed: string): ByteSource {
  const key = createHash('sha256').update(seed).digest().subarray(0, 16);
  return (offset, length) =>
    Readable.from(
      (function* () {
        const skip = offset % 16;
        const iv = Buffer.alloc(16);
        iv.writeBigUInt64BE(BigInt(Math.floor(offset / 16)), 8);
        const c = createCipheriv('aes-128-ctr', key, iv);
        let left = length + skip;
        let first = true;
        while (left > 0) {
          const n = Math.min(ZEROS.length, left);
          let out = c.update(ZEROS.subarray(0, n));
          if (first) out = out.subarray(skip);
          first = false;
          left -= n;
          yield out;
        }
      })(),
      { objectMode: false },
    );
}

/** SHA-1 of a whole source. */
export async function sourceSha1(source: ByteSource, size: number): Promise<string> {
  const h = createHash('sha1');
  for await (const c of source(0, size) as AsyncIterable<Buffer>) h.update(c);
  return h.digest('hex');
}

export interface TusUpload {
  url: string;
  /** The final PATCH's answer. */
  last: Res;
  /** PATCH requests that failed (cut connections). */
  failures: number;
  /** Offsets the client resumed from after a failure. */
  resumedAt: number[];
}

export async function tusUpload(o: { base: string; path: string; size: number; chunk: number; source: ByteSource; maxFailures?: number }): Promise<TusUpload> {
  const c = await request(o.base, 'POST', '/.dav/uploads/', { headers: { ...TUS, 'Upload-Length': String(o.size), 'Upload-Metadata': tusMetadata({ path: o.path }) } });
  if (c.status !== 201) throw new Error(`creation answered ${c.status}: ${c.body}`);
  const url = c.headers.location!;
  let offset = 0;
  let failures = 0;
  const resumedAt: number[] = [];
  for (;;) {
    const length = Math.min(o.chunk, o.size - offset);
    let r: Res;
    try {
      r = await request(o.base, 'PATCH', url, { headers: { ...patchHeaders(offset), 'Content-Length': length }, body: o.source(offset, length) });
    } catch {
      if (++failures > (o.maxFailures ?? 5)) throw new Error(`gave up after ${failures} failed PATCH requests`);
      await new Promise((res) => setTimeout(res, 200));
      const h = await request(o.base, 'HEAD', url, { headers: TUS });
      if (h.status !== 200) throw new Error(`HEAD answered ${h.status}: ${h.body}`);
      offset = Number(h.headers['upload-offset']);
      resumedAt.push(offset);
      continue;
    }
    if (r.status !== 204 && r.status !== 201) throw new Error(`PATCH at ${offset} answered ${r.status}: ${r.body}`);
    offset = Number(r.headers['upload-offset']);
    if (offset === o.size) return { url, last: r, failures, resumedAt };
  }
}
