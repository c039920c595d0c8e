/**
 * Absolute-form request targets (`GET http://host/path HTTP/1.1`), which RFC 9112 3.2.2 says a
 * server must accept: the target's path becomes the request URL and its authority replaces the
 * Host header (which the RFC says to ignore in that case). Runs before anything reads either.
 * Also refuses what Node's parser lets through about the target and the message's framing:
 * more than one Host line (RFC 9112 3.2: 400; Node keeps the first, a proxy in front may have
 * routed by another) and a transfer coding other than chunked (RFC 9112 6.1: 501; Node decodes
 * only chunked, so a gzip-coded body would be stored still coded), and a Host that is not
 * `host[:port]` (RFC 9112 3.2: 400; it would reach the URLs built from it, Apache refuses it too).
 */
import type { Next } from 'koa';
import type { DavContext } from '../context.js';
import type { ServerOptions } from '../config.js';
import { DavError } from '../errors.js';
import { rememberLastTrue } from '../util/remember-true.js';

const ABSOLUTE = /^(https?):\/\/([^/?#]*)([^#]*)/i;

function hostLines(raw: string[]): number {
  let n = 0;
  for (let i = 0; i < raw.length; i += 2) if (raw[i]!.length === 4 && raw[i]!.toLowerCase() === 'host') n++;
  return n;
}

/** RFC 3986 host (IP-literal or reg-name) and an optional port, as RFC 9112 3.2 has Host. */
const HOST = /^(?:\[[0-9a-f:.]+\]|(?:[a-z0-9\-._~!$&'()*+,;=]|%[0-9a-f]{2})+)(?::(\d{0,5}))?$/i;

const validHost = rememberLastTrue((host) => {
  const m = HOST.exec(host);
  return m !== null && !(m[1] && Number(m[1]) > 65535) && URL.canParse(`http://${host}/`);
});

function checkHost(ctx: DavContext, trustProxy: boolean): void {
  const host = ctx.req.headers.host;
  if (host && !validHost(host)) throw new DavError(400, 'Host header is not a valid host[:port]');
  // Behind --trust-proxy the forwarded host stands in for Host in every URL built (publicOrigin).
  const fwd = trustProxy ? ctx.get('x-forwarded-host').split(',')[0]!.trim() : '';
  if (fwd && !validHost(fwd)) throw new DavError(400, 'X-Forwarded-Host is not a valid host[:port]');
}

export const absoluteTarget =
  ({ trustProxy }: Pick<ServerOptions, 'trustProxy'>) =>
  (ctx: DavContext, next: Next): Promise<void> =>
    target(ctx, next, trustProxy);

async function target(ctx: DavContext, next: Next, trustProxy: boolean): Promise<void> {
  if (hostLines(ctx.req.rawHeaders) > 1) throw new DavError(400, 'More than one Host header');
  const te = ctx.req.headers['transfer-encoding'];
  if (te !== undefined && te.trim().toLowerCase() !== 'chunked') {
    throw new DavError(501, `Transfer-Encoding "${te}" is not supported: send the body with chunked alone`, { headers: { Connection: 'close' } });
  }
  const url = ctx.req.url ?? '';
  if (url.startsWith('/') || url === '*') {
    checkHost(ctx, trustProxy);
    return next();
  }
  const m = ABSOLUTE.exec(url);
  if (!m) throw new DavError(400, 'Request target must be a path or an absolute http(s) URL');
  const authority = m[2]!.slice(m[2]!.lastIndexOf('@') + 1);
  if (!authority) throw new DavError(400, 'Absolute request target without a host');
  const rest = m[3]!;
  ctx.req.url = rest.startsWith('/') ? rest : '/' + rest;
  ctx.req.headers.host = authority;
  checkHost(ctx, trustProxy);
  return next();
}
