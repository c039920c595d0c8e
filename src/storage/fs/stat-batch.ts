/**
 * The main-thread side of the fs worker (src/storage/fs/worker/thread.ts). A listing of 10,000
 * files through the libuv threadpool costs one hand-off per file (the profile of PROPFIND
 * Depth 1 spent 44% of the main thread submitting stats); the worker takes a batch of names in
 * one message, stats them back to back and answers with one transferred Float64Array, so the
 * event loop only builds XML. The event loop never waits on it synchronously; if the worker
 * cannot run, every call answers null and callers fall back to the threadpool.
 */
import { Worker } from 'node:worker_threads';
import { STAT_FIELDS, type PutSmallReply, type ReadSmallReply, type ReplyOf, type WorkerReply, type WorkerRequest } from './worker/protocol.js';

export { STAT_FIELDS, Kind } from './worker/protocol.js';

/** Stat and (when small enough) content of one file; `code` is the errno code of a failure. */
export interface SmallRead {
  stat: Float64Array;
  body: Buffer | null;
  code?: string;
}

/** After a worker failure, how long the threadpool paths are used before a new worker is tried. */
const RETRY_MS = 5000;

/** The compiled worker beside this file (dist/), or the TypeScript source under tsx (tests). */
const WORKER_URL = new URL(import.meta.url.endsWith('.ts') ? './worker/thread.ts' : './worker/thread.js', import.meta.url);

type Waiter = (r: WorkerReply | null) => void;
type Body<R> = R extends WorkerRequest ? Omit<R, 'id'> : never;

class StatWorker {
  private worker: Worker | null = null;
  private readonly waiting = new Map<number, Waiter>();
  private nextId = 0;
  private broken = false;

  /** Calls waiting for the worker (the admin listener's queue-depth gauge). */
  get queued(): number {
    return this.waiting.size;
  }

  private start(): Worker | null {
    if (this.worker) return this.worker;
    if (this.broken) return null;
    let w: Worker;
    try {
      w = new Worker(WORKER_URL, { name: 'dav-fs' });
    } catch {
      this.broken = true;
      return null;
    }
    w.on('message', (m: WorkerReply) => {
      const waiter = this.waiting.get(m.id);
      this.waiting.delete(m.id);
      waiter?.(m);
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
    w.unref();
    this.worker = w;
    return w;
  }

  private call<R extends WorkerRequest>(msg: Body<R>, transfer: ArrayBuffer[] = []): Promise<ReplyOf<R> | null> | null {
    const w = this.start();
    if (!w) return null;
    const id = this.nextId++;
    return new Promise((resolve) => {
      this.waiting.set(id, resolve as Waiter);
      w.postMessage({ ...msg, id }, transfer);
    });
  }

  /** STAT_FIELDS numbers per name (see the protocol), or null when no worker can run. */
  statMany(dir: string, names: string[]): Promise<Float64Array | null> | null {
    return this.call<WorkerRequest & { op: 'stat' }>({ op: 'stat', dir, names })?.then((r) => r && new Float64Array(r.buf)) ?? null;
  }

  /** One file's stat and, if it is a file of at most `max` bytes, its content; null when no worker can run. */
  readSmall(path: string, max: number): Promise<SmallRead | null> | null {
    return (
      this.call<WorkerRequest & { op: 'small' }>({ op: 'small', path, max })?.then((r: ReadSmallReply | null) => r && { stat: new Float64Array(r.buf), body: r.body ? Buffer.from(r.body) : null, code: r.code }) ?? null
    );
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
}

/** One worker per process: it holds no state. */
export const statWorker = new StatWorker();


