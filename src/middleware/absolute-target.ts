/**
 * Absolute-form request targets (`GET http://host/path HTTP/1.1`), which RFC 9112 3.2.2 says a
 * server must accept: the target's path becomes the request URL and its authority replaces the
 * Host header (which the RFC says to ignore in that case). Runs before anything reads either.
 */
import type { Next } from 'koa';
import type { DavContext } from '../context.js';
import { DavError } from '../errors.js';

const ABSOLUTE = /^(https?):\/\/([^/?#]*)([^#]*)/i;

export async function absoluteTarget(ctx: DavContext, next: Next): Promise<void> {
  const url = ctx.req.url ?? '';
  if (url.startsWith('/') || url === '*') return next();
  const m = ABSOLUTE.exec(url);
  if (!m) throw new DavError(400, 'Request target must be a path or an absolute http(s) URL');
  const authority = m[2]!.slice(m[2]!.lastIndexOf('@') + 1);
  if (!authority) throw new DavError(400, 'Absolute request target without a host');
  const rest = m[3]!;
  ctx.req.url = rest.startsWith('/') ? rest : '/' + rest;
  ctx.req.headers.host = authority;
  return next();
}
