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
const { statSync } = require('node:fs');
parentPort.on('message', ({ id, dir, names }) => {
  const out = new Float64Array(names.length * ${STAT_FIELDS});
  for (let i = 0; i < names.length; i++) {
    let st;
    try { st = statSync(dir + '/' + names[i], { throwIfNoEntry: false }); } catch { st = undefined; }
    if (!st) continue;
    const o = i * ${STAT_FIELDS};
    out[o] = st.isDirectory() ? 2 : 1;
    out[o + 1] = st.size;
    out[o + 2] = st.mtimeMs;
    out[o + 3] = st.birthtimeMs;
    out[o + 4] = st.ctimeMs;
    out[o + 5] = st.ino;
  }
  parentPort.postMessage({ id, buf: out.buffer }, [out.buffer]);
});
`;

type Waiter = { resolve: (v: Float64Array) => void; reject: (e: unknown) => void };

class StatWorker {
  private worker: Worker | null = null;
  private readonly waiting = new Map<number, Waiter>();
  private nextId = 0;
  private broken = false;

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
    w.unref(); // never keeps the process alive; the server does while requests wait
    w.on('message', (m: { id: number; buf: ArrayBuffer }) => {
      const waiter = this.waiting.get(m.id);
      this.waiting.delete(m.id);
      waiter?.resolve(new Float64Array(m.buf));
    });
    const fail = (e: unknown): void => {
      if (this.worker === w) this.worker = null;
      for (const waiter of this.waiting.values()) waiter.reject(e);
      this.waiting.clear();
    };
    w.on('error', (e) => {
      this.broken = true;
      fail(e);
    });
    w.on('exit', (c) => fail(new Error(`stat worker exited with code ${c}`)));
    this.worker = w;
    return w;
  }

  /** STAT_FIELDS numbers per name (see above), or null when no worker can run. */
  statMany(dir: string, names: string[]): Promise<Float64Array> | null {
    const w = this.start();
    if (!w) return null;
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.waiting.set(id, { resolve, reject });
      w.postMessage({ id, dir, names });
    });
  }
}

/** One worker per process: it holds no state but the directory being listed. */
export const statWorker = new StatWorker();
