/**
 * Garbage of a large transfer: every socket read of an upload is a fresh 64 KiB buffer that is
 * garbage once written to disk, but the JS object holding it is small, so V8 collects the young
 * generation seldom and the buffers pile up outside the heap until V8's external-memory limit
 * (~64 MiB) forces a collection: a 512 MiB PUT grew the process by 35-90 MiB. A minor GC every
 * few MiB received frees them (a scavenge of a young generation holding little else takes well
 * under a millisecond). `gc` is V8's own, made available at run time (--expose-gc only adds it
 * to contexts created afterwards; nothing else changes).
 */
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

type Gc = (opts?: { type?: 'minor' | 'major'; execution?: 'sync' | 'async' }) => void;

/** Bytes between two minor collections. */
export const RELEASE_EVERY = 4 * 1024 * 1024;

let gc: Gc | null | undefined;
let pending = 0;

function collector(): Gc | null {
  if (gc === undefined) {
    try {
      setFlagsFromString('--expose-gc');
      gc = runInNewContext('gc') as Gc;
    } catch {
      gc = null;
    }
  }
  return gc;
}

/** Counts bytes of a transfer that are garbage once handled; every RELEASE_EVERY bytes, a minor GC frees them. */
export function transferred(bytes: number): void {
  pending += bytes;
  if (pending < RELEASE_EVERY) return;
  pending = 0;
  collector()?.({ type: 'minor' });
}
