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

/** Methods a read-only user may use. */
export const READ_METHODS = new Set(['OPTIONS', 'GET', 'HEAD', 'PROPFIND']);

export type Middleware = (ctx: DavContext, next: Next) => Promise<void>;

/** Who a request comes from, as the authentication step found it. */
export interface Identity {
  user: string;
  /** Read-only on top of what the users file says (a host app's own rule). */
  readOnly?: boolean;
}

/**
 * Finds the user of a request: an Identity; null when the credentials are missing or wrong
 * (401); undefined for an anonymous request that may go on as if authentication were off
 * (without a users file; with one it is 401 too).
 * The default is HTTP Basic against --htpasswd; a host app embedding the server passes its own.
 */
export type Identify = (ctx: DavContext) => Promise<Identity | null | undefined>;

async function basicIdentify(options: ServerOptions & { htpasswd: string }): Promise<Identify> {
  const htpasswd = new HtpasswdFile(options.htpasswd);
  try {
    await htpasswd.load();
  } catch (e) {
    throw new ConfigError(`cannot read htpasswd file ${options.htpasswd}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
  // Start-up only; names line numbers and users, never a hash or password.
  for (const p of htpasswd.problems) console.warn(`koa-webdav-server: ${options.htpasswd} ${p}`);
  const authenticator = new BasicAuthenticator(htpasswd);
  return async (ctx) => {
    const user = await authenticator.authenticate(ctx.get('authorization') || undefined);
    return user === null ? null : { user };
  };
}

export async function createAuth(options: ServerOptions, services: Services, storage: FsBackend, identify?: Identify): Promise<Middleware> {
  if (!options.htpasswd && !identify) return (_ctx, next) => next();
  const who = identify ?? (await basicIdentify(options as ServerOptions & { htpasswd: string }));
  const spaces = await Spaces.create(services, storage, options.users ? await loadUsers(options.users) : null);
  const challenge = `Basic realm="${options.realm}", charset="UTF-8"`;

  return async function authMiddleware(ctx: DavContext, next: Next): Promise<void> {
    if (ctx.method === 'OPTIONS') return next();
    const id = await who(ctx);
    if (id === undefined && !options.users) return next();
    if (!id) throw new DavError(401, 'Authentication required', { headers: { 'WWW-Authenticate': challenge } });
    const space = spaces.of(id.user);
    if (!space) throw new DavError(403, 'No access is configured for this user');
    const readOnly = space.readOnly || id.readOnly === true;
    // The web page's script matches this exact text to say "you have read-only access".
    if (readOnly && !READ_METHODS.has(ctx.method)) throw new DavError(403, 'Read-only access');
    ctx.state.user = id.user;
    ctx.state.readOnly = readOnly;
    ctx.state.services = space.services;
    return next();
  };
}
