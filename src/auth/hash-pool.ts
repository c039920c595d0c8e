/**
 * Password checks off the event loop. A cost-10 bcrypt takes ~100 ms of CPU in JavaScript; on
 * the one event-loop thread a few wrong logins per second stalled every other request. Checks
 * run on a small pool of worker threads instead, and the queue in front of it is served round
 * robin by client, so a client that floods the pool waits behind itself, not in front of
 * everyone else. The queue is bounded: past it a check fails with 503 + Retry-After.
 *
 * The worker is plain JavaScript run with `eval` (like the fs worker in stat-batch.ts): a
 * worker file would need a loader under tsx. bcryptjs is loaded from the path this module
 * resolves, so the worker uses the same copy as the server.
 */
import { Worker } from 'node:worker_threads';
import { createRequire } from 'node:module';
import { availableParallelism } from 'node:os';
import { DavError } from '../errors.js';

const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const { createHash, timingSafeEqual } = require('node:crypto');
const bcrypt = require(workerData.bcryptjs);
const safeEqual = (a, b) => {
  const x = Buffer.from(a), y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
};
const ITOA64 = './0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';
const to64 = (v, n) => { let s = ''; while (n-- > 0) { s += ITOA64[v & 0x3f]; v >>>= 6; } return s; };
// Apache's MD5-crypt ($apr1$salt$hash), as in apr_md5_encode.
function apr1(password, salt) {
  const pw = Buffer.from(password, 'utf8');
  const magic = '$apr1$';
  salt = salt.slice(0, 8);
  const md5 = () => createHash('md5');
  const ctx = md5().update(pw).update(magic).update(salt);
  let fin = md5().update(pw).update(salt).update(pw).digest();
  for (let pl = pw.length; pl > 0; pl -= 16) ctx.update(fin.subarray(0, Math.min(pl, 16)));
  for (let i = pw.length; i; i >>= 1) ctx.update(i & 1 ? Buffer.from([0]) : pw.subarray(0, 1));
  fin = ctx.digest();
  for (let i = 0; i < 1000; i++) {
    const c = md5();
    c.update(i & 1 ? pw : fin);
    if (i % 3) c.update(salt);
    if (i % 7) c.update(pw);
    c.update(i & 1 ? fin : pw);
    fin = c.digest();
  }
  const f = fin;
  return magic + salt + '$' + to64((f[0] << 16) | (f[6] << 8) | f[12], 4) + to64((f[1] << 16) | (f[7] << 8) | f[13], 4) +
    to64((f[2] << 16) | (f[8] << 8) | f[14], 4) + to64((f[3] << 16) | (f[9] << 8) | f[15], 4) +
    to64((f[4] << 16) | (f[10] << 8) | f[5], 4) + to64(f[11], 2);
}
function verify(password, hash) {
  if (/^\\$2[aby]\\$/.test(hash)) return bcrypt.compareSync(password, hash);
  if (hash.startsWith('{SHA}')) return safeEqual('{SHA}' + createHash('sha1').update(password, 'utf8').digest('base64'), hash);
  if (hash.startsWith('$apr1$')) return safeEqual(apr1(password, hash.split('$')[2]), hash);
  return false;
}
parentPort.on('message', ({ id, password, hash }) => {
  let ok = false;
  try { ok = verify(password, hash); } catch { ok = false; }
  parentPort.postMessage({ id, ok });
});
`;

interface Job {
  password: string;
  hash: string;
  resolve: (ok: boolean) => void;
  reject: (e: unknown) => void;
}

export interface HashPoolOptions {
  /** Worker threads (default: one less than the cores, 1 to 4). */
  size?: number;
  /** Checks waiting at most, across all clients; more answer 503. */
  maxQueued?: number;
}

export class HashPool {
  private readonly size: number;
  private readonly maxQueued: number;
  private readonly idle: Worker[] = [];
  private readonly busy = new Map<Worker, Job>();
  private started = 0;
  /** Waiting checks per client, served round robin (Map order is the rotation). */
  private readonly queues = new Map<string, Job[]>();
  private queued = 0;

  constructor(opts: HashPoolOptions = {}) {
    this.size = opts.size ?? Math.max(1, Math.min(4, availableParallelism() - 1));
    this.maxQueued = opts.maxQueued ?? 1024;
  }

  /** True when `password` matches `hash` (bcrypt, apr1 or {SHA}); `client` is whose turn it is. */
  verify(password: string, hash: string, client = ''): Promise<boolean> {
    if (this.queued >= this.maxQueued) {
      return Promise.reject(new DavError(503, 'Too many password checks waiting; try again', { headers: { 'Retry-After': '2' } }));
    }
    return new Promise((resolve, reject) => {
      const q = this.queues.get(client);
      const job = { password, hash, resolve, reject };
      if (q) q.push(job);
      else this.queues.set(client, [job]);
      this.queued++;
      this.pump();
    });
  }

  private next(): Job | undefined {
    for (const [client, q] of this.queues) {
      const job = q.shift()!;
      this.queues.delete(client);
      if (q.length) this.queues.set(client, q); // to the back of the rotation
      this.queued--;
      return job;
    }
    return undefined;
  }

  private pump(): void {
    while (this.queued > 0) {
      const w = this.idle.pop() ?? (this.started < this.size ? this.spawn() : undefined);
      if (!w) return;
      const job = this.next()!;
      this.busy.set(w, job);
      w.ref(); // a check in flight keeps the process alive until it answers
      w.postMessage({ id: 0, password: job.password, hash: job.hash });
    }
  }

  private spawn(): Worker | undefined {
    let w: Worker;
    try {
      w = new Worker(WORKER_SOURCE, { eval: true, name: 'dav-hash', workerData: { bcryptjs: createRequire(import.meta.url).resolve('bcryptjs') } });
    } catch {
      return undefined;
    }
    this.started++;
    w.on('message', (m: { ok: boolean }) => {
      const job = this.busy.get(w);
      this.busy.delete(w);
      this.idle.push(w);
      w.unref();
      job?.resolve(m.ok === true);
      this.pump();
    });
    const fail = (e: unknown): void => {
      const job = this.busy.get(w);
      this.busy.delete(w);
      const i = this.idle.indexOf(w);
      if (i !== -1) this.idle.splice(i, 1);
      if (this.started > 0) this.started--;
      job?.reject(Object.assign(new DavError(503, 'Password check failed; try again', { headers: { 'Retry-After': '1' } }), { cause: e }));
      w.removeAllListeners();
      void w.terminate();
      this.pump();
    };
    w.on('error', fail);
    w.on('exit', fail);
    // Idle workers never keep the process alive (unref after the listeners: adding a
    // 'message' listener re-refs the worker in Node 20).
    w.unref();
    return w;
  }

  /** Stops the workers (they never keep the process alive; this is for tidy tests). */
  async close(): Promise<void> {
    const all = [...this.idle, ...this.busy.keys()];
    this.idle.length = 0;
    for (const w of all) w.removeAllListeners();
    for (const job of this.busy.values()) job.reject(new DavError(503, 'Server stopping'));
    this.busy.clear();
    this.started = 0;
    await Promise.all(all.map((w) => w.terminate()));
  }
}

/** One pool per process, shared by every server in it. */
export const hashPool = new HashPool();
