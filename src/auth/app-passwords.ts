/**
 * App passwords: extra passwords a user makes for one device or program, each with a label, an
 * optional expiry and an optional scope (a sub-path, and read-only), listed with their last use
 * and revoked one by one. Basic authentication accepts them beside the main password.
 *
 * - A password is `dav_<id>_<secret>`: an 8-character id that finds its record and a 160-bit
 *   random secret (lowercase base32, easy to type on a phone). Only the secret's SHA-256 is
 *   stored: a secret that long needs no slow hash, and a leaked store gives nobody a password.
 *   The comparison is constant-time.
 * - Records live in the shared small-state store (src/state/), so every worker and instance sees
 *   the same ones, and nothing about them is cached: a revoked or expired password fails on the
 *   very next request everywhere. Expiring records carry the store's TTL too.
 *
 * Keys: `app-password:<user>:<id>` (the record), `app-password-label:<user>:<label>` (label -> id,
 * made with `add` so a label is unique per user), `app-password-used:<user>:<id>` (last use,
 * written at most once a minute per process). User names and labels are URI-encoded in keys.
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { StateStore } from '../state/store.js';
import { DavError } from '../errors.js';

export interface AppPasswordRecord {
  id: string;
  user: string;
  label: string;
  /** SHA-256 of the secret, hex. */
  hash: string;
  created: number;
  /** Epoch ms, or null for no expiry. */
  expires: number | null;
  /** DAV path in the user's view the password is limited to, or null for everything. */
  scope: string | null;
  readOnly: boolean;
}

export interface AppPasswordInfo extends Omit<AppPasswordRecord, 'hash'> {
  lastUsed: { at: number; address: string } | null;
}

export interface NewAppPassword {
  label?: string;
  /** Lifetime in ms (none: no expiry). */
  expiresInMs?: number;
  scope?: string;
  readOnly?: boolean;
}

const B32 = 'abcdefghijklmnopqrstuvwxyz234567';
const SHAPE = /^dav_([a-z2-7]{8})_([a-z2-7]{32})$/;
const USE_WRITE_EVERY_MS = 60_000;

const b32 = (n: number): string => [...randomBytes(n)].map((b) => B32[b & 31]).join('');
const sha256 = (s: string): string => createHash('sha256').update(s).digest('hex');
const enc = encodeURIComponent;

/** True when a password has the form of an app password (only those are looked up). */
export const looksLikeAppPassword = (password: string): boolean => SHAPE.test(password);

export function checkLabel(label: string): string {
  const l = label.trim();
  if (l === '' || l.length > 64 || /[\x00-\x1f\x7f]/.test(l)) throw new DavError(400, 'A label is 1 to 64 characters without control characters');
  return l;
}

export class AppPasswords {
  private readonly written = new Map<string, number>();

  constructor(
    private readonly store: StateStore,
    private readonly clock: () => number = Date.now,
  ) {}

  private recordKey = (user: string, id: string): string => `app-password:${enc(user)}:${id}`;
  private labelKey = (user: string, label: string): string => `app-password-label:${enc(user)}:${enc(label)}`;
  private usedKey = (user: string, id: string): string => `app-password-used:${enc(user)}:${id}`;

  /** Makes a password; the only time it is ever shown is in the answer. */
  async create(user: string, opts: NewAppPassword = {}): Promise<{ password: string; record: AppPasswordRecord }> {
    const id = b32(8);
    const secret = b32(32);
    const label = checkLabel(opts.label ?? `password-${id}`);
    if (opts.expiresInMs !== undefined && !(Number.isSafeInteger(opts.expiresInMs) && opts.expiresInMs > 0)) throw new DavError(400, 'The expiry must be in the future');
    const now = this.clock();
    const record: AppPasswordRecord = {
      id,
      user,
      label,
      hash: sha256(secret),
      created: now,
      expires: opts.expiresInMs === undefined ? null : now + opts.expiresInMs,
      scope: opts.scope && opts.scope !== '/' ? opts.scope : null,
      readOnly: opts.readOnly === true,
    };
    const ttl = opts.expiresInMs === undefined ? {} : { ttlMs: opts.expiresInMs };
    if (!(await this.store.add(this.labelKey(user, label), id, ttl))) throw new DavError(409, `${user} already has an app password labelled ${JSON.stringify(label)}`);
    try {
      await this.store.set(this.recordKey(user, id), record, ttl);
    } catch (e) {
      await this.store.delete(this.labelKey(user, label)).catch(() => undefined);
      throw e;
    }
    return { password: `dav_${id}_${secret}`, record };
  }

  async list(user: string): Promise<AppPasswordInfo[]> {
    const now = this.clock();
    const entries = await this.store.list<AppPasswordRecord>(`app-password:${enc(user)}:`);
    const out: AppPasswordInfo[] = [];
    for (const { value } of entries) {
      if (value.user !== user || (value.expires !== null && value.expires <= now)) continue;
      const { hash: _hash, ...info } = value;
      out.push({ ...info, lastUsed: (await this.store.get<{ at: number; address: string }>(this.usedKey(user, value.id))) ?? null });
    }
    return out.sort((a, b) => a.created - b.created);
  }

  /** Revokes by label; false when the user has no password with that label. */
  async revoke(user: string, label: string): Promise<boolean> {
    const id = await this.store.get<string>(this.labelKey(user, label));
    if (id === undefined) return false;
    const had = await this.store.delete(this.recordKey(user, id));
    await Promise.all([this.store.delete(this.labelKey(user, label)), this.store.delete(this.usedKey(user, id))]);
    return had;
  }

  /** The record when `password` is a live app password of `user`; null otherwise. */
  async verify(user: string, password: string, address: string): Promise<AppPasswordRecord | null> {
    const m = SHAPE.exec(password);
    if (!m) return null;
    const record = await this.store.get<AppPasswordRecord>(this.recordKey(user, m[1]!));
    if (!record || record.user !== user) return null;
    const want = Buffer.from(record.hash, 'hex');
    const got = createHash('sha256').update(m[2]!).digest();
    if (want.length !== got.length || !timingSafeEqual(want, got)) return null;
    const now = this.clock();
    if (record.expires !== null && record.expires <= now) return null;
    await this.noteUse(user, record, address, now);
    return record;
  }

  /** Remembers the last use (at most once a minute per password and process; never fails a login). */
  private async noteUse(user: string, record: AppPasswordRecord, address: string, now: number): Promise<void> {
    const key = this.usedKey(user, record.id);
    if (now - (this.written.get(key) ?? 0) < USE_WRITE_EVERY_MS) return;
    if (this.written.size > 10_000) this.written.clear();
    this.written.set(key, now);
    const ttl = record.expires === null ? {} : { ttlMs: Math.max(1, record.expires - now) };
    await this.store.set(key, { at: now, address }, ttl).catch(() => this.written.delete(key));
  }
}
