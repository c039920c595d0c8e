/**
 * createWebdav(options): the WebDAV server as Koa middleware for a host app. Mount it where you
 * like: `router.all('/dav{/*path}', webdav.middleware)` with @koa/router, or
 * `app.use(mount('/dav', webdav.middleware))` with koa-mount. The mount path is found per
 * request (koa-mount strips it from ctx.url and keeps ctx.originalUrl; @koa/router leaves the
 * URL and names the matched route) and bound on the first request, so hrefs, Location,
 * Destination, If tags, lock roots and the page all follow it. One instance serves one mount path.
 */
import type { Context, Middleware, Next } from 'koa';
import { createDav, type DavCore } from './app.js';
import { ConfigError, type ServerOptions } from './config.js';
import type { DavContext, Services } from './context.js';
import type { Identify, Identity } from './middleware/auth.js';
import type { ErrorLogger } from './middleware/errors.js';
import type { Registry } from 'prom-client';
import type { Readiness } from './admin/health.js';
import type { Server } from 'node:http';
import { guardConnections, type ConnectionStats } from './middleware/connections.js';

/** What `authenticate` may answer: a user name, a user with a read-only flag, or null (401). */
export type WebdavUser = string | { name: string; readOnly?: boolean };

/** Options of the listener (host, port, TLS, workers, timeouts) belong to the host app. */
export type WebdavOptions = Partial<
  Omit<ServerOptions, 'host' | 'port' | 'workers' | 'tlsCert' | 'tlsKey' | 'allowAnonymous' | 'headersTimeout' | 'requestTimeout' | 'idleTimeout' | 'shutdownTimeout'>
> & {
  /** Directory to serve. */
  root: string;
  /**
   * The user of a request, from the host app's own authentication (sessions, tokens, ...):
   * a name or `{ name, readOnly }`; null or undefined answers 401 with a Basic challenge for
   * `realm`. Without it (and without `htpasswd`), a `ctx.state.user` the host app set is used
   * (a string, or an object with a string `username`, `name` or `id`), and a request without
   * one is anonymous (refused when a users file is given).
   */
  authenticate?: (ctx: Context) => WebdavUser | null | undefined | Promise<WebdavUser | null | undefined>;
  /** Unexpected errors (default: one line on stderr with the request id). */
  onError?: (err: unknown, ctx: Context) => void;
  /** Keep Prometheus metrics in `webdav.metrics` (a prom-client Registry) for your app to serve. */
  metrics?: boolean;
};

export interface Webdav {
  /** Koa middleware: answers WebDAV under its mount path; other requests go to `next`. */
  middleware: Middleware;
  /** The services behind it (options, storage, lock store). */
  services: Services;
  /** Flushes and closes the lock store; call it when the host app stops. */
  close(): Promise<void>;
  /** The metrics registry (with `metrics: true`): `await webdav.metrics.metrics()` is the Prometheus text. */
  metrics?: Registry;
  /** Readiness: the storage root takes writes and the lock store answers (what /readyz reports). */
  health(): Promise<Readiness>;
  /**
   * Puts the connection guards on your server (http or https): `maxClientConnections` per
   * client address and the slow-body cut (`minBodyRate` after `bodyTimeout`). They act on
   * connections, which are your app's, so they cover every request it serves, not only WebDAV.
   * Counted in `webdav.metrics` and in the stats it returns.
   */
  guard(server: Server): ConnectionStats;
}

const pathOf = (url: string): string => {
  const q = url.indexOf('?');
  return q === -1 ? url : url.slice(0, q);
};

/** Leading literal part of a @koa/router (path-to-regexp) pattern: '/dav{/*path}' -> '/dav'. */
export function staticPrefix(pattern: string): string {
  const m = /[:*?+!(){}[\]\\]/.exec(pattern);
  return (m ? pattern.slice(0, m.index) : pattern).replace(/\/+$/, '');
}

/**
 * The path the host app mounted us at, for this request, and whether the host stripped it
 * from ctx.url (koa-mount); '' when neither a rewrite nor a matched route says anything.
 */
export function mountOf(ctx: Context): { base: string; stripped: boolean } {
  const original = pathOf(ctx.originalUrl ?? ctx.url);
  const current = pathOf(ctx.url);
  if (original !== current) {
    if (original.endsWith(current)) return { base: original.slice(0, original.length - current.length).replace(/\/+$/, ''), stripped: true };
    if (current === '/') return { base: original.replace(/\/+$/, ''), stripped: true };
    return { base: '', stripped: false };
  }
  const route = (ctx as { _matchedRoute?: unknown })._matchedRoute;
  if (typeof route === 'string') {
    const base = staticPrefix(route);
    if (base && (current === base || current.startsWith(base + '/'))) return { base, stripped: false };
  }
  return { base: '', stripped: false };
}

const NAME_KEYS = ['username', 'name', 'id'] as const;

/** A user the host app put in ctx.state.user, as an Identity. */
function stateIdentity(user: unknown): Identity | undefined {
  if (user === undefined || user === null) return undefined;
  if (typeof user === 'string' && user !== '') return { user };
  if (typeof user === 'object') {
    for (const k of NAME_KEYS) {
      const v = (user as Record<string, unknown>)[k];
      if ((typeof v === 'string' && v !== '') || typeof v === 'number') return { user: String(v) };
    }
  }
  throw new Error('ctx.state.user has no string username, name or id: pass createWebdav({ authenticate(ctx) }) to say who the user is');
}

function toIdentity(u: WebdavUser | null | undefined): Identity | null {
  if (u === null || u === undefined) return null;
  if (typeof u === 'string') return u === '' ? null : { user: u };
  if (typeof u.name !== 'string' || u.name === '') throw new Error('authenticate(ctx) returned a user without a name');
  return { user: u.name, readOnly: u.readOnly === true };
}

export async function createWebdav(options: WebdavOptions): Promise<Webdav> {
  const { authenticate, onError, metrics, ...rest } = options;
  if (!rest.root) throw new ConfigError('createWebdav needs { root }: the directory to serve');
  if (authenticate && rest.htpasswd) throw new ConfigError('createWebdav: pass either authenticate or htpasswd, not both');
  let identify: Identify | undefined;
  if (authenticate) identify = async (ctx) => toIdentity(await authenticate(ctx as unknown as Context));
  // Read before the chain sets ctx.state.user to the WebDAV user name (the host's value is put back after).
  else if (!rest.htpasswd) identify = async (ctx) => stateIdentity(ctx.state.user);
  const log: ErrorLogger | undefined = onError && ((err, ctx) => onError(err, ctx as unknown as Context));
  const core: DavCore = await createDav({ quiet: true, ...rest }, { identify, log, metrics: metrics === true });
  const { options: resolved } = core.services;
  const ownPrefix = resolved.prefix;
  let bound: string | null = null;

  const middleware = async (ctx: Context, next: Next): Promise<void> => {
    const { base, stripped } = mountOf(ctx);
    const prefix = base + ownPrefix;
    const path = pathOf(stripped ? ctx.originalUrl : ctx.url);
    if (prefix && path !== prefix && !path.startsWith(prefix + '/')) return next();
    if (bound === null) resolved.prefix = bound = prefix;
    else if (bound !== prefix) {
      throw new Error(`this WebDAV middleware serves ${bound || '/'} but a request came through ${prefix || '/'}: create one createWebdav() per mount path`);
    }
    const url = ctx.url;
    const state = ctx.state as Record<string, unknown>;
    const had = Object.hasOwn(state, 'user');
    const user = state.user;
    if (stripped) ctx.url = ctx.originalUrl;
    try {
      await core.handle(ctx as unknown as DavContext);
    } finally {
      if (stripped) ctx.url = url;
      if (had) state.user = user;
      else delete state.user;
    }
  };
  const guard = (server: Server): ConnectionStats => {
    const stats = guardConnections(server, resolved);
    core.services.metrics?.watchConnections(stats);
    return stats;
  };
  return { middleware, services: core.services, close: core.close, metrics: core.services.metrics?.registry, health: core.health, guard };
}
