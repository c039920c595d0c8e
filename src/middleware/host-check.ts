/**
 * DNS rebinding guard. Without authentication the server trusts whoever reaches it, which on a
 * loopback address means the local user, but a web page the user opens can point its own host
 * name at 127.0.0.1 and then talk to us through the browser as a same-origin page, reading and
 * changing files. Such requests carry the attacker's name in Host. So, without --htpasswd,
 * only Host values that name a loopback address (127.0.0.0/8, ::1), `localhost` or a name
 * under `.localhost` (RFC 6761: browsers resolve it to loopback themselves), the address the
 * server listens on, or a name in --allowed-hosts are served; anything else is 421 and changes
 * nothing. An address literal in Host cannot be a rebinding (no DNS is involved), so on a
 * non-loopback listener any address literal is accepted. Behind --trust-proxy the proxy's
 * virtual hosts decide which names reach the server, so there is no check unless
 * --allowed-hosts names the public ones; then the forwarded host is checked as well.
 */
import type { Next } from 'koa';
import { isIP } from 'node:net';
import type { DavContext } from '../context.js';
import type { ServerOptions } from '../config.js';
import { DavError } from '../errors.js';
import { rememberLastTrue } from '../util/remember-true.js';
import { isLoopback, parseAllowedHosts } from '../auth/options.js';

/** The host name of a Host header value: brackets and port removed, lower case, no trailing dot. */
export function hostName(value: string): string {
  const v = value.trim().toLowerCase();
  const name = v.startsWith('[') ? v.slice(1, v.indexOf(']') === -1 ? undefined : v.indexOf(']')) : v.replace(/:\d*$/, '');
  return name.replace(/\.$/, '');
}

export function hostCheck(options: ServerOptions): ((ctx: DavContext, next: Next) => Promise<void>) | null {
  if (options.htpasswd || (options.trustProxy && !options.allowedHosts)) return null;
  const allowed = new Set(parseAllowedHosts(options.allowedHosts));
  if (allowed.has('*')) return null;
  const listen = hostName(options.host.includes(':') && !options.host.startsWith('[') ? `[${options.host}]` : options.host);
  const publicListener = !isLoopback(listen);
  const accepted = rememberLastTrue((value) => {
    const h = hostName(value);
    if (isLoopback(h) || h.endsWith('.localhost') || allowed.has(h) || h === listen) return true;
    return publicListener && isIP(h) !== 0;
  });
  return async function hostCheckMiddleware(ctx: DavContext, next: Next): Promise<void> {
    const host = ctx.get('host');
    const forwarded = options.trustProxy ? ctx.get('x-forwarded-host').split(',')[0]!.trim() : '';
    if ((host && !accepted(host)) || (forwarded && !accepted(forwarded))) {
      throw new DavError(421, 'This server answers only to loopback host names without authentication (see --allowed-hosts)');
    }
    return next();
  };
}
