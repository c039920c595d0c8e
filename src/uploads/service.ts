/**
 * Resumable uploads (tus 1.0) at `<prefix>/.dav/uploads/`. An upload is created with the path
 * of its target (Upload-Metadata `path`), grows by PATCH requests into a partial file in the
 * storage backend's staging area, and becomes the content of its target only when its last byte
 * arrived: that PATCH commits it exactly like a PUT of the target (the write spine's commit:
 * If header, locks, conditionals, 201 created or 204 replaced, checksums recorded), and the file
 * appears only then. Nothing of an unfinished upload is visible in the tree.
 *
 * - The checksums of the content are computed while the bytes arrive (src/uploads/hashes.ts) and
 *   verified against any the client named (Upload-Metadata `checksum`, OC-Checksum); a PATCH may
 *   also carry a checksum of its own bytes (tus checksum extension: a mismatch keeps none of them).
 * - State every worker and instance must share (who, where, how) is a session in the small-state
 *   store; the bytes are on the shared storage; one request writes at a time (sessions.ts).
 * - Partial uploads expire `--upload-expiry` seconds after their last write (410 afterwards); the
 *   expired ones are removed when a new upload is created (at most every few minutes).
 */
import type { DavContext, Services } from '../context.js';
import { DavError } from '../errors.js';
import type { ResumableStaging } from '../storage/backend.js';
import { parentPath } from '../dav/path.js';
import { resolveReference } from '../dav/resolve.js';
import { checkUploadTarget } from '../middleware/rights.js';
import { checkConditionals, guardFor, resolveContext } from '../methods/common.js';
import { commitUpload, parseOcMtime } from '../methods/put.js';
import { claimMismatch, digestsOf, type ChecksumClaim, type Digests } from '../checksums/digests.js';
import { streamHasher } from '../checksums/engine.js';
import { isClientGone } from '../middleware/errors.js';
import { StorageError } from '../storage/errors.js';
import { RESERVED_SEGMENT } from '../routes/index.js';
import { hasControlCharacters } from '../middleware/limits.js';
import { feed, UploadHashes } from './hashes.js';
import { newUploadId, UploadSessions, type UploadSession } from './sessions.js';
import {
  OFFSET_STREAM,
  TUS_CHECKSUMS,
  TUS_EXTENSIONS,
  TUS_VERSION,
  checkVersion,
  parseFileChecksum,
  parseMetadata,
  parseSize,
  parseTusChecksum,
  tusHeaders,
} from './tus.js';

/** How often creating an upload also looks for expired ones (per process; more often with a shorter expiry). */
const SWEEP_EVERY_MS = 5 * 60_000;
/** Unfinished uploads one user may keep at a time. */
export const MAX_OPEN_UPLOADS = 100;

const gone = (what: string): DavError => new DavError(410, `This upload ${what}; start a new one`, { headers: tusHeaders() });
const notFound = (): DavError => new DavError(404, 'No such upload', { headers: tusHeaders() });
const tusError = (status: number, message: string, headers: Record<string, string> = {}): DavError => new DavError(status, message, { headers: { ...headers, ...tusHeaders() } });

export class Uploads {
  private readonly sessions: UploadSessions;
  private readonly hashes = new UploadHashes();
  private lastSweep = 0;

  /** `services`: the whole tree's (the expiry sweep); requests use their user's view. */
  constructor(private readonly services: Services) {
    this.sessions = new UploadSessions(services.state);
  }

  private get expiryMs(): number {
    return this.services.options.uploadExpiry * 1000;
  }

  private static staging(ctx: DavContext): ResumableStaging {
    const r = ctx.state.services.storage.resumable;
    if (!r) throw tusError(501, 'This storage backend keeps no partial uploads');
    return r;
  }

  private location(ctx: DavContext, id: string): string {
    return `${ctx.state.services.options.prefix}/${RESERVED_SEGMENT}/uploads/${id}`;
  }

  private expires(mtimeMs: number): string {
    return new Date(mtimeMs + this.expiryMs).toUTCString();
  }

  /** The session of `id` if the requester may see it (their own upload), else 404. */
  private async own(ctx: DavContext, id: string): Promise<UploadSession> {
    const s = /^[0-9a-f]{32}$/.test(id) ? await this.sessions.get(id) : undefined;
    if (!s || s.user !== (ctx.state.user ?? null)) throw notFound();
    return s;
  }

  /** Stored bytes of an unfinished upload; 410 once it expired (and it goes then). */
  private async stored(ctx: DavContext, id: string): Promise<{ size: number; mtimeMs: number }> {
    const st = await Uploads.staging(ctx).stat(id);
    if (!st) {
      await this.sessions.delete(id);
      throw gone('is no longer here');
    }
    if (Date.now() - st.mtimeMs > this.expiryMs) {
      await this.forget(Uploads.staging(ctx), id);
      throw gone(`expired (nothing was written to it for ${this.services.options.uploadExpiry} s)`);
    }
    return st;
  }

  private async forget(staging: ResumableStaging, id: string): Promise<void> {
    this.hashes.drop(id);
    await staging.remove(id);
    await this.sessions.delete(id);
  }

  /** OPTIONS: what this server speaks (tus core discovery). */
  options(ctx: DavContext): void {
    const max = this.services.options.maxUpload;
    ctx.set({ 'Tus-Resumable': TUS_VERSION, 'Tus-Version': TUS_VERSION, 'Tus-Extension': TUS_EXTENSIONS, 'Tus-Checksum-Algorithm': TUS_CHECKSUMS });
    if (max > 0) ctx.set('Tus-Max-Size', String(max));
    ctx.status = 204;
  }

  /** POST: creates an upload for the target named by Upload-Metadata `path` (tus creation). */
  async create(ctx: DavContext): Promise<void> {
    checkVersion(ctx.get('tus-resumable'));
    ctx.set(tusHeaders());
    if (ctx.get('upload-defer-length')) throw tusError(400, 'Upload-Defer-Length is not supported: send Upload-Length');
    if (Number(ctx.get('content-length') || 0) > 0 || ctx.get('transfer-encoding')) throw tusError(400, 'Creation with a body is not supported: send the bytes with PATCH');
    const length = parseSize(ctx.get('upload-length'), 'Upload-Length');
    const { options, storage } = ctx.state.services;
    if (options.maxUpload > 0 && length > options.maxUpload) throw tusError(413, `Upload-Length is over the ${options.maxUpload} bytes this server accepts`);
    const staging = Uploads.staging(ctx);
    const rawMetadata = ctx.get('upload-metadata');
    const meta = parseMetadata(rawMetadata);
    const ref = meta.get('path');
    if (!ref) throw tusError(400, 'Upload-Metadata must name the target: path <base64 of the URL path of the file>');
    const path = await resolveReference(ref, resolveContext(ctx));
    if (path === null) throw tusError(400, `The target ${ref} lies outside ${options.prefix || '/'}`);
    if (path === '/' || ref.split(/[?#]/)[0]!.endsWith('/')) throw tusError(409, 'The target names a collection; uploads store files');
    if (storage.isReserved(path)) throw tusError(403, 'Reserved name');
    if (hasControlCharacters(path)) throw tusError(400, 'Names with control characters are not allowed');
    const ifHeader = meta.get('if') || ctx.get('if') || undefined;
    const mtimeMs = parseOcMtime(meta.get('mtime') ?? ctx.get('x-oc-mtime'));
    const claims: ChecksumClaim[] = [...parseFileChecksum(meta.get('checksum') ?? '', 'Upload-Metadata checksum'), ...parseFileChecksum(ctx.get('oc-checksum'), 'OC-Checksum')];

    // Refuse now what the commit would refuse anyway (it checks everything again at the end).
    await checkUploadTarget(ctx, path);
    await this.checkTarget(ctx, path, ifHeader);
    await this.sweepSometimes();
    await this.checkRoom(ctx, path, length);
    const id = newUploadId();
    const session: UploadSession = { user: ctx.state.user ?? null, path, length, metadata: rawMetadata, ifHeader, mtimeMs, claims, created: Date.now() };
    await staging.create(id);
    await this.sessions.put(id, session);
    ctx.set('Location', this.location(ctx, id));
    if (length === 0) {
      // Nothing will ever be PATCHed: the upload is complete now (tus clients expect that).
      await this.finish(ctx, id, session, digestsOf());
    }
    ctx.set('Upload-Expires', this.expires(Date.now()));
    ctx.status = 201;
    ctx.body = '';
  }

  /**
   * An upload may only claim room nobody claimed yet: the free space less what every unfinished
   * upload still has to send (so many uploads created at once cannot promise the same bytes),
   * and one user keeps at most MAX_OPEN_UPLOADS unfinished ones (each holds state and a file).
   */
  private async checkRoom(ctx: DavContext, path: string, length: number): Promise<void> {
    const { storage } = ctx.state.services;
    const user = ctx.state.user ?? null;
    const open = await this.sessions.unfinished();
    const mine = open.filter((o) => o.session.user === user).length;
    if (mine >= MAX_OPEN_UPLOADS) throw tusError(429, `You have ${mine} unfinished uploads; finish or delete one (DELETE its URL) first`, { 'Retry-After': '60' });
    if (!storage.quota || length === 0) return;
    const staging = Uploads.staging(ctx);
    let promised = 0;
    for (const o of open) promised += Math.max(0, o.session.length - ((await staging.stat(o.id).catch(() => null))?.size ?? o.session.length));
    const q = await storage.quota(path);
    const room = q.availableBytes - promised;
    if (room < length) throw tusError(507, `Not enough space for ${length} bytes (${Math.max(0, room)} available${promised ? `, after ${promised} bytes promised to unfinished uploads` : ''})`);
  }

  /** PUT's early checks for a target: parent collection, not a collection, If header and locks. */
  private async checkTarget(ctx: DavContext, path: string, ifHeader: string | undefined): Promise<void> {
    const { storage } = ctx.state.services;
    const [info, parent] = await Promise.all([storage.stat(path), storage.stat(parentPath(path))]);
    if (info?.isCollection) throw tusError(405, 'The target is a collection; uploads store files');
    if (!parent?.isCollection) throw tusError(409, 'The target\'s parent collection does not exist');
    this.useIf(ctx, path, ifHeader);
    checkConditionals(ctx, info);
    await guardFor(ctx).check([{ path, membership: !info, vacant: !info }]);
  }

  /** Makes the upload's target the request's resource for the If header (untagged lists apply to it). */
  private useIf(ctx: DavContext, path: string, ifHeader: string | undefined): void {
    ctx.state.path = path;
    if (!ctx.get('if') && ifHeader) ctx.req.headers.if = ifHeader;
  }

  /** HEAD: how much of the upload is stored (tus core). Asks a request still writing to it to stop first. */
  async head(ctx: DavContext, id: string): Promise<void> {
    ctx.set(tusHeaders());
    const s = await this.own(ctx, id);
    ctx.set('Upload-Length', String(s.length));
    if (s.metadata) ctx.set('Upload-Metadata', s.metadata);
    if (s.done) {
      ctx.set('Upload-Offset', String(s.length));
    } else {
      await this.sessions.quiesce(id);
      const st = await this.stored(ctx, id);
      ctx.set('Upload-Offset', String(st.size));
      ctx.set('Upload-Expires', this.expires(st.mtimeMs));
    }
    ctx.body = null;
    ctx.status = 200;
  }

  /** PATCH: appends the body at Upload-Offset; the one that brings the last byte commits. */
  async patch(ctx: DavContext, id: string): Promise<void> {
    checkVersion(ctx.get('tus-resumable'));
    ctx.set(tusHeaders());
    if (ctx.get('content-type').split(';')[0]!.trim().toLowerCase() !== OFFSET_STREAM) throw tusError(415, `A PATCH body must be ${OFFSET_STREAM}`);
    const offset = parseSize(ctx.get('upload-offset'), 'Upload-Offset');
    const chunkClaim = ctx.get('upload-checksum') ? parseTusChecksum(ctx.get('upload-checksum'), 'Upload-Checksum') : null;
    let session = await this.own(ctx, id);
    const declared = ctx.get('content-length');
    if (/^\d+$/.test(declared) && offset + Number(declared) > session.length) throw tusError(413, `The body would take the upload past its Upload-Length of ${session.length} bytes`);
    if (session.done) {
      // The commit happened; its answer was lost. The same final PATCH again gets the same answer.
      if (offset !== session.length || Number(declared || 0) > 0) throw tusError(409, 'This upload is complete', { 'Upload-Offset': String(session.length) });
      ctx.set('Upload-Offset', String(session.length));
      ctx.set('ETag', session.done.etag);
      ctx.status = 204;
      return;
    }
    const staging = Uploads.staging(ctx);
    const lease = await this.sessions.acquire(id, () => ctx.req.destroy());
    try {
      session = (await this.sessions.get(id)) ?? session;
      const st = await this.stored(ctx, id);
      if (offset !== st.size) throw tusError(409, `Upload-Offset is ${offset} but ${st.size} bytes are stored`, { 'Upload-Offset': String(st.size) });
      // The upload's running checksums (not needed to resend a last byte that was cut back).
      const running = session.held ? null : await this.hashes.at(id, st.size, (start) => staging.read(id, start));
      const chunk = chunkClaim ? streamHasher() : null;
      const r = await staging.append(id, offset, ctx.req, {
        max: session.length - offset,
        written: async (bytes) => {
          if (running) await feed(running, bytes);
          const w = chunk?.update(bytes);
          if (w) await w;
        },
      });
      let mismatch: string | undefined;
      if (chunk) {
        if (r.error === undefined) mismatch = claimMismatch([chunkClaim!], await chunk.digest());
        else chunk.discard();
        // Bytes a checksum was meant to vouch for are kept only when it does.
        if (r.error !== undefined || mismatch) {
          await staging.truncate(id, offset);
          this.hashes.drop(id);
        }
      }
      if (mismatch) throw tusError(460, `Upload-Checksum mismatch: ${mismatch.replace('nothing was stored', 'the bytes of this request were discarded')}`);
      if (r.error !== undefined) throw this.appendError(ctx, r.error, offset);
      if (r.size < session.length) {
        ctx.set('Upload-Offset', String(r.size));
        ctx.set('Upload-Expires', this.expires(Date.now()));
        ctx.status = 204;
        return;
      }
      let digests: Digests;
      if (session.held) {
        const last = await readByte(staging, id, session.length - 1);
        digests = last === session.held.lastByte ? session.held.digests : await this.rehash(staging, id, session.length);
      } else {
        digests = await this.hashes.take(id)!.hasher.digest();
      }
      await this.finish(ctx, id, session, digests);
    } finally {
      await lease.release();
    }
  }

  private async rehash(staging: ResumableStaging, id: string, size: number): Promise<Digests> {
    this.hashes.drop(id);
    await this.hashes.at(id, size, (start) => staging.read(id, start));
    return this.hashes.take(id)!.hasher.digest();
  }

  private appendError(ctx: DavContext, e: unknown, offset: number): unknown {
    if (e instanceof StorageError && e.kind === 'too-large') return tusError(413, e.message, { 'Upload-Offset': String(offset) });
    if (ctx.req.destroyed || isClientGone(e)) return new DavError(400, 'Request aborted: the bytes received so far are kept');
    return e;
  }

  /**
   * Commits a complete upload as PUT would (answering 201 or 204). A refused commit keeps the
   * upload, less its last byte, so that it stays resumable and is not taken for finished.
   */
  private async finish(ctx: DavContext, id: string, session: UploadSession, digests: Digests): Promise<void> {
    const staging = Uploads.staging(ctx);
    const claims = [...session.claims, ...parseFileChecksum(ctx.get('oc-checksum'), 'OC-Checksum')];
    const mismatch = claimMismatch(claims, digests);
    if (mismatch) {
      await this.forget(staging, id);
      throw tusError(460, `${mismatch.replace('nothing was stored', 'the upload was discarded')}`);
    }
    this.useIf(ctx, session.path, session.ifHeader);
    const pending = await staging.adopt(id, session.path);
    try {
      // The user's path rules and the credential's limits (src/auth/rules.ts), as they are now.
      await checkUploadTarget(ctx, session.path).catch(async (e: unknown) => {
        await pending.abort();
        throw e;
      });
      await commitUpload(ctx, session.path, pending, { mtimeMs: session.mtimeMs, digests });
    } catch (e) {
      if (session.length > 0) {
        const lastByte = await readByte(staging, id, session.length - 1);
        await staging.truncate(id, session.length - 1);
        await this.sessions.put(id, { ...session, held: { digests, lastByte } });
      } else {
        await this.forget(staging, id);
      }
      this.hashes.drop(id);
      throw e;
    }
    this.hashes.drop(id);
    await this.sessions.put(id, { ...session, held: undefined, done: { status: ctx.status, etag: String(ctx.response.get('ETag')) } });
    ctx.set('Upload-Offset', String(session.length));
    ctx.set(tusHeaders());
  }

  /** DELETE: abandons the upload and its bytes (tus termination). */
  async terminate(ctx: DavContext, id: string): Promise<void> {
    checkVersion(ctx.get('tus-resumable'));
    ctx.set(tusHeaders());
    const session = await this.own(ctx, id);
    const staging = Uploads.staging(ctx);
    if (session.done) {
      await this.sessions.delete(id);
    } else {
      const lease = await this.sessions.acquire(id, () => ctx.req.destroy());
      try {
        await this.forget(staging, id);
      } finally {
        await lease.release();
      }
    }
    ctx.status = 204;
  }

  /** Removes partial uploads whose last write is older than the expiry, and sessions without bytes. */
  async sweep(): Promise<number> {
    const staging = this.services.storage.resumable;
    if (!staging) return 0;
    const now = Date.now();
    let removed = 0;
    const present = new Set<string>();
    for (const p of await staging.list()) {
      present.add(p.id);
      if (now - p.mtimeMs <= this.expiryMs || (await this.sessions.busy(p.id))) continue;
      await this.forget(staging, p.id);
      removed++;
    }
    for (const id of await this.sessions.ids()) {
      if (present.has(id)) continue;
      const s = await this.sessions.get(id);
      if (s && !s.done && now - s.created > this.expiryMs) await this.sessions.delete(id);
    }
    return removed;
  }

  private async sweepSometimes(): Promise<void> {
    if (Date.now() - this.lastSweep < Math.min(SWEEP_EVERY_MS, this.expiryMs)) return;
    this.lastSweep = Date.now();
    await this.sweep().catch(() => undefined);
  }
}

async function readByte(staging: ResumableStaging, id: string, at: number): Promise<number> {
  const s = staging.read(id, at);
  try {
    for await (const chunk of s as AsyncIterable<Buffer>) if (chunk.length) return chunk[0]!;
  } finally {
    s.destroy();
  }
  return -1;
}
