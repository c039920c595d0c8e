/**
 * Prometheus metrics of one server process (prom-client, a registry per server). The request
 * middleware runs outermost, so it sees every request with its final status. Each metric names
 * how `--workers` aggregates it across processes (prom-client's AggregatorRegistry).
 */
import type { Next } from 'koa';
import type { Socket } from 'node:net';
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { DavContext, Services } from '../context.js';
import { statWorker } from '../storage/fs/stat-batch.js';
import { probeLockStore } from './health.js';
import type { Defender } from '../auth/defender.js';
import type { ConnectionStats } from '../middleware/connections.js';

const METHODS = new Set(['OPTIONS', 'GET', 'HEAD', 'PUT', 'DELETE', 'MKCOL', 'COPY', 'MOVE', 'PROPFIND', 'PROPPATCH', 'LOCK', 'UNLOCK', 'POST', 'PATCH']);

/** Socket byte counts at the end of the previous response on that socket (keep-alive). */
const COUNTED = Symbol('webdav.metrics.counted');
type CountedSocket = Socket & { [COUNTED]?: { read: number; written: number } };

export class ServerMetrics {
  readonly registry = new Registry();
  private readonly requests: Counter<'method' | 'status'>;
  private readonly duration: Histogram<'method'>;
  private readonly bytesIn: Counter;
  private readonly bytesOut: Counter;
  private readonly active: Gauge;
  private readonly authFailures: Counter;
  private readonly authBans: Counter;
  private readonly authRefused: Counter;
  /** With a defender, failed logins are what it counted; without one, 401s to requests with credentials. */
  private defended = false;

  constructor(services: Services) {
    const registers = [this.registry];
    this.requests = new Counter({ name: 'webdav_requests_total', help: 'Requests answered, by method and status', labelNames: ['method', 'status'], registers });
    this.duration = new Histogram({
      name: 'webdav_request_duration_seconds',
      help: 'Time from the request reaching the server to the end of its response, by method',
      labelNames: ['method'],
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
      registers,
    });
    this.bytesIn = new Counter({ name: 'webdav_received_bytes_total', help: 'Bytes received on request connections (headers and bodies)', registers });
    this.bytesOut = new Counter({ name: 'webdav_sent_bytes_total', help: 'Bytes sent on request connections (headers and bodies)', registers });
    this.active = new Gauge({ name: 'webdav_active_requests', help: 'Requests in progress', registers });
    this.authFailures = new Counter({ name: 'webdav_auth_failures_total', help: 'Failed logins (wrong password or unknown user)', registers });
    this.authBans = new Counter({ name: 'webdav_auth_bans_total', help: 'Bans the brute-force defender imposed (counted by the process that imposed them)', registers });
    this.authRefused = new Counter({ name: 'webdav_auth_refused_total', help: 'Logins refused unchecked because the client is banned (429)', registers });
    new Gauge({
      name: 'webdav_locks_held',
      help: 'WebDAV locks in the lock store',
      registers,
      // Every worker sees the same shared store: take one value, not the sum.
      aggregator: 'max',
      async collect() {
        try {
          this.set((await services.locks.covering('/', { descendants: true })).length);
        } catch {
          this.reset(); // store unreachable: no value rather than a wrong one
        }
      },
    });
    new Gauge({
      name: 'webdav_lock_store_up',
      help: 'Whether the lock store answers (1) or not (0); for Redis, a round trip to Redis',
      labelNames: ['store'],
      registers,
      aggregator: 'min',
      async collect() {
        const check = await probeLockStore(services);
        this.set({ store: check.store }, check.ok ? 1 : 0);
      },
    });
    new Gauge({
      name: 'webdav_fs_worker_queue_depth',
      help: 'Filesystem operations waiting for the fs worker thread',
      registers,
      collect() {
        this.set(statWorker.queued);
      },
    });
    readCounter(registers, 'webdav_fs_inline_total', 'Filesystem operations done on the event loop because the fs worker was idle', () => statWorker.inlineDone);
    readCounter(registers, 'webdav_fs_inline_slow_total', 'Of those, the ones slower than 1 ms (two among 16 of a kind send that kind to the worker for a while)', () => statWorker.inlineSlow);
    collectDefaultMetrics({ register: this.registry, prefix: 'webdav_' });
  }

  /** Counts the brute-force defender's failures, bans and refusals. */
  watch(defender: Defender | null): void {
    if (!defender?.enabled) return; // turned off (--auth-max-failures 0): it counts nothing
    this.defended = true;
    defender.on('failure', () => this.authFailures.inc());
    defender.on('ban', () => this.authBans.inc());
    defender.on('refused', () => this.authRefused.inc());
  }

  /** Connection guards of the listeners serving this registry (a host app may guard several). */
  private readonly guarded: ConnectionStats[] = [];

  /** Counts what the connection guards (src/middleware/connections.ts) of a listener cut and refuse. */
  watchConnections(stats: ConnectionStats): void {
    this.guarded.push(stats);
    if (this.guarded.length > 1) return;
    const registers = [this.registry];
    const sources = this.guarded;
    const counter = (name: string, help: string, read: (s: ConnectionStats) => number): void =>
      readCounter(registers, name, help, () => sources.reduce((n, s) => n + read(s), 0), 0);
    counter('webdav_slow_bodies_cut_total', 'Request bodies cut with 408 for arriving slower than --min-body-rate', (s) => s.slowBodies);
    counter('webdav_connections_refused_total', 'Connections refused by --max-client-connections', (s) => s.refusedConnections);
  }

  /** Outermost middleware: counts and times every request, and the bytes of its connection. */
  observe() {
    return async (ctx: DavContext, next: Next): Promise<void> => {
      const started = process.hrtime.bigint();
      const res = ctx.res;
      const socket = ctx.req.socket as CountedSocket;
      this.active.inc();
      res.once('close', () => {
        this.active.dec();
        const method = METHODS.has(ctx.method) ? ctx.method : 'OTHER';
        this.requests.inc({ method, status: String(res.statusCode) });
        this.duration.observe({ method }, Number(process.hrtime.bigint() - started) / 1e9);
        const before = socket[COUNTED] ?? { read: 0, written: 0 };
        const now = { read: socket.bytesRead, written: socket.bytesWritten };
        this.bytesIn.inc(Math.max(0, now.read - before.read));
        this.bytesOut.inc(Math.max(0, now.written - before.written));
        socket[COUNTED] = now;
        if (!this.defended && res.statusCode === 401 && ctx.get('authorization') !== '') this.authFailures.inc();
      });
      await next();
    };
  }
}

/**
 * A counter whose value is read from a count kept elsewhere at each scrape (only its increases
 * are added: a source that starts over never makes a counter go down). `from` is where the
 * counting starts (by default what the source has counted already).
 */
function readCounter(registers: Registry[], name: string, help: string, read: () => number, from = read()): void {
  let seen = from;
  new Counter({
    name,
    help,
    registers,
    collect() {
      const now = read();
      if (now > seen) this.inc(now - seen);
      seen = now;
    },
  });
}
