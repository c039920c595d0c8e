/**
 * Conditional requests, RFC 7232 section 6 evaluation order:
 * If-Match, else If-Unmodified-Since; then If-None-Match, else If-Modified-Since (GET/HEAD only).
 */
import { etagMatches } from './if-header.js';

export interface Validators {
  /** null when the resource does not exist. */
  etag: string | null;
  lastModifiedMs: number | null;
}

export interface ConditionalHeaders {
  ifMatch?: string;
  ifNoneMatch?: string;
  ifModifiedSince?: string;
  ifUnmodifiedSince?: string;
}

/** 'ok', or the status to answer with instead: 304 (GET/HEAD) or 412. */
export function evaluateConditionals(h: ConditionalHeaders, v: Validators, method: string): 'ok' | 304 | 412 {
  const safe = method === 'GET' || method === 'HEAD';
  if (h.ifMatch !== undefined) {
    if (!matchList(h.ifMatch, v.etag, true)) return 412;
  } else if (h.ifUnmodifiedSince !== undefined && v.lastModifiedMs !== null) {
    const t = Date.parse(h.ifUnmodifiedSince);
    if (!Number.isNaN(t) && Math.floor(v.lastModifiedMs / 1000) * 1000 > t) return 412;
  }
  if (h.ifNoneMatch !== undefined) {
    if (matchList(h.ifNoneMatch, v.etag, false)) return safe ? 304 : 412;
  } else if (safe && h.ifModifiedSince !== undefined && v.lastModifiedMs !== null) {
    const t = Date.parse(h.ifModifiedSince);
    // A date after the server's clock is invalid (RFC 2616 14.25; Apache and nginx ignore it).
    if (!Number.isNaN(t) && t <= Date.now() && Math.floor(v.lastModifiedMs / 1000) * 1000 <= t) return 304;
  }
  return 'ok';
}

/** `*` or a comma list of entity tags; If-Match uses strong comparison, If-None-Match weak. */
function matchList(header: string, etag: string | null, strong: boolean): boolean {
  if (etag === null) return false;
  const h = header.trim();
  if (h === '*') return true;
  for (const m of h.matchAll(/(W\/)?"[^"]*"/g)) {
    const tag = m[0];
    if (strong ? !tag.startsWith('W/') && !etag.startsWith('W/') && tag === etag : etagMatches(tag, etag)) return true;
  }
  return false;
}

/** If-Range (RFC 7233 3.2): the range applies only when the validator still matches. */
export function ifRangeHolds(header: string | undefined, v: Validators): boolean {
  if (!header) return true;
  const h = header.trim();
  if (h.startsWith('"') || h.startsWith('W/')) return v.etag !== null && !h.startsWith('W/') && h === v.etag;
  const t = Date.parse(h);
  // A date is a strong validator only if the file cannot have changed again within its second
  // (RFC 7232 2.2.2; RFC 7233 3.2 wants a strong one): like Apache, not for the first minute.
  if (Number.isNaN(t) || v.lastModifiedMs === null || Date.now() - v.lastModifiedMs < 60_000) return false;
  return Math.floor(v.lastModifiedMs / 1000) * 1000 === t;
}
