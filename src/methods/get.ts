/** GET and HEAD: streamed bodies with validators, single ranges (RFC 7233) and conditionals (RFC 7232). */
import type { DavContext } from '../context.js';
import { DavError } from '../errors.js';
import { checkConditionals, fileAtCollectionUrl, guardFor } from './common.js';
import { contentTypeFor, httpDate } from '../dav/live-props.js';
import { parseRange } from '../dav/range.js';
import { ifRangeHolds } from '../dav/preconditions.js';
import { baseName } from '../dav/path.js';
import { renderListing } from '../browser/listing.js';
import { isAssetRequest, serveAsset } from '../browser/assets.js';
import type { OpenFile, ResourceInfo } from '../storage/backend.js';

/** Types a browser would run as a document on our origin: they must not script the file page. */
const ACTIVE_TYPES = /^(text\/html|application\/xhtml\+xml|image\/svg\+xml|text\/xml|application\/xml)\b/;

export async function get(ctx: DavContext): Promise<void> {
  const { path, services } = ctx.state;
  if (isAssetRequest(ctx)) return serveAsset(ctx);
  const { storage } = services;
  let info = await storage.stat(path);
  if (!info || fileAtCollectionUrl(ctx, info)) throw new DavError(404, 'Not found');
  // Describe the body from the file we will send: a rename over the path between a stat and
  // an open would otherwise pair the old length with the new bytes (a corrupt response).
  const file = !info.isCollection && ctx.method === 'GET' && storage.openFile ? await storage.openFile(path) : null;
  if (file) info = file.info;
  try {
    await respond(ctx, info, file);
  } catch (e) {
    await file?.close();
    throw e;
  }
}

async function respond(ctx: DavContext, info: ResourceInfo, file: OpenFile | null): Promise<void> {
  const { path, services } = ctx.state;
  if (ctx.get('if')) await guardFor(ctx).checkIf();
  checkConditionals(ctx, info);
  ctx.set('ETag', info.etag);
  ctx.set('Last-Modified', httpDate(info.mtimeMs));

  if (info.isCollection) {
    await file?.close();
    await renderListing(ctx, info);
    return;
  }

  ctx.set('Accept-Ranges', 'bytes');
  ctx.type = contentTypeFor(baseName(path));
  // A stored HTML or SVG file opened in a browser runs sandboxed (an opaque origin), so it cannot
  // use the visitor's credentials to call WebDAV methods on this server.
  if (ACTIVE_TYPES.test(ctx.type)) ctx.set('Content-Security-Policy', 'sandbox');
  let range = parseRange(ctx.get('range') || undefined, info.size);
  if (range !== null && !ifRangeHolds(ctx.get('if-range') || undefined, { etag: info.etag, lastModifiedMs: info.mtimeMs })) range = null;
  if (range === 'unsatisfiable') {
    throw new DavError(416, 'Range not satisfiable', { headers: { 'Content-Range': `bytes */${info.size}` } });
  }
  ctx.status = range ? 206 : 200;
  const length = range ? range.end - range.start + 1 : info.size;
  if (range) ctx.set('Content-Range', `bytes ${range.start}-${range.end}/${info.size}`);
  if (ctx.method === 'HEAD') {
    ctx.set('Content-Length', String(length));
    return;
  }
  if (length === 0) {
    await file?.close();
    ctx.body = Buffer.alloc(0);
    return;
  }
  const body = file ? file.stream(range ?? undefined) : await services.storage.read(path, range ?? undefined);
  ctx.body = body;
  ctx.length = length;
}
