/**
 * HTTP Basic authentication (RFC 7617) against an htpasswd file. Verified credentials are
 * cached for a short time so bcrypt does not run on every request of a client that sends
 * the same Authorization header again and again (every WebDAV client does). The cache key is
 * an HMAC under a per-process random key of the user, the password and the stored hash, so
 * the cache holds no password, a changed password or hash misses it, and one user's entry can
 * never vouch for another.
 */
import { createHmac, randomBytes } from 'node:crypto';
import type { HtpasswdFile } from './htpasswd.js';

export interface Credentials {
  user: string;
  password: string;
}

/** Parses `Authorization: Basic base64(user:password)`; null when absent or not Basic. */
export function parseBasic(header: string | undefined): Credentials | null {
  if (!header) return null;
  const m = /^basic[ \t]+([A-Za-z0-9+/]+={0,2})[ \t]*$/i.exec(header);
  if (!m) return null;
  const decoded = Buffer.from(m[1]!, 'base64').toString('utf8');
  const c = decoded.indexOf(':');
  if (c <= 0) return null;
  return { user: decoded.slice(0, c), password: decoded.slice(c + 1) };
}

export interface CacheOptions {
  ttlMs?: number;
  maxEntries?: number;
  clock?: () => number;
}

export class BasicAuthenticator {
  private readonly key = randomBytes(32);
  private readonly cache = new Map<string, number>();
  private readonly ttlMs: number;
  private readonly maxEntries: number;
  private readonly clock: () => number;

  constructor(
    private readonly htpasswd: HtpasswdFile,
    opts: CacheOptions = {},
  ) {
    this.ttlMs = opts.ttlMs ?? 60_000;
    this.maxEntries = opts.maxEntries ?? 10_000;
    this.clock = opts.clock ?? Date.now;
  }

  private cacheKey(c: Credentials, hash: string): string {
    return createHmac('sha256', this.key).update(JSON.stringify([c.user, c.password, hash])).digest('base64');
  }

  /** The authenticated user name, or null. */
  async authenticate(header: string | undefined): Promise<string | null> {
    const c = parseBasic(header);
    if (!c) return null;
    const hash = await this.htpasswd.hashOf(c.user);
    if (hash !== undefined) {
      const key = this.cacheKey(c, hash);
      const until = this.cache.get(key);
      const now = this.clock();
      if (until !== undefined && until > now) return c.user;
      if (until !== undefined) this.cache.delete(key);
      if (!(await this.htpasswd.verify(c.user, c.password))) return null;
      if (this.cache.size >= this.maxEntries) this.cache.delete(this.cache.keys().next().value!);
      this.cache.set(key, now + this.ttlMs);
      return c.user;
    }
    await this.htpasswd.verify(c.user, c.password); // same cost as a known user
    return null;
  }
}
