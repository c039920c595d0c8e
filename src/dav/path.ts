/**
 * Request-URI and href handling. A DAV path is the decoded, normalised path below the served
 * root: '/' or '/a/b' (no trailing slash, no empty, '.' or '..' segments). Decoding happens once,
 * here; everything after works on DAV paths.
 */
import { DavError } from '../errors.js';

/**
 * Turns the raw path of a request target (no query) into a DAV path below `prefix`.
 * '#' is kept as a literal character: a fragment is never sent by a conforming client, and
 * treating it as one would let `DELETE /coll/#frag` delete `/coll/` (litmus delete_fragment).
 * Returns null when the path is outside the prefix.
 */
export function decodeRequestPath(rawPath: string, prefix = ''): string | null {
  if (prefix) {
    if (rawPath === prefix) rawPath = '/';
    else if (rawPath.startsWith(prefix + '/')) rawPath = rawPath.slice(prefix.length);
    else return null;
  }
  // Node hands over the request line as latin1; clients that send raw UTF-8 bytes mean UTF-8.
  if (/[^\x00-\x7f]/.test(rawPath)) rawPath = Buffer.from(rawPath, 'latin1').toString('utf8');
  if (rawPath[0] !== '/') throw new DavError(400, 'Request path must start with /');
  const segments: string[] = [];
  for (const raw of rawPath.split('/')) {
    if (raw === '') continue;
    let seg: string;
    try {
      seg = raw.indexOf('%') === -1 ? raw : decodeURIComponent(raw);
    } catch {
      throw new DavError(400, 'Invalid percent-encoding in path');
    }
    checkSegment(seg);
    segments.push(seg);
  }
  return segments.length === 0 ? '/' : '/' + segments.join('/');
}

/** Rejects the segments that could leave the root or confuse the filesystem. */
export function checkSegment(seg: string): void {
  if (seg === '.' || seg === '..') throw new DavError(400, 'Path segments "." and ".." are not allowed');
  if (seg.includes('/') || seg.includes('\\')) throw new DavError(400, 'Encoded path separators are not allowed');
  if (seg.includes('\0')) throw new DavError(400, 'NUL in path');
}

export const parentPath = (path: string): string => {
  const i = path.lastIndexOf('/');
  return i <= 0 ? '/' : path.slice(0, i);
};

export const baseName = (path: string): string => path.slice(path.lastIndexOf('/') + 1);

export const joinPath = (dir: string, name: string): string => (dir === '/' ? '/' + name : `${dir}/${name}`);

/** True when `path` is `ancestor` itself or lies below it. */
export const isSelfOrDescendant = (path: string, ancestor: string): boolean =>
  ancestor === '/' || path === ancestor || path.startsWith(ancestor + '/');

const SEGMENT_SAFE = /[^A-Za-z0-9\-._~!$&'()*+,;=:@]/gu;
const ALL_SAFE = /^[A-Za-z0-9\-._~!$&'()*+,;=:@]*$/;

/** Percent-encodes one path segment (RFC 3986 pchar), keeping readable characters readable. */
export const encodeSegment = (seg: string): string =>
  // Most names need no escape: a test is cheaper than a replace (every href of a listing).
  ALL_SAFE.test(seg) ? seg : seg.replace(SEGMENT_SAFE, encodeURIComponent);

/** Encoded href for a DAV path: prefix + encoded segments (+ '/' for collections). */
export function hrefFor(prefix: string, path: string, isCollection: boolean): string {
  if (path === '/') return prefix + '/';
  let out = prefix;
  let start = 1;
  for (;;) {
    const end = path.indexOf('/', start);
    out += '/' + encodeSegment(end === -1 ? path.slice(start) : path.slice(start, end));
    if (end === -1) break;
    start = end + 1;
  }
  return isCollection ? out + '/' : out;
}
