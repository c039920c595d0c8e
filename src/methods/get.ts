/** GET and HEAD: streamed bodies with validators, ranges (RFC 7233) and conditionals (RFC 7232). */
import { randomBytes } from 'node:crypto';
import mime from 'mime-types';
import { Readable } from 'node:stream';
import type { DavContext } from '../context.js';
import { DavError } from '../errors.js';
import { checkConditionals, fileAtCollectionUrl, guardFor, href } from './common.js';
import { contentTypeFor, httpDate } from '../dav/live-props.js';
import { multipartPlan, parseRanges, type ByteRange } from '../dav/range.js';
import { ifRangeHolds } from '../dav/preconditions.js';
import { baseName } from '../dav/path.js';
import { compressBody } from '../middleware/compress.js';
import type { OpenFile, ResourceInfo } from '../storage/backend.js';
import { setChecksumHeader } from '../checksums/http.js';
import { protectStoredFile } from '../middleware/stored-content.js';
import { serveView } from '../browser/views.js';
import { renderListing } from '../browser/listing.js';

/** Bodies up to this size are read with their stat in one step instead of streamed. */
const SMALL_BODY = 64 * 1024;

/** The Content-Type header Koa's `ctx.type` would send for a type (a charset added where mime-db has one), per type. */
const headerTypes = new Map<string, string>();
function headerType(t: string): string {
  let h = headerTypes.get(t);
  if (h === undefined) {
    h = mime.contentType(t) || t;
    if (headerTypes.size >= 1000) headerTypes.clear();
    headerTypes.set(t, h);
  }
  return h;
}

export async function get(ctx: DavContext): Promise<void> {
  const { path, services } = ctx.state;
  // ?thumb=, ?q=, ?download: per-resource views of the file page (src/browser/views.ts). Our own
  // modules are imported statically (a dynamic import of one of them gives the tests, which load
  // src through tsx's require hook, a second copy of DavError and friends); the heavy libraries
  // they use (sharp, yazl) are loaded when first needed, which keeps idle memory low.
  if (ctx.req.url?.includes('?') && (await serveView(ctx))) return;
  const { storage } = services;
  // GET of a small file: stat and content in one step from one descriptor (the content is
  // only used if the request ends up answering 200/206 with a body).
  const small = ctx.method === 'GET' && storage.statWithSmallBody ? await storage.statWithSmallBody(path, SMALL_BODY) : undefined;
  let info = small !== undefined ? small && small.info : await storage.stat(path);
  if (!info || fileAtCollectionUrl(ctx, info)) throw new DavError(404, 'Not found');
  const smallBody = small?.body && small.body.length === info.size ? small.body : null;
  // Otherwise describe the body from the file we will send: a rename over the path between a
  // stat and an open would pair the old length with the new bytes (a corrupt response).
  const opens = !smallBody && !info.isCollection && ctx.method === 'GET' && storage.openFile;
  const file = opens ? await storage.openFile!(path) : null;
  // Gone since the stat: reading the path again could find another file there, whose bytes
  // would go out under the length stat'ed here (a body ending short of its Content-Length).
  if (opens && !file) throw new DavError(404, 'Not found');
  if (file) info = file.info;
  try {
    await respond(ctx, info, file, smallBody);
  } catch (e) {
    await file?.close().catch(() => undefined);
    throw e;
  }
}

/**
 * Headers are set on the response directly rather than through Koa's setters, and a whole small
 * body is sent at once: Koa's `set` allocates several arrays per header, and allocations were
 * what a profile of small GETs under load spent 11% of its time collecting (same headers).
 */
async function respond(ctx: DavContext, info: ResourceInfo, file: OpenFile | null, smallBody: Buffer | null): Promise<void> {
  const { path, services } = ctx.state;
  const req = ctx.req.headers;
  const res = ctx.res;
  if (req.if) await guardFor(ctx).checkIf();
  checkConditionals(ctx, info);
  res.setHeader('ETag', info.etag);
  res.setHeader('Last-Modified', httpDate(info.mtimeMs));

  if (info.isCollection) {
    await file?.close();
    setCollectionLocation(ctx);
    await renderListing(ctx, info);
    await compressBody(ctx);
    return;
  }

  res.setHeader('Accept-Ranges', 'bytes');
  await setChecksumHeader(ctx, info, smallBody);
  const type = headerType(contentTypeFor(baseName(path)));
  res.setHeader('Content-Type', type);
  // Stored HTML, SVG, XML ... opened in a browser run sandboxed (an opaque origin), so they
  // cannot use the visitor's credentials to call WebDAV methods on this server.
  protectStoredFile(ctx, type);
  // RFC 9110 14.2: Range is defined for GET only; HEAD describes the whole representation.
  let ranges = ctx.method === 'GET' && req.range ? parseRanges(req.range, info.size) : null;
  if (ranges !== null && !ifRangeHolds(ctx.get('if-range') || undefined, { etag: info.etag, lastModifiedMs: info.mtimeMs })) ranges = null;
  if (ranges === 'unsatisfiable') {
    throw new DavError(416, 'Range not satisfiable', { headers: { 'Content-Range': `bytes */${info.size}` } });
  }
  if (ranges && ranges.length > 1) return sendMultipart(ctx, info, ranges, file, smallBody);
  const range = ranges?.[0] ?? null;
  ctx.status = range ? 206 : 200;
  const length = range ? range.end - range.start + 1 : info.size;
  if (range) res.setHeader('Content-Range', `bytes ${range.start}-${range.end}/${info.size}`);
  if (ctx.method === 'HEAD' || smallBody) {
    // Complete now: status and headers are on the response, the body (if any) is in memory.
    res.setHeader('Content-Length', length);
    ctx.respond = false;
    if (ctx.method === 'HEAD') res.end();
    else res.end(range ? smallBody!.subarray(range.start, range.end + 1) : smallBody);
    return;
  }
  if (length === 0) {
    await file?.close();
    ctx.body = Buffer.alloc(0);
    return;
  }
  if (file?.readInto) return sendWithReusedBuffers(ctx, file, range ? range.start : 0, length);
  ctx.body = file ? file.stream(range ?? undefined) : await services.storage.read(path, range ?? undefined);
  ctx.length = length;
}

/**
 * Writes the body ourselves (Koa's respond step is skipped; status and headers are already on
 * the response) from the backend's reused buffers: a stream would allocate a fresh 1 MiB
 * buffer per chunk and RSS grew by ~60 MiB during a 512 MiB GET before the GC caught up.
 */
async function sendWithReusedBuffers(ctx: DavContext, file: OpenFile, start: number, length: number): Promise<void> {
  const res = ctx.res;
  ctx.length = length;
  ctx.respond = false;
  const closed = new Promise<never>((_, reject) => res.once('close', () => reject(Object.assign(new Error('client went away'), { code: 'ECONNRESET' }))));
  closed.catch(() => undefined);
  const write = (chunk: Buffer): Promise<void> =>
    Promise.race([closed, new Promise<void>((resolve, reject) => res.write(chunk, (e) => (e ? reject(e) : resolve())))]);
  try {
    const sent = await file.readInto!(start, length, write);
    // Truncated in place meanwhile (outside WebDAV, whose writes replace files whole): the
    // Content-Length sent cannot be honoured; the error is logged and the connection closed.
    if (sent < length) throw new Error(`${ctx.state.path} shrank while it was sent: ${sent} of ${length} bytes`);
  } catch (e) {
    if (!res.headersSent) ctx.respond = true; // nothing sent yet: let the error answer normally
    throw e;
  }
  res.end();
}

/**
 * RFC 4918 5.2: a collection requested without its trailing slash answers as the collection and
 * names its canonical URL in Content-Location.
 */
export function setCollectionLocation(ctx: DavContext): void {
  const url = ctx.req.url ?? '/';
  const q = url.indexOf('?');
  if (!(q === -1 ? url : url.slice(0, q)).endsWith('/')) ctx.set('Content-Location', href(ctx, ctx.state.path, true));
}

/**
 * Several ranges: 206 multipart/byteranges (RFC 7233 4.1), streamed part by part with the
 * length known up front. Each part reads from a descriptor of its own, all opened before the
 * response starts on the version described: a write replacing the file meanwhile cannot cut the
 * body half way. Should the file be replaced while they are opened, the whole file goes out
 * (200) from the descriptor already open (RFC 7233 3.1: a server may ignore Range).
 */
async function sendMultipart(ctx: DavContext, info: ResourceInfo, ranges: ByteRange[], file: OpenFile | null, smallBody: Buffer | null): Promise<void> {
  const { path, services } = ctx.state;
  const { storage } = services;
  const files: OpenFile[] = file ? [file] : [];
  if (file) {
    try {
      while (files.length < ranges.length) {
        const f = await storage.openFile!(path);
        if (!f || f.info.etag !== info.etag) {
          await f?.close();
          await Promise.all(files.slice(1).map((x) => x.close()));
          ctx.status = 200;
          if (file.readInto) return sendWithReusedBuffers(ctx, file, 0, info.size);
          ctx.body = file.stream();
          ctx.length = info.size;
          return;
        }
        files.push(f);
      }
    } catch (e) {
      await Promise.all(files.slice(1).map((x) => x.close().catch(() => undefined)));
      throw e;
    }
  }
  const plan = multipartPlan(ranges, info.size, String(ctx.response.get('Content-Type') || 'application/octet-stream'), randomBytes(12).toString('hex'));
  ctx.status = 206;
  ctx.type = plan.contentType;
  // Descriptors not yet handed to a part's stream (which closes its own) are closed when the
  // response ends early.
  let next = 0;
  const closeRest = (): void => {
    for (const f of files.splice(next)) f.close().catch(() => undefined);
  };
  ctx.res.once('close', closeRest);
  async function* parts(): AsyncGenerator<Buffer | string> {
    for (let i = 0; i < ranges.length; i++) {
      const r = ranges[i]!;
      yield plan.heads[i]!;
      if (smallBody) {
        yield smallBody.subarray(r.start, r.end + 1);
        continue;
      }
      const stream = files[i] ? files[i]!.stream(r) : await storage.read(path, r);
      next = i + 1;
      for await (const chunk of stream) yield chunk as Buffer;
    }
    yield plan.tail;
  }
  ctx.body = Readable.from(parts(), { objectMode: false });
  ctx.length = plan.length;
}
