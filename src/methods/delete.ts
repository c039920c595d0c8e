/** DELETE (RFC 4918 9.6): whole trees; members that fail are named in a 207 (9.6.1). */
import type { DavContext } from '../context.js';
import { DavError, statusOfStorageKind } from '../errors.js';
import { empty, fileAtCollectionUrl } from './common.js';
import { parseDepth } from '../dav/headers.js';
import { failedMembers } from './multistatus-body.js';
import { withWrite } from '../dav/write.js';

export async function del(ctx: DavContext): Promise<void> {
  const { path, services } = ctx.state;
  const info = await services.storage.stat(path);
  if (!info || fileAtCollectionUrl(ctx, info)) throw new DavError(404, 'Not found');
  if (path === '/') throw new DavError(403, 'The root collection cannot be deleted');
  // 9.6.1: DELETE on a collection acts as Depth infinity; any other Depth is an error.
  if (info.isCollection) parseDepth(ctx.get('depth') || undefined, 'infinity', ['infinity']);
  const result = await withWrite(ctx, { writes: [{ path, effect: 'remove' }] }, async ({ info, tx }) => {
    const now = info(path);
    if (!now || fileAtCollectionUrl(ctx, now)) throw new DavError(404, 'Not found');
    return tx.remove(path);
  });
  const { failed } = result;
  // 9.6.1: a 207 names failed members; a failure of the Request-URI itself is its own status.
  if (failed.length === 1 && failed[0]!.path === path && result.changes.length === 0) throw new DavError(statusOfStorageKind(failed[0]!.kind), 'Could not delete');
  if (failed.length) return failedMembers(ctx, failed);
  empty(ctx, 204);
}
