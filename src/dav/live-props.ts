/**
 * Live properties (RFC 4918 section 15, RFC 4331 quota). Values are computed from the stat
 * result and the file name only: no file body is ever opened to answer PROPFIND.
 */
import mime from 'mime-types';
import type { ResourceInfo } from '../storage/backend.js';
import { escapeText } from '../xml/write.js';
import { DAV_NS, OC_NS, qkey } from '../xml/names.js';

/** Live properties returned by allprop and propname, in output order. */
export const ALLPROP_LIVE = [
  'creationdate',
  'displayname',
  'getcontentlength',
  'getcontenttype',
  'getetag',
  'getlastmodified',
  'resourcetype',
  'supportedlock',
  'lockdiscovery',
] as const;

/** Live properties only returned when asked for by name (RFC 4331 section 3 keeps quota out of allprop). */
export const NAMED_ONLY_LIVE = ['quota-available-bytes', 'quota-used-bytes'] as const;

export type LivePropName = (typeof ALLPROP_LIVE)[number] | (typeof NAMED_ONLY_LIVE)[number];

const LIVE = new Set<string>([...ALLPROP_LIVE, ...NAMED_ONLY_LIVE]);

export const isLiveProp = (ns: string, local: string): boolean => ns === DAV_NS && LIVE.has(local);

/** Live properties a client may set through PROPPATCH (kept as dead properties that win). */
export const WRITABLE_LIVE = new Set([qkey(DAV_NS, 'displayname')]);

/** Live properties in other namespaces, computed by the server: a client may not set them (oc:checksums, src/checksums/). */
export const OTHER_LIVE = new Set([qkey(OC_NS, 'checksums')]);

export const isProtected = (ns: string, local: string): boolean => (isLiveProp(ns, local) && !WRITABLE_LIVE.has(qkey(ns, local))) || OTHER_LIVE.has(qkey(ns, local));

export const SUPPORTED_LOCK =
  '<D:supportedlock>' +
  '<D:lockentry><D:lockscope><D:exclusive/></D:lockscope><D:locktype><D:write/></D:locktype></D:lockentry>' +
  '<D:lockentry><D:lockscope><D:shared/></D:lockscope><D:locktype><D:write/></D:locktype></D:lockentry>' +
  '</D:supportedlock>';

/** Content type from the name alone (mime-types), octet-stream when unknown. */
export function contentTypeFor(name: string): string {
  // The type depends on the extension alone: remember it per extension (listings ask 10,000 times).
  const dot = name.lastIndexOf('.');
  const ext = dot === -1 ? '' : name.slice(dot).toLowerCase();
  let t = typeByExt.get(ext);
  if (t === undefined) {
    t = typeFromMime(name);
    if (typeByExt.size >= 1000) typeByExt.clear();
    typeByExt.set(ext, t);
  }
  return t;
}
const typeByExt = new Map<string, string>();
function typeFromMime(name: string): string {
  const t = mime.lookup(name);
  if (!t) return 'application/octet-stream';
  return t.startsWith('text/') || t === 'application/json' || t === 'application/javascript' ? `${t}; charset=utf-8` : t;
}

/** Formats whole seconds, remembering the last second formatted (files listed together share it). */
function secondsFormatter(format: (d: Date) => string): (ms: number) => string {
  let lastSec = NaN;
  let last = '';
  return (ms) => {
    const sec = Math.floor(ms / 1000);
    if (sec !== lastSec) {
      last = format(new Date(sec * 1000));
      lastSec = sec;
    }
    return last;
  };
}

/** RFC 1123 date as getlastmodified and Last-Modified want it. */
export const httpDate = secondsFormatter((d) => d.toUTCString());
/** RFC 3339 date without fractions, as creationdate wants it. */
const isoDate = secondsFormatter((d) => d.toISOString().replace(/\.\d{3}Z$/, 'Z'));

/**
 * The synchronous live properties as XML (`<D:name>value</D:name>`), or undefined when the
 * property does not apply (e.g. getcontentlength on a collection). lockdiscovery, supportedlock
 * and quota are produced by the PROPFIND handler, which has the lock manager and backend.
 */
export function simpleLiveProp(local: string, info: ResourceInfo, name: string): string | undefined {
  switch (local) {
    case 'creationdate':
      return `<D:creationdate>${isoDate(info.birthtimeMs)}</D:creationdate>`;
    case 'displayname':
      return `<D:displayname>${escapeText(name)}</D:displayname>`;
    case 'getcontentlength':
      return info.isCollection ? undefined : `<D:getcontentlength>${info.size}</D:getcontentlength>`;
    case 'getcontenttype':
      return info.isCollection ? undefined : `<D:getcontenttype>${escapeText(contentTypeFor(name))}</D:getcontenttype>`;
    case 'getetag':
      return `<D:getetag>${info.etag.includes('&') || info.etag.includes('<') ? escapeText(info.etag) : info.etag}</D:getetag>`;
    case 'getlastmodified':
      return `<D:getlastmodified>${httpDate(info.mtimeMs)}</D:getlastmodified>`;
    case 'resourcetype':
      return info.isCollection ? '<D:resourcetype><D:collection/></D:resourcetype>' : '<D:resourcetype/>';
    case 'supportedlock':
      return SUPPORTED_LOCK;
    default:
      return undefined;
  }
}
