/**
 * Query forms on resource URLs (DESIGN.md section 8): per-resource views that GET serves instead
 * of the resource itself.
 *
 *   GET <file>?thumb=SIZE          a small WebP/JPEG of an image (thumbs.ts)
 *   GET <collection>/?q=TEXT       search by name below the collection (search.ts)
 *   GET <collection>/?download=zip the collection (or `&f=NAME` members of it) as a zip (zip.ts)
 *   GET <file>?download            the file itself, as an attachment
 *
 * They run inside GET, after authentication and path resolution, on the signed-in user's own
 * storage: whatever the user could not GET, no view shows.
 */
import type { DavContext } from '../context.js';
import { DavError } from '../errors.js';
import { baseName } from '../dav/path.js';
import { fileAtCollectionUrl } from '../methods/common.js';
import { serveThumb } from './thumbs.js';
import { serveSearch } from './search.js';
import { serveZip } from './zip.js';

/** `Content-Disposition: attachment` with an ASCII fallback and the UTF-8 name (RFC 6266, RFC 8187). */
export function attachment(name: string): string {
  const ascii = name.replace(/[^\x20-\x7e]/g, '_').replace(/["\\]/g, '_');
  const utf8 = encodeURIComponent(name).replace(/['()*]/g, (c) => '%' + c.charCodeAt(0).toString(16).toUpperCase());
  return `attachment; filename="${ascii}"; filename*=UTF-8''${utf8}`;
}

/**
 * Answers a view and returns true, or returns false for a plain GET (after setting
 * Content-Disposition for `?download` on a file, which GET then serves as usual).
 */
export async function serveView(ctx: DavContext): Promise<boolean> {
  if (!ctx.querystring) return false;
  const q = ctx.query;
  if (q.thumb === undefined && q.q === undefined && q.download === undefined) return false;
  const { path, services } = ctx.state;
  const info = await services.storage.stat(path);
  if (!info || fileAtCollectionUrl(ctx, info)) throw new DavError(404, 'Not found');
  if (q.thumb !== undefined) {
    if (info.isCollection) throw new DavError(400, 'Thumbnails are made of files');
    await serveThumb(ctx, String(q.thumb));
    return true;
  }
  if (info.isCollection && typeof q.q === 'string') {
    await serveSearch(ctx, q.q);
    return true;
  }
  if (q.download !== undefined) {
    if (info.isCollection) {
      await serveZip(ctx);
      return true;
    }
    ctx.set('Content-Disposition', attachment(baseName(path)));
  }
  return false;
}
