/**
 * The `OC-Checksum` header of GET and HEAD (`SHA1:<hex>`, the whole file's, also for a range, as
 * ownCloud and oCIS answer). HEAD asks for metadata only, so a file without a known checksum is
 * hashed for it; GET does not make a large file wait for a read of its own: it gets the header
 * when the checksum is known, or the file is small enough to hash first (LAZY_GET_MAX).
 */
import type { DavContext } from '../context.js';
import type { ResourceInfo } from '../storage/backend.js';
import { checksumHeader, digestsOf, type Digests } from './digests.js';

/** A GET hashes a file without a known checksum before answering only up to this size. */
export const LAZY_GET_MAX = 8 * 1024 * 1024;

/** Sets OC-Checksum for the file `info` describes; `body` is its whole content when already read. */
export async function setChecksumHeader(ctx: DavContext, info: ResourceInfo, body: Buffer | null): Promise<void> {
  const { path, services } = ctx.state;
  const view = services.checksums;
  let d: Digests | null = await view.known(path, info);
  if (!d && body) {
    d = digestsOf(body);
    view.remember(path, info, d);
  }
  if (!d && (ctx.method === 'HEAD' || info.size <= LAZY_GET_MAX)) d = await view.digests(path, info).catch(() => null);
  if (d) ctx.set('OC-Checksum', checksumHeader(d));
}
