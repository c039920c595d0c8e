/**
 * Request ids and logs. Every request gets an id (the client's X-Request-Id when it is a short
 * token, else a fresh one), sent back in X-Request-Id and printed with every log line about
 * the request. One access-log line is written per request when its response is done (or the
 * connection dropped): method, path, status, body bytes, duration, user, user agent. Request
 * headers other than User-Agent are never logged, so credentials cannot leak into logs.
 */
import type { Next } from 'koa';
import { randomBytes } from 'node:crypto';
import type { Writable } from 'node:stream';
import type { DavContext } from '../context.js';

export interface AccessRecord {
  time: string;
  id: string;
  remote: string;
  method: string;
  path: string;
  status: number;
  bytes: number;
  ms: number;
  user: string | null;
  ua: string | null;
  /** True when the connection closed before the response was complete. */
  aborted?: boolean;
}

export interface Logger {
  access(rec: AccessRecord): void;
  /** False when access lines are discarded: the request log then skips measuring them. */
  accessEnabled?: boolean;
  /** An unexpected error; `ctx` is absent for errors outside a request (e.g. accept failures). */
  error(err: unknown, ctx?: DavContext): void;
}

export interface LoggerOptions {
  format: 'text' | 'json';
  /** Write access lines (false: only errors). */
  access: boolean;
  out?: Writable;
  err?: Writable;
}

const SAFE_ID = /^[A-Za-z0-9._:-]{1,64}$/;
let counter = 0;
const PROCESS_TAG = randomBytes(3).toString('hex');

/** A short id unique within this process and unlikely to collide across restarts. */
export const newRequestId = (): string => `${PROCESS_TAG}-${(++counter).toString(36)}`;

const quote = (s: string | null): string => (s === null ? '-' : `"${s.replace(/[\\"]/g, (c) => '\\' + c).replace(/[\x00-\x1f\x7f]/g, '?')}"`);

/** Path as received, without the query (it can hold tokens) and with control characters masked. */
const logPath = (url: string): string => {
  const q = url.indexOf('?');
  return (q === -1 ? url : url.slice(0, q)).replace(/[\x00-\x20\x7f"]/g, (c) => '%' + c.charCodeAt(0).toString(16).padStart(2, '0').toUpperCase());
};

function describeError(err: unknown): string {
  if (err instanceof Error) return err.stack ?? `${err.name}: ${err.message}`;
  return String(err);
}

/**
 * Access lines waiting to be written beyond this are dropped (and counted in the next line that
 * goes out): output that does not keep up (a stalled pipe, a slow log shipper) would otherwise
 * queue every line in memory, and then keep the event loop busy writing the backlog.
 */
export const ACCESS_BACKLOG_BYTES = 4 * 1024 * 1024;

export function createLogger(o: LoggerOptions): Logger {
  const out = o.out ?? process.stdout;
  const errOut = o.err ?? process.stderr;
  let dropped = 0;
  return {
    accessEnabled: o.access,
    access(r) {
      if (!o.access) return;
      if (out.writableLength > ACCESS_BACKLOG_BYTES) {
        dropped++;
        return;
      }
      if (dropped) {
        const note = `${dropped} access lines dropped: the log output was not keeping up`;
        out.write(o.format === 'json' ? JSON.stringify({ time: new Date().toISOString(), level: 'warn', dropped, message: note }) + '\n' : `${new Date().toISOString()} [warn] ${note}\n`);
        dropped = 0;
      }
      if (o.format === 'json') out.write(JSON.stringify(r) + '\n');
      else
        out.write(
          `${r.time} ${r.remote} ${r.user ?? '-'} "${r.method} ${r.path}" ${r.status} ${r.bytes} ${r.ms.toFixed(1)}ms ${quote(r.ua)} id=${r.id}${r.aborted ? ' aborted' : ''}\n`,
        );
    },
    error(err, ctx) {
      const id = ctx?.state.requestId ?? '-';
      const method = ctx?.method ?? '-';
      const path = ctx ? logPath(ctx.originalUrl ?? ctx.url) : '-';
      if (o.format === 'json') {
        errOut.write(JSON.stringify({ time: new Date().toISOString(), level: 'error', id, method, path, error: describeError(err) }) + '\n');
      } else {
        errOut.write(`${new Date().toISOString()} [error] id=${id} ${method} ${path}: ${describeError(err)}\n`);
      }
    },
  };
}

/** Assigns the request id, echoes it in X-Request-Id, and writes the access line when done. */
export function requestLog(logger: Logger) {
  return async function logMiddleware(ctx: DavContext, next: Next): Promise<void> {
    const given = ctx.req.headers['x-request-id'];
    const id = typeof given === 'string' && SAFE_ID.test(given) ? given : newRequestId();
    ctx.state.requestId = id;
    ctx.res.setHeader('X-Request-Id', id);
    // With the access log off (--quiet) only the id is needed (errors still carry it); the
    // per-request timing and byte counting cost ~20% of small-GET throughput (bench).
    if (logger.accessEnabled === false) return next();
    const started = process.hrtime.bigint();
    const res = ctx.res;
    const socket = ctx.req.socket;
    const remote = socket.remoteAddress ?? '-';
    const sentBefore = socket.bytesWritten;
    const method = ctx.method;
    const path = logPath(ctx.originalUrl);
    // Taken when the chain is done: a host app embedding the server gets its own ctx.state.user back.
    let user: string | undefined;
    res.once('close', () => {
      const ms = Number(process.hrtime.bigint() - started) / 1e6;
      // Body bytes handed to the socket: its byte count since the request began, minus the
      // header block (for chunked bodies the chunk framing is counted too).
      const head = (res as unknown as { _header?: string | null })._header;
      const sent = Math.max(0, socket.bytesWritten - sentBefore - (head ? Buffer.byteLength(head) : 0));
      const declared = Number(res.getHeader('content-length'));
      const noBody = method === 'HEAD' || res.statusCode === 304 || res.statusCode === 204;
      const bytes = noBody ? 0 : Number.isFinite(declared) ? Math.min(sent, declared) : sent;
      // Complete when end() was called, or when every declared byte went out (a client may
      // close the connection on the last byte, before the body stream has ended).
      const complete = res.writableEnded || (Number.isFinite(declared) && !noBody && bytes >= declared);
      const rec: AccessRecord = {
        time: new Date().toISOString(),
        id,
        remote,
        method,
        path,
        status: res.statusCode,
        bytes,
        ms: Math.round(ms * 10) / 10,
        user: user ?? (typeof ctx.state.user === 'string' ? ctx.state.user : null),
        ua: ctx.get('user-agent') || null,
      };
      if (!complete) rec.aborted = true;
      logger.access(rec);
    });
    try {
      await next();
    } finally {
      user = ctx.state.user;
    }
  };
}
