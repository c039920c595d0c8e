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
import type { ResourceInfo } from '../storage/backend.js';

export const copy = (ctx: DavContext): Promise<void> => copyOrMove(ctx, false);
export const move = (ctx: DavContext): Promise<void> => copyOrMove(ctx, true);

async function copyOrMove(ctx: DavContext, isMove: boolean): Promise<void> {
  const { path: src, services } = ctx.state;
  const { storage } = services;
  // No body to spare: every check of the tree is made once, inside the write section, on fresh
  // state (one lookup of source, destination and its parent together). A missing source still
  // answers 404 before anything is said about a bad Destination (RFC 4918 leaves the order of
  // refusals open; this is the order the server always had, and the one a client can act on).
  const dst = await destinationPath(ctx).catch(async (e: unknown) => {
    const info = await storage.stat(src);
    if (!info || fileAtCollectionUrl(ctx, info)) throw new DavError(404, 'Not found');
    throw e;
  });
  const overwrite = parseOverwrite(ctx.get('overwrite') || undefined);
  // 9.8.3 / 9.9.2: COPY takes Depth 0 or infinity; MOVE of a collection acts as infinity only.
  const depthHeader = ctx.get('depth') || undefined;
  const copyDepth = isMove ? 'infinity' : parseDepth(depthHeader, 'infinity', [0, 'infinity']);
  // 9.8.5 / 9.9.4: 403 when source and destination are the same resource.
  if (src === dst) throw new DavError(403, 'Source and destination are the same resource');
  if (src === '/' && isMove) throw new DavError(403, 'The root collection cannot be moved');
  if (isSelfOrDescendant(src, dst)) throw new DavError(403, 'Cannot overwrite an ancestor of the source');

  const dstParent = parentPath(dst);
  const check = (info: (path: string) => ResourceInfo | null): void => {
    const from = info(src);
    if (!from || fileAtCollectionUrl(ctx, from)) throw new DavError(404, 'Not found');
    if (isMove) parseDepth(depthHeader, 'infinity', from.isCollection ? ['infinity'] : [0, 'infinity']);
    if (from.isCollection && isSelfOrDescendant(dst, src)) throw new DavError(403, 'Cannot copy or move a collection into itself');
    // 9.8.5 / 9.9.4: 409 when intermediate collections at the destination must be created first.
    if (!info(dstParent)?.isCollection) throw new DavError(409, 'Destination parent collection does not exist');
  };
  const plan: WritePlan = isMove
    ? { writes: [{ path: src, effect: 'remove' }, { path: dst, effect: 'replace' }], peek: [dstParent], check }
    : { writes: [{ path: dst, effect: 'replace' }], reads: [src], peek: [dstParent], check };
  const result = await withWrite(ctx, plan, async ({ info, tx }) => {
    const from = info(src)!;
    const existing = info(dst);
    if (existing && !overwrite) throw new DavError(412, 'Destination exists and Overwrite is F');
    const r = isMove ? await tx.move(src, dst) : await tx.copy(src, dst, { recursive: copyDepth === 'infinity' });
    return { ...r, existed: existing !== null, isCollection: from.isCollection };
  });
  if (result.failed.length) return failedMembers(ctx, result.failed);
  ctx.set('Location', href(ctx, dst, result.isCollection));
  ctx.status = result.existed ? 204 : 201;
  ctx.body = result.existed ? null : '';
}
