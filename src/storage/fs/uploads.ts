/**
 * Uploads: the body streams into a file of the staging area (src/storage/fs/staging.ts) and is
 * renamed over the target only on commit, inside the caller's critical section. A failed or
 * aborted upload leaves the old content and no file anywhere in the tree; a PUT whose parent
 * was moved or deleted meanwhile finds no parent at commit and leaves nothing behind either.
 */
import { createWriteStream, promises as fsp } from 'node:fs';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import { Transform, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { CommitResult, PendingUpload, ReceiveOptions, ResourceInfo } from '../backend.js';
import { fromErrno, StorageError } from '../errors.js';
import { errnoOf, infoFromParts, READ_CHUNK, stat as statFile } from './reads.js';
import { statWorker } from './stat-batch.js';
import { LEGACY_TEMP_PREFIX } from '../reserved.js';
import type { Staging } from './staging.js';
import { transferred } from '../../util/gc.js';

/** PUT bodies of known length up to this size are collected and written in one step. */
export const SMALL_UPLOAD = 64 * 1024;

export interface UploadTarget {
  /** DAV path of the target (what the tree changes name). */
  path: string;
  /** Absolute path of the target file. */
  file: string;
  staging: Staging;
  fsync: boolean;
}

const CLIENT_GONE = new Set(['ERR_STREAM_PREMATURE_CLOSE', 'ECONNRESET', 'ECONNABORTED']);

/** An error of the body stream: the client's (aborted), a limit's (kept as thrown), or the disk's. */
function bodyError(e: unknown): unknown {
  const c = errnoOf(e);
  if (c && CLIENT_GONE.has(c)) return new StorageError('aborted', 'Upload aborted by the client', { cause: e });
  if (c && /^E[A-Z]+$/.test(c)) return fromErrno(e, 'upload failed');
  return e; // e.g. the 413 of --max-upload: the caller's own error
}

/** An error of the final rename: the target's parent or the target itself is not what it was. */
export function commitError(e: unknown): StorageError {
  const c = errnoOf(e);
  if (c === 'ENOENT' || c === 'ENOTDIR') return new StorageError('parent-missing', 'Parent collection does not exist', { cause: e, errno: c });
  if (c === 'EISDIR') return new StorageError('is-collection', 'Cannot PUT to a collection', { cause: e, errno: c });
  return fromErrno(e, 'upload failed');
}

/** Sees every chunk before it is written (a hasher sees exactly the stored bytes). */
const observer = (observe: (chunk: Buffer) => void): Transform =>
  new Transform({
    transform(chunk: Buffer, _enc, cb) {
      try {
        observe(chunk);
        cb(null, chunk);
      } catch (e) {
        cb(e as Error);
      }
    },
  });

export async function receive(t: UploadTarget, body: Readable, opts: ReceiveOptions = {}): Promise<PendingUpload> {
  const tmp = t.staging.newPath();
  // Small bodies of known length take the one-message path; with --fsync every upload takes
  // the streamed path, which flushes before the rename.
  if (opts.length !== undefined && opts.length <= SMALL_UPLOAD && !t.fsync) return receiveSmall(t, tmp, body, opts.length, opts.observe);
  const discard = (): Promise<void> => fsp.rm(tmp, { force: true });
  try {
    const sink = createWriteStream(tmp, { flags: 'wx', highWaterMark: READ_CHUNK, flush: t.fsync });
    const piped = opts.observe ? pipeline(body, observer(opts.observe), sink) : pipeline(body, sink);
    body.on('data', (chunk: Buffer) => transferred(chunk.length));
    await piped;
  } catch (e) {
    await discard();
    throw bodyError(e);
  }
  return staged(t, tmp, true);
}

/**
 * A complete file in the staging area as the pending content of `t.path`: commit renames it over
 * the target. With `owned` a refused commit or an abort removes the file; without (a finished
 * resumable upload, which the client may commit again once it has fixed what refused it) the
 * file stays where it is.
 */
export function staged(t: UploadTarget, tmp: string, owned: boolean): PendingUpload {
  const discard = (): Promise<void> => (owned ? fsp.rm(tmp, { force: true }) : Promise.resolve());
  let settled = false;
  return {
    commit: async (current, copts = {}) => {
      settled = true;
      if (current?.isCollection) {
        await discard();
        throw new StorageError('is-collection', 'Cannot PUT to a collection');
      }
      try {
        if (copts.mtimeMs !== undefined) await fsp.utimes(tmp, new Date(), new Date(copts.mtimeMs));
        await renameInto(tmp, t.file);
      } catch (e) {
        await discard();
        throw commitError(e);
      }
      if (t.fsync) await syncDir(join(t.file, '..'));
      return done(t, current);
    },
    abort: async () => {
      if (settled) return;
      settled = true;
      await discard();
    },
  };
}

const changesOf = (t: UploadTarget, current: ResourceInfo | null): CommitResult['changes'] => [current ? { type: 'replaced', path: t.path, previousId: current.id } : { type: 'created', path: t.path, isCollection: false }];

async function done(t: UploadTarget, current: ResourceInfo | null): Promise<CommitResult> {
  const info = await statFile(t.file);
  if (!info) throw new StorageError('not-found', 'The file vanished right after it was stored');
  return { created: !current, info, changes: changesOf(t, current) };
}

/**
 * A body of known small size (at most SMALL_UPLOAD bytes) is collected first; commit then
 * writes the staged file and renames it over the target in one message to the fs worker,
 * instead of open/write/close/stat/rename/stat hand-offs. Still staged file + rename: the old
 * content survives any failure; nothing touches the disk before commit.
 */
async function receiveSmall(t: UploadTarget, tmp: string, body: Readable, length: number, observe?: (chunk: Buffer) => void): Promise<PendingUpload> {
  const buf = Buffer.allocUnsafe(length);
  let got = 0;
  try {
    for await (const chunk of body as AsyncIterable<Buffer>) {
      if (got + chunk.length > length) throw new StorageError('aborted', 'Body longer than its Content-Length');
      observe?.(chunk);
      chunk.copy(buf, got);
      got += chunk.length;
    }
  } catch (e) {
    throw bodyError(e);
  }
  if (got !== length) throw new StorageError('aborted', 'Upload aborted by the client');
  return {
    commit: async (current, copts = {}) => {
      if (current?.isCollection) throw new StorageError('is-collection', 'Cannot PUT to a collection');
      const r = await statWorker.putSmall(tmp, t.file, buf, false, copts.mtimeMs);
      if (!r) {
        // no worker: the same steps through the threadpool
        try {
          await fsp.writeFile(tmp, buf, { flag: 'wx' });
          if (copts.mtimeMs !== undefined) await fsp.utimes(tmp, new Date(), new Date(copts.mtimeMs));
          await renameInto(tmp, t.file);
        } catch (e) {
          await fsp.rm(tmp, { force: true });
          throw commitError(e);
        }
        return done(t, current);
      }
      if (r.code) throw commitError(Object.assign(new Error(`${r.code}: ${t.file}`), { code: r.code }));
      const f = r.stat;
      const info = infoFromParts(f[0] === 2, f[1]!, f[2]!, f[3]!, f[4]!, f[5]!, f[6]!);
      return { created: !current, info, changes: changesOf(t, current) };
    },
    abort: async () => {
      // Nothing touches the disk before commit: nothing to remove.
    },
  };
}

/**
 * rename(2) of a staged file over `target`. Where the target lies on another filesystem than the
 * staging area (a mount inside the served tree), the file is copied beside the target under a
 * hidden name first, then renamed: still atomic for readers.
 */
export async function renameInto(staged: string, target: string): Promise<void> {
  try {
    await fsp.rename(staged, target);
    return;
  } catch (e) {
    if (errnoOf(e) !== 'EXDEV') throw e;
  }
  const beside = join(target, '..', LEGACY_TEMP_PREFIX + randomUUID());
  try {
    await fsp.copyFile(staged, beside);
    await fsp.rename(beside, target);
  } catch (e) {
    await fsp.rm(beside, { force: true });
    throw e;
  } finally {
    await fsp.rm(staged, { force: true });
  }
}

/** Makes a rename in `dir` durable (best effort: some filesystems refuse fsync on directories). */
export async function syncDir(dir: string): Promise<void> {
  try {
    const fh = await fsp.open(dir, 'r');
    try {
      await fh.sync();
    } finally {
      await fh.close();
    }
  } catch {
    // EINVAL/EISDIR on filesystems without directory fsync: the data itself was synced.
  }
}
