/** MKCOL (RFC 4918 9.3): 201; 405 if mapped; 409 without a parent; 415 with a body. */
import type { DavContext } from '../context.js';
import { DavError } from '../errors.js';
import { checkConditionals, drainBody, guardFor, hasBody } from './common.js';
import { parentPath } from '../dav/path.js';

export async function mkcol(ctx: DavContext): Promise<void> {
  const { path, services } = ctx.state;
  const { storage, locks } = services;
  if (hasBody(ctx)) {
    await drainBody(ctx);
    throw new DavError(415, 'MKCOL with a request body is not supported');
  }
  const [info, parent] = await Promise.all([storage.stat(path), storage.stat(parentPath(path))]);
  if (info) throw new DavError(405, 'Resource already exists', { headers: { Allow: 'OPTIONS, GET, HEAD, DELETE, COPY, MOVE, PROPFIND, PROPPATCH, LOCK, UNLOCK' } });
  if (!parent?.isCollection) throw new DavError(409, 'Parent collection does not exist');
  checkConditionals(ctx, null);
  const guard = guardFor(ctx);
  await locks.exclusive([path], async () => {
    await guard.check([{ path, membership: true }]);
    await storage.mkdir(path);
  });
  ctx.status = 201;
  ctx.body = '';
}
