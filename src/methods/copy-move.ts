/** COPY and MOVE (RFC 4918 9.8, 9.9). */
import type { DavContext } from '../context.js';
import { DavError } from '../errors.js';
import { checkConditionals, destinationPath, fileAtCollectionUrl, guardFor, href } from './common.js';
import { parseDepth, parseOverwrite } from '../dav/headers.js';
import { isSelfOrDescendant, parentPath } from '../dav/path.js';
import type { WriteTarget } from '../dav/guard.js';
import { multistatusOf } from './multistatus-body.js';

export const copy = (ctx: DavContext): Promise<void> => copyOrMove(ctx, false);
export const move = (ctx: DavContext): Promise<void> => copyOrMove(ctx, true);

async function copyOrMove(ctx: DavContext, isMove: boolean): Promise<void> {
  const { path: src, services } = ctx.state;
  const { storage, locks } = services;
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
  checkConditionals(ctx, info);
  const guard = guardFor(ctx);

  const result = await locks.exclusive(isMove ? [src, dst] : [dst], async () => {
    const existing = await storage.stat(dst);
    if (existing && !overwrite) throw new DavError(412, 'Destination exists and Overwrite is F');
    const targets: WriteTarget[] = [{ path: dst, membership: !existing, tree: existing?.isCollection }];
    if (isMove) targets.unshift({ path: src, membership: true, tree: info.isCollection });
    await guard.check(targets);
    const failed = isMove ? await storage.move(src, dst) : await storage.copy(src, dst, { recursive: depth === 'infinity' });
    // 9.9.4 / 7.7: locks do not move with the resource; the source's locks are gone.
    if (isMove && failed.length === 0) await locks.dropTree(src);
    // 9.8.4 / 9.9.3: an overwritten collection is deleted first, and DELETE destroys the locks of
    // its members (9.6.1); left behind, they would lock URLs nobody can see. The lock on the
    // destination itself stays, as it does when PUT replaces a locked file.
    if (existing?.isCollection && failed.length === 0) {
      for (const l of await locks.covering(dst, { descendants: true })) {
        if (l.root !== dst && isSelfOrDescendant(l.root, dst)) await locks.remove(l.token);
      }
    }
    return { failed, existed: existing !== null };
  });
  if (result.failed.length) {
    return multistatusOf(ctx, result.failed.map((f) => ({ href: href(ctx, f.path, false), status: f.status })));
  }
  ctx.set('Location', href(ctx, dst, info.isCollection));
  ctx.status = result.existed ? 204 : 201;
  ctx.body = result.existed ? null : '';
}
