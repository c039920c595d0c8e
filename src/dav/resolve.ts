/**
 * One resolver for every reference a request makes to a resource: the Request-URI, the
 * Destination header and the resource tags of the If header all go through the same decoding
 * (percent-decoding once, --prefix, dot segments refused) and the same canonicalisation (the
 * stored spelling of a name, e.g. NFC for an NFD name), so a lock or an ETag condition can never
 * miss its resource because the client spelled it another way.
 */
import { parseDestination } from './headers.js';
import { decodeRequestPath } from './path.js';

export interface ResolveContext {
  prefix: string;
  /** host[:port] values naming this server (for absolute URLs). */
  ourHosts: string[];
  /** The stored spelling of a path (StorageBackend.canonicalPath), when the storage has one. */
  canonicalPath?: (path: string) => Promise<string>;
}

/**
 * DAV path of an absolute URL or absolute path; null when it lies outside --prefix. Throws 400
 * for a malformed reference and 502 for a URL on another server.
 */
export async function resolveReference(ref: string, c: ResolveContext): Promise<string | null> {
  const raw = parseDestination(ref, c.ourHosts).rawPath;
  const path = decodeRequestPath(raw, c.prefix);
  if (path === null) return null;
  return c.canonicalPath ? c.canonicalPath(path) : path;
}
