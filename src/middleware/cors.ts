/**
 * CORS for browser clients (`--cors-origin`). Runs before authentication: a preflight carries
 * no credentials and is answered here; a real request from an allowed origin gets the headers
 * a WebDAV client in a browser needs to read (DAV, ETag, Lock-Token, Location, ...).
 */
import type { Next } from 'koa';
import type { DavContext } from '../context.js';
import type { ServerOptions } from '../config.js';
import { parseCorsOrigins } from '../auth/options.js';
import { ALLOWED_METHODS } from '../methods/options.js';

const EXPOSE = 'DAV, ETag, Lock-Token, Location, Content-Range, Content-Length, Accept-Ranges, Last-Modified, Allow, MS-Author-Via, WWW-Authenticate';
const DEFAULT_ALLOW_HEADERS =
  'Authorization, Content-Type, Depth, Destination, Overwrite, If, Lock-Token, Timeout, Range, If-Match, If-None-Match, If-Modified-Since, If-Unmodified-Since, If-Range, X-Requested-With';

export function cors(options: ServerOptions) {
  const origins = parseCorsOrigins(options.corsOrigin);
  const any = origins.includes('*');
  return async function corsMiddleware(ctx: DavContext, next: Next): Promise<void> {
    if (origins.length === 0) return next();
    const origin = ctx.get('origin');
    if (!origin) return next();
    const listed = origins.includes(origin);
    if (!listed && !any) return next();
    ctx.vary('Origin');
    // A named origin may send credentials; `*` only serves anonymous, credential-less requests.
    if (listed) {
      ctx.set('Access-Control-Allow-Origin', origin);
      ctx.set('Access-Control-Allow-Credentials', 'true');
    } else ctx.set('Access-Control-Allow-Origin', '*');
    const requested = ctx.get('access-control-request-method');
    if (ctx.method === 'OPTIONS' && requested) {
      const asked = ctx.get('access-control-request-headers');
      ctx.set('Access-Control-Allow-Methods', ALLOWED_METHODS);
      ctx.set('Access-Control-Allow-Headers', /^[A-Za-z0-9!#$%&'*+.^_`|~-]+(\s*,\s*[A-Za-z0-9!#$%&'*+.^_`|~-]+)*$/.test(asked) && asked.length <= 2048 ? asked : DEFAULT_ALLOW_HEADERS);
      ctx.set('Access-Control-Max-Age', '600');
      ctx.status = 204;
      ctx.body = null;
      return;
    }
    ctx.set('Access-Control-Expose-Headers', EXPOSE);
    return next();
  };
}
