/**
 * The storage seam. Paths are DAV paths ('/', '/a/b'), already decoded and contained.
 * Handlers talk only to this interface, so another backend (object store, memory) can be
 * plugged in without touching them.
 */
import type { Readable } from 'node:stream';

export interface ResourceInfo {
  isCollection: boolean;
  size: number;
  mtimeMs: number;
  birthtimeMs: number;
  /** Strong entity tag, quoted; changes whenever the content changes. */
  etag: string;
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
}

/** A member that could not be deleted, copied or moved: goes into a 207 response. */
export interface FailedMember {
  path: string;
  status: number;
}

/** A body received into a temporary file; nothing is visible until commit(). */
export interface PendingUpload {
  /**
   * Renames the temp file over the target atomically; reports whether the target was new.
   * `current` is the target's state when the caller just looked it up (inside the lock
   * manager's critical section), which spares the backend a second lookup.
   */
  commit(current?: ResourceInfo | null): Promise<{ created: boolean; info?: ResourceInfo }>;
  abort(): Promise<void>;
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
  /** Streams `body` into a temp file beside `path`; the caller commits or aborts. */
  receive(path: string, body: Readable, opts?: { length?: number }): Promise<PendingUpload>;
  /** Creates an empty file if nothing is there (LOCK on an unmapped URL); true if created. */
  createEmpty(path: string): Promise<boolean>;
  mkdir(path: string): Promise<void>;
  /** Deletes a file or a whole tree with its dead properties. */
  remove(path: string): Promise<FailedMember[]>;
  /** Copies (depth infinity or just the collection itself), replacing what is at `dst`. */
  copy(src: string, dst: string, opts: { recursive: boolean }): Promise<FailedMember[]>;
  /** Moves with dead properties, replacing what is at `dst` (a rename where possible). */
  move(src: string, dst: string): Promise<FailedMember[]>;
  /** Names that WebDAV must never list or address (metadata store, temp files). */
  isReserved(path: string): boolean;
  /**
   * The stored spelling of `path`: the path itself when it exists (or is plain ASCII), else the
   * path whose segments name existing members that differ only in Unicode normalisation (NFC vs
   * NFD, as macOS sends). Segments past the first one that matches nothing are kept as given.
   */
  canonicalPath?(path: string): Promise<string>;
  setMtime?(path: string, mtimeMs: number): Promise<void>;
  quota?(path: string): Promise<Quota>;
  close?(): Promise<void>;
}
