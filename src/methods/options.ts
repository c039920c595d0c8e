/** OPTIONS (RFC 4918 10.1, 18; MS-WDV 2.2.2): advertise class 1 and 2 without asking for credentials. */
import type { DavContext } from '../context.js';

export const ALLOWED_METHODS = 'OPTIONS, GET, HEAD, PUT, DELETE, MKCOL, COPY, MOVE, PROPFIND, PROPPATCH, LOCK, UNLOCK';

export function davHeaders(ctx: DavContext): void {
  ctx.set('DAV', '1, 2');
  ctx.set('MS-Author-Via', 'DAV');
  ctx.set('Allow', ALLOWED_METHODS);
}

export async function options(ctx: DavContext): Promise<void> {
  davHeaders(ctx);
  ctx.set('Accept-Ranges', 'bytes');
  ctx.status = 200;
  ctx.body = '';
}
