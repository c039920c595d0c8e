/** GET and HEAD: streamed bodies with validators, single ranges (RFC 7233) and conditionals (RFC 7232). */
import type { DavContext } from '../context.js';
import { DavError } from '../errors.js';
import { checkConditionals, guardFor } from './common.js';
import { contentTypeFor, httpDate } from '../dav/live-props.js';
import { parseRange } from '../dav/range.js';
import { ifRangeHolds } from '../dav/preconditions.js';
import { baseName } from '../dav/path.js';
import { renderListing } from '../browser/listing.js';

/** Bodies up to this size are read in one call instead of streamed. */
const SMALL_BODY = 64 * 1024;

export async function get(ctx: DavContext): Promise<void> {
  const { path, services } = ctx.state;
  // GET of a small file: stat and content in one step (the content is only used if the
  // request ends up answering 200/206 with a body).
  const small = ctx.method === 'GET' && services.storage.statWithSmallBody ? await services.storage.statWithSmallBody(path, SMALL_BODY) : undefined;
  const info = small !== undefined ? small && small.info : await services.storage.stat(path);
  if (!info) throw new DavError(404, 'Not found');
  if (ctx.get('if')) await guardFor(ctx).checkIf();
  checkConditionals(ctx, info);
  ctx.set('ETag', info.etag);
  ctx.set('Last-Modified', httpDate(info.mtimeMs));

  if (info.isCollection) {
    await renderListing(ctx, info);
    return;
  }

  ctx.set('Accept-Ranges', 'bytes');
  ctx.type = contentTypeFor(baseName(path));
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
    ctx.body = Buffer.alloc(0);
    return;
  }
  if (small?.body && small.body.length === info.size) {
    ctx.body = range ? small.body.subarray(range.start, range.end + 1) : small.body;
    return;
  }
  if (length <= SMALL_BODY && services.storage.readSmall) {
    // One open/read/close into an exact-size buffer: a stream allocates a 1 MiB chunk per file.
    ctx.body = await services.storage.readSmall(path, range ? range.start : 0, length);
    return;
  }
  if (services.storage.readInto) {
    await sendWithReusedBuffers(ctx, path, range ? range.start : 0, length);
    return;
  }
  const body = await services.storage.read(path, range ?? undefined);
  ctx.body = body;
  ctx.length = length;
}

/**
 * Writes the body ourselves (Koa's respond step is skipped; status and headers are already on
 * the response) from the backend's reused buffers: a stream would allocate a fresh 1 MiB
 * buffer per chunk and RSS grew by ~60 MiB during a 512 MiB GET before the GC caught up.
 */
async function sendWithReusedBuffers(ctx: DavContext, path: string, start: number, length: number): Promise<void> {
  const res = ctx.res;
  ctx.length = length;
  ctx.respond = false;
  const closed = new Promise<never>((_, reject) => res.once('close', () => reject(Object.assign(new Error('client went away'), { code: 'ECONNRESET' }))));
  closed.catch(() => undefined);
  const write = (chunk: Buffer): Promise<void> =>
    Promise.race([closed, new Promise<void>((resolve, reject) => res.write(chunk, (e) => (e ? reject(e) : resolve())))]);
  let sent: number;
  try {
    sent = await ctx.state.services.storage.readInto!(path, start, length, write);
  } catch (e) {
    if (!res.headersSent) ctx.respond = true; // e.g. the file vanished before it was opened: let the error answer
    throw e;
  }
  if (sent < length) {
    res.destroy(); // the file shrank meanwhile: Content-Length cannot be honoured
    return;
  }
  res.end();
}
