/**
 * Share links: a user's file or folder reachable without an account at `<prefix>/.dav/s/<token>/`,
 * read-only or as a file drop (upload only; the uploader sees nothing of what is there), with an
 * optional password, expiry and download/upload limit.
 *
 * - A token is 32 URL-safe characters (192 random bits): the first 8 find the record, and the
 *   whole token is compared in constant time with the stored one; the remaining 144 bits are the
 *   secret. A share password is kept as a bcrypt hash and checked on the hash pool.
 * - Records live in the shared small-state store (`share:<id>`; counters `share-count:<id>:<kind>`),
 *   looked up on every request and never cached: a revoked or expired share answers 404 at once
 *   on every worker and instance. Expiring records carry the store's TTL too.
 */
import { randomBytes, timingSafeEqual } from 'node:crypto';
import type { StateStore } from '../state/store.js';
import { DavError } from '../errors.js';

/** bcrypt (cost 10) of a share password; bcryptjs is loaded on the first share that has one (~0.5 MiB of heap otherwise idle). */
async function hashSharePassword(password: string): Promise<string> {
  const { default: bcrypt } = await import('bcryptjs');
  return bcrypt.hash(password, 10);
}

export type ShareMode = 'read' | 'drop';

export interface ShareRecord {
  id: string;
  token: string;
  /** Who made it. */
  user: string;
  /** The shared path as its owner sees it (their view). */
  path: string;
  /** The same resource as a DAV path from the served root. */
  target: string;
  /** The owner's root when it was made: the share never reaches outside it (symlinks included). */
  within: string;
  kind: 'file' | 'folder';
  mode: ShareMode;
  /** bcrypt hash of the share's password, or null. */
  passwordHash: string | null;
  created: number;
  /** Epoch ms, or null for no expiry. */
  expires: number | null;
  maxDownloads: number | null;
  maxUploads: number | null;
}

export interface ShareInfo extends Omit<ShareRecord, 'passwordHash'> {
  hasPassword: boolean;
  downloads: number;
  uploads: number;
}

export interface NewShare {
  user: string;
  path: string;
  target: string;
  within: string;
  kind: 'file' | 'folder';
  mode?: ShareMode;
  password?: string;
  expiresInMs?: number;
  maxDownloads?: number;
  maxUploads?: number;
}

export type UseKind = 'downloads' | 'uploads';

const TOKEN = /^[A-Za-z0-9_-]{32}$/;
const ID_LENGTH = 8;

/** True when a URL segment has the form of a share token. */
export const looksLikeToken = (s: string): boolean => TOKEN.test(s);

/** The URL path of a share (`<prefix>/.dav/s/<token>/`). */
export const sharePath = (prefix: string, token: string): string => `${prefix}/.dav/s/${token}/`;

const positive = (n: number | undefined, what: string): number | null => {
  if (n === undefined) return null;
  if (!Number.isSafeInteger(n) || n < 1) throw new DavError(400, `${what} must be a whole number of at least 1`);
  return n;
};

export class Shares {
  constructor(
    private readonly store: StateStore,
    private readonly clock: () => number = Date.now,
  ) {}

  private key = (id: string): string => `share:${id}`;
  private countKey = (id: string, kind: UseKind): string => `share-count:${id}:${kind}`;

  async create(s: NewShare): Promise<ShareRecord> {
    const mode = s.mode ?? 'read';
    if (mode === 'drop' && s.kind !== 'folder') throw new DavError(400, 'A file drop shares a folder (uploads land in it)');
    if (s.password !== undefined && (s.password.length < 1 || s.password.length > 256)) throw new DavError(400, 'A share password is 1 to 256 characters');
    if (s.expiresInMs !== undefined && !(Number.isSafeInteger(s.expiresInMs) && s.expiresInMs > 0)) throw new DavError(400, 'The expiry must be in the future');
    const now = this.clock();
    const base: Omit<ShareRecord, 'id' | 'token'> = {
      user: s.user,
      path: s.path,
      target: s.target,
      within: s.within,
      kind: s.kind,
      mode,
      passwordHash: s.password === undefined ? null : await hashSharePassword(s.password),
      created: now,
      expires: s.expiresInMs === undefined ? null : now + s.expiresInMs,
      maxDownloads: positive(s.maxDownloads, 'The download limit'),
      maxUploads: positive(s.maxUploads, 'The upload limit'),
    };
    const ttl = s.expiresInMs === undefined ? {} : { ttlMs: s.expiresInMs };
    for (;;) {
      const token = randomBytes(24).toString('base64url');
      // One in 64 would start with '-': a command line takes that for an option
      // (`share revoke -Mx...` was refused as an unknown option). Drawn again instead.
      if (token.startsWith('-')) continue;
      const record: ShareRecord = { id: token.slice(0, ID_LENGTH), token, ...base };
      if (await this.store.add(this.key(record.id), record, ttl)) return record;
    }
  }

  /** The live share a token names, or null (unknown, revoked, expired, or a wrong secret). */
  async find(token: string): Promise<ShareRecord | null> {
    if (!looksLikeToken(token)) return null;
    const record = await this.store.get<ShareRecord>(this.key(token.slice(0, ID_LENGTH)));
    if (!record || typeof record.token !== 'string') return null;
    const want = Buffer.from(record.token);
    const got = Buffer.from(token);
    if (want.length !== got.length || !timingSafeEqual(want, got)) return null;
    if (record.expires !== null && record.expires <= this.clock()) return null;
    return record;
  }

  /** Every live share (of one user when given), with its use counts. */
  async list(user?: string): Promise<ShareInfo[]> {
    const now = this.clock();
    const out: ShareInfo[] = [];
    for (const { value } of await this.store.list<ShareRecord>('share:')) {
      if ((user !== undefined && value.user !== user) || (value.expires !== null && value.expires <= now)) continue;
      const { passwordHash, ...rest } = value;
      const [downloads, uploads] = await Promise.all([this.count(value.id, 'downloads'), this.count(value.id, 'uploads')]);
      out.push({ ...rest, hasPassword: passwordHash !== null, downloads, uploads });
    }
    return out.sort((a, b) => a.created - b.created);
  }

  private async count(id: string, kind: UseKind): Promise<number> {
    return (await this.store.get<number>(this.countKey(id, kind))) ?? 0;
  }

  /**
   * Revokes a share by its token or id (the first 8 characters), only the owner's when `user` is
   * given; the revoked record, or null when there was none.
   */
  async revoke(tokenOrId: string, user?: string): Promise<ShareRecord | null> {
    const id = tokenOrId.slice(0, ID_LENGTH);
    if (!/^[A-Za-z0-9_-]{8}$/.test(id)) return null;
    const record = await this.store.get<ShareRecord>(this.key(id));
    if (!record || (tokenOrId.length > ID_LENGTH && record.token !== tokenOrId) || (user !== undefined && record.user !== user)) return null;
    await this.store.delete(this.key(id));
    await Promise.all([this.store.delete(this.countKey(id, 'downloads')), this.store.delete(this.countKey(id, 'uploads'))]);
    return record;
  }

  /**
   * Counts one download or upload; false (and nothing counted) when the share's limit is reached.
   * Atomic across processes: two last uploads racing for one slot never both get it.
   */
  async use(record: ShareRecord, kind: UseKind): Promise<boolean> {
    const max = kind === 'downloads' ? record.maxDownloads : record.maxUploads;
    const ttl = record.expires === null ? undefined : Math.max(1, record.expires - this.clock());
    const n = await this.store.incr(this.countKey(record.id, kind), ttl === undefined ? {} : { ttlMs: ttl });
    if (max !== null && n > max) {
      await this.store.incr(this.countKey(record.id, kind), { by: -1 });
      return false;
    }
    return true;
  }

  /** Gives back a use that did not happen (the request failed). */
  async unuse(record: ShareRecord, kind: UseKind): Promise<void> {
    await this.store.incr(this.countKey(record.id, kind), { by: -1 });
  }
}
