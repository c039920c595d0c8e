/**
 * Share links. `<prefix>/.dav/s/<token>/...` is public (no account needed, even where the server
 * requires one) and is a WebDAV root of its own: the link's page in a browser, and a root that
 * clients mount (read-only, or write-only for a file drop). Before anything is looked at:
 *
 *   1. the brute-force defender (per address; `#share-link` for unknown tokens, `#share:<id>` for
 *      one share's password, so guesses spread over many addresses are banned too): 429;
 *   2. the token: unknown, revoked or expired is 404 (and counts as a failed guess);
 *   3. the share's password, if any, by HTTP Basic (any user name): 401 with a challenge;
 *   4. the download/upload limit: 410 once reached (counted atomically in the state store).
 *
 * Then the request runs through path resolution, the link's rules (src/auth/share-view.ts) and
 * the ordinary WebDAV method table, in the link's own view: hrefs, Destination headers and lock
 * roots are relative to `<prefix>/.dav/s/<token>/`, so nothing outside the shared path has a URL.
 *
 * The signed-in user's own shares: `GET/POST <prefix>/.dav/shares`, `DELETE <prefix>/.dav/shares/<id>`.
 */
import { createHmac, randomBytes } from 'node:crypto';
import type { DavContext } from '../context.js';
import { DavError } from '../errors.js';
import { Defender } from '../auth/defender.js';
import { hashPool } from '../auth/hash-pool.js';
import { sharePath, Shares, type ShareInfo, type ShareRecord, type UseKind } from '../auth/shares.js';
import { ShareViews } from '../auth/share-view.js';
import { checkShare } from '../auth/share-target.js';
import { rightsChecksums, rightsView } from '../auth/rights-view.js';
import { readRights, Rights, treeRule } from '../auth/rules.js';
import { parentPath } from '../dav/path.js';
import { cleanPath } from '../auth/user-rights.js';
import { clientAddress, READ_METHODS } from '../middleware/auth.js';
import { resolvePath } from '../middleware/resolve-path.js';
import { checkRights } from '../middleware/rights.js';
import { parseDuration } from '../util/duration.js';
import { renderDropPage } from '../browser/share-pages.js';
import { serveAsset } from '../browser/assets.js';
import type { DavRoute, FeatureRoutes, RouteContext, RouteDeps } from './types.js';
import { accountUser, optCount, optString, readJson, sendJson } from './account.js';

/** What a share link answers (a route without a method answers 405 with Allow). */
const SHARE_METHODS = ['OPTIONS', 'GET', 'HEAD', 'PUT', 'DELETE', 'MKCOL', 'COPY', 'MOVE', 'PROPFIND', 'PROPPATCH', 'LOCK', 'UNLOCK'];
/** What a file drop lets through at all (the rules then allow PUT of new direct members only). */
const DROP_METHODS = new Set(['OPTIONS', 'GET', 'HEAD', 'PROPFIND', 'PUT']);
const UNKNOWN_TOKEN = '#share-link';
const PASSWORD_CACHE_MS = 60_000;

/** The password of a Basic Authorization header, whatever the user name (none too: `curl -u :PASSWORD`). */
function basicPassword(header: string): string | null {
  const m = /^basic[ \t]+([A-Za-z0-9+/]+={0,2})[ \t]*$/i.exec(header);
  if (!m) return null;
  const decoded = Buffer.from(m[1]!, 'base64').toString('utf8');
  const c = decoded.indexOf(':');
  return c === -1 ? null : decoded.slice(c + 1);
}

/**
 * The link's rules, capped by its owner's rights as they are now on the shared path (a link opens
 * nothing the owner's rules close, and follows the users file when it changes).
 */
function withinOwner(rights: Rights, record: ShareRecord, owner: { rights: Rights | null; readOnly: boolean }): Rights {
  const cap = owner.rights ?? (owner.readOnly ? new Rights([treeRule('/', readRights(), "the owner's access (read-only)")]) : null);
  if (!cap) return rights;
  const base = record.kind === 'file' ? parentPath(record.path) : record.path;
  const map = (p: string): string => (base === '/' ? p : p === '/' ? base : base + p);
  return rights.limitedBy({ ceiling: { rights: cap, map }, source: `the rights of the link's owner ${JSON.stringify(record.user)}` });
}

const banned = (retryAfterSec: number): DavError => new DavError(429, 'Too many failed attempts; try again later', { headers: { 'Retry-After': String(retryAfterSec) } });

export const shareRoutes: FeatureRoutes = (deps: RouteDeps): DavRoute[] => {
  const { services } = deps;
  const { options, state } = services;
  const shares = new Shares(state);
  const views = new ShareViews(services, options.root);
  const defender =
    deps.defender ??
    new Defender(state, { maxFailures: options.authMaxFailures, maxUserFailures: options.authMaxUserFailures, windowSec: options.authWindow, banSec: options.authBan });
  const cacheKey = randomBytes(32);
  const verified = new Map<string, number>();

  async function checkPassword(ctx: DavContext, record: ShareRecord, client: string): Promise<void> {
    const header = ctx.get('authorization');
    // Any user name (none too: `curl -u :PASSWORD`); only the password counts.
    const creds = basicPassword(header);
    const challenge = new DavError(401, 'This link needs a password', { headers: { 'WWW-Authenticate': `Basic realm="Shared link ${record.id}", charset="UTF-8"` } });
    if (creds === null) throw challenge;
    const key = createHmac('sha256', cacheKey).update(`${record.id}\0${record.passwordHash}\0${header}`).digest('base64');
    if ((verified.get(key) ?? 0) > Date.now()) return;
    const name = `#share:${record.id}`;
    const ban = await defender.check(client, name);
    if (ban) throw banned(ban.retryAfterSec);
    if (!(await hashPool.verify(creds, record.passwordHash!, client))) {
      const caused = await defender.failed(client, name);
      throw caused ? banned(caused.retryAfterSec) : challenge;
    }
    if (verified.size > 10_000) verified.clear();
    verified.set(key, Date.now() + PASSWORD_CACHE_MS);
  }

  /** What this request uses up of the share's limits (a whole download or an upload), if anything. */
  async function useOf(ctx: DavContext, record: ShareRecord): Promise<UseKind | null> {
    if (ctx.method === 'PUT') return 'uploads';
    if (ctx.method !== 'GET' || record.mode !== 'read') return null;
    const info = await ctx.state.rights!.storage.stat(ctx.state.path);
    if (!info) return null;
    if (info.isCollection) return ctx.query.download !== undefined ? 'downloads' : null;
    const range = ctx.get('range');
    return !range || /^bytes=0-/.test(range.trim()) ? 'downloads' : null;
  }

  async function serve(ctx: RouteContext): Promise<void> {
    // The page's script and stylesheet, as the link's own pages name them (the same public bytes as under /.dav/assets/).
    const rest = String(ctx.params.rest ?? '');
    if (rest.startsWith('.dav/assets/') && (ctx.method === 'GET' || ctx.method === 'HEAD')) return serveAsset(ctx, rest.slice('.dav/assets/'.length));
    const client = clientAddress(ctx);
    const ban = await defender.check(client, UNKNOWN_TOKEN);
    if (ban) throw banned(ban.retryAfterSec);
    const record = await shares.find(String(ctx.params.token ?? ''));
    if (!record) {
      const caused = await defender.failed(client, UNKNOWN_TOKEN);
      if (caused) throw banned(caused.retryAfterSec);
      throw new DavError(404, 'No such link: it may have expired or been revoked');
    }
    const owner = deps.spaces ? deps.spaces.of(record.user) : null;
    if (owner === undefined) throw new DavError(404, 'No such link: its owner has no access any more');
    if (record.passwordHash) await checkPassword(ctx, record, client);
    const view = await views.get(record);
    const rights = owner ? withinOwner(view.rights, record, owner) : view.rights;
    const prefix = sharePath(options.prefix, record.token).slice(0, -1);
    ctx.state.services = { ...services, options: { ...options, prefix }, storage: rightsView(view.storage, rights), locks: view.locks, events: view.events, checksums: rightsChecksums(view.checksums, rights) };
    ctx.state.rights = { rights, storage: view.storage };
    ctx.state.readOnly = record.mode === 'read';
    ctx.state.user = undefined;
    ctx.state.share = { mode: record.mode, kind: record.kind };
    // No shared cache may keep what a link serves (a revoked link must stop at once), and the
    // token in the URL is never sent on as a Referer.
    ctx.set('Cache-Control', 'private, no-cache');
    ctx.set('Referrer-Policy', 'no-referrer');
    await resolvePath(ctx, async () => {
      // The page's script matches this text to say "read-only" (as for read-only users).
      if (record.mode === 'read' && !READ_METHODS.has(ctx.method)) throw new DavError(403, 'Read-only access');
      if (record.mode === 'drop') {
        if (!DROP_METHODS.has(ctx.method)) throw new DavError(403, 'This link only takes uploads');
        if ((ctx.method === 'GET' || ctx.method === 'HEAD') && ctx.state.path === '/' && ctx.accepts('text/html', 'text/plain') === 'text/html') {
          renderDropPage(ctx, record);
          return;
        }
      }
      await checkRights(ctx);
      const use = await useOf(ctx, record);
      if (use && !(await shares.use(record, use))) throw new DavError(410, `This link has reached its ${use === 'uploads' ? 'upload' : 'download'} limit`);
      try {
        await deps.dispatch!(ctx);
      } catch (e) {
        if (use) await shares.unuse(record, use).catch(() => undefined);
        throw e;
      }
    });
  }

  const info = (ctx: DavContext, s: ShareInfo | ShareRecord): Record<string, unknown> => {
    const { passwordHash: _p, within: _w, target: _t, ...rest } = s as ShareRecord & Partial<ShareInfo>;
    return { ...rest, hasPassword: 'hasPassword' in s ? s.hasPassword : s.passwordHash !== null, url: sharePath(ctx.state.services.options.prefix, s.token) };
  };

  async function create(ctx: RouteContext): Promise<void> {
    const user = accountUser(ctx);
    const space = deps.spaces?.of(user);
    if (!space) throw new DavError(403, 'No access is configured for this user');
    const body = await readJson(ctx);
    const path = cleanPath(optString(body.path, 'path') ?? '');
    const mode = body.uploadOnly === true ? 'drop' : 'read';
    const expires = optString(body.expires, 'expires');
    let expiresInMs: number | undefined;
    try {
      expiresInMs = expires === undefined ? undefined : parseDuration(expires);
    } catch (e) {
      throw new DavError(400, (e as Error).message);
    }
    const { target, within, kind } = await checkShare(options.root, { user, map: space.map, rights: space.rights, readOnly: space.readOnly }, path, mode);
    const record = await shares.create({
      user,
      path,
      target,
      within,
      kind,
      mode,
      password: optString(body.password, 'password'),
      expiresInMs,
      maxDownloads: optCount(body.maxDownloads, 'maxDownloads'),
      maxUploads: optCount(body.maxUploads, 'maxUploads'),
    });
    ctx.set('Location', sharePath(ctx.state.services.options.prefix, record.token));
    sendJson(ctx, 201, info(ctx, record));
  }

  async function list(ctx: RouteContext): Promise<void> {
    const user = accountUser(ctx);
    sendJson(ctx, 200, { shares: (await shares.list(user)).map((s) => info(ctx, s)) });
  }

  async function revoke(ctx: RouteContext): Promise<void> {
    const user = accountUser(ctx);
    if (!(await shares.revoke(String(ctx.params.id ?? ''), user))) throw new DavError(404, 'You have no share with that id');
    ctx.status = 204;
    ctx.body = null;
  }

  return [
    { methods: SHARE_METHODS, path: '/s/:token', access: 'public', handler: serve },
    { methods: SHARE_METHODS, path: '/s/:token/', access: 'public', handler: serve },
    { methods: SHARE_METHODS, path: '/s/:token/*rest', access: 'public', handler: serve },
    { methods: ['GET'], path: '/shares', access: 'user', handler: list },
    { methods: ['POST'], path: '/shares', access: 'user', account: true, handler: create },
    { methods: ['DELETE'], path: '/shares/:id', access: 'user', account: true, handler: revoke },
  ];
};
