/**
 * PUT (RFC 4918 9.7): the body streams into the staging area; only then, inside the write
 * spine's critical section, are the conditionals, the If header and the locks checked against
 * fresh state and the staged file renamed over the target. A failed or aborted upload leaves
 * the old content untouched and nothing in the tree. commitUpload() is that second half on its
 * own, for anything else that stages a file and wants it to become the content of a URL.
 */
import type { DavContext } from '../context.js';
import { DavError } from '../errors.js';
import { checkConditionals, guardFor } from './common.js';
import { parentPath } from '../dav/path.js';
import type { PendingUpload, ReceiveOptions, ResourceInfo } from '../storage/backend.js';
import { uploadBody } from '../middleware/limits.js';
import { withWrite } from '../dav/write.js';
import { pipeline } from 'node:stream';
import { hashingTransform, streamHasher } from '../checksums/engine.js';
import { claimMismatch, parseChecksumClaims, type Digests } from '../checksums/digests.js';

const ALLOW_COLLECTION = 'OPTIONS, GET, HEAD, DELETE, MKCOL, COPY, MOVE, PROPFIND, PROPPATCH, LOCK, UNLOCK';

/**
 * `X-OC-Mtime: <unix seconds>` (ownCloud/Nextcloud, sent by rclone and sync clients) asks for
 * the stored file's mtime; the answer `X-OC-Mtime: accepted` tells the client it was applied.
 */
export function parseOcMtime(value: string): number | undefined {
  if (!/^\s*\d{1,12}(\.\d{1,9})?\s*$/.test(value)) return undefined;
  return Math.round(Number(value) * 1000);
}

export interface CommitOptions {
  /** Modification time to give the file (X-OC-Mtime). */
  mtimeMs?: number;
  /** Checksums of the staged bytes, kept with the stored file. */
  digests?: Digests | null;
}

/**
 * Makes a staged upload the content of `path` with PUT's plan: section on `path`, fresh state,
 * conditionals, If header and locks, then the rename; answers 201 or 204 with the ETag of the
 * stored bytes. Aborts the upload when anything refuses it.
 */
export async function commitUpload(ctx: DavContext, path: string, upload: PendingUpload, opts: CommitOptions = {}): Promise<ResourceInfo> {
  let committed;
  try {
    committed = await withWrite(ctx, { writes: [{ path, effect: 'file' }], conditionals: path }, async ({ info, tx }) => {
      const now = info(path);
      if (now?.isCollection) throw new DavError(405, 'Cannot PUT to a collection', { headers: { Allow: ALLOW_COLLECTION } });
      // The digests go with the commit's tree change: the checksum records are renewed inside
      // the section (no MOVE or COPY of the new file can come between), and a record that
      // cannot be written is only a checksum computed again later, never an error answer.
      return tx.commit(upload, now, opts);
    });
  } catch (e) {
    await upload.abort();
    throw e;
  }
  if (opts.mtimeMs !== undefined) ctx.set('X-OC-Mtime', 'accepted');
  // The commit's own stat, taken inside the section: the ETag of these bytes, not of a later PUT's.
  ctx.set('ETag', committed.info.etag);
  ctx.status = committed.created ? 201 : 204;
  ctx.body = committed.created ? '' : null;
  return committed.info;
}

export async function put(ctx: DavContext): Promise<void> {
  const { path, services } = ctx.state;
  const { storage } = services;
  // RFC 7231 4.3.4: a PUT with Content-Range must be refused rather than stored whole.
  if (ctx.get('content-range')) throw new DavError(400, 'Content-Range is not allowed on PUT');
  const declared = ctx.get('content-length');
  const claims = parseChecksumClaims(ctx.get('oc-checksum') || undefined);
  const receive: ReceiveOptions = { length: /^\d+$/.test(declared) && !ctx.get('transfer-encoding') ? Number(declared) : undefined };
  // Fail fast, before receiving a body that could not be stored anyway; the write spine checks
  // everything again against fresh state before the commit. A small body of known length is
  // cheaper to take than these checks are to make twice (a stat of the target and its parent,
  // the lock lookups): the commit alone refuses it (405, 409, 412, 423) with the same answers
  // (RFC 4918 9.7.1: 409 without a parent collection, whenever it is found missing).
  if (receive.length === undefined || receive.length > SMALL_BODY || ctx.state.collectionUrl) {
    const [info, parent] = await Promise.all([storage.stat(path), storage.stat(parentPath(path))]);
    if (info?.isCollection) throw new DavError(405, 'Cannot PUT to a collection', { headers: { Allow: ALLOW_COLLECTION } });
    if (ctx.state.collectionUrl) throw new DavError(409, 'A URL ending in / names a collection; PUT stores files');
    if (!parent?.isCollection) throw new DavError(409, 'Parent collection does not exist');
    checkConditionals(ctx, info);
    await guardFor(ctx).check([{ path, membership: !info, vacant: !info }]);
  }

  // Checksums: a small body of known length is hashed in this thread as it is received (the
  // backend's observer); a body the client gave a checksum for (OC-Checksum) on the fs worker as
  // it streams, since it is verified before the commit; any other body as it streams up to
  // HASH_WHILE_RECEIVING, and past that after it is stored (below). MD5 runs at ~700 MB/s on one
  // core here, slower than an upload lands on tmpfs or an SSD: hashed on the way in, a large
  // upload would be answered at the speed of MD5.
  const small = receive.length !== undefined && receive.length <= SMALL_BODY;
  const verify = claims.length > 0;
  const hashAll = small || verify;
  const hasher = hashAll || receive.length === undefined || receive.length <= HASH_WHILE_RECEIVING ? streamHasher({ inline: small }) : null;
  let body = uploadBody(ctx);
  let hashing: ReturnType<typeof hashingTransform> | undefined;
  if (hasher && small) receive.observe = (chunk) => void hasher.update(chunk);
  else if (hasher) body = hashing = pipeline(body, hashingTransform(hasher, hashAll ? Infinity : HASH_WHILE_RECEIVING), () => undefined);
  let upload: PendingUpload;
  try {
    upload = await storage.receive(path, body, receive);
  } catch (e) {
    hasher?.discard();
    throw e;
  }
  const digests = hasher && !hashing?.dropped ? await hasher.digest().catch(() => null) : null;
  const mismatch = !verify ? undefined : digests ? claimMismatch(claims, digests) : 'The server could not compute the checksum of the body to verify OC-Checksum; nothing was stored';
  if (mismatch) {
    await upload.abort();
    throw new DavError(digests ? 400 : 503, mismatch);
  }
  const stored = await commitUpload(ctx, path, upload, { mtimeMs: parseOcMtime(ctx.get('x-oc-mtime')), digests });
  // Stored without its checksums: hashed now in the background, off this answer (a client that
  // asks meanwhile waits for that computation, never for a second one).
  if (!digests) services.checksums.later(path, stored);
}

/**
 * Bodies of known length up to this size are hashed in this thread and received before any
 * check (see put()); the filesystem backend collects them in memory too (SMALL_UPLOAD).
 */
const SMALL_BODY = 64 * 1024;

/** Bodies up to this size are hashed as they are received; larger ones once stored (see put()). */
const HASH_WHILE_RECEIVING = 8 * 1024 * 1024;
