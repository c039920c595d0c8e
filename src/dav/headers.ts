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
 * Destination header (10.3): an absolute URL or an absolute path. With an absolute
 * URL the origin must be ours: `ours` lists `host[:port]` values (any scheme) or
 * `scheme://host[:port]` origins (that scheme only); another server, or this one under another
 * scheme, is 502 Bad Gateway (section 9.8.5). Loopback names (localhost, 127.0.0.0/8, [::1])
 * with the same port are the same server. A `#` is kept as a literal character here (the
 * Request-URI goes through this parser too, where `/c/#frag` names a member called `#frag`);
 * the Destination header refuses fragments itself (see destinationPath).
 */
export function parseDestination(value: string | undefined, ours: string[]): DestinationTarget {
  if (!value) throw new DavError(400, 'Destination header missing');
  const v = value.trim();
  if (v.startsWith('/') && !v.startsWith('//')) return { rawPath: stripQuery(v) };
  let url: URL;
  try {
    url = new URL(v);
  } catch {
    throw new DavError(400, 'Destination is not a valid URL');
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new DavError(502, 'Destination is on another server');
  if (!ours.some((o) => sameOrigin(o, url))) {
    const other = ours.find((o) => o.includes('://') && sameOrigin(o.slice(o.indexOf('://') + 3), url));
    throw new DavError(502, other ? `Destination names ${url.protocol.slice(0, -1)}, but this server is reached over ${other.slice(0, other.indexOf(':'))}` : 'Destination is on another server');
  }
  // Take the path as sent (URL would normalise dot segments away, hiding traversal attempts).
  const afterAuthority = v.slice(v.indexOf('//') + 2);
  const slash = afterAuthority.search(/[/?]/);
  return { rawPath: slash === -1 || afterAuthority[slash] === '?' ? '/' : stripQuery(afterAuthority.slice(slash)) };
}

function stripQuery(p: string): string {
  const q = p.indexOf('?');
  return q === -1 ? p : p.slice(0, q);
}

const DEFAULT_PORT: Record<string, string> = { 'http:': '80', 'https:': '443' };

/** host:port with the scheme's default port made explicit and loopback names unified. */
function canonicalAuthority(hostname: string, port: string, protocol: string): string {
  let h = hostname.toLowerCase();
  if (h === 'localhost' || h === '[::1]' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(h)) h = 'loopback';
  return `${h}:${port || DEFAULT_PORT[protocol] || ''}`;
}

function sameOrigin(ours: string, theirs: URL): boolean {
  const scheme = ours.includes('://') ? ours.slice(0, ours.indexOf('://') + 1).toLowerCase() : undefined;
  if (scheme && scheme !== theirs.protocol) return false;
  let mine: URL;
  try {
    mine = new URL(`${scheme ?? theirs.protocol}//${scheme ? ours.slice(ours.indexOf('://') + 3) : ours}`);
  } catch {
    return false;
  }
  return canonicalAuthority(mine.hostname, mine.port, mine.protocol) === canonicalAuthority(theirs.hostname, theirs.port, theirs.protocol);
}

/**
 * Lock-Token header of UNLOCK (10.5): `<token>`. The npm `webdav` library and some Windows
 * versions send the bare token; it is accepted too.
 */
export function parseLockToken(value: string | undefined): string {
  const v = (value ?? '').trim();
  const m = /^<([^<>\s]+)>$/.exec(v) ?? /^([^<>\s()]+)$/.exec(v);
  if (!m) throw new DavError(400, 'UNLOCK needs a Lock-Token header: <token>');
  return m[1]!;
}
