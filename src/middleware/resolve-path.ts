/**
 * Decodes the Request-URI once into a DAV path, maps it to the stored spelling of an existing
 * resource (normalisation-insensitive), and refuses reserved names.
 */
import type { Next } from 'koa';
import type { DavContext } from '../context.js';
import { DavError } from '../errors.js';
import { resolveReference } from '../dav/resolve.js';

const READS = new Set(['GET', 'HEAD', 'PROPFIND', 'OPTIONS']);

export async function resolvePath(ctx: DavContext, next: Next): Promise<void> {
  const url = ctx.req.url ?? '/';
  if (url === '*' && ctx.method === 'OPTIONS') {
    ctx.state.path = '/';
    return next();
  }
  const q = url.indexOf('?');
  const raw = q === -1 ? url : url.slice(0, q);
  const { options, storage } = ctx.state.services;
  if (raw[0] !== '/') throw new DavError(400, 'Request path must start with /');
  // The one resolver the Destination header and If-header tags go through too: decoded once,
  // and mapped to the stored spelling (macOS sends NFD names).
  let path = await resolveReference(raw, { prefix: options.prefix, ourHosts: [], canonicalPath: storage.canonicalPath?.bind(storage) });
  if (path === null) {
    // Windows probes OPTIONS on the server root before it looks at the mapped path.
    if (ctx.method !== 'OPTIONS') throw new DavError(404, 'Not found');
    path = '/';
  }
  if (storage.isReserved(path)) throw READS.has(ctx.method) ? new DavError(404, 'Not found') : new DavError(403, 'Reserved name');
  ctx.state.path = path;
  if (path !== '/' && raw.endsWith('/')) ctx.state.collectionUrl = true;
  return next();
}
