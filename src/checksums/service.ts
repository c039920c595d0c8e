/**
 * Checksums of stored files: recorded when content is written through WebDAV (hashed while the
 * upload streams, or right after it was stored when it is large: hashLater), carried along by
 * tree events (MOVE, COPY), dropped with their resource, and computed lazily for files that have
 * none (written on disk, before this feature, or whose record no longer matches). A record is
 * served only while the file still has the ETag it was computed for (inode, size, mtime and ctime
 * on the filesystem backend), so an edit made on disk, even one that keeps size and mtime, is
 * never answered with the old checksum.
 *
 * Paths here are absolute DAV paths (the whole tree); handlers use a ChecksumView, which maps the
 * paths of a user's view and reads through that user's storage.
 */
import type { ResourceInfo, StorageBackend } from '../storage/backend.js';
import type { TreeChange, TreeListener } from '../storage/events.js';
import type { ChecksumRecord, ChecksumStore } from './store.js';
import type { Digests } from './digests.js';
import { digestFd, digestStream } from './engine.js';
import type { Readable } from 'node:stream';

/** Files up to this size are hashed in this thread when read back (no hand-off is worth it). */
const INLINE_MAX = 64 * 1024;
const LRU_MAX = 4096;
/** Files waiting to be hashed after they were stored; past this, a file is hashed when first asked. */
const LATER_MAX = 1024;

const recordOf = (info: ResourceInfo, digests: Digests): ChecksumRecord => ({ etag: info.etag, size: info.size, mtimeMs: info.mtimeMs, id: info.id, digests });

const valid = (rec: ChecksumRecord | null | undefined, info: ResourceInfo): rec is ChecksumRecord => !!rec && rec.etag === info.etag && rec.size === info.size;

/** What handlers use: paths of the request's own view of the tree. */
export interface ChecksumView {
  /** Digests already known for this content (no file is read), or null. */
  known(path: string, info: ResourceInfo): Promise<Digests | null>;
  /** Known, or computed now by reading the file; null for a collection, or a file that changed while it was read. */
  digests(path: string, info: ResourceInfo): Promise<Digests | null>;
  /** Keeps the digests of content just stored at `path` (its info as stored). */
  record(path: string, info: ResourceInfo, digests: Digests): Promise<void>;
  /** Remembers digests computed from bytes read with `info` (in this process only: nothing is written). */
  remember(path: string, info: ResourceInfo, digests: Digests): void;
  /** Hashes content just stored at `path` without its digests (a large upload) in the background, and records them. */
  later(path: string, info: ResourceInfo): void;
  /** The view of a scope of this tree (a user's root): `storage` is that scope's, `abs` maps its paths here. */
  below(storage: StorageBackend, abs: (path: string) => string): ChecksumView;
}

export class Checksums {
  /** Recently used records by path (validated by ETag like the stored ones, so never stale). */
  private readonly recent = new Map<string, ChecksumRecord>();
  private readonly computing = new Map<string, Promise<Digests | null>>();
  /** Files to hash in the background (hashLater), one at a time. */
  private readonly queue: { storage: StorageBackend; path: string; abs: string; info: ResourceInfo }[] = [];
  private draining: Promise<void> | undefined;
  /** The file being hashed in the background; stopped when newer content of its path is queued. */
  private current: { abs: string; stop: AbortController } | undefined;
  /** Streams being read for a computation, destroyed by close(). */
  private readonly reading = new Set<Readable>();
  /** Aborted by close(): stops the fs worker's hashing of a file. */
  private readonly stopping = new AbortController();
  private closed = false;

  constructor(
    private readonly store: ChecksumStore,
    /** The whole tree (tree events name its paths). */
    private readonly storage: StorageBackend,
  ) {}

  private remember(path: string, rec: ChecksumRecord): void {
    this.recent.delete(path);
    this.recent.set(path, rec);
    if (this.recent.size > LRU_MAX) this.recent.delete(this.recent.keys().next().value!);
  }

  async known(abs: string, info: ResourceInfo): Promise<Digests | null> {
    if (info.isCollection) return null;
    const hot = this.recent.get(abs);
    if (valid(hot, info)) return hot.digests;
    const rec = await this.store.get(abs);
    if (!valid(rec, info)) return null;
    this.remember(abs, rec);
    return rec.digests;
  }

  async record(abs: string, info: ResourceInfo, digests: Digests): Promise<void> {
    const rec = recordOf(info, digests);
    this.remember(abs, rec);
    await this.store.put(abs, rec);
  }

  /** Known or computed; `storage` and `path` name the file in the caller's view, `abs` in the whole tree. */
  async digests(storage: StorageBackend, path: string, abs: string, info: ResourceInfo, signal?: AbortSignal): Promise<Digests | null> {
    if (info.isCollection) return null;
    const known = await this.known(abs, info);
    if (known) return known;
    const key = `${abs}\0${info.etag}`;
    let p = this.computing.get(key);
    if (!p) {
      p = this.compute(storage, path, abs, info, signal).finally(() => this.computing.delete(key));
      this.computing.set(key, p);
    }
    return p;
  }

  /**
   * Reads the file and hashes it. The ETag is taken from the open file (or the caller's stat)
   * and checked again after the last byte: a file that changed meanwhile gets no record.
   */
  private async compute(storage: StorageBackend, path: string, abs: string, info: ResourceInfo, signal?: AbortSignal): Promise<Digests | null> {
    const file = storage.openFile ? await storage.openFile(path) : null;
    if (storage.openFile && !file) return null;
    const read = file?.info ?? info;
    if (read.isCollection) {
      await file?.close();
      return null;
    }
    // A large stored file is read and hashed by the fs worker through the open descriptor;
    // otherwise (a small file, another backend, no worker) the file is streamed through here.
    let digests: Digests | null = null;
    if (file?.fd !== undefined && read.size > INLINE_MAX) {
      try {
        digests = await digestFd(file.fd, read.size, signal ? AbortSignal.any([this.stopping.signal, signal]) : this.stopping.signal);
      } catch (e) {
        await file.close();
        throw e;
      }
      if (digests) await file.close();
    }
    if (!digests) {
      const body = file ? file.stream() : await storage.read(path);
      if (this.closed) body.destroy();
      this.reading.add(body);
      try {
        digests = await digestStream(body, { inline: read.size <= INLINE_MAX });
      } finally {
        this.reading.delete(body);
      }
    }
    const after = await storage.stat(path);
    if (!after || after.etag !== read.etag) return null;
    await this.record(abs, read, digests);
    return read.etag === info.etag ? digests : null;
  }

  /**
   * Hashes a file that was stored without its digests (an upload too large to be hashed while
   * it streamed, see src/methods/put.ts) in the background, one file at a time, reading it back
   * (from the page cache, usually). A client that asks for its checksums meanwhile joins the
   * computation (digests() finds it running); the record is written only if the file still has
   * the ETag it had when read, so an edit made meanwhile is never given these digests.
   */
  hashLater(storage: StorageBackend, path: string, abs: string, info: ResourceInfo): void {
    if (this.closed || info.isCollection) return;
    // An older job for the same path is for content that is gone (replaced by this one).
    if (this.current?.abs === abs) this.current.stop.abort();
    const older = this.queue.findIndex((j) => j.abs === abs);
    if (older >= 0) this.queue.splice(older, 1);
    else if (this.queue.length >= LATER_MAX) return;
    this.queue.push({ storage, path, abs, info });
    this.draining ??= this.drain();
  }

  private async drain(): Promise<void> {
    for (let job = this.queue.shift(); job && !this.closed; job = this.queue.shift()) {
      // Content replaced or removed since it was queued: nothing to hash for it (a newer upload
      // queued its own job; a file changed on disk is hashed when asked).
      const now = await job.storage.stat(job.path).catch(() => null);
      if (now?.etag !== job.info.etag) continue;
      this.current = { abs: job.abs, stop: new AbortController() };
      await this.digests(job.storage, job.path, job.abs, job.info, this.current.stop.signal).catch(() => null);
      this.current = undefined;
    }
    this.draining = undefined;
  }

  /** Stops background hashing (reads in progress are cut; their files are hashed when next asked). */
  async close(): Promise<void> {
    this.closed = true;
    this.queue.length = 0;
    this.stopping.abort();
    for (const body of this.reading) body.destroy();
    await this.draining;
  }

  /** A view below `abs` (a user's root) reading through that user's `storage`. */
  view(storage: StorageBackend, abs: (path: string) => string = (p) => p): ChecksumView {
    return {
      known: (path, info) => this.known(abs(path), info),
      digests: (path, info) => this.digests(storage, path, abs(path), info),
      record: (path, info, d) => this.record(abs(path), info, d),
      remember: (path, info, d) => this.remember(abs(path), recordOf(info, d)),
      later: (path, info) => this.hashLater(storage, path, abs(path), info),
      below: (scoped, inner) => this.view(scoped, (p) => abs(inner(p))),
    };
  }

  /** The tree-event subscriber: records follow their resource (src/storage/events.ts). */
  listener(): TreeListener {
    return async (changes: readonly TreeChange[]): Promise<void> => {
      for (const c of changes) {
        switch (c.type) {
          case 'created':
          case 'replaced':
            if (c.content && !c.content.info.isCollection) {
              // New content whose digests the writer computed (a PUT): kept in the same step.
              const rec = recordOf(c.content.info, c.content.digests);
              this.remember(c.path, rec);
              await this.store.renew(c.path, rec);
            } else await this.store.removeTree(c.path); // digests unknown: computed when first asked
            break;
          case 'removed':
            await this.store.removeTree(c.path);
            break;
          case 'moved':
            await this.store.moveTree(c.from, c.to);
            if (!c.isCollection) await this.movedFile(c.to);
            break;
          case 'copied':
            await this.store.removeTree(c.to);
            await this.copied(c.from, c.to, c.isCollection && c.deep);
            break;
        }
      }
    };
  }

  /**
   * A renamed file keeps its content, but rename(2) gives it a new ctime and so a new ETag: the
   * record is moved over to it when the file is the same object with the same size and mtime.
   */
  private async movedFile(to: string): Promise<void> {
    const [rec, info] = await Promise.all([this.store.get(to), this.storage.stat(to)]);
    if (!rec || !info) return;
    if (info.isCollection || rec.size !== info.size || rec.mtimeMs !== info.mtimeMs || rec.id !== info.id) {
      await this.store.removeTree(to);
      return;
    }
    if (rec.etag !== info.etag) await this.record(to, info, rec.digests);
  }

  /**
   * A copy has the content of its source (the write spine holds the source while it is copied):
   * every source record still valid for its file is given to the copy, under the copy's ETag.
   */
  private async copied(from: string, to: string, deep: boolean): Promise<void> {
    const records = deep ? this.store.walk(from) : one(from, this.store);
    for await (const { rel, rec } of records) {
      const src = under(from, rel);
      const dst = under(to, rel);
      const [srcInfo, dstInfo] = await Promise.all([this.storage.stat(src), this.storage.stat(dst)]);
      if (!srcInfo || !dstInfo || !valid(rec, srcInfo) || dstInfo.isCollection || dstInfo.size !== rec.size) continue;
      await this.record(dst, dstInfo, rec.digests);
    }
  }
}

const under = (base: string, rel: string): string => (rel === '' ? base : base === '/' ? rel : base + rel);

async function* one(path: string, store: ChecksumStore): AsyncGenerator<{ rel: string; rec: ChecksumRecord }> {
  const rec = await store.get(path);
  if (rec) yield { rel: '', rec };
}
