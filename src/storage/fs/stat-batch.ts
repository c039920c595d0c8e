/**
 * stat(2) for many names of one directory at once, on a worker thread. A listing of 10,000
 * files through the libuv threadpool costs one hand-off per file (the profile of PROPFIND
 * Depth 1 spent 44% of the main thread submitting stats); the worker takes a batch of names in
 * one message, stats them back to back and answers with one transferred Float64Array, so the
 * event loop only builds XML. The event loop never waits on it synchronously; if the worker
 * cannot run, callers fall back to the threadpool.
 */
import { Worker } from 'node:worker_threads';

/** Per name: kind (0 missing, 1 file, 2 directory), size, mtimeMs, birthtimeMs, ctimeMs, ino. */
export const STAT_FIELDS = 6;

const WORKER_SOURCE = `
const { parentPort } = require('node:worker_threads');
const { statSync, openSync, fstatSync, readSync, closeSync, writeFileSync, renameSync, unlinkSync, constants } = require('node:fs');
// O_NONBLOCK: opening a FIFO must not block the worker (no effect on regular files)
const OPEN_FLAGS = constants.O_RDONLY | (constants.O_NONBLOCK || 0);
// O_NOFOLLOW for the small-file read: a link answers ELOOP and the caller takes its checked
// path, so the containment check needs no extra lstat per GET.
const SMALL_FLAGS = OPEN_FLAGS | (constants.O_NOFOLLOW || 0);
const stat = (o, out, st) => {
  out[o] = st.isDirectory() ? 2 : 1;
  out[o + 1] = st.size;
  out[o + 2] = st.mtimeMs;
  out[o + 3] = st.birthtimeMs;
  out[o + 4] = st.ctimeMs;
  out[o + 5] = st.ino;
};
parentPort.on('message', (m) => {
  if (m.op === 'small') return small(m);
  if (m.op === 'put') return put(m);
  const { id, dir, names } = m;
  const out = new Float64Array(names.length * ${STAT_FIELDS});
  for (let i = 0; i < names.length; i++) {
    let st;
    try { st = statSync(dir + '/' + names[i], { throwIfNoEntry: false }); } catch { st = undefined; }
    if (st) stat(i * ${STAT_FIELDS}, out, st);
  }
  parentPort.postMessage({ id, buf: out.buffer }, [out.buffer]);
});
// A small upload already received: temp file beside the target, then rename over it (atomic);
// answers whether the target was new (when asked to check) and the new file's stat.
function put({ id, tmp, target, body, check }) {
  const out = new Float64Array(${STAT_FIELDS});
  let created = -1;
  try {
    if (check) {
      const st = statSync(target, { throwIfNoEntry: false });
      if (st && st.isDirectory()) throw Object.assign(new Error('is a directory'), { code: 'EISDIR' });
      created = st ? 0 : 1;
    }
    writeFileSync(tmp, new Uint8Array(body), { flag: 'wx' });
    renameSync(tmp, target);
    stat(0, out, statSync(target));
    parentPort.postMessage({ id, buf: out.buffer, created }, [out.buffer]);
  } catch (e) {
    try { unlinkSync(tmp); } catch {}
    parentPort.postMessage({ id, buf: out.buffer, code: e.code || 'EIO' }, [out.buffer]);
  }
}
// One file: its stat and, when it is a regular file of at most max bytes, its content, read
// through one descriptor so both describe the same file.
function small({ id, path, max }) {
  const out = new Float64Array(${STAT_FIELDS});
  let fd = -1;
  try {
    fd = openSync(path, SMALL_FLAGS);
    const st = fstatSync(fd);
    stat(0, out, st);
    let body = null;
    if (st.isFile() && st.size <= max) {
      const buf = new Uint8Array(new ArrayBuffer(st.size));
      let got = 0;
      while (got < buf.length) {
        const n = readSync(fd, buf, got, buf.length - got, got);
        if (n === 0) break;
        got += n;
      }
      body = got === buf.length ? buf.buffer : buf.buffer.slice(0, got);
    }
    parentPort.postMessage({ id, buf: out.buffer, body }, body ? [out.buffer, body] : [out.buffer]);
  } catch (e) {
    parentPort.postMessage({ id, buf: out.buffer, code: e.code || 'EIO' }, [out.buffer]);
  } finally {
    if (fd !== -1) try { closeSync(fd); } catch {}
  }
}
`;

type Reply = { id: number; buf: ArrayBuffer; body?: ArrayBuffer | null; code?: string; created?: number };
type Waiter = { resolve: (v: Reply | null) => void; reject: (e: unknown) => void };

/** Stat and (when small enough) content of one file; `code` is the errno code of a failure. */
export interface SmallRead {
  stat: Float64Array;
  body: Buffer | null;
  code?: string;
}

/** After a worker failure, how long the threadpool paths are used before a new worker is tried. */
const RETRY_MS = 5000;

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
      w = new Worker(WORKER_SOURCE, { eval: true, name: 'dav-stat' });
    } catch {
      this.broken = true;
      return null;
    }
    w.on('message', (m: Reply) => {
      const waiter = this.waiting.get(m.id);
      this.waiting.delete(m.id);
      waiter?.resolve(m);
    });
    // A worker that fails (e.g. ERR_WORKER_INIT_FAILED under EMFILE) answers its waiting calls
    // with null, so every caller takes its threadpool path instead of failing the request; a
    // new worker is tried again after a pause.
    const fail = (): void => {
      if (this.worker === w) this.worker = null;
      for (const waiter of this.waiting.values()) waiter.resolve(null);
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
    w.unref(); // never keeps the process alive; the server does while requests wait
    this.worker = w;
    return w;
  }

  /** STAT_FIELDS numbers per name (see above), or null when no worker can run. */
  statMany(dir: string, names: string[]): Promise<Float64Array | null> | null {
    return this.call({ dir, names })?.then((r) => r && new Float64Array(r.buf)) ?? null;
  }

  /** One file's stat and, if it is a file of at most `max` bytes, its content; null when no worker can run. */
  readSmall(path: string, max: number): Promise<SmallRead | null> | null {
    return this.call({ op: 'small', path, max })?.then((r) => r && { stat: new Float64Array(r.buf), body: r.body ? Buffer.from(r.body) : null, code: r.code }) ?? null;
  }

  /**
   * Writes `body` to `tmp` and renames it over `target`; with `check`, first reports whether the
   * target existed (created 1/0; EISDIR for a collection). null when no worker can run.
   */
  putSmall(tmp: string, target: string, body: Buffer, check: boolean): Promise<{ stat: Float64Array; created: number; code?: string } | null> | null {
    const copy = new ArrayBuffer(body.length); // its own memory, so it can be transferred
    new Uint8Array(copy).set(body);
    return this.call({ op: 'put', tmp, target, body: copy, check }, [copy])?.then((r) => r && { stat: new Float64Array(r.buf), created: r.created ?? -1, code: r.code }) ?? null;
  }

  private call(msg: object, transfer: ArrayBuffer[] = []): Promise<Reply | null> | null {
    const w = this.start();
    if (!w) return null;
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.waiting.set(id, { resolve, reject });
      w.postMessage({ id, ...msg }, transfer);
    });
  }
}

/** One worker per process: it holds no state but the directory being listed. */
export const statWorker = new StatWorker();
