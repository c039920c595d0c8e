/**
 * COPY and MOVE (RFC 4918 9.8, 9.9). COPY holds its source as a reader (a MOVE or DELETE of
 * the source waits; COPYs of one source run side by side) and its destination as a writer;
 * MOVE holds both as writers. What happens to locks and dead properties is the tree events'
 * business (src/storage/events.ts): locks stay behind (7.6), properties follow.
 */
import type { DavContext } from '../context.js';
import { DavError } from '../errors.js';
import { destinationPath, fileAtCollectionUrl, href } from './common.js';
import { parseDepth, parseOverwrite } from '../dav/headers.js';
import { isSelfOrDescendant, parentPath } from '../dav/path.js';
import { failedMembers } from './multistatus-body.js';
import { withWrite, type WritePlan } from '../dav/write.js';

export const copy = (ctx: DavContext): Promise<void> => copyOrMove(ctx, false);
export const move = (ctx: DavContext): Promise<void> => copyOrMove(ctx, true);

async function copyOrMove(ctx: DavContext, isMove: boolean): Promise<void> {
  const { path: src, services } = ctx.state;
  const { storage } = services;
  const info = await storage.stat(src);
  if (!info || fileAtCollectionUrl(ctx, info)) throw new DavError(404, 'Not found');
  const dst = await destinationPath(ctx);
  // 9.8.3 / 9.9.2: COPY takes Depth 0 or infinity; MOVE of a collection acts as infinity only.
  const depth = isMove
    ? parseDepth(ctx.get('depth') || undefined, 'infinity', info.isCollection ? ['infinity'] : [0, 'infinity'])
    : parseDepth(ctx.get('depth') || undefined, 'infinity', [0, 'infinity']);
  const overwrite = parseOverwrite(ctx.get('overwrite') || undefined);
  if (src === dst) throw new DavError(403, 'Source and destination are the same resource');
  if (src === '/' && isMove) throw new DavError(403, 'The root collection cannot be moved');
  if (info.isCollection && isSelfOrDescendant(dst, src)) throw new DavError(403, 'Cannot copy or move a collection into itself');
  if (isSelfOrDescendant(src, dst)) throw new DavError(403, 'Cannot overwrite an ancestor of the source');
  const parent = await storage.stat(parentPath(dst));
  if (!parent?.isCollection) throw new DavError(409, 'Destination parent collection does not exist');

  const plan: WritePlan = isMove
    ? { writes: [{ path: src, effect: 'remove' }, { path: dst, effect: 'replace' }] }
    : { writes: [{ path: dst, effect: 'replace' }], reads: [src] };
  const result = await withWrite(ctx, plan, async ({ info, tx }) => {
    const from = info(src);
    if (!from || fileAtCollectionUrl(ctx, from)) throw new DavError(404, 'Not found');
    const existing = info(dst);
    if (existing && !overwrite) throw new DavError(412, 'Destination exists and Overwrite is F');
    const r = isMove ? await tx.move(src, dst) : await tx.copy(src, dst, { recursive: depth === 'infinity' });
    return { ...r, existed: existing !== null, isCollection: from.isCollection };
  });
  if (result.failed.length) return failedMembers(ctx, result.failed);
  ctx.set('Location', href(ctx, dst, result.isCollection));
  ctx.status = result.existed ? 204 : 201;
  ctx.body = result.existed ? null : '';
}
