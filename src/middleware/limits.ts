/**
 * Request limits that apply before any handler runs: the upload cap (`--max-upload`; checked
 * against Content-Length / X-Expected-Entity-Length up front, and by counting bytes while a
 * chunked body streams), sanity caps on the WebDAV request headers, whose parsers would
 * otherwise spend time on values no client sends, and no control characters in the names a
 * request would create. Node itself refuses header blocks over 16 KiB (431), malformed
 * Content-Length and Content-Length with Transfer-Encoding (400).
 */
import type { Next } from 'koa';
import { Transform, pipeline, type Readable } from 'node:stream';
import type { DavContext } from '../context.js';
import type { ServerOptions } from '../config.js';
import { DavError } from '../errors.js';

/** Longest value accepted for headers with a WebDAV grammar. */
const HEADER_CAPS: Record<string, number> = { if: 8192, destination: 8192, timeout: 256, depth: 16, overwrite: 8, 'lock-token': 1024 };

/** Methods that create the resource named by the Request-URI (LOCK: on an unmapped URL). */
const CREATES_AT_URI = new Set(['PUT', 'MKCOL', 'LOCK']);

/**
 * C0 controls, DEL and the two non-characters: a name holding one cannot be written in an XML
 * listing (XML 1.0 has no way to carry them, rclone then fails the whole folder) and is
 * mischief in a terminal. Names that exist already stay reachable (GET, DELETE, MOVE away).
 */
const CONTROL = /[\x00-\x1f\x7f\ufffe\uffff]/;

function decodedPath(raw: string): string {
  const q = raw.indexOf('?');
  const path = q === -1 ? raw : raw.slice(0, q);
  try {
    return decodeURIComponent(path);
  } catch {
    return ''; // malformed: the path's own decoding answers 400
  }
}

/** The path part of a Destination header (absolute URL or absolute path), decoded. */
function destinationPath(value: string): string {
  const v = value.trim();
  if (v.startsWith('/')) return decodedPath(v);
  const authority = v.indexOf('//');
  const slash = authority === -1 ? -1 : v.indexOf('/', authority + 2);
  return slash === -1 ? '' : decodedPath(v.slice(slash));
}

/** True when a decoded path holds a character no name may be created with (see CONTROL). */
export function hasControlCharacters(path: string): boolean {
  return CONTROL.test(path);
}

function refuseControlNames(ctx: DavContext): void {
  const created = CREATES_AT_URI.has(ctx.method) ? decodedPath(ctx.req.url ?? '') : '';
  const dest = ctx.method === 'COPY' || ctx.method === 'MOVE' ? destinationPath(ctx.get('destination')) : '';
  if (CONTROL.test(created) || CONTROL.test(dest)) throw new DavError(400, 'Names with control characters are not allowed');
}

const tooLarge = (max: number): DavError => new DavError(413, `Request body larger than ${max} bytes`, { headers: { Connection: 'close' } });

export function limits(options: ServerOptions) {
  return async function limitsMiddleware(ctx: DavContext, next: Next): Promise<void> {
    for (const [h, cap] of Object.entries(HEADER_CAPS)) {
      const v = ctx.headers[h];
      if (v !== undefined && (Array.isArray(v) || v.length > cap)) throw new DavError(400, `${h} header too long or repeated`);
    }
    refuseControlNames(ctx);
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
