/**
 * PUT (RFC 4918 9.7): the body streams into a temp file beside the target; only then, inside the
 * lock manager's critical section, are the If header and locks checked again and the temp file
 * renamed over the target. A failed or aborted upload leaves the old content untouched.
 */
import type { DavContext } from '../context.js';
import { DavError } from '../errors.js';
import { checkConditionals, guardFor } from './common.js';
import { parentPath } from '../dav/path.js';
import type { ResourceInfo } from '../storage/backend.js';
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
  const declared = ctx.get('content-length');
  const upload = await storage.receive(path, uploadBody(ctx), { length: /^\d+$/.test(declared) && !ctx.get('transfer-encoding') ? Number(declared) : undefined });
  let created: boolean;
  let committed: { created: boolean; info?: ResourceInfo } | undefined;
  try {
    created = await locks.exclusive([path], async () => {
      const now = await storage.stat(path);
      checkConditionals(ctx, now);
      await guard.check([{ path, membership: !now }]);
      committed = await upload.commit(now);
      if (ocMtime !== undefined && storage.setMtime) {
        await storage.setMtime(path, ocMtime);
        mtimeAccepted = true;
      }
      return committed.created;
    });
  } catch (e) {
    await upload.abort();
    throw e;
  }
  if (mtimeAccepted) ctx.set('X-OC-Mtime', 'accepted');
  // The commit's own stat describes the new file, unless X-OC-Mtime changed it since.
  const after = (!mtimeAccepted && committed?.info) || (await storage.stat(path));
  if (after) ctx.set('ETag', after.etag);
  ctx.status = created ? 201 : 204;
  ctx.body = created ? '' : null;
}
