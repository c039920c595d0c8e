/**
 * Hashing of streams (uploads, lazily hashed files) on a thread of its own. MD5 runs at a few
 * hundred MB/s, slower than an upload on a fast disk: hashed on the event loop it would halve
 * upload throughput and stall every other request for milliseconds per MiB. Here the event loop
 * only copies each chunk into a 256 KiB batch and transfers the batch; the hashing thread
 * acknowledges every batch, and a job with more than MAX_IN_FLIGHT bytes unacknowledged makes
 * its producer wait (an upload never queues more than that in memory).
 *
 * When the thread cannot run (it failed to start, or died), new jobs hash in this thread
 * (InlineHasher) and jobs that were in flight fail: the caller stores no checksum (it is computed
 * lazily later) or, when a client asked for verification, answers 503.
 */
import { Worker } from 'node:worker_threads';
import { Transform, type Readable } from 'node:stream';
import { ALGORITHMS, InlineHasher, type Digests } from './digests.js';

/** Messages to the hashing thread: bytes of a job in order (`length` bytes of the transferred `buf`), its digests (the job ends), or forget it. */
type HashRequest = { op: 'data'; job: number; buf: ArrayBuffer; length: number } | { op: 'digest'; job: number } | { op: 'drop'; job: number };
/** Its answers: a batch was hashed, or the job's digests in ALGORITHMS order. */
type HashReply = { op: 'ack'; job: number; length: number; buf: ArrayBuffer } | { op: 'digest'; job: number; hex: string[] };

/**
 * The hashing thread's code, evaluated (it runs the same from dist/ and under the test loader,
 * which worker threads do not inherit): one set of hash states per job.
 */
const THREAD_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const { createHash } = require('node:crypto');
const algorithms = workerData.algorithms;
const jobs = new Map();
parentPort.on('message', (m) => {
  if (m.op === 'data') {
    let hs = jobs.get(m.job);
    if (!hs) jobs.set(m.job, (hs = algorithms.map((a) => createHash(a))));
    const bytes = new Uint8Array(m.buf, 0, m.length);
    for (const h of hs) h.update(bytes);
    // The batch goes back with the ack, to be filled again: no buffer is allocated per batch.
    parentPort.postMessage({ op: 'ack', job: m.job, length: m.length, buf: m.buf }, [m.buf]);
  } else if (m.op === 'digest') {
    const hs = jobs.get(m.job) || algorithms.map((a) => createHash(a));
    jobs.delete(m.job);
    parentPort.postMessage({ op: 'digest', job: m.job, hex: hs.map((h) => h.digest('hex')) });
  } else if (m.op === 'drop') {
    jobs.delete(m.job);
  }
});
`;

const BATCH = 256 * 1024;
const MAX_IN_FLIGHT = 2 * 1024 * 1024;
/**
 * Batches travel to the hashing thread and back (transferred both ways) and are filled again.
 * Allocating a fresh 256 KiB batch each time made every hashed upload leave its bytes as garbage
 * in both threads until a GC: +70 MiB of RSS during a 512 MiB PUT (npm run bench,
 * put_large_peak_delta 104 against 34 before checksums). Up to this many wait for reuse.
 */
const POOL_MAX = 16;
const pool: ArrayBuffer[] = [];
function takeBatch(): Uint8Array {
  const b = pool.pop();
  return b ? new Uint8Array(b) : new Uint8Array(BATCH);
}
function giveBatch(b: ArrayBuffer): void {
  if (b.byteLength === BATCH && pool.length < POOL_MAX) pool.push(b);
}
/** After a thread failure, how long jobs hash inline before a new thread is tried. */
const RETRY_MS = 5000;


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

interface JobState {
  inFlight: number;
  waiter?: () => void;
  digest?: { resolve: (d: Digests) => void; reject: (e: Error) => void };
  failed?: Error;
}

class HashThread {
  private worker: Worker | null = null;
  private brokenUntil = 0;
  private nextJob = 1;
  private readonly jobs = new Map<number, JobState>();

  /** The running thread, started on first use; null while it cannot run. */
  get(): Worker | null {
    if (this.worker) return this.worker;
    if (Date.now() < this.brokenUntil) return null;
    let w: Worker;
    try {
      // Its heap holds a few hash states and message wrappers: a small young generation keeps
      // the thread's resident memory small (batches are transferred, outside the heap).
      w = new Worker(THREAD_SOURCE, {
        eval: true,
        name: 'dav-checksums',
        workerData: { algorithms: [...ALGORITHMS] },
        resourceLimits: { maxYoungGenerationSizeMb: 1, maxOldGenerationSizeMb: 64 },
      });
    } catch {
      this.brokenUntil = Date.now() + RETRY_MS;
      return null;
    }
    w.on('message', (m: HashReply) => this.onReply(m));
    const fail = (why: string): void => {
      if (this.worker !== w) return;
      this.worker = null;
      this.brokenUntil = Date.now() + RETRY_MS;
      const err = new HashJobError(`the hashing thread stopped (${why})`);
      for (const s of this.jobs.values()) {
        s.failed = err;
        s.waiter?.();
        s.digest?.reject(err);
      }
      this.jobs.clear();
    };
    w.on('error', (e) => fail(e.message));
    w.on('exit', (code) => fail(`exit ${code}`));
    this.worker = w;
    this.idle();
    return w;
  }

  /**
   * The thread keeps the process alive only while it has work: bytes not yet acknowledged or a
   * digest asked for (a job merely kept open between two requests of an upload does not count).
   */
  private idle(): void {
    for (const s of this.jobs.values()) if (s.inFlight > 0 || s.digest) return;
    this.worker?.unref();
  }

  private onReply(m: HashReply): void {
    const s = this.jobs.get(m.job);
    if (m.op === 'ack') giveBatch(m.buf);
    if (!s) return;
    if (m.op === 'ack') {
      s.inFlight -= m.length;
      if (s.inFlight <= MAX_IN_FLIGHT && s.waiter) {
        const w = s.waiter;
        s.waiter = undefined;
        w();
      }
      this.idle();
      return;
    }
    this.jobs.delete(m.job);
    this.idle();
    const out = {} as Digests;
    ALGORITHMS.forEach((a, i) => (out[a] = m.hex[i]!));
    s.digest?.resolve(out);
  }

  open(): { id: number; state: JobState } {
    const id = this.nextJob++;
    const state: JobState = { inFlight: 0 };
    this.jobs.set(id, state);
    return { id, state };
  }

  post(m: HashRequest, transfer?: ArrayBuffer[]): void {
    if (m.op !== 'drop') this.worker?.ref();
    this.worker?.postMessage(m, transfer);
  }

  close(id: number): void {
    if (this.jobs.delete(id)) this.post({ op: 'drop', job: id });
    this.idle();
  }
}

const thread = new HashThread();

class ThreadHasher implements StreamHasher {
  bytes = 0;
  private batch: Uint8Array | null = null;
  private used = 0;
  private done = false;

  constructor(
    private readonly id: number,
    private readonly state: JobState,
  ) {}

  private flush(): void {
    if (this.used === 0 || !this.batch) return;
    const buf = this.batch.buffer as ArrayBuffer;
    this.state.inFlight += this.used;
    thread.post({ op: 'data', job: this.id, buf, length: this.used }, [buf]);
    this.batch = null; // taken again when more bytes come
    this.used = 0;
  }

  update(chunk: Uint8Array): Promise<void> | undefined {
    if (this.state.failed) throw this.state.failed;
    this.bytes += chunk.length;
    let off = 0;
    while (off < chunk.length) {
      const n = Math.min(BATCH - this.used, chunk.length - off);
      this.batch ??= takeBatch();
      this.batch.set(chunk.subarray(off, off + n), this.used);
      this.used += n;
      off += n;
      if (this.used === BATCH) this.flush();
    }
    if (this.state.inFlight <= MAX_IN_FLIGHT) return undefined;
    return new Promise<void>((resolve, reject) => {
      this.state.waiter = () => (this.state.failed ? reject(this.state.failed) : resolve());
    });
  }

  digest(): Promise<Digests> {
    if (this.state.failed) return Promise.reject(this.state.failed);
    if (this.done) return Promise.reject(new Error('digest() called twice'));
    this.done = true;
    this.flush();
    return new Promise<Digests>((resolve, reject) => {
      this.state.digest = { resolve, reject };
      thread.post({ op: 'digest', job: this.id });
    });
  }

  discard(): void {
    this.done = true;
    if (this.batch) giveBatch(this.batch.buffer as ArrayBuffer);
    this.batch = null;
    thread.close(this.id);
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
 * thread; otherwise the hashing thread does, when it can run.
 */
export function streamHasher(opts: { inline?: boolean } = {}): StreamHasher {
  if (!opts.inline && thread.get()) {
    const { id, state } = thread.open();
    return new ThreadHasher(id, state);
  }
  return new Inline();
}

/** Passes every chunk through unchanged while `hasher` sees it; waits when the hasher is behind. */
export function hashingTransform(hasher: StreamHasher): Transform {
  return new Transform({
    transform(chunk: Buffer, _enc, cb) {
      let wait: Promise<void> | undefined;
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
  });
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
