/** Parsers for the WebDAV request headers (RFC 4918 section 10). Pure: no Koa, no fs. */
import { DavError } from '../errors.js';

export type Depth = 0 | 1 | 'infinity';

/** Depth header (10.2); `allowed` lists what the method accepts, anything else is 400. */
export function parseDepth(value: string | undefined, fallback: Depth, allowed: readonly Depth[] = [0, 1, 'infinity']): Depth {
  if (value === undefined || value === '') return fallback;
  const v = value.trim().toLowerCase();
  const depth: Depth | undefined = v === '0' ? 0 : v === '1' ? 1 : v === 'infinity' ? 'infinity' : undefined;
  if (depth === undefined || !allowed.includes(depth)) throw new DavError(400, `Invalid Depth header: ${value.slice(0, 40)}`);
  return depth;
}

/** Overwrite header (10.6): T (the default) or F. */
export function parseOverwrite(value: string | undefined): boolean {
  if (value === undefined) return true;
  const v = value.trim().toUpperCase();
  if (v === 'T') return true;
  if (v === 'F') return false;
  throw new DavError(400, 'Overwrite header must be T or F');
}

/**
 * Timeout header (10.7): a comma list of `Second-N` / `Infinite`; the first one we understand
 * wins, capped at `max` seconds. Returns `fallback` when absent or unusable.
 */
export function parseTimeout(value: string | undefined, fallback: number, max: number): number {
  if (!value) return Math.min(fallback, max);
  for (const part of value.split(',')) {
    const t = part.trim();
    if (/^infinite$/i.test(t)) return max;
    const m = /^second-(\d{1,12})$/i.exec(t);
    if (m) return Math.max(1, Math.min(Number(m[1]), max));
  }
  return Math.min(fallback, max);
}

export interface DestinationTarget {
  /** Raw path of the destination (still percent-encoded, no query). */
  rawPath: string;
}

/**
 * Destination header (10.3): an absolute URL or an absolute path. With an absolute URL the
 * authority must be ours (the request's Host, or the forwarded host when the proxy is
 * trusted); another server is 502 Bad Gateway (section 9.8.5).
 */
export function parseDestination(value: string | undefined, ourHosts: string[]): DestinationTarget {
  if (!value) throw new DavError(400, 'Destination header missing');
  const v = value.trim();
  if (v.startsWith('/')) return { rawPath: stripQuery(v) };
  let url: URL;
  try {
    url = new URL(v);
  } catch {
    throw new DavError(400, 'Destination is not a valid URL');
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new DavError(502, 'Destination is on another server');
  const host = url.host.toLowerCase();
  if (!ourHosts.some((h) => sameHost(h, host, url.protocol))) throw new DavError(502, 'Destination is on another server');
  // Take the path as sent (URL would normalise dot segments away, hiding traversal attempts).
  const afterAuthority = v.slice(v.indexOf('//') + 2);
  const slash = afterAuthority.indexOf('/');
  return { rawPath: slash === -1 ? '/' : stripQuery(afterAuthority.slice(slash)) };
}

function stripQuery(p: string): string {
  const q = p.indexOf('?');
  return q === -1 ? p : p.slice(0, q);
}

function sameHost(ours: string, theirs: string, protocol: string): boolean {
  const norm = (h: string): string => {
    h = h.toLowerCase();
    if (protocol === 'http:' && h.endsWith(':80')) return h.slice(0, -3);
    if (protocol === 'https:' && h.endsWith(':443')) return h.slice(0, -4);
    return h;
  };
  return norm(ours) === norm(theirs);
}
