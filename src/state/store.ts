/**
 * The shared small-state store: small JSON values that every server process must agree on
 * (failed-login counters and bans; later app passwords, share links, upload sessions). A file
 * per key under `<root>/.davmeta/state/` by default, Redis when the lock store is Redis, so
 * several processes (`--workers`, several instances) see one state.
 *
 * Keys are `namespace:rest`: the namespace (`[a-z][a-z0-9-]*`) names the feature that owns the
 * keys, the rest is any text without control characters. Values are anything JSON can hold.
 */
import { DavError } from '../errors.js';

export interface SetOptions {
  /** The key disappears this long after the write, ms (none: it stays until deleted). */
  ttlMs?: number;
}

export interface IncrOptions {
  /** Amount to add (default 1; may be negative). */
  by?: number;
  /** A counter that has no expiry gets one this long from now, ms: a new counter expires ttlMs after its first increment (a fixed window). */
  ttlMs?: number;
}

export interface StateEntry<T = unknown> {
  key: string;
  value: T;
}

export interface StateStore {
  /** The live value under `key`, or undefined when missing or expired. */
  get<T = unknown>(key: string): Promise<T | undefined>;
  /** Stores `value` under `key`, replacing what was there. */
  set(key: string, value: unknown, opts?: SetOptions): Promise<void>;
  /** Stores `value` only if `key` holds no live value; true when it did (atomic across processes). */
  add(key: string, value: unknown, opts?: SetOptions): Promise<boolean>;
  /** Removes `key`; true when it held a live value. */
  delete(key: string): Promise<boolean>;
  /** Adds to the counter under `key` (a missing one starts at 0) and returns the new value (atomic across processes). */
  incr(key: string, opts?: IncrOptions): Promise<number>;
  /** Every live key starting with `prefix` (which must start with `namespace:`) and its value, sorted by key. */
  list<T = unknown>(prefix: string): Promise<StateEntry<T>[]>;
  close(): Promise<void>;
}

/** The store cannot be reached (Redis down): callers answer 503 or carry on without it. */
export class StateStoreUnavailable extends DavError {
  constructor(detail: string, retryAfterSec = 2) {
    super(503, `State store unavailable: ${detail}`, { headers: { 'Retry-After': String(retryAfterSec) } });
    this.name = 'StateStoreUnavailable';
  }
}

const NAMESPACE = /^[a-z][a-z0-9-]{0,31}$/;
const MAX_KEY = 1024;

/** Splits and checks a key; throws a plain Error (a programming mistake, not a client's). */
export function splitKey(key: string): { namespace: string; rest: string } {
  const c = key.indexOf(':');
  const namespace = c === -1 ? '' : key.slice(0, c);
  if (!NAMESPACE.test(namespace)) throw new Error(`state key ${JSON.stringify(key)} must start with a namespace such as "feature:"`);
  if (key.length > MAX_KEY || /[\x00-\x1f\x7f]/.test(key)) throw new Error(`state key too long or with control characters: ${JSON.stringify(key.slice(0, 64))}`);
  return { namespace, rest: key.slice(c + 1) };
}

export function checkTtl(ttlMs: number | undefined): void {
  if (ttlMs !== undefined && !(Number.isInteger(ttlMs) && ttlMs > 0)) throw new Error(`state TTL must be a positive whole number of ms, got ${ttlMs}`);
}
