/** MKCOL (RFC 4918 9.3): 201; 405 if mapped; 409 without a parent; 415 with a body. */
import type { DavContext } from '../context.js';
import { DavError } from '../errors.js';
import { drainBody, hasBody } from './common.js';
import { parentPath } from '../dav/path.js';
import { withWrite } from '../dav/write.js';

const ALLOW_MAPPED = 'OPTIONS, GET, HEAD, DELETE, COPY, MOVE, PROPFIND, PROPPATCH, LOCK, UNLOCK';

export async function mkcol(ctx: DavContext): Promise<void> {
  const { path, services } = ctx.state;
  const { storage } = services;
  if (hasBody(ctx)) {
    await drainBody(ctx);
    throw new DavError(415, 'MKCOL with a request body is not supported');
  }
  const [info, parent] = await Promise.all([storage.stat(path), storage.stat(parentPath(path))]);
  if (info) throw new DavError(405, 'Resource already exists', { headers: { Allow: ALLOW_MAPPED } });
  if (!parent?.isCollection) throw new DavError(409, 'Parent collection does not exist');
  await withWrite(ctx, { writes: [{ path, effect: 'collection' }] }, async ({ info, tx }) => {
    if (info(path)) throw new DavError(405, 'Resource already exists', { headers: { Allow: ALLOW_MAPPED } });
    await tx.mkdir(path);
  });
  ctx.status = 201;
  ctx.body = '';
}
