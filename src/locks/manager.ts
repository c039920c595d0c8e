/**
 * The lock seam (RFC 4918 sections 6 and 7). Every implementation is async and atomic so the
 * same interface can sit on memory, a persisted file or a shared Redis.
 */
import type { Hold } from './path-mutex.js';

export type { Hold, HoldMode } from './path-mutex.js';

/** What a critical section knows about its own hold (see LockManager.exclusive). */
export interface HeldSection {
  /** Aborted when the section is lost (its lease expired or could not be renewed). */
  readonly signal: AbortSignal;
  /** False once the section is lost; check before each irreversible step. */
  stillHeld(): boolean;
}

/** A section held in one process: never lost. */
export const HELD_FOREVER: HeldSection = { signal: new AbortController().signal, stillHeld: () => true };

export type LockScope = 'exclusive' | 'shared';
export type LockDepth = 0 | 'infinity';

export interface LockInfo {
  /** `urn:uuid:...` */
  token: string;
  /** DAV path of the lock root. */
  root: string;
  scope: LockScope;
  depth: LockDepth;
  /** Owner XML as the client sent it (inner XML of DAV:owner), '' when none. */
  ownerXml: string;
  /** Authenticated user who took the lock, when authentication is on. */
  principal?: string;
  /** Requested timeout in seconds (after capping). */
  timeoutSec: number;
  /** Epoch ms when the lock expires. */
  expiresAt: number;
}

export type NewLock = Omit<LockInfo, 'token' | 'expiresAt'>;

export type CreateResult = { lock: LockInfo } | { conflict: LockInfo };

export interface CreateLimits {
  maxPerPrincipal?: number;
}

export interface LockManager {
  /**
   * Creates a lock unless a conflicting one exists (checked atomically with the creation).
   * With `maxPerPrincipal`, refuses (LockLimitReached, 507) a lock that would give its principal
   * (anonymous clients counting as one) more live locks than that.
   */
  create(req: NewLock, limits?: CreateLimits): Promise<CreateResult>;
  /** Extends a lock's timeout; null when the token is unknown or expired. */
  refresh(token: string, timeoutSec: number): Promise<LockInfo | null>;
  /** Removes a lock; false when the token is unknown. */
  remove(token: string): Promise<boolean>;
  byToken(token: string): Promise<LockInfo | null>;
  /**
   * Locks whose scope includes `path`: rooted at it, or at an ancestor with depth infinity.
   * With `descendants`, also locks rooted anywhere below `path`.
   */
  covering(path: string, opts?: { descendants?: boolean }): Promise<LockInfo[]>;
  /**
   * Removes every lock rooted at or below `path` (after DELETE, or on the source of MOVE); with
   * `below`, only those rooted strictly below it (a collection overwritten by COPY or MOVE keeps
   * the lock on its own URL, RFC 4918 7.6).
   */
  dropTree(path: string, opts?: { below?: boolean }): Promise<void>;
  /**
   * Runs `fn` while no conflicting critical section runs: one that holds any of `paths`, an
   * ancestor or a descendant of one, where at least one of the two holds it as a writer (a
   * plain string is held as a writer). Lock checks and the write they guard happen as one step.
   * `held` tells `fn` whether the section is still held: a store shared between instances
   * holds it by a lease that can be lost (Redis unreachable); `fn` checks before each
   * irreversible step.
   */
  exclusive<T>(paths: readonly (string | Hold)[], fn: (held: HeldSection) => Promise<T>): Promise<T>;
  close(): Promise<void>;
}

/** Clock injected into lock managers so expiry can be tested without waiting. */
export type Clock = () => number;

/** RFC 4918 6.2 / 9.10.3: an exclusive lock conflicts with any other; shared only with exclusive. */
export const conflicts = (existing: LockInfo, requested: LockScope): boolean => existing.scope === 'exclusive' || requested === 'exclusive';
