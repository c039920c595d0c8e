/**
 * Outermost middleware: turns a DavError into its status, headers and body (a DAV:error XML
 * body when a precondition is named, RFC 4918 section 16), and anything else into a logged 500.
 * Koa's own error handler would drop our headers and answer text/plain.
 */
import type { Next } from 'koa';
import type { DavContext } from '../context.js';
import { DavError, davErrorOfStorage } from '../errors.js';
import { StorageError } from '../storage/errors.js';
import { errorBody } from '../xml/write.js';
import { errorPage, PAGE_CSP } from '../browser/html.js';

/** Errors a person meets while browsing get the page's friendly HTML instead of plain text. */
const FRIENDLY = new Set([400, 401, 403, 404, 429]);
const wantsPage = (ctx: DavContext, status: number): boolean =>
  FRIENDLY.has(status) &&
  ctx.state.services !== undefined &&
  (ctx.method === 'GET' || ctx.method === 'HEAD' || ctx.method === 'POST') &&
  ctx.get('x-dav-page') !== '1' &&
  (ctx.get('sec-fetch-dest') === 'document' || /\btext\/html\b/.test(ctx.get('accept')));

export type ErrorLogger = (err: unknown, ctx: DavContext) => void;

export const isClientGone = (e: unknown): boolean => {
  const code = (e as NodeJS.ErrnoException | undefined)?.code;
  // HPE_*: Node's HTTP parser refused what the client sent (e.g. bytes after `Connection: close`).
  return code === 'ERR_STREAM_PREMATURE_CLOSE' || code === 'ECONNRESET' || code === 'EPIPE' || code === 'ECONNABORTED' || (typeof code === 'string' && code.startsWith('HPE_'));
};

/**
 * 'close' listeners a response may carry before Node warns. A streamed body (a listing, its
 * compressed form, a page) reaches 11 with the access log on: the log, the connection guard,
 * the graceful stop and the handler each add one, and Koa's stream.pipeline several per stream;
 * all go when the response ends, but Node's default limit of 10 printed a
 * MaxListenersExceededWarning for every such response.
 */
const RESPONSE_LISTENERS = 24;

export function errors(log: ErrorLogger) {
  return async function errorMiddleware(ctx: DavContext, next: Next): Promise<void> {
    if (ctx.res.getMaxListeners() < RESPONSE_LISTENERS) ctx.res.setMaxListeners(RESPONSE_LISTENERS);
    try {
      await next();
    } catch (caught) {
      // Storage reports domain errors; this is where they become HTTP (src/errors.ts has the table).
      const err = caught instanceof StorageError ? davErrorOfStorage(caught) : caught;
      if (ctx.headerSent || !ctx.writable) {
        // A client error (4xx) that can no longer be answered is the client's business, not the log's.
        if (!isClientGone(err) && !(err instanceof DavError && err.status < 500)) log(err, ctx);
        // A response that started and cannot be completed is closed now: the client learns at
        // once, instead of waiting on a kept-alive connection for bytes that never come.
        if (!ctx.res.writableEnded) ctx.res.destroy();
        return;
      }
      let e: DavError;
      if (err instanceof DavError) {
        e = err;
        // An fs failure we could not map (e.g. EIO, ELOOP) is a server problem: log it with its cause.
        if (e.status === 500) log((e as { cause?: unknown }).cause ?? e, ctx);
      }
      else if (isClientGone(err)) e = new DavError(400, 'Request aborted');
      else if ((err as { status?: number }).status && (err as { expose?: boolean }).expose) e = new DavError((err as { status: number }).status, (err as Error).message);
      else {
        log(err, ctx);
        e = new DavError(500, 'Internal server error');
      }
      ctx.res.removeHeader('Content-Type');
      ctx.res.removeHeader('Content-Length');
      ctx.status = e.status;
      for (const [k, v] of Object.entries(e.headers)) ctx.set(k, v);
      if (e.status === 304) {
        ctx.body = null;
      } else if (wantsPage(ctx, e.status)) {
        ctx.type = 'text/html; charset=utf-8';
        ctx.set('Content-Security-Policy', PAGE_CSP);
        ctx.set('X-Content-Type-Options', 'nosniff');
        ctx.set('Cache-Control', 'no-store');
        ctx.body = errorPage(ctx, e.status, e.message);
      } else if (e.condition) {
        ctx.type = 'application/xml; charset=utf-8';
        ctx.body = errorBody(e.condition, e.hrefs);
      } else {
        ctx.type = 'text/plain; charset=utf-8';
        // A server-side failure names the request id, which the logs carry too.
        ctx.body = e.message + (e.status >= 500 && ctx.state.requestId ? ` (request id ${ctx.state.requestId})` : '') + '\n';
      }
      // A body we never read must not be parsed as the next request: read a small one to its
      // end (a client sending a PUT before its credentials, as Zotero does, keeps its
      // connection and reads the 401), close the connection after a large one.
      if (!ctx.req.complete && !(await drainSmall(ctx))) ctx.set('Connection', 'close');
    }
  };
}

const DRAIN_LIMIT = 1024 * 1024;

/** Reads and discards a declared body of up to 1 MiB (2 s at most); true when it ended. */
async function drainSmall(ctx: DavContext): Promise<boolean> {
  const declared = ctx.get('content-length');
  // Only a body nobody started reading: an upload that failed half way is not waited for.
  if (!/^\d+$/.test(declared) || Number(declared) > DRAIN_LIMIT || ctx.req.destroyed || ctx.req.readableDidRead) return false;
  const req = ctx.req;
  return new Promise<boolean>((resolve) => {
    const done = (ok: boolean): void => {
      clearTimeout(timer);
      req.off('end', onEnd).off('error', onFail).off('close', onClose);
      resolve(ok);
    };
    const onEnd = (): void => done(true);
    const onFail = (): void => done(false);
    const onClose = (): void => done(req.complete);
    const timer = setTimeout(() => done(false), 2000);
    req.on('end', onEnd).on('error', onFail).on('close', onClose);
    req.resume();
  });
}
