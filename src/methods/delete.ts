/** DELETE (RFC 4918 9.6): whole trees; members that fail are named in a 207 (9.6.1). */
import type { DavContext } from '../context.js';
import { DavError } from '../errors.js';
import { checkConditionals, empty, fileAtCollectionUrl, guardFor, href } from './common.js';
import { parseDepth } from '../dav/headers.js';
import { multistatusOf } from './multistatus-body.js';

export async function del(ctx: DavContext): Promise<void> {
  const { path, services } = ctx.state;
  const { storage, locks } = services;
  const info = await storage.stat(path);
  if (!info || fileAtCollectionUrl(ctx, info)) throw new DavError(404, 'Not found');
  if (path === '/') throw new DavError(403, 'The root collection cannot be deleted');
  // 9.6.1: DELETE on a collection acts as Depth infinity; any other Depth is an error.
  if (info.isCollection) parseDepth(ctx.get('depth') || undefined, 'infinity', ['infinity']);
  checkConditionals(ctx, info);
  const guard = guardFor(ctx);
  const failed = await locks.exclusive([path], async () => {
    await guard.check([{ path, membership: true, tree: info.isCollection }]);
    const failed = await storage.remove(path);
    if (failed.length === 0) await locks.dropTree(path);
    return failed;
  });
  // 9.6.1: a 207 names failed members; a failure of the Request-URI itself is its own status.
  if (failed.length === 1 && failed[0]!.path === path) throw new DavError(failed[0]!.status, 'Could not delete');
  if (failed.length) return multistatusOf(ctx, failed.map((f) => ({ href: href(ctx, f.path, false), status: f.status })));
  empty(ctx, 204);
}
