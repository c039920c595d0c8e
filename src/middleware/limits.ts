/**
 * Request limits that apply before any handler runs: the upload cap (`--max-upload`; checked
 * against Content-Length / X-Expected-Entity-Length up front, and by counting bytes while a
 * chunked body streams) and sanity caps on the WebDAV request headers, whose parsers would
 * otherwise spend time on values no client sends. Node itself refuses header blocks over
 * 16 KiB (431), malformed Content-Length and Content-Length with Transfer-Encoding (400).
 */
import type { Next } from 'koa';
import { Transform, pipeline, type Readable } from 'node:stream';
import type { DavContext } from '../context.js';
import type { ServerOptions } from '../config.js';
import { DavError } from '../errors.js';

/** Longest value accepted for headers with a WebDAV grammar. */
const HEADER_CAPS: [string, number][] = Object.entries({ if: 8192, destination: 8192, timeout: 256, depth: 16, overwrite: 8, 'lock-token': 1024 });

const tooLarge = (max: number): DavError => new DavError(413, `Request body larger than ${max} bytes`, { headers: { Connection: 'close' } });

export function limits(options: ServerOptions) {
  return async function limitsMiddleware(ctx: DavContext, next: Next): Promise<void> {
    for (const [h, cap] of HEADER_CAPS) {
      const v = ctx.headers[h];
      if (v !== undefined && (Array.isArray(v) || v.length > cap)) throw new DavError(400, `${h} header too long or repeated`);
    }
    const max = options.maxUpload;
    if (max > 0 && ctx.method === 'PUT') {
      for (const h of ['content-length', 'x-expected-entity-length']) {
        const v = ctx.get(h);
        if (v !== '' && (!/^\d+$/.test(v) || Number(v) > max)) throw tooLarge(max);
      }
    }
    return next();
  };
}

/**
 * The body of a PUT, capped at --max-upload: past the cap the stream fails with 413, so the
 * storage backend discards its temp file and nothing is left on disk.
 */
export function uploadBody(ctx: DavContext): Readable {
  const max = ctx.state.services.options.maxUpload;
  if (!(max > 0)) return ctx.req;
  let seen = 0;
  const counter = new Transform({
    transform(chunk: Buffer, _enc, cb) {
      seen += chunk.length;
      if (seen > max) cb(tooLarge(max));
      else cb(null, chunk);
    },
  });
  // pipeline (not pipe) so that a client abort fails the counter too.
  return pipeline(ctx.req, counter, () => undefined);
}
