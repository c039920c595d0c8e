/** What a feature declares to put endpoints under the reserved `<prefix>/.dav/` segment. */
import type { RouterContext } from '@koa/router';
import type { DavContext, DavState, Services } from '../context.js';
import type { Defender } from '../auth/defender.js';
import type { Spaces } from '../auth/spaces.js';
import type { AppPasswords } from '../auth/app-passwords.js';

/** A request on a route: the server's context plus the router's decoded `params`. */
export type RouteContext = RouterContext<DavState>;

/**
 * Who may call a route. 'public': anyone, no credentials asked (the page's assets, the login
 * page, share links: they do their own checks). 'user': the authentication middleware runs
 * first, exactly as for WebDAV requests, and sets `ctx.state.user`, `readOnly` and the user's
 * `services`; a request without valid credentials never reaches the handler.
 */
export type Access = 'public' | 'user';

export interface DavRoute {
  /** HTTP methods (GET also answers HEAD). */
  methods: string[];
  /** Path below `<prefix>/.dav`, in @koa/router syntax: '/assets/:name'. Params arrive decoded. */
  path: string;
  access: Access;
  /**
   * The route changes the user's account (app passwords, share links), never the tree: a
   * read-only user may call it with any method. Without it, a read-only user may only read.
   */
  account?: true;
  handler: (ctx: RouteContext) => Promise<void> | void;
}

/** What features may use when they declare their routes (built once per server). */
export interface RouteDeps {
  /** The server's services before any per-user view (`ctx.state.services` is the request's own). */
  services: Services;
  /** The WebDAV method table, for routes that serve WebDAV themselves (share links). */
  dispatch?: (ctx: DavContext) => Promise<void>;
  /** The brute-force defender (null without --htpasswd). */
  defender?: Defender | null;
  /** Each user's root and rules (null without --htpasswd). */
  spaces?: Spaces | null;
  appPasswords?: AppPasswords | null;
}

/** A feature module (src/routes/<feature>.ts) exports one of these. */
export type FeatureRoutes = (deps: RouteDeps) => DavRoute[];
