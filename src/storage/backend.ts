/**
 * The storage seam. Paths are DAV paths ('/', '/a/b'), already decoded and contained.
 * Handlers talk only to this interface, so another backend (object store, memory) can be
 * plugged in without touching them.
 */
import type { Readable } from 'node:stream';
import type { TreeChange } from './events.js';
import type { StorageErrorKind } from './errors.js';

export type { TreeChange } from './events.js';

export interface ResourceInfo {
  isCollection: boolean;
  size: number;
  mtimeMs: number;
  birthtimeMs: number;
  /** Strong entity tag, quoted; changes whenever the content changes and never repeats at a URL for other content. */
  etag: string;
  /**
   * Identity of the stored object (e.g. device and inode), when the backend has one: lets tree
   * walks notice a collection they already visited (a symlink loop).
   */
  id?: string;
}

export interface ListEntry {
  name: string;
  info: ResourceInfo;
}

/** A dead property as stored: its name, xml:lang, other attributes and inner XML, verbatim. */
export interface DeadProperty {
  ns: string;
  local: string;
  lang?: string;
  /** Extra attributes of the property element, serialised (` a="1"`), namespaces declared. */
  attrs?: string;
  /** Inner XML, well-formed on its own (namespaces declared where used). */
  xml: string;
}

export type PropPatchOp = { op: 'set'; prop: DeadProperty } | { op: 'remove'; ns: string; local: string };

export interface PropertyStore {
  get(path: string): Promise<DeadProperty[]>;
  /** Applies every operation or none (RFC 4918 9.2). */
  patch(path: string, ops: PropPatchOp[]): Promise<void>;
  /** Names of the members of collection `dir` that have dead properties (lets listings skip the rest). */
  membersWithProps(dir: string): Promise<Set<string>>;
  /** Tree operations, driven by tree events (src/storage/side-data.ts): properties follow their resource. */
  /** Removes the properties of `path` and everything below it. */
  removeTree(path: string): Promise<void>;
  /** Moves the properties of `src` and below to `dst`, replacing those of `dst` and below. */
  moveTree(src: string, dst: string): Promise<void>;
  /** Copies the properties of `src` (with `deep`, and below) to `dst`, replacing those of `dst` and below. */
  copyTree(src: string, dst: string, deep: boolean): Promise<void>;
  /** The content of `path` was replaced in place (PUT): its properties stay. `previousId`: the replaced content's ResourceInfo.id. */
  contentReplaced(path: string, previousId?: string): Promise<void>;
}

/** A member that could not be deleted, copied or moved: goes into a 207 response. */
export interface FailedMember {
  path: string;
  kind: StorageErrorKind;
}

/** What a tree operation did: every change, in order, and the members it could not handle. */
export interface TreeResult {
  changes: TreeChange[];
  failed: FailedMember[];
}

export interface CommitResult {
  /** True when nothing was at the path before. */
  created: boolean;
  /** The stored file, as it was right after the rename (its ETag is the answer's). */
  info: ResourceInfo;
  changes: TreeChange[];
}

/** A body received into the staging area; nothing is visible until commit(). */
export interface PendingUpload {
  /**
   * Renames the staged file over the target atomically. `current` is the target's state when
   * the caller just looked it up (inside the critical section). With `mtimeMs` the file gets
   * that modification time before it becomes visible (X-OC-Mtime), so the returned info is
   * exactly what was stored.
   */
  commit(current: ResourceInfo | null, opts?: { mtimeMs?: number }): Promise<CommitResult>;
  abort(): Promise<void>;
}

export interface ReceiveOptions {
  /** Declared length of the body, when known (small bodies take a faster path). */
  length?: number;
  /**
   * Sees every chunk of the body exactly as it is stored, in order (e.g. a hasher that keeps
   * a checksum with the file). Called before the chunk is written; a throw fails the upload.
   */
  observe?: (chunk: Buffer) => void;
}

/** A file opened for reading: its info and its bytes come from the same open file. */
export interface OpenFile {
  info: ResourceInfo;
  /** Streams the whole file or one inclusive byte range, and closes the file when done. */
  stream(range?: { start: number; end: number }): Readable;
  /**
   * Optional: reads `length` bytes from `start` into a few reused buffers, handing each chunk
   * to `write`, whose promise must resolve once the chunk's memory may be reused, then closes
   * the file. Memory stays constant however large the file (no buffer per chunk for the GC).
   * Resolves with the bytes delivered (fewer when the file shrank meanwhile).
   */
  readInto?(start: number, length: number, write: (chunk: Buffer) => Promise<void>): Promise<number>;
  /** Closes the file when no stream will be taken. */
  close(): Promise<void>;
  /**
   * Optional: the descriptor of the open file, for a reader in another thread of this process
   * (the fs worker hashes stored files with it); valid until close() or the end of a stream.
   */
  readonly fd?: number;
}

/**
 * Partial uploads that outlive a request and a process (resumable uploads, src/uploads/): files
 * in the backend's staging area, named by an id, grown by appends, never part of the tree until
 * adopt() hands a finished one over as a PendingUpload.
 */
export interface ResumableStaging {
  /** Creates an empty partial upload (fails if the id exists). */
  create(id: string): Promise<void>;
  /** Bytes stored so far and the time of the last write; null when there is no such upload. */
  stat(id: string): Promise<{ size: number; mtimeMs: number } | null>;
  /**
   * Writes `body` at `offset` (the current size), at most `max` bytes (more fails the append),
   * handing each chunk to `written` once it is on disk. Never rejects for the body's sake: the
   * result says how far it got and why it stopped (the bytes written stay).
   */
  append(id: string, offset: number, body: Readable, opts: { max: number; written?: (chunk: Buffer) => Promise<void> | void }): Promise<{ size: number; error?: unknown }>;
  /** Cuts a partial upload back to `size` bytes (a chunk that failed its checksum). */
  truncate(id: string, size: number): Promise<void>;
  /** The stored bytes from `start` on. */
  read(id: string, start: number): Readable;
  remove(id: string): Promise<void>;
  list(): Promise<{ id: string; mtimeMs: number }[]>;
  /** A finished upload as the pending content of `path`: commit renames it over the target; abort keeps it. */
  adopt(id: string, path: string): Promise<PendingUpload>;
}

export interface Quota {
  availableBytes: number;
  usedBytes: number;
}

export interface StorageBackend {
  readonly props: PropertyStore;
  stat(path: string): Promise<ResourceInfo | null>;
  /** Members of a collection with their info, produced as they are read (for streaming). */
  list(path: string): AsyncIterable<ListEntry>;
  /** Body of a file (whole or one inclusive byte range). */
  read(path: string, range?: { start: number; end: number }): Promise<Readable>;
  /**
   * Optional: stat and, for a file of at most `max` bytes, its whole content in one step from
   * one open handle (null when nothing is there). Lets GET of a small file cost one hand-off
   * instead of four; stat and bytes always describe the same file.
   */
  statWithSmallBody?(path: string, max: number): Promise<{ info: ResourceInfo; body: Buffer | null } | null>;
  /**
   * Opens a file and describes it from the open handle, so the headers (length, ETag) and the
   * bytes sent match even when a PUT or MOVE replaces the file meanwhile. Null if missing.
   */
  openFile?(path: string): Promise<OpenFile | null>;
  /** Streams `body` into the staging area; the caller commits it to `path` or aborts. */
  receive(path: string, body: Readable, opts?: ReceiveOptions): Promise<PendingUpload>;
  /** Creates an empty file if nothing is there (LOCK on an unmapped URL); no change if something is. */
  createEmpty(path: string): Promise<TreeChange[]>;
  /** Creates a collection ('exists' when something is there, 'parent-missing' without a parent). */
  mkdir(path: string): Promise<TreeChange[]>;
  /**
   * Deletes a file or a whole tree. Members that fail are reported and keep their ancestors
   * (RFC 4918 9.6.1); the changes name exactly what went.
   */
  remove(path: string): Promise<TreeResult>;
  /**
   * Copies (depth infinity or just the collection itself), replacing what is at `dst`. A copy to
   * a new path appears complete or not at all; members that fail are reported, the rest copied.
   */
  copy(src: string, dst: string, opts: { recursive: boolean }): Promise<TreeResult>;
  /** Moves, replacing what is at `dst` (a rename where possible). */
  move(src: string, dst: string): Promise<TreeResult>;
  /** Names that WebDAV must never list or address (metadata store, staging area). */
  isReserved(path: string): boolean;
  /**
   * The stored spelling of `path`: the path itself when it exists (or is plain ASCII), else the
   * path whose segments name existing members that differ only in Unicode normalisation (NFC vs
   * NFD, as macOS sends). Segments past the first one that matches nothing are kept as given.
   */
  canonicalPath?(path: string): Promise<string>;
  /** Sets the modification time (Win32LastModifiedTime); not a tree change (content is the same). */
  setMtime?(path: string, mtimeMs: number): Promise<void>;
  quota?(path: string): Promise<Quota>;
  /** Optional: partial uploads kept across requests (resumable uploads need it). */
  readonly resumable?: ResumableStaging;
  /**
   * Optional: a view of the same tree (same paths, same side data) that never follows anything
   * (a symlink) out of the collection `scope`; used below per-user roots (src/storage/scoped.ts).
   * Rejects when `scope` itself leads out of the tree.
   */
  confine?(scope: string): Promise<StorageBackend>;
  /**
   * Optional: a folder on local disk, in the hidden metadata area, where data derived from files
   * (the page's thumbnails) may be cached. A backend without a disk leaves it out: no cache.
   */
  cacheDir?(name: string): string;
  close?(): Promise<void>;
}
