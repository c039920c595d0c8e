/**
 * Hashing of streams (uploads, lazily hashed files) off the event loop, on the fs worker
 * (src/storage/fs/worker/hash.ts). MD5 runs at a few hundred MB/s, slower than an upload on a
 * fast disk: hashed on the event loop it would halve upload throughput and stall every other
 * request for milliseconds per MiB. Here the event loop only copies each chunk into a 256 KiB
 * batch and transfers the batch; the worker hashes it and hands it back to be refilled, and a
 * job with more than MAX_IN_FLIGHT bytes unacknowledged makes its producer wait (an upload never
 * queues more than that in memory). The worker, not a thread of its own: a second thread was
 * ~11 MiB more resident memory for as long as it ran (a 512 MiB PUT grew the server by 20 MiB,
 * 10 of them the thread starting), and each 256 KiB batch delays the worker's other requests by
 * well under a millisecond.
 *
 * When the worker cannot run (it failed to start, or died), new jobs hash in this thread
 * (InlineHasher) and jobs that were in flight fail: the caller stores no checksum (it is computed
 * lazily later) or, when a client asked for verification, answers 503.
 */
import { Transform, type Readable } from 'node:stream';
import { ALGORITHMS, InlineHasher, type Digests } from './digests.js';
import { statWorker } from '../storage/fs/stat-batch.js';

const BATCH = 256 * 1024;
const MAX_IN_FLIGHT = 2 * 1024 * 1024;
const ALG: string[] = [...ALGORITHMS];
/** Batches kept for reuse: what one job can have in flight (it may go a batch past the limit before it waits), and one more being filled. */
const POOL = MAX_IN_FLIGHT / BATCH + 2;

export interface StreamHasher {
  /** Feeds the next bytes. A returned promise means: wait for it before feeding more. */
  update(chunk: Uint8Array): Promise<void> | undefined;
  /** The digests of everything fed; the hasher is spent afterwards. */
  digest(): Promise<Digests>;
  /** Forgets the job (an upload that failed). */
  discard(): void;
  /** Bytes fed so far. */
  readonly bytes: number;
}

class HashJobError extends Error {}

/** Hex digests in ALG order, by algorithm. */
function toDigests(hex: string[]): Digests {
  const out = {} as Digests;
  ALGORITHMS.forEach((a, i) => (out[a] = hex[i]!));
  return out;
}

/** Batches handed back by the worker, ready to be filled again. */
const free: ArrayBuffer[] = [];
let made = 0;
let nextJob = 1;

function newBatch(): Uint8Array {
  const b = free.pop();
  if (b) return new Uint8Array(b);
  made++;
  return new Uint8Array(BATCH);
}

/** How many batch buffers hashing has needed so far (for the tests: a long stream reuses a few). */
export function hashBatchesMade(): number {
  return made;
}

const lost = (): HashJobError => new HashJobError('the fs worker stopped while hashing');

class WorkerHasher implements StreamHasher {
  bytes = 0;
  private readonly job = nextJob++;
  private batch: Uint8Array = newBatch();
  private used = 0;
  private done = false;
  private inFlight = 0;
  private failed: Error | undefined;
  private waiter: (() => void) | undefined;
  /** The worker that holds this job's hash states (statWorker.generation), once bytes were sent. */
  private gen: number | undefined;

  /** A job whose worker was replaced lost its states: it fails rather than hash only the rest. */
  private sameWorker(): boolean {
    if (this.gen === undefined) this.gen = statWorker.generation;
    else if (this.gen !== statWorker.generation) this.failed ??= lost();
    return !this.failed;
  }

  private wake(): void {
    const w = this.waiter;
    this.waiter = undefined;
    w?.();
  }

  private flush(): void {
    if (this.used === 0) return;
    const buf = this.batch.buffer as ArrayBuffer;
    const length = this.used;
    this.batch = newBatch();
    this.used = 0;
    const sent = statWorker.hashData(this.job, ALG, buf, length);
    if (!sent) {
      this.failed = lost();
      return;
    }
    if (!this.sameWorker()) return;
    this.inFlight += length;
    sent.then((r) => {
      this.inFlight -= length;
      if (!r) this.failed ??= lost();
      else if (r.buf && free.length < POOL) free.push(r.buf);
      if (this.failed || this.inFlight <= MAX_IN_FLIGHT) this.wake();
    }, () => undefined);
  }

  update(chunk: Uint8Array): Promise<void> | undefined {
    if (this.failed) throw this.failed;
    this.bytes += chunk.length;
    let off = 0;
    while (off < chunk.length) {
      const n = Math.min(BATCH - this.used, chunk.length - off);
      this.batch.set(chunk.subarray(off, off + n), this.used);
      this.used += n;
      off += n;
      if (this.used === BATCH) this.flush();
    }
    if (this.failed) throw this.failed;
    if (this.inFlight <= MAX_IN_FLIGHT) return undefined;
    return new Promise<void>((resolve, reject) => {
      this.waiter = () => (this.failed ? reject(this.failed) : resolve());
    });
  }

  async digest(): Promise<Digests> {
    if (this.failed) throw this.failed;
    if (this.done) throw new Error('digest() called twice');
    this.done = true;
    this.flush();
    if (this.failed) throw this.failed;
    const asked = statWorker.hashDigest(this.job, ALG);
    if (this.gen !== undefined && !this.sameWorker()) throw this.failed!;
    const r = await asked;
    if (this.failed) throw this.failed;
    if (!r?.hex) throw lost();
    return toDigests(r.hex);
  }

  discard(): void {
    if (this.done) return;
    this.done = true;
    statWorker.hashDrop(this.job);
  }
}

class Inline implements StreamHasher {
  private readonly h = new InlineHasher();
  get bytes(): number {
    return this.h.bytes;
  }
  update(chunk: Uint8Array): undefined {
    this.h.update(chunk);
    return undefined;
  }
  digest(): Promise<Digests> {
    return Promise.resolve(this.h.digest());
  }
  discard(): void {}
}

/**
 * A hasher for one stream of bytes. `inline` (or a stream known to be small) hashes in this
 * thread; otherwise the fs worker does, when it can run.
 */
export function streamHasher(opts: { inline?: boolean } = {}): StreamHasher {
  if (!opts.inline && statWorker.available()) return new WorkerHasher();
  return new Inline();
}

/**
 * Passes every chunk through unchanged while `hasher` sees it; waits when the hasher is behind.
 * With `upTo`, a stream that grows past that many bytes stops being hashed: the hasher is
 * discarded (`hashing.dropped`) and the rest passes unhashed, at the speed of the stream.
 */
export function hashingTransform(hasher: StreamHasher, upTo = Infinity): Transform & { dropped: boolean } {
  const t = new Transform({
    transform(chunk: Buffer, _enc, cb) {
      let wait: Promise<void> | undefined;
      if (t.dropped || hasher.bytes + chunk.length > upTo) {
        if (!t.dropped) hasher.discard();
        t.dropped = true;
        cb(null, chunk);
        return;
      }
      try {
        wait = hasher.update(chunk);
      } catch (e) {
        cb(e as Error);
        return;
      }
      this.push(chunk);
      if (wait) wait.then(() => cb(), cb);
      else cb();
    },
  }) as Transform & { dropped: boolean };
  t.dropped = false;
  return t;
}

/**
 * Digests of the first `length` bytes of an open file, read and hashed by the fs worker itself
 * (nothing crosses the event loop); null when no worker can run (hash a stream instead). Throws
 * when the file could not be read whole (it shrank) or the worker stopped. `signal` stops it;
 * the caller keeps `fd` open until this settles.
 */
export async function digestFd(fd: number, length: number, signal?: AbortSignal): Promise<Digests | null> {
  if (signal?.aborted) throw new HashJobError('hashing stopped');
  const job = nextJob++;
  const asked = statWorker.hashFile(job, fd, length, ALG);
  if (!asked) return null;
  const stop = (): void => statWorker.hashDrop(job);
  signal?.addEventListener('abort', stop, { once: true });
  try {
    const r = await asked;
    if (!r) throw lost();
    if (!r.hex) throw new HashJobError(`the fs worker could not hash the file (${r.code})`);
    return toDigests(r.hex);
  } finally {
    signal?.removeEventListener('abort', stop);
  }
}

/** Digests of a whole stream (a stored file read back). */
export async function digestStream(body: Readable, opts: { inline?: boolean } = {}): Promise<Digests> {
  const h = streamHasher(opts);
  try {
    for await (const chunk of body as AsyncIterable<Buffer>) {
      const wait = h.update(chunk);
      if (wait) await wait;
    }
  } catch (e) {
    h.discard();
    throw e;
  }
  return h.digest();
}
