/**
 * The server's own endpoints: one reserved segment of the served tree, `<prefix>/.dav/`, routed
 * by one @koa/router instance. Every feature declares its routes in `src/routes/<feature>.ts`
 * (a FeatureRoutes function returning DavRoute records, each saying whether it is 'public' or
 * needs a 'user') and is listed once in FEATURES below.
 *
 * This middleware sits after CORS and before authentication: a request inside the segment is
 * answered here and never reaches path resolution or storage (no route: 404; a route without
 * that method: 405 with Allow); a request outside it goes on to the WebDAV chain. Storage keeps
 * `.dav` out of listings and refuses it as a stored name (isReservedTopName in
 * src/storage/reserved.ts), so Destination headers cannot reach it either.
 */
import type { Next } from 'koa';
import type { DavContext } from '../context.js';
import { DavError } from '../errors.js';
import type { DavRoute, FeatureRoutes, RouteContext, RouteDeps } from './types.js';
import { assetRoutes } from './assets.js';
import { uploadRoutes } from './uploads.js';
import { pageRoutes } from './page.js';
import { shareRoutes } from './shares.js';
import { appPasswordRoutes } from './app-passwords.js';
import { accountRoutes } from './account.js';

export type { Access, DavRoute, FeatureRoutes, RouteContext, RouteDeps } from './types.js';

/** One line per feature module. */
const FEATURES: FeatureRoutes[] = [assetRoutes, pageRoutes, uploadRoutes, shareRoutes, appPasswordRoutes, accountRoutes];

export const RESERVED_SEGMENT = '.dav';

/**
 * Every method the server knows, for @koa/router's `methods` option: a route that lacks one
 * gets 405 with Allow (not 501, the router's answer for methods missing from this list, DESIGN 3a).
 */
export const WEBDAV_METHODS = ['OPTIONS', 'GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'PROPFIND', 'PROPPATCH', 'MKCOL', 'COPY', 'MOVE', 'LOCK', 'UNLOCK'];

type Middleware = (ctx: DavContext, next: Next) => Promise<void>;

/** The checks a route runs before its handler, by access. */
export interface RouteGuards {
  /** The WebDAV authentication middleware (sets ctx.state.user, readOnly, services). */
  auth: Middleware;
  /** Request limits (header caps, --max-upload). */
  limits: Middleware;
}

/** True when a raw request path (no query) lies in `<prefix>/.dav` (first segment compared decoded). */
export function inReservedSegment(rawPath: string, prefix: string): boolean {
  if (prefix) {
    if (!rawPath.startsWith(prefix + '/')) return false;
    rawPath = rawPath.slice(prefix.length);
  }
  const end = rawPath.indexOf('/', 1);
  let seg = end === -1 ? rawPath.slice(1) : rawPath.slice(1, end);
  if (seg.includes('%')) {
    try {
      seg = decodeURIComponent(seg);
    } catch {
      return false; // path resolution answers 400
    }
  }
  return seg.toLowerCase() === RESERVED_SEGMENT;
}

/** Marks a request to an account endpoint (it decides itself what a read-only user may do). */
const endpoint = (ctx: DavContext, next: Next): Promise<void> => {
  ctx.state.endpoint = true;
  return next();
};

/** path-to-regexp syntax characters in a prefix are literal. */
const literal = (s: string): string => s.replace(/[:*?+!(){}[\]\\]/g, (c) => '\\' + c);

async function buildRouter(prefix: string, routes: DavRoute[], guards: RouteGuards): Promise<(ctx: DavContext) => Promise<void>> {
  // Loaded when the first request reaches the segment: a server only used by WebDAV clients never needs it.
  const { default: Router } = await import('@koa/router');
  const router = new Router<DavContext['state']>({ prefix: literal(prefix + '/' + RESERVED_SEGMENT), methods: WEBDAV_METHODS, sensitive: true, strict: true });
  for (const r of routes) {
    const run = async (ctx: RouteContext): Promise<void> => {
      await r.handler(ctx);
    };
    router.register(r.path, r.methods, r.access === 'user' ? [...(r.account ? [endpoint] : []), guards.auth, guards.limits, run] : [guards.limits, run]);
  }
  const dispatch = router.routes();
  const allowed = router.allowedMethods();
  const nothing = (): Promise<void> => Promise.resolve();
  return (ctx) => dispatch(ctx as RouteContext, () => allowed(ctx as RouteContext, nothing)) as Promise<void>;
}

/** Middleware answering every request inside `<prefix>/.dav/`; others go on to `next`. */
export function davRoutes(deps: RouteDeps, guards: RouteGuards, extra: FeatureRoutes[] = []): Middleware {
  const routes = [...FEATURES, ...extra].flatMap((f) => f(deps));
  const routers = new Map<string, Promise<(ctx: DavContext) => Promise<void>>>();
  return async function davRoutesMiddleware(ctx: DavContext, next: Next): Promise<void> {
    const { prefix } = ctx.state.services.options;
    const url = ctx.req.url ?? '/';
    const q = url.indexOf('?');
    if (!inReservedSegment(q === -1 ? url : url.slice(0, q), prefix)) return next();
    let dispatch = routers.get(prefix);
    if (!dispatch) routers.set(prefix, (dispatch = buildRouter(prefix, routes, guards)));
    await (await dispatch)(ctx);
    if (ctx.body != null) return;
    if (ctx.status === 405 || ctx.status === 501) {
      throw new DavError(ctx.status, `Method ${ctx.method} is not allowed here`, { headers: { Allow: String(ctx.response.get('Allow')) } });
    }
    if (ctx.status === 404) throw new DavError(404, `Nothing here: ${prefix}/${RESERVED_SEGMENT}/ is reserved for the server's own pages and endpoints, and nothing can be stored there`);
  };
}
