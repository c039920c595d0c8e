/** Failures a lock store can report, whatever it is built on. */
import { DavError } from '../errors.js';

/**
 * The shared lock store cannot be reached. Methods that must check or change locks answer
 * 503 with Retry-After; reads that only show locks (PROPFIND lockdiscovery) say so per property.
 */
export class LockStoreUnavailable extends DavError {
  constructor(detail: string, retryAfterSec = 2) {
    super(503, `Lock store unavailable: ${detail}`, { headers: { 'Retry-After': String(retryAfterSec) } });
    this.name = 'LockStoreUnavailable';
  }
}

export const isLockStoreUnavailable = (e: unknown): e is LockStoreUnavailable => e instanceof LockStoreUnavailable;

/** A new lock would take its principal past the cap on live locks (507, RFC 4918 9.10.6 allows it). */
export class LockLimitReached extends DavError {
  constructor(max: number) {
    super(507, `A user may hold at most ${max} locks at once; release some first`);
    this.name = 'LockLimitReached';
  }
}
