/**
 * Outermost middleware: turns a DavError into its status, headers and body (a DAV:error XML
 * body when a precondition is named, RFC 4918 section 16), and anything else into a logged 500.
 * Koa's own error handler would drop our headers and answer text/plain.
 */
import type { Next } from 'koa';
import type { DavContext } from '../context.js';
import { DavError } from '../errors.js';
import { errorBody } from '../xml/write.js';
import { errorPage, PAGE_CSP } from '../browser/html.js';

/** Errors a person meets while browsing get the page's friendly HTML instead of plain text. */
const FRIENDLY = new Set([400, 401, 403, 404, 429]);
const wantsPage = (ctx: DavContext, status: number): boolean =>
  FRIENDLY.has(status) &&
  ctx.state.services !== undefined &&
  (ctx.method === 'GET' || ctx.method === 'HEAD') &&
  ctx.get('x-dav-page') !== '1' &&
  (ctx.get('sec-fetch-dest') === 'document' || /\btext\/html\b/.test(ctx.get('accept')));

export type ErrorLogger = (err: unknown, ctx: DavContext) => void;

export const isClientGone = (e: unknown): boolean => {
  const code = (e as NodeJS.ErrnoException | undefined)?.code;
  // HPE_*: Node's HTTP parser refused what the client sent (e.g. bytes after `Connection: close`).
  return code === 'ERR_STREAM_PREMATURE_CLOSE' || code === 'ECONNRESET' || code === 'EPIPE' || code === 'ECONNABORTED' || (typeof code === 'string' && code.startsWith('HPE_'));
};

export function errors(log: ErrorLogger) {
  return async function errorMiddleware(ctx: DavContext, next: Next): Promise<void> {
    try {
      await next();
    } catch (err) {
      if (ctx.headerSent || !ctx.writable) {
        // A client error (4xx) that can no longer be answered is the client's business, not the log's.
        if (!isClientGone(err) && !(err instanceof DavError && err.status < 500)) log(err, ctx);
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
      // A body we never read must not be parsed as the next request.
      if (!ctx.req.complete) ctx.set('Connection', 'close');
    }
  };
}
