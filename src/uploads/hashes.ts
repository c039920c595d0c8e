/**
 * The running checksums of uploads in progress, kept in this process between PATCH requests so
 * every byte is hashed once, as it arrives. Hash states cannot leave a process; when a PATCH
 * lands on another worker or instance, or after a restart, the state is rebuilt by reading the
 * bytes this process has not seen from the partial file (only the gap: the stored prefix never
 * changes while an upload grows). A hasher only ever sees bytes after they are on disk, so it
 * never runs ahead of the file.
 */
import type { Readable } from 'node:stream';
import { streamHasher, type StreamHasher } from '../checksums/engine.js';

/** Uploads whose hash state this process keeps; the oldest is dropped past this (rebuilt if it comes back). */
const MAX_KEPT = 256;

export interface RunningHash {
  hasher: StreamHasher;
  /** Bytes of the upload the hasher has seen (always its first `bytes` bytes). */
  bytes: number;
}

export class UploadHashes {
  private readonly running = new Map<string, RunningHash>();

  /** A hasher that has seen exactly the first `size` bytes of upload `id`, reading what it missed through `read`. */
  async at(id: string, size: number, read: (start: number) => Readable): Promise<RunningHash> {
    let r = this.running.get(id);
    this.running.delete(id);
    if (!r || r.bytes > size) {
      r?.hasher.discard();
      r = { hasher: streamHasher(), bytes: 0 };
    }
    this.running.set(id, r);
    if (this.running.size > MAX_KEPT) this.drop(this.running.keys().next().value!);
    if (r.bytes < size) {
      const gap = read(r.bytes);
      try {
        for await (const chunk of gap as AsyncIterable<Buffer>) {
          const take = chunk.subarray(0, size - r.bytes);
          await feed(r, take);
          if (r.bytes === size) break;
        }
      } finally {
        gap.destroy();
      }
      if (r.bytes !== size) {
        this.drop(id);
        throw new Error(`upload ${id} holds fewer bytes than its size`);
      }
    }
    return r;
  }

  /** Takes the hash state out (its digest is wanted now). */
  take(id: string): RunningHash | undefined {
    const r = this.running.get(id);
    this.running.delete(id);
    return r;
  }

  drop(id: string): void {
    this.running.get(id)?.hasher.discard();
    this.running.delete(id);
  }
}

/** Hands bytes that are on disk to the hasher, waiting when the fs worker is behind with hashing. */
export async function feed(r: RunningHash, chunk: Buffer): Promise<void> {
  const wait = r.hasher.update(chunk);
  r.bytes += chunk.length;
  if (wait) await wait;
}
