/**
 * Hashing jobs on the fs worker (src/checksums/engine.ts feeds them): one set of hash states per
 * job, fed batch by batch in the order the main thread sent them. A batch of 256 KiB takes well
 * under a millisecond, so other requests queued behind it wait no longer than that.
 */
import { createHash, type Hash } from 'node:crypto';
import type { HashDataRequest, HashDigestRequest, HashDropRequest, HashReply } from './protocol.js';
import type { Out } from './small.js';

const jobs = new Map<number, Hash[]>();

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
  return [{ id }, []];
}
