/**
 * Hashing jobs on the fs worker (src/checksums/engine.ts feeds them): one set of hash states per
 * job, fed batch by batch in the order the main thread sent them. A batch of 256 KiB takes well
 * under a millisecond, so other requests queued behind it wait no longer than that.
 */
import { createHash, type Hash } from 'node:crypto';
import { readSync } from 'node:fs';
import type { HashDataRequest, HashDigestRequest, HashDropRequest, HashFileRequest, HashReply } from './protocol.js';
import type { Out } from './small.js';
import type { Walk } from './tree.js';

const jobs = new Map<number, Hash[]>();
/** Jobs hashing a file (hashFile) that have not been dropped. */
const files = new Set<number>();
/** Bytes read and hashed per step of hashFile: ~50-100 us with MD5, SHA-1 and SHA-256. */
const FILE_STEP = 64 * 1024;

export function hashData({ id, job, alg, buf, length }: HashDataRequest): Out<HashReply> {
  let hs = jobs.get(job);
  if (!hs) jobs.set(job, (hs = alg.map((a) => createHash(a))));
  const bytes = new Uint8Array(buf, 0, length);
  for (const h of hs) h.update(bytes);
  return [{ id, buf }, [buf]];
}

export function hashDigest({ id, job, alg }: HashDigestRequest): Out<HashReply> {
  const hs = jobs.get(job) ?? alg.map((a) => createHash(a));
  jobs.delete(job);
  return [{ id, hex: hs.map((h) => h.digest('hex')) }, []];
}

export function hashDrop({ id, job }: HashDropRequest): Out<HashReply> {
  jobs.delete(job);
  files.delete(job);
  return [{ id }, []];
}

/** A file read and hashed in steps: a walk of the thread's round robin (thread.ts). */
export function hashFile(m: HashFileRequest): Walk<HashReply> {
  files.add(m.job); // now, so a drop that follows in the same batch finds it
  return fileSteps(m);
}

function* fileSteps({ id, job, fd, length, alg }: HashFileRequest): Walk<HashReply> {
  try {
    const hs = alg.map((a) => createHash(a));
    const buf = Buffer.allocUnsafe(Math.min(FILE_STEP, Math.max(length, 1)));
    for (let pos = 0; pos < length; ) {
      if (!files.has(job)) return { id, code: 'ECANCELED' };
      const n = readSync(fd, buf, 0, Math.min(buf.length, length - pos), pos);
      if (n === 0) return { id, code: 'ESHORT' };
      const bytes = buf.subarray(0, n);
      for (const h of hs) h.update(bytes);
      pos += n;
      yield;
    }
    return { id, hex: hs.map((h) => h.digest('hex')) };
  } catch (e) {
    return { id, code: (e as NodeJS.ErrnoException).code ?? 'EIO' };
  } finally {
    files.delete(job);
  }
}
