/**
 * Authentication and authorisation (after CORS, before limits and path resolution).
 * OPTIONS needs no credentials (Windows and CORS preflights ask before they authenticate);
 * everything else needs valid Basic credentials (401 + WWW-Authenticate otherwise). The user's
 * space then replaces the services for the rest of the request, and a read-only user gets 403
 * for every method that is not a read. Routes under `<prefix>/.dav/` that are public (the page's
 * assets, ...) are answered before this middleware runs (src/routes/); the others run it first.
 */
import type { Next } from 'koa';
import type { DavContext, Services } from '../context.js';
import type { ServerOptions } from '../config.js';
import { DavError } from '../errors.js';
import { HtpasswdFile } from '../auth/htpasswd.js';
import { BasicAuthenticator } from '../auth/basic.js';
import { loadUsers } from '../auth/users.js';
import { Spaces } from '../auth/spaces.js';
import type { FsBackend } from '../storage/fs/backend.js';
import { ConfigError } from '../config.js';
import { registerSessions, SessionAuth } from '../auth/session.js';

/** Methods a read-only user may use. */
export const READ_METHODS = new Set(['OPTIONS', 'GET', 'HEAD', 'PROPFIND']);

export type Middleware = (ctx: DavContext, next: Next) => Promise<void>;

export async function createAuth(options: ServerOptions, services: Services, storage: FsBackend): Promise<Middleware> {
  if (!options.htpasswd) return (_ctx, next) => next();
  const htpasswd = new HtpasswdFile(options.htpasswd);
  try {
    await htpasswd.load();
  } catch (e) {
    throw new ConfigError(`cannot read htpasswd file ${options.htpasswd}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
  // Start-up only; names line numbers and users, never a hash or password.
  for (const p of htpasswd.problems) console.warn(`koa-webdav-server: ${options.htpasswd} ${p}`);
  const authenticator = new BasicAuthenticator(htpasswd);
  const spaces = await Spaces.create(services, storage, options.users ? await loadUsers(options.users) : null);
  const challenge = `Basic realm="${options.realm}", charset="UTF-8"`;
  // The web page's sign-in form and session cookie, beside Basic (src/auth/session.ts).
  const sessions = await SessionAuth.create(options, storage.metaDir, {
    authenticate: (header) => authenticator.authenticate(header),
    hashOf: (u) => htpasswd.hashOf(u),
    hasAccess: (u) => spaces.of(u) !== undefined,
  });
  registerSessions(services, sessions);

  return async function authMiddleware(ctx: DavContext, next: Next): Promise<void> {
    if (ctx.method === 'OPTIONS') return next();
    const header = ctx.get('authorization') || undefined;
    const user = header ? await authenticator.authenticate(header) : await sessions.userFrom(ctx);
    if (user === null) throw sessions.challenge(ctx, challenge);
    const space = spaces.of(user);
    if (!space) throw new DavError(403, 'No access is configured for this user');
    // The web page's script matches this exact text to say "you have read-only access".
    if (space.readOnly && !READ_METHODS.has(ctx.method)) throw new DavError(403, 'Read-only access');
    ctx.state.user = user;
    ctx.state.readOnly = space.readOnly;
    ctx.state.services = space.services;
    return next();
  };
}
