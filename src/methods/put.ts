/**
 * PUT (RFC 4918 9.7): the body streams into a temp file beside the target; only then, inside the
 * lock manager's critical section, are the If header and locks checked again and the temp file
 * renamed over the target. A failed or aborted upload leaves the old content untouched.
 */
import type { DavContext } from '../context.js';
import { DavError } from '../errors.js';
import { checkConditionals, guardFor } from './common.js';
import { parentPath } from '../dav/path.js';
import { uploadBody } from '../middleware/limits.js';

/**
 * `X-OC-Mtime: <unix seconds>` (ownCloud/Nextcloud, sent by rclone and sync clients) asks for
 * the stored file's mtime; the answer `X-OC-Mtime: accepted` tells the client it was applied.
 */
export function parseOcMtime(value: string): number | undefined {
  if (!/^\s*\d{1,12}(\.\d{1,9})?\s*$/.test(value)) return undefined;
  return Math.round(Number(value) * 1000);
}

export async function put(ctx: DavContext): Promise<void> {
  const { path, services } = ctx.state;
  const { storage, locks } = services;
  // RFC 7231 4.3.4: a PUT with Content-Range must be refused rather than stored whole.
  if (ctx.get('content-range')) throw new DavError(400, 'Content-Range is not allowed on PUT');
  const [info, parent] = await Promise.all([storage.stat(path), storage.stat(parentPath(path))]);
  if (info?.isCollection) throw new DavError(405, 'Cannot PUT to a collection', { headers: { Allow: 'OPTIONS, GET, HEAD, DELETE, MKCOL, COPY, MOVE, PROPFIND, PROPPATCH, LOCK, UNLOCK' } });
  if (ctx.state.collectionUrl) throw new DavError(409, 'A URL ending in / names a collection; PUT stores files');
  if (!parent?.isCollection) throw new DavError(409, 'Parent collection does not exist');
  checkConditionals(ctx, info);
  const guard = guardFor(ctx);
  // Fail fast, before receiving a body that could not be stored anyway.
  await guard.check([{ path, membership: !info }]);

  const ocMtime = parseOcMtime(ctx.get('x-oc-mtime'));
  let mtimeAccepted = false;
  const upload = await storage.receive(path, uploadBody(ctx));
  let created: boolean;
  try {
    created = await locks.exclusive([path], async () => {
      const now = await storage.stat(path);
      checkConditionals(ctx, now);
      await guard.check([{ path, membership: !now }]);
      const result = await upload.commit();
      if (ocMtime !== undefined && storage.setMtime) {
        await storage.setMtime(path, ocMtime);
        mtimeAccepted = true;
      }
      return result.created;
    });
  } catch (e) {
    await upload.abort();
    throw e;
  }
  if (mtimeAccepted) ctx.set('X-OC-Mtime', 'accepted');
  const after = await storage.stat(path);
  if (after) ctx.set('ETag', after.etag);
  ctx.status = created ? 201 : 204;
  ctx.body = created ? '' : null;
}
