/**
 * The lock seam (RFC 4918 sections 6 and 7). Every implementation is async and atomic so the
 * same interface can sit on memory, a persisted file or a shared Redis.
 */
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

export interface LockManager {
  /** Creates a lock unless a conflicting one exists (checked atomically with the creation). */
  create(req: NewLock): Promise<CreateResult>;
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
  /** Removes every lock rooted at or below `path` (after DELETE, or on the source of MOVE). */
  dropTree(path: string): Promise<void>;
  /**
   * Runs `fn` while no other critical section touching any of `paths` (or their ancestors or
   * descendants) runs: lock checks and the write they guard happen as one step.
   */
  exclusive<T>(paths: string[], fn: () => Promise<T>): Promise<T>;
  close(): Promise<void>;
}

/** Clock injected into lock managers so expiry can be tested without waiting. */
export type Clock = () => number;

/** RFC 4918 6.2 / 9.10.3: an exclusive lock conflicts with any other; shared only with exclusive. */
export const conflicts = (existing: LockInfo, requested: LockScope): boolean => existing.scope === 'exclusive' || requested === 'exclusive';
