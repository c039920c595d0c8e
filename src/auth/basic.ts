/**
 * HTTP Basic authentication (RFC 7617). Every WebDAV client sends the same Authorization header
 * with every request, so a verified header is remembered for a short time: the cache key is an
 * HMAC of the header under a per-process random key (no password is kept, and the key cannot
 * be computed without the secret), and the entry is only honoured while the user's stored hash
 * is the one it was verified against. A cached header skips the defender: it is known good.
 * App passwords are never cached: each request looks its record up, so a revocation is immediate.
 */
import { createHmac, randomBytes } from 'node:crypto';
import { FAILED, type AuthOutcome, type PasswordVerifier } from './verify.js';

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

interface CacheEntry {
  user: string;
  hash: string;
  until: number;
}

export class BasicAuthenticator {
  private readonly key = randomBytes(32);
  private readonly cache = new Map<string, CacheEntry>();
  private readonly ttlMs: number;
  private readonly maxEntries: number;
  private readonly clock: () => number;

  constructor(
    readonly verifier: PasswordVerifier,
    opts: CacheOptions = {},
  ) {
    this.ttlMs = opts.ttlMs ?? 60_000;
    this.maxEntries = opts.maxEntries ?? 10_000;
    this.clock = opts.clock ?? Date.now;
  }

  /** Checks an Authorization header sent from `client` (its address). */
  async authenticate(header: string | undefined, client: string): Promise<AuthOutcome> {
    if (!header) return FAILED;
    const key = createHmac('sha256', this.key).update(header).digest('base64');
    const hit = this.cache.get(key);
    if (hit) {
      if (hit.until > this.clock() && (await this.verifier.htpasswd.hashOf(hit.user)) === hit.hash) return { ok: true, user: hit.user };
      this.cache.delete(key);
    }
    const c = parseBasic(header);
    if (!c) return FAILED;
    const hash = await this.verifier.htpasswd.hashOf(c.user);
    const outcome = await this.verifier.verify(c.user, c.password, client);
    if (outcome.ok && hash !== undefined && !outcome.appPassword) {
      if (this.cache.size >= this.maxEntries) this.cache.delete(this.cache.keys().next().value!);
      this.cache.set(key, { user: c.user, hash, until: this.clock() + this.ttlMs });
    }
    return outcome;
  }
}
