/**
 * Authentication and authorisation (after CORS, before limits and path resolution).
 * OPTIONS needs no credentials (Windows and CORS preflights ask before they authenticate);
 * everything else needs valid Basic credentials (401 + WWW-Authenticate otherwise; 429 +
 * Retry-After while the client is banned for failed logins). The user's space then replaces
 * the services for the rest of the request, and a read-only user gets 403 for every method
 * that is not a read. Routes under `<prefix>/.dav/` that are public (the page's assets, ...)
 * are answered before this middleware runs (src/routes/); the others run it first.
 */
import type { Next } from 'koa';
import { join } from 'node:path';
import { META_DIR } from '../storage/reserved.js';
import type { DavContext, Services } from '../context.js';
import type { ServerOptions } from '../config.js';
import { DavError } from '../errors.js';
import { HtpasswdFile } from '../auth/htpasswd.js';
import { BasicAuthenticator } from '../auth/basic.js';
import { PasswordVerifier, type AuthOutcome } from '../auth/verify.js';
import { Defender } from '../auth/defender.js';
import { loadUsers } from '../auth/users.js';
import { Spaces } from '../auth/spaces.js';
import { ConfigError } from '../config.js';
import type { StateStore } from '../state/store.js';
import { registerSessions, SessionAuth } from '../auth/session.js';
import { FAILED } from '../auth/verify.js';
import { AppPasswords, type AppPasswordRecord } from '../auth/app-passwords.js';
import { applyRights, withLimits } from '../auth/user-rights.js';

/** Methods a read-only user may use. */
export const READ_METHODS = new Set(['OPTIONS', 'GET', 'HEAD', 'PROPFIND']);

export type Middleware = (ctx: DavContext, next: Next) => Promise<void>;

/** Who a request comes from, as a host app embedding the server found it (src/embed.ts). */
export interface Identity {
  user: string;
  /** Read-only on top of what the users file says (a host app's own rule). */
  readOnly?: boolean;
}

/**
 * A host app's authentication, in place of Basic against --htpasswd: an Identity; null when the
 * credentials are missing or wrong (401); undefined for an anonymous request that may go on as
 * if authentication were off (without a users file; with one it is 401 too).
 */
export type Identify = (ctx: DavContext) => Promise<Identity | null | undefined>;

export interface Auth {
  middleware: Middleware;
  /** The password check a login form can call too (null without --htpasswd). */
  verifier: PasswordVerifier | null;
  /** Failed-login counters and bans (stats + 'failure'/'ban'/'refused' events), null without --htpasswd. */
  defender: Defender | null;
  /** Each user's root and rules (null without --htpasswd). */
  spaces: Spaces | null;
  /** The users' app passwords (null without --htpasswd). */
  appPasswords: AppPasswords | null;
}

/**
 * The client's address: the TCP peer, or behind a trusted proxy the address that proxy saw
 * (the last X-Forwarded-For entry: the one our proxy appended, which a client cannot forge).
 */
export function clientAddress(ctx: DavContext): string {
  if (ctx.state.services.options.trustProxy) {
    const fwd = ctx.get('x-forwarded-for');
    const last = fwd.slice(fwd.lastIndexOf(',') + 1).trim();
    if (last) return last;
  }
  return ctx.req.socket.remoteAddress ?? '';
}

/**
 * An authenticated user enters their space: 403 without one, or for a write when read-only. An
 * app password narrows the user's rights to its folder and access (src/auth/user-rights.ts).
 */
function admit(ctx: DavContext, spaces: Spaces, id: Identity, ap?: AppPasswordRecord): void {
  const space = spaces.of(id.user);
  if (!space) throw new DavError(403, 'No access is configured for this user');
  const limits = ap && (ap.scope || ap.readOnly) ? [{ scope: ap.scope ?? undefined, readOnly: ap.readOnly, source: `app password ${JSON.stringify(ap.label)}` }] : [];
  const readOnly = space.readOnly || id.readOnly === true || ap?.readOnly === true;
  // The web page's script matches this exact text to say "you have read-only access".
  if (readOnly && !READ_METHODS.has(ctx.method) && !ctx.state.endpoint) throw new DavError(403, 'Read-only access');
  ctx.state.user = id.user;
  ctx.state.readOnly = readOnly;
  if (ap) ctx.state.appPassword = ap.label;
  applyRights(ctx.state, space.services, withLimits(space.rights, space.readOnly || id.readOnly === true, limits));
}

export async function createAuth(options: ServerOptions, services: Services, state: StateStore, identify?: Identify): Promise<Auth> {
  if (identify) return hostAuth(options, services, identify);
  if (!options.htpasswd) return { middleware: (_ctx, next) => next(), verifier: null, defender: null, spaces: null, appPasswords: null };
  const htpasswd = new HtpasswdFile(options.htpasswd);
  try {
    await htpasswd.load();
  } catch (e) {
    throw new ConfigError(`cannot read htpasswd file ${options.htpasswd}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
  // Start-up only; names line numbers and users, never a hash or password.
  for (const p of htpasswd.problems) console.warn(`koa-webdav-server: ${options.htpasswd} ${p}`);
  const defender = new Defender(state, {
    maxFailures: options.authMaxFailures,
    maxUserFailures: options.authMaxUserFailures,
    windowSec: options.authWindow,
    banSec: options.authBan,
  });
  const appPasswords = new AppPasswords(state);
  const verifier = new PasswordVerifier(htpasswd, defender, appPasswords);
  const basic = new BasicAuthenticator(verifier);
  const spaces = await Spaces.create(services, options.users ? await loadUsers(options.users) : null);
  const challenge = `Basic realm="${options.realm}", charset="UTF-8"`;
  // The web page's sign-in form and session cookie, beside Basic (src/auth/session.ts); the
  // form's password check is the same verifier, defender included.
  const sessions = await SessionAuth.create(options, join(options.root, META_DIR), {
    // A session has the user's full rights: it is opened with the main password, never an app password's.
    verify: async (u, p, ctx) => {
      const outcome = await verifier.verify(u, p, clientAddress(ctx));
      return outcome.ok && outcome.appPassword ? FAILED : outcome;
    },
    basic: (header, ctx) => basic.authenticate(header, clientAddress(ctx)),
    hashOf: (u) => htpasswd.hashOf(u),
    hasAccess: (u) => spaces.of(u) !== undefined,
  });
  registerSessions(services, sessions);

  const refuse = (outcome: AuthOutcome & { ok: false }): DavError =>
    outcome.banned
      ? new DavError(429, 'Too many failed logins; try again later', { headers: { 'Retry-After': String(outcome.retryAfterSec) } })
      : new DavError(401, 'Authentication required', { headers: { 'WWW-Authenticate': challenge } });

  async function authMiddleware(ctx: DavContext, next: Next): Promise<void> {
    if (ctx.method === 'OPTIONS') return next();
    const header = ctx.get('authorization') || undefined;
    const outcome = header ? await basic.authenticate(header, clientAddress(ctx)) : await sessions.outcome(ctx);
    if (!outcome.ok) throw outcome.banned ? refuse(outcome) : sessions.challenge(ctx, challenge);
    admit(ctx, spaces, { user: outcome.user }, outcome.appPassword);
    return next();
  }
  return { middleware: authMiddleware, verifier, defender, spaces, appPasswords };
}

/** The user as the host app says (no passwords here, so no defender: the host app guards its logins). */
async function hostAuth(options: ServerOptions, services: Services, identify: Identify): Promise<Auth> {
  const spaces = await Spaces.create(services, options.users ? await loadUsers(options.users) : null);
  const challenge = `Basic realm="${options.realm}", charset="UTF-8"`;
  async function hostAuthMiddleware(ctx: DavContext, next: Next): Promise<void> {
    if (ctx.method === 'OPTIONS') return next();
    const id = await identify(ctx);
    if (id === undefined && !options.users) return next();
    if (!id) throw new DavError(401, 'Authentication required', { headers: { 'WWW-Authenticate': challenge } });
    admit(ctx, spaces, id);
    return next();
  }
  return { middleware: hostAuthMiddleware, verifier: null, defender: null, spaces, appPasswords: null };
}
