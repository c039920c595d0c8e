/**
 * The main-thread side of the fs worker (src/storage/fs/worker/thread.ts). A listing of 10,000
 * files through the libuv threadpool costs one hand-off per file (the profile of PROPFIND
 * Depth 1 spent 44% of the main thread submitting stats), and so does every member of a
 * DELETE or COPY; the worker takes a listing, a small read or write, or a whole tree walk in one
 * message, does the syscalls back to back and answers with one message, so the event loop only
 * builds responses. Requests made in one turn of the event loop travel as one message (a
 * profile of small GETs under load spent 10% of the main thread in postMessage with one message
 * per request). If the worker cannot run, every call answers null and callers fall back to the
 * threadpool.
 *
 * Done inline: a one-shot request (a stat, a small read or write, a journal append) made while
 * the worker has nothing to do runs at once on this thread, a few per turn of the event loop.
 * A round trip to the worker wakes two threads and cost 50-100 us here, against 4-40 us for the
 * syscalls themselves: a client alone on the server (LOCK, PUT, UNLOCK one after the other) paid
 * six round trips per cycle, and made 40-70% more cycles a second without them (README
 * Performance, "Round trips to the fs worker"). Under load the worker stays busy and requests go to it in batches, as before. An inline
 * request slower than INLINE_SLOW_MS twice among its kind's latest 16 (a cold disk, a slow
 * network filesystem, a fdatasync that reaches a disk) switches inline requests of its kind off
 * for a while, so a slow filesystem holds the event loop up twice per back-off, never request
 * after request.
 */
import { Worker } from 'node:worker_threads';
import { lstatSync } from 'node:fs';
import { append, putSmall, readSmall, removeAll, renameAll, stat, writeFile } from './worker/small.js';
import {
  SMALL_SLOT,
  SMALL_SLOTS,
  STAT_FIELDS,
  type Batch,
  type CopyTreeRequest,
  type HashReply,
  type ListReply,
  type PutSmallReply,
  type ReadSmallReply,
  type ReplyOf,
  type TreeReply,
  type WorkerReply,
  type WorkerRequest,
} from './worker/protocol.js';

export { STAT_FIELDS, LIST_FIELDS, Kind } from './worker/protocol.js';
export type { TreeReply, ListReply } from './worker/protocol.js';

/** Stat and (when small enough) content of one file; `code` is the errno code of a failure. */
export interface SmallRead {
  stat: Float64Array;
  body: Buffer | null;
  code?: string;
}

/** After a worker failure, how long the threadpool paths are used before a new worker is tried. */
const RETRY_MS = 5000;

/**
 * The compiled worker beside this file (dist/); under tsx (tests) the TypeScript source, loaded
 * through tsx's hooks, which a worker does not inherit from the thread that starts it.
 */
const WORKER: [string | URL, { eval?: boolean }] = import.meta.url.endsWith('.ts')
  ? [`import('tsx/esm/api').then((t) => t.register()).then(() => import(${JSON.stringify(new URL('./worker/thread.ts', import.meta.url).href)}))`, { eval: true }]
  : [new URL('./worker/thread.js', import.meta.url), {}];

/**
 * The worker's heap: a small young generation (its garbage is short-lived stat objects and
 * names) keeps its resident memory low; the old generation is capped well above what a listing
 * part or a tree walk of a million members needs.
 */
const WORKER_LIMITS = { maxYoungGenerationSizeMb: 4, maxOldGenerationSizeMb: 256 };

/**
 * Inline requests per turn of the event loop: a small PUT makes five in one turn (its stat, the
 * write, and three for the side data), so a client alone gets all of its requests inline, and
 * many clients at once mostly the worker.
 */
export const INLINE_PER_TURN = 8;
/** An inline request that took longer than this (ms) switches its kind off (see StatWorker). */
export const INLINE_SLOW_MS = 1;
/** How long (ms) inline requests of a kind stay off after a slow one; doubled while they stay slow. */
export const INLINE_BACKOFF_MS = 5_000;
export const INLINE_BACKOFF_MAX_MS = 300_000;

/** How many of a kind's latest inline requests the gate looks at (see InlineGate). */
export const INLINE_WINDOW = 16;

/**
 * Inline requests of one kind: metadata syscalls, or the journal append with its fdatasync. Two
 * slow ones among the last INLINE_WINDOW switch the kind off: one alone may be a garbage
 * collection or the thread being descheduled in the middle (both seen here at 1-2 ms), while a
 * disk that answers some requests from its cache and goes to the platter for others shows up
 * as slow ones a few requests apart (two in a row would miss it, holding the event loop up
 * every other request).
 */
export class InlineGate {
  /** Past this many ms a request counts as slow. */
  slowMs = INLINE_SLOW_MS;
  offUntil = 0;
  backoff = INLINE_BACKOFF_MS;
  /** Slow requests seen. */
  slow = 0;
  /** Bit i set: the i-th latest request of this kind was slow (INLINE_WINDOW of them kept). */
  private recent = 0;
  /** Fast requests since the last slow one: a whole window of them starts the back-off over. */
  private fastRun = 0;

  open(now: number): boolean {
    return now >= this.offUntil;
  }

  took(start: number, ms: number): void {
    const slow = ms > this.slowMs;
    this.recent = ((this.recent << 1) | (slow ? 1 : 0)) & ((1 << INLINE_WINDOW) - 1);
    if (!slow) {
      // a whole window without a slow one: the back-off starts over (not `recent === 0`, which
      // also holds right after a trip clears the window, so the back-off never grew)
      if (++this.fastRun >= INLINE_WINDOW) this.backoff = INLINE_BACKOFF_MS;
      return;
    }
    this.fastRun = 0;
    this.slow++;
    if ((this.recent & (this.recent - 1)) === 0) return; // the only slow one in the window
    this.recent = 0;
    this.offUntil = start + ms + this.backoff;
    this.backoff = Math.min(this.backoff * 2, INLINE_BACKOFF_MAX_MS);
  }
}

type Waiter = (r: WorkerReply | null) => void;
type Body<R> = R extends WorkerRequest ? Omit<R, 'id'> : never;

/**
 * Parts of a listing asked for ahead of the reader. Two: with one, the worker waited for each ask
 * while the reader was held up writing its response, and a 10,000-entry PROPFIND alternated
 * between the two threads (each ~70 ms busy, 140-170 ms in all).
 */
const LIST_AHEAD = 2;

class StatWorker {
  private worker: Worker | null = null;
  private readonly waiting = new Map<number, Waiter>();
  private nextId = 0;
  private broken = false;
  private outbox: WorkerRequest[] = [];
  private transfers: ArrayBuffer[] = [];
  private flushing = false;
  /** Slots of small reads (protocol.ts SMALL_SLOT): 2 MiB of address space, resident only as used. */
  private readonly smallArea = new SharedArrayBuffer(SMALL_SLOTS * SMALL_SLOT);
  private readonly freeSlots = Array.from({ length: SMALL_SLOTS }, (_, i) => SMALL_SLOTS - 1 - i);
  /** Small reads answered through a slot (the rest had buffers of their own): tells the area is in use. */
  slotReads = 0;

  /** Inline requests are tried (tests of the worker itself switch them off). */
  inlineEnabled = true;
  /** Requests done inline, and how many of them were slow (see the top of this file). */
  inlineDone = 0;
  get inlineSlow(): number {
    return this.metaGate.slow + this.syncGate.slow;
  }
  private metaGate = new InlineGate();
  private syncGate = new InlineGate();

  /**
   * Starts both gates afresh, counting requests slower than `slowMs` as slow. Tests of what the
   * inline requests answer pass Infinity: on a loaded machine a request descheduled for a
   * millisecond would send the rest of such a test to the worker.
   */
  resetInline(slowMs = INLINE_SLOW_MS): void {
    this.metaGate = new InlineGate();
    this.syncGate = new InlineGate();
    this.metaGate.slowMs = this.syncGate.slowMs = slowMs;
  }
  private inlineTurn = 0;
  private readonly newTurn = (): void => {
    this.inlineTurn = 0;
  };

  /** Calls waiting for the worker (the admin listener's queue-depth gauge). */
  get queued(): number {
    return this.waiting.size;
  }

  /** Counts the workers started: state kept on one (a hashing job) is gone once this changes. */
  generation = 0;

  private start(): Worker | null {
    if (this.worker) return this.worker;
    if (this.broken) return null;
    let w: Worker;
    try {
      w = new Worker(WORKER[0], { ...WORKER[1], name: 'dav-fs', resourceLimits: WORKER_LIMITS, workerData: { smallArea: this.smallArea } });
    } catch {
      this.broken = true;
      return null;
    }
    this.generation++;
    w.on('message', (m: Batch<WorkerReply>) => {
      for (const r of m.b) {
        const waiter = this.waiting.get(r.id);
        this.waiting.delete(r.id);
        waiter?.(r);
      }
      if (this.waiting.size === 0) w.unref();
    });
    // A worker that fails (e.g. ERR_WORKER_INIT_FAILED under EMFILE) answers its waiting calls
    // with null, so every caller takes its threadpool path instead of failing the request; a
    // new worker is tried again after a pause.
    const fail = (): void => {
      if (this.worker === w) this.worker = null;
      for (const waiter of this.waiting.values()) waiter(null);
      this.waiting.clear();
    };
    w.on('error', () => {
      this.broken = true;
      setTimeout(() => (this.broken = false), RETRY_MS).unref();
      fail();
    });
    w.on('exit', fail);
    // Unref only after the listeners: in Node 20 adding a 'message' listener re-refs the port,
    // and a ref'd worker keeps the process (and every test run) alive after the server closed.
    // It is ref'd again while calls wait (call()): a start-up that awaits only the worker (a
    // user root's stat before the listener exists) must not see the process exit under it.
    w.unref();
    this.worker = w;
    return w;
  }

  /** Sends what this turn of the event loop asked for as one message. */
  private readonly flush = (): void => {
    this.flushing = false;
    const batch = this.outbox;
    const transfers = this.transfers;
    this.outbox = [];
    this.transfers = [];
    if (!batch.length) return;
    const w = this.worker;
    if (!w) {
      for (const r of batch) {
        const waiter = this.waiting.get(r.id);
        this.waiting.delete(r.id);
        waiter?.(null);
      }
      return;
    }
    w.postMessage({ b: batch } satisfies Batch<WorkerRequest>, transfers);
  };

  /** Queues a request for this turn's message; returns its id. */
  private enqueue(msg: Body<WorkerRequest>, transfer: ArrayBuffer[]): number {
    const id = this.nextId++;
    this.outbox.push({ ...msg, id } as WorkerRequest);
    for (const t of transfer) this.transfers.push(t);
    if (!this.flushing) {
      this.flushing = true;
      setImmediate(this.flush);
    }
    return id;
  }

  /**
   * Runs `msg` on this thread when the worker is idle and this turn's share is left (see the top
   * of this file); null when it goes to the worker.
   */
  private inline(msg: Body<WorkerRequest>): WorkerReply | null {
    if (!this.inlineEnabled || this.waiting.size !== 0 || this.outbox.length !== 0 || this.inlineTurn >= INLINE_PER_TURN) return null;
    const gate = msg.op === 'append' ? this.syncGate : this.metaGate;
    const start = performance.now();
    if (!gate.open(start)) return null;
    let reply: WorkerReply | null;
    try {
      reply = runInline({ ...msg, id: -1 } as WorkerRequest, this.smallArea);
    } catch {
      return null; // not an fs error (those are in the reply): the worker's turn, as for a bug there
    }
    if (!reply) return null;
    gate.took(start, performance.now() - start);
    if (this.inlineTurn++ === 0) setImmediate(this.newTurn);
    this.inlineDone++;
    return reply;
  }

  private call<R extends WorkerRequest>(msg: Body<R>, transfer: ArrayBuffer[] = []): Promise<ReplyOf<R> | null> | null {
    const done = this.inline(msg);
    if (done) return Promise.resolve(done as ReplyOf<R>);
    const w = this.start();
    if (!w) return null;
    if (this.waiting.size === 0) w.ref();
    return new Promise((resolve) => this.waiting.set(this.enqueue(msg, transfer), resolve as Waiter));
  }

  /**
   * lstat of `path` (stat with `follow`) as LIST_FIELDS numbers (kind Missing when nothing is
   * there) and the errno code of any other failure; null when no worker can run.
   */
  stat(path: string, follow: boolean): Promise<{ fields: Float64Array; code?: string } | null> | null {
    return this.call<WorkerRequest & { op: 'stat' }>({ op: 'stat', path, follow })?.then((r) => r && { fields: new Float64Array(r.buf), code: r.code }) ?? null;
  }

  /** One file's stat and, if it is a file of at most `max` bytes, its content; null when no worker can run. */
  readSmall(path: string, max: number): Promise<SmallRead | null> | null {
    // A slot when one is free (more than SMALL_SLOTS reads at once take buffers of their own).
    const slot = max <= SMALL_SLOT ? this.freeSlots.pop() : undefined;
    const asked = this.call<WorkerRequest & { op: 'small' }>({ op: 'small', path, max, slot });
    if (!asked) {
      if (slot !== undefined) this.freeSlots.push(slot);
      return null;
    }
    return asked.then((r: ReadSmallReply | null) => {
      let body: Buffer | null = null;
      // Copied out (Buffer.from of a view copies), then the slot is free again; a worker that
      // died answers null, so the slot is never written after this.
      if (r?.len !== undefined && slot !== undefined) {
        body = Buffer.from(new Uint8Array(this.smallArea, slot * SMALL_SLOT, r.len));
        this.slotReads++;
      }
      else if (r?.body) body = Buffer.from(r.body);
      if (slot !== undefined) this.freeSlots.push(slot);
      return r && { stat: new Float64Array(r.buf), body, code: r.code };
    });
  }

  /**
   * Writes `body` to `tmp`, sets its mtime when asked and renames it over `target`; with
   * `check`, first reports whether the target existed (created 1/0; EISDIR for a collection).
   * null when no worker can run.
   */
  putSmall(tmp: string, target: string, body: Buffer, check: boolean, mtimeMs?: number): Promise<{ stat: Float64Array; created: number; code?: string } | null> | null {
    const copy = new ArrayBuffer(body.length); // its own memory, so it can be transferred
    new Uint8Array(copy).set(body);
    return (
      this.call<WorkerRequest & { op: 'put' }>({ op: 'put', tmp, target, body: copy, check, mtimeMs }, [copy])?.then(
        (r: PutSmallReply | null) => r && { stat: new Float64Array(r.buf), created: r.created, code: r.code },
      ) ?? null
    );
  }

  /**
   * The members of directory `dir` (DAV path `path`): at most `first` in the first part (the
   * answer can start at once), `rest` in each following one, LIST_AHEAD parts asked for ahead
   * of the one being taken; null when no worker can run.
   * Throws a reply's errno code as an error with that `code`.
   */
  list(dir: string, path: string, first: number, rest: number): AsyncIterable<ListReply> | null {
    const opening = this.call<WorkerRequest & { op: 'list' }>({ op: 'list', dir, path, max: first });
    if (!opening) return null;
    const next = (list: number): Promise<ListReply | null> => this.call<WorkerRequest & { op: 'next' }>({ op: 'next', list, max: rest }) ?? Promise.resolve(null);
    const lost = (): Error => Object.assign(new Error('the fs worker stopped during a listing'), { code: 'EIO' });
    const close = (list: number): void => {
      if (this.worker) this.enqueue({ op: 'close', list }, []);
    };
    return {
      async *[Symbol.asyncIterator]() {
        const opened = await opening;
        if (!opened) throw lost();
        let part: ListReply = opened;
        const list = part.id;
        let done = false;
        const ahead: Promise<ListReply | null>[] = [];
        try {
          for (;;) {
            if (part.code) throw Object.assign(new Error(`${part.code}: ${dir}`), { code: part.code });
            // Asked for early: the worker reads on while this part is turned into a response
            // (answers to asks past the end are ignored: the last part says there is no more).
            while (part.more && ahead.length < LIST_AHEAD) {
              const p = next(list);
              p.catch(() => undefined);
              ahead.push(p);
            }
            yield part;
            if (!part.more) break;
            const p: ListReply | null = await ahead.shift()!;
            if (!p) throw lost();
            part = p;
          }
          done = true;
        } finally {
          // Left early (the client went away, or an error): the worker closes the directory.
          if (!done) close(list);
        }
      },
    };
  }

  /** Removes each path if present, directories with their content (`rm -rf`); null when no worker can run. */
  removeAll(paths: string[]): Promise<{ code?: string } | null> | null {
    return this.call<WorkerRequest & { op: 'rmrf' }>({ op: 'rmrf', paths });
  }

  /** Renames each `[from, to]` whose `from` exists, creating `to`'s folder when missing; null when no worker can run. */
  renameAll(pairs: [string, string][]): Promise<{ code?: string } | null> | null {
    return this.call<WorkerRequest & { op: 'mvall' }>({ op: 'mvall', pairs });
  }

  /**
   * Replaces a small metadata file: `body` to `tmp`, renamed over `file`, its folder created
   * when missing; null when no worker can run.
   */
  writeFile(tmp: string, file: string, body: string): Promise<{ code?: string } | null> | null {
    return this.call<WorkerRequest & { op: 'write' }>({ op: 'write', tmp, file, body });
  }

  /** Appends `text` to `file` and fdatasyncs it (see AppendRequest); null when no worker can run. */
  append(file: string, text: string): Promise<{ code?: string } | null> | null {
    return this.call<WorkerRequest & { op: 'append' }>({ op: 'append', file, text });
  }

  /** Whether the worker runs (it is started if need be). */
  available(): boolean {
    return this.start() !== null;
  }

  /** Feeds hashing job `job` (see HashDataRequest; `buf` is transferred); null when no worker can run. */
  hashData(job: number, alg: string[], buf: ArrayBuffer, length: number): Promise<HashReply | null> | null {
    return this.call<WorkerRequest & { op: 'hash' }>({ op: 'hash', job, alg, buf, length }, [buf]);
  }

  /** The digests of hashing job `job`, which ends; null when no worker can run. */
  hashDigest(job: number, alg: string[]): Promise<HashReply | null> | null {
    return this.call<WorkerRequest & { op: 'digest' }>({ op: 'digest', job, alg });
  }

  /** Hashes the first `length` bytes of the open file `fd` on the worker (see HashFileRequest); null when no worker can run. */
  hashFile(job: number, fd: number, length: number, alg: string[]): Promise<HashReply | null> | null {
    return this.call<WorkerRequest & { op: 'hashfd' }>({ op: 'hashfd', job, fd, length, alg });
  }

  /** Forgets hashing job `job` (stops a hashFile). */
  hashDrop(job: number): void {
    void this.call<WorkerRequest & { op: 'drop' }>({ op: 'drop', job });
  }

  /** Deletes a tree on the worker (see RemoveTreeRequest); null when no worker can run. */
  removeTree(file: string, path: string, noLink = false): Promise<TreeReply | null> | null {
    return this.call<WorkerRequest & { op: 'rm' }>({ op: 'rm', file, path, noLink });
  }

  /** Copies a tree on the worker (see CopyTreeRequest); null when no worker can run. */
  copyTree(req: Omit<CopyTreeRequest, 'id' | 'op'>): Promise<TreeReply | null> | null {
    return this.call<WorkerRequest & { op: 'copy' }>({ op: 'copy', ...req });
  }
}

/**
 * A one-shot request done on this thread with the worker's own functions (worker/small.ts);
 * null for what stays on the worker.
 */
function runInline(m: WorkerRequest, smallArea: SharedArrayBuffer): WorkerReply | null {
  switch (m.op) {
    case 'stat':
      return stat(m)[0];
    case 'small':
      return readSmall(m, smallArea)[0];
    case 'put':
      return putSmall(m)[0];
    case 'write':
      return writeFile(m)[0];
    case 'append':
      return append(m)[0];
    case 'mvall':
      return renameAll(m)[0];
    case 'rmrf': {
      // A directory may hold any number of files: removed on the worker. Mostly nothing is
      // there (the side data of a new file): then one lstat per path is all.
      let found = false;
      for (const p of m.paths) {
        const kind = kindOf(p);
        if (kind === 'directory') return null;
        if (kind === 'other') found = true;
      }
      return found ? removeAll(m)[0] : { id: m.id };
    }
    default:
      return null; // walks, listings and hashing jobs live on the worker
  }
}

/** What is at `path` (links not followed); 'directory' when that cannot be told, so the worker decides. */
function kindOf(path: string): 'missing' | 'directory' | 'other' {
  try {
    const st = lstatSync(path, { throwIfNoEntry: false });
    return !st ? 'missing' : st.isDirectory() ? 'directory' : 'other';
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'ENOTDIR' ? 'missing' : 'directory';
  }
}

/** One worker per process: it holds no state between calls, but for open listings. */
export const statWorker = new StatWorker();
