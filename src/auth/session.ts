/**
 * Sign-in for the web page, beside Basic authentication for WebDAV clients: the login form
 * (`<prefix>/.dav/login`) checks the name and password with the same verification as Basic
 * (so rate limits and the brute-force defender apply alike) and sets a session cookie.
 *
 * - The cookie is a signed token, not a server-side record, so every worker and every instance
 *   on the same storage accepts it: `v1.<user>.<expiry>.<nonce>.<fp>.<HMAC-SHA256>` under a key
 *   kept in the hidden metadata folder (`.davmeta/session.key`, mode 0600, made once). `fp` is a
 *   fingerprint of the user's stored password hash: changing the password ends every session.
 * - HttpOnly, SameSite=Strict, Path=<prefix>/, Secure under TLS (or behind a trusted proxy that
 *   says https), 12 hours, renewed when half of that has passed.
 * - Writes through a session (any method but GET/HEAD/OPTIONS/PROPFIND) must carry the session's
 *   CSRF token in `X-CSRF-Token` (forms: a `csrf` field); the page puts it on every request.
 *   SameSite=Strict already keeps other sites' requests from carrying the cookie; the token is
 *   the second lock.
 * - Signing out forgets the cookie in the browser and revokes its nonce in this process (other
 *   processes accept a copied cookie until it expires: at most 12 hours).
 * - A browser that navigates here without credentials is sent to the login form (303) instead of
 *   getting the browser's Basic prompt; the page's own requests (`X-Dav-Page: 1`) get a 401 with
 *   a challenge browsers do not prompt for. WebDAV clients get the Basic challenge as before.
 */
import { createHash, createHmac, randomBytes, randomUUID, timingSafeEqual } from 'node:crypto';
import { promises as fsp } from 'node:fs';
import { join } from 'node:path';
import type { DavContext, Services } from '../context.js';
import type { ServerOptions } from '../config.js';
import { DavError } from '../errors.js';
import { FAILED, type AuthOutcome } from './verify.js';
import { OWNER_TAG } from '../storage/fs/owner.js';

export const COOKIE = 'dav_session';
/** Set by `login?basic=1`: this browser prefers its own Basic prompt to the login form. */
export const PREFER_BASIC = 'dav_basic';
export const SESSION_TTL_MS = 12 * 3600 * 1000;
/** Methods a session may use without the CSRF token (they change nothing). */
const SAFE = new Set(['GET', 'HEAD', 'OPTIONS', 'PROPFIND']);

export interface SessionHooks {
  /** The server's password check (the defender's verifier, as for Basic). */
  verify(user: string, password: string, ctx: DavContext): Promise<AuthOutcome>;
  /** The server's check of a Basic Authorization header. */
  basic(authorization: string, ctx: DavContext): Promise<AuthOutcome>;
  /** The user's stored password hash (undefined when the user is gone). */
  hashOf(user: string): Promise<string | undefined>;
  /** True when the user has access configured (a root). */
  hasAccess(user: string): boolean;
}

interface Token {
  user: string;
  expires: number;
  nonce: string;
}

const b64 = (s: string): string => Buffer.from(s, 'utf8').toString('base64url');
const unb64 = (s: string): string => Buffer.from(s, 'base64url').toString('utf8');

/** The public URL scheme of this request: TLS, or what a trusted proxy says. */
export function publicScheme(ctx: DavContext): 'http' | 'https' {
  const o = ctx.state.services.options;
  if (o.tlsCert) return 'https';
  if (o.trustProxy) {
    const p = ctx.get('x-forwarded-proto').split(',')[0]!.trim().toLowerCase();
    if (p === 'https') return 'https';
  }
  return 'http';
}

/** The public `scheme://host[:port]` of this request (a trusted proxy's forwarded host first). */
export function publicOrigin(ctx: DavContext): string {
  const o = ctx.state.services.options;
  const fwd = o.trustProxy ? ctx.get('x-forwarded-host').split(',')[0]!.trim() : '';
  return `${publicScheme(ctx)}://${fwd || ctx.get('host') || 'localhost'}`;
}

const readKey = async (file: string): Promise<Buffer | null> => {
  try {
    return await fsp.readFile(file);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw e;
  }
};

/**
 * Makes the key where there is none. Workers of one server start together: the key is written
 * whole under a temp name and hard-linked into place, which never replaces a key another worker
 * linked first (that one is read instead). Creating the file in place let a worker read it
 * between its creation and its bytes ("session key too short", seen in CI with --workers 2).
 */
async function makeKey(metaDir: string, file: string): Promise<Buffer> {
  await fsp.mkdir(metaDir, { recursive: true });
  const fresh = randomBytes(32);
  const tmp = `${file}.${OWNER_TAG}.${randomUUID()}.tmp`; // a crash's leftover is swept like any metadata temp file
  await fsp.writeFile(tmp, fresh, { flag: 'wx', mode: 0o600 });
  try {
    await fsp.link(tmp, file);
    return fresh;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'EEXIST') return fsp.readFile(file); // another worker's, complete
    // A filesystem without hard links (some FUSE and SMB mounts): created in place, and a key
    // read too short while another worker writes it is read again.
    try {
      await fsp.writeFile(file, fresh, { flag: 'wx', mode: 0o600 });
      return fresh;
    } catch (e2) {
      if ((e2 as NodeJS.ErrnoException).code !== 'EEXIST') throw e2;
      let key = await fsp.readFile(file);
      for (let i = 0; i < 50 && key.length < 32; i++) {
        await new Promise((r) => setTimeout(r, 10));
        key = await fsp.readFile(file);
      }
      return key;
    }
  } finally {
    await fsp.rm(tmp, { force: true });
  }
}

export class SessionAuth {
  private readonly revoked = new Map<string, number>();

  private constructor(
    private readonly key: Buffer,
    private readonly options: ServerOptions,
    readonly hooks: SessionHooks,
  ) {}

  /** Loads the signing key from the metadata folder, making it on first use. */
  static async create(options: ServerOptions, metaDir: string, hooks: SessionHooks): Promise<SessionAuth> {
    const file = join(metaDir, 'session.key');
    const key = (await readKey(file)) ?? (await makeKey(metaDir, file));
    if (key.length < 32) throw new Error(`${file}: session key too short`);
    return new SessionAuth(key, options, hooks);
  }

  private sign(payload: string): string {
    return createHmac('sha256', this.key).update(payload).digest('base64url');
  }

  private fingerprint(hash: string): string {
    return createHash('sha256').update(hash).digest('base64url').slice(0, 12);
  }

  /** Checks a name and password exactly as Basic authentication does (same verifier, same defender). */
  verify(user: string, password: string, ctx: DavContext): Promise<AuthOutcome> {
    return this.hooks.verify(user, password, ctx);
  }

  /** The outcome of a Basic Authorization header. */
  basic(header: string, ctx: DavContext): Promise<AuthOutcome> {
    return this.hooks.basic(header, ctx);
  }

  /**
   * The CSRF token of a session (derived from its user and nonce, so nothing is stored, and a
   * renewed cookie keeps the token the open page already holds).
   */
  csrfOf(cookie: string): string {
    const p = cookie.split('.');
    const id = p.length === 6 ? `${p[1]}.${p[3]}` : cookie;
    return createHmac('sha256', this.key).update('csrf\0' + id).digest('base64url').slice(0, 32);
  }

  /** A session cookie for `user`; a renewal passes the session's nonce on. */
  async issue(user: string, now = Date.now(), nonce = randomBytes(12).toString('base64url')): Promise<string> {
    const hash = (await this.hooks.hashOf(user)) ?? '';
    const payload = ['v1', b64(user), String(Math.floor((now + SESSION_TTL_MS) / 1000)), nonce, this.fingerprint(hash)].join('.');
    return `${payload}.${this.sign(payload)}`;
  }

  /** The session a cookie value stands for, or null (bad signature, expired, revoked, password changed). */
  async check(cookie: string, now = Date.now()): Promise<Token | null> {
    const parts = cookie.split('.');
    if (parts.length !== 6 || parts[0] !== 'v1') return null;
    const payload = parts.slice(0, 5).join('.');
    const want = Buffer.from(this.sign(payload));
    const got = Buffer.from(parts[5]!);
    if (want.length !== got.length || !timingSafeEqual(want, got)) return null;
    const expires = Number(parts[2]) * 1000;
    if (!(expires > now)) return null;
    if (this.revoked.has(parts[3]!)) return null;
    const user = unb64(parts[1]!);
    const hash = await this.hooks.hashOf(user);
    if (hash === undefined || this.fingerprint(hash) !== parts[4]) return null;
    return { user, expires, nonce: parts[3]! };
  }

  revoke(t: Token): void {
    const now = Date.now();
    for (const [n, exp] of this.revoked) if (exp < now) this.revoked.delete(n);
    // Renewals share the nonce: any cookie of this session issued so far expires within a TTL.
    this.revoked.set(t.nonce, Math.max(t.expires, now + SESSION_TTL_MS));
  }

  setCookie(ctx: DavContext, value: string, maxAgeSec: number, name = COOKIE): void {
    const secure = publicScheme(ctx) === 'https' ? '; Secure' : '';
    ctx.append('Set-Cookie', `${name}=${value}; Path=${this.options.prefix}/; Max-Age=${maxAgeSec}; HttpOnly; SameSite=Strict${secure}`);
  }

  /** userFrom as an AuthOutcome (no session is a plain failure, never a ban). */
  async outcome(ctx: DavContext): Promise<AuthOutcome> {
    const user = await this.userFrom(ctx);
    return user === null ? FAILED : { ok: true, user };
  }

  /**
   * The user of a request signed in through the page, or null. Writes need the CSRF token; a
   * session past half its life gets a fresh cookie.
   */
  async userFrom(ctx: DavContext): Promise<string | null> {
    const cookie = ctx.cookies.get(COOKIE);
    if (!cookie) return null;
    const t = await this.check(cookie);
    if (!t || !this.hooks.hasAccess(t.user)) return null;
    const csrf = this.csrfOf(cookie);
    if (!SAFE.has(ctx.method)) {
      const sent = ctx.get('x-csrf-token');
      const a = Buffer.from(sent);
      const b = Buffer.from(csrf);
      if (a.length !== b.length || !timingSafeEqual(a, b)) throw new DavError(403, 'CSRF token missing or wrong (reload the page)');
    }
    ctx.state.session = { csrf };
    if (t.expires - Date.now() < SESSION_TTL_MS / 2) {
      const fresh = await this.issue(t.user, Date.now(), t.nonce);
      this.setCookie(ctx, fresh, SESSION_TTL_MS / 1000);
      ctx.state.session = { csrf: this.csrfOf(fresh) };
    }
    return t.user;
  }

  /** What a request without valid credentials gets. */
  challenge(ctx: DavContext, basic: string): DavError {
    const navigating = (ctx.method === 'GET' || ctx.method === 'HEAD') && ctx.get('sec-fetch-mode') === 'navigate' && ctx.get('sec-fetch-dest') === 'document';
    // Someone who chose the browser's own prompt (login?basic=1) keeps getting it: the browser
    // answers the challenge from its cache for the whole realm.
    if (navigating && !ctx.get('authorization') && ctx.cookies.get(PREFER_BASIC) !== '1') {
      return new DavError(303, 'Sign in first', { headers: { Location: `${this.options.prefix}/.dav/login?next=${encodeURIComponent(ctx.originalUrl)}` } });
    }
    // The page's own requests: a challenge no browser prompts for (the page says "sign in again").
    if (ctx.get('x-dav-page') === '1') return new DavError(401, 'Authentication required', { headers: { 'WWW-Authenticate': `Session realm="${this.options.realm}"` } });
    return new DavError(401, 'Authentication required', { headers: { 'WWW-Authenticate': basic } });
  }
}

/** The session machinery of a server, found by its (global) services: set by createAuth. */
const registry = new WeakMap<Services, SessionAuth>();
export const registerSessions = (services: Services, s: SessionAuth): void => void registry.set(services, s);
export const sessionsOf = (services: Services): SessionAuth | undefined => registry.get(services);
