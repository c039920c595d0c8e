/**
 * `--hide-os-junk` (opt-in): the metadata files macOS and Windows write next to real files
 * (`._name` AppleDouble files, `.DS_Store`, `Thumbs.db`, `desktop.ini`) are accepted and
 * dropped. Writes answer as if they succeeded (PUT 201, DELETE 204, LOCK/UNLOCK/PROPPATCH as
 * usual) without storing anything; reads answer 404 and listings leave such names out, so a
 * file of that name already on disk is hidden too. Other methods (MKCOL, COPY, MOVE) are served
 * normally.
 */
import { randomUUID } from 'node:crypto';
import type { Next } from 'koa';
import type { DavContext } from '../context.js';
import { DavError } from '../errors.js';
import { baseName } from '../dav/path.js';
import { drainBody, href, readXml } from '../methods/common.js';
import { childElements, isNamed } from '../xml/parse.js';
import { DAV_NS } from '../xml/names.js';
import { propTag, XML_DECL } from '../xml/write.js';
import { MULTISTATUS_CLOSE, MULTISTATUS_OPEN, propstatResponse } from '../xml/multistatus.js';
import { activeLockXml } from '../xml/lock.js';
import type { LockInfo } from '../locks/manager.js';

const JUNK_NAMES = new Set(['.ds_store', 'thumbs.db', 'desktop.ini']);

/** True for the names `--hide-os-junk` drops. */
export const isOsJunk = (name: string): boolean => name.startsWith('._') || JUNK_NAMES.has(name.toLowerCase());

export async function osJunk(ctx: DavContext, next: Next): Promise<void> {
  const { path, services } = ctx.state;
  if (!services.options.hideOsJunk || path === '/' || !isOsJunk(baseName(path))) return next();
  switch (ctx.method) {
    case 'GET':
    case 'HEAD':
    case 'PROPFIND':
      throw new DavError(404, 'Not found');
    case 'PUT':
      await drainBody(ctx);
      ctx.status = 201;
      ctx.body = '';
      return;
    case 'DELETE':
    case 'UNLOCK':
      await drainBody(ctx);
      ctx.status = 204;
      ctx.body = null;
      return;
    case 'LOCK':
      return fakeLock(ctx);
    case 'PROPPATCH':
      return fakeProppatch(ctx);
    default:
      return next();
  }
}

/** A lock that is never recorded: the client goes on to PUT and UNLOCK, which are dropped too. */
async function fakeLock(ctx: DavContext): Promise<void> {
  const body = await readXml(ctx);
  const submitted = /<([^<>\s]+)>/.exec(ctx.get('if'))?.[1];
  const token = !body && submitted ? submitted : `urn:uuid:${randomUUID()}`;
  const timeout = ctx.state.services.options.defaultLockTimeout;
  const lock: LockInfo = { token, root: ctx.state.path, scope: 'exclusive', depth: 0, ownerXml: '', timeoutSec: timeout, expiresAt: Date.now() + timeout * 1000 };
  ctx.status = body ? 201 : 200;
  ctx.type = 'application/xml; charset=utf-8';
  if (body) ctx.set('Lock-Token', `<${token}>`);
  ctx.body = `${XML_DECL}<D:prop xmlns:D="DAV:"><D:lockdiscovery>${activeLockXml(lock, href(ctx, ctx.state.path, false), Date.now())}</D:lockdiscovery></D:prop>`;
}

/** Every property set or removed reports 200, as PROPPATCH on a stored file would. */
async function fakeProppatch(ctx: DavContext): Promise<void> {
  const root = await readXml(ctx);
  if (!root || !isNamed(root, DAV_NS, 'propertyupdate')) throw new DavError(400, 'Expected a DAV:propertyupdate body');
  const names: string[] = [];
  for (const op of childElements(root)) {
    for (const prop of childElements(op)) if (isNamed(prop, DAV_NS, 'prop')) for (const p of childElements(prop)) names.push(propTag(p.ns, p.local).empty);
  }
  ctx.status = 207;
  ctx.type = 'application/xml; charset=utf-8';
  ctx.body = MULTISTATUS_OPEN + propstatResponse(href(ctx, ctx.state.path, false), [{ status: 200, props: names }]) + MULTISTATUS_CLOSE;
}
