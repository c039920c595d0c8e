/** Helpers the method handlers share: request body reading, hrefs, guards, conditionals. */
import type { DavContext } from '../context.js';
import { DavError } from '../errors.js';
import { Guard } from '../dav/guard.js';
import { hrefFor } from '../dav/path.js';
import { resolveReference, type ResolveContext } from '../dav/resolve.js';
import { evaluateConditionals } from '../dav/preconditions.js';
import { parseXml, type XmlElement } from '../xml/parse.js';
import { decodeXmlBody } from '../xml/decode.js';
import type { ResourceInfo } from '../storage/backend.js';

export const href = (ctx: DavContext, path: string, isCollection: boolean): string =>
  hrefFor(ctx.state.services.options.prefix, path, isCollection);

/**
 * Origins (`scheme://host[:port]`) that name this server in absolute URLs (Destination, If
 * tags): the Host header under the connection's scheme, the address the connection reached
 * (same server, same port), and with --trust-proxy the forwarded host and scheme.
 */
export function ourHosts(ctx: DavContext): string[] {
  const socket = ctx.req.socket as { encrypted?: boolean; localAddress?: string; localPort?: number };
  const scheme = socket.encrypted ? 'https' : 'http';
  const host = ctx.get('host');
  const out = host ? [`${scheme}://${host}`] : [];
  if (socket.localAddress && socket.localPort) {
    const a = socket.localAddress.replace(/^::ffff:(?=\d+\.)/, '');
    out.push(`${scheme}://${a.includes(':') ? `[${a}]` : a}:${socket.localPort}`);
  }
  if (ctx.state.services.options.trustProxy) {
    // The first (client-most) value is the public one when proxies chain.
    const proto = ctx.get('x-forwarded-proto').split(',')[0]!.trim().toLowerCase();
    const publicScheme = proto === 'https' || proto === 'http' ? proto : scheme;
    const fwd = ctx.get('x-forwarded-host').split(',')[0]!.trim();
    if (fwd) out.push(`${publicScheme}://${fwd}`);
    // A proxy that keeps the Host header (nginx: proxy_set_header Host $host) only changes the scheme.
    if (host && publicScheme !== scheme) out.push(`${publicScheme}://${host}`);
  }
  return out;
}

/** How this request resolves references to resources (Request-URI, Destination, If tags): one way for all. */
export function resolveContext(ctx: DavContext): ResolveContext {
  const { options, storage } = ctx.state.services;
  return { prefix: options.prefix, ourHosts: ourHosts(ctx), canonicalPath: storage.canonicalPath?.bind(storage) };
}

export function guardFor(ctx: DavContext): Guard {
  const { services, path, user } = ctx.state;
  const ifHeader = ctx.get('if');
  return new Guard(
    { ifHeader: ifHeader === '' ? undefined : ifHeader, path, resolve: resolveContext(ctx), prefix: services.options.prefix, user },
    services.storage,
    services.locks,
  );
}

/** True when the request carries a body (Content-Length > 0 or a chunked body). */
export function hasBody(ctx: DavContext): boolean {
  const len = ctx.get('content-length');
  if (len !== '') return Number(len) > 0;
  return ctx.get('transfer-encoding') !== '';
}

/** Reads and discards the request body (so the connection can be reused). */
export async function drainBody(ctx: DavContext): Promise<void> {
  ctx.req.resume();
  if (!ctx.req.readableEnded) await new Promise<void>((r) => ctx.req.once('end', r).once('error', () => r()).once('close', r));
}

/** Reads an XML request body (bounded); null when the body is empty. */
export async function readXml(ctx: DavContext): Promise<XmlElement | null> {
  const max = ctx.state.services.options.maxXmlBytes;
  const declared = Number(ctx.get('content-length') || 0);
  if (declared > max) {
    ctx.req.resume();
    throw new DavError(413, `XML body larger than ${max} bytes`, { headers: { Connection: 'close' } });
  }
  const coding = ctx.get('content-encoding').trim().toLowerCase();
  if (coding !== '' && coding !== 'identity') {
    ctx.req.resume();
    throw new DavError(415, `XML bodies are read without a content coding; "${coding}" is not supported`, { headers: { 'Accept-Encoding': 'identity' } });
  }
  const chunks: Buffer[] = [];
  let total = 0;
  for await (const chunk of ctx.req as AsyncIterable<Buffer>) {
    total += chunk.length;
    if (total > max) throw new DavError(413, `XML body larger than ${max} bytes`, { headers: { Connection: 'close' } });
    chunks.push(chunk);
  }
  const text = decodeXmlBody(Buffer.concat(chunks), ctx.get('content-type'));
  if (text.trim() === '') return null;
  return parseXml(text);
}

/** Destination header -> DAV path (502 for another server, 403 for a reserved name). */
export async function destinationPath(ctx: DavContext): Promise<string> {
  const { storage } = ctx.state.services;
  const dest = ctx.get('destination');
  if (!dest) throw new DavError(400, 'Destination header missing');
  // A fragment has no place in a Destination (RFC 4918 10.3): refused rather than stored as a name.
  if (dest.includes('#')) throw new DavError(400, 'Destination must not contain a fragment (#); encode it as %23 in a name');
  const path = await resolveReference(dest, resolveContext(ctx));
  if (path === null) throw new DavError(502, 'Destination is outside this server');
  if (storage.isReserved(path)) throw new DavError(403, 'Reserved name');
  return path;
}

/** RFC 7232 If-Match / If-None-Match / If-(Un)Modified-Since against the current state. */
export function checkConditionals(ctx: DavContext, info: ResourceInfo | null): void {
  const h = ctx.headers;
  if (!h['if-match'] && !h['if-none-match'] && !h['if-modified-since'] && !h['if-unmodified-since']) return;
  const result = evaluateConditionals(
    {
      ifMatch: h['if-match'],
      ifNoneMatch: h['if-none-match'],
      ifModifiedSince: h['if-modified-since'],
      ifUnmodifiedSince: h['if-unmodified-since'],
    },
    { etag: info?.etag ?? null, lastModifiedMs: info?.mtimeMs ?? null },
    ctx.method,
  );
  if (result === 304) throw new DavError(304, 'Not Modified', { headers: info ? { ETag: info.etag } : {} });
  if (result === 412) throw new DavError(412, 'Precondition failed');
}

/**
 * True when the Request-URI ends in '/' but names a file: `/a.txt/` is not `/a.txt` (RFC 3986
 * 6.2.4; RFC 4918 8.3 uses the trailing slash for collections), so it maps to nothing rather
 * than letting `DELETE /a.txt/` delete the file or `PUT /new/` create one.
 */
export const fileAtCollectionUrl = (ctx: DavContext, info: ResourceInfo | null): boolean =>
  ctx.state.collectionUrl === true && info !== null && !info.isCollection;

/** Answers with a status and an empty body. */
export function empty(ctx: DavContext, status: number): void {
  ctx.status = status;
  ctx.body = '';
  if (status === 204) ctx.body = null;
}
