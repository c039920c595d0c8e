/**
 * The messages between the main thread and the fs worker (src/storage/fs/worker/thread.ts).
 * Requests travel in batches (`{ b: WorkerRequest[] }`, every request made in one turn of the
 * event loop) and replies too (`{ b: WorkerReply[] }`), so a busy server pays one hand-off per
 * turn, not one per request. Every request carries an id that its replies repeat. Stats travel
 * as numbers in one transferred Float64Array (no object per file).
 */

/** Per name: kind (see Kind), size, mtimeMs, birthtimeMs, ctimeMs, ino, dev. */
export const STAT_FIELDS = 7;
/** Per listed member: the STAT_FIELDS, then 1 when the member is a symbolic link. */
export const LIST_FIELDS = 8;

export const Kind = {
  Missing: 0,
  File: 1,
  Directory: 2,
  /** FIFO, socket or device: never opened, never listed. */
  Special: 3,
} as const;

/** lstat(2) of one path, or stat(2) (links followed) with `follow`. */
export interface StatRequest {
  op: 'stat';
  id: number;
  path: string;
  follow: boolean;
}

/** Removes each path (a directory with everything in it) if it exists, like `rm -rf`: side data (dead properties). */
export interface RemoveAllRequest {
  op: 'rmrf';
  id: number;
  paths: string[];
}

/**
 * Moves side data along with its resource: each `[from, to]` renamed when `from` exists, the
 * folder of `to` created when missing; pairs run in order and the first failure stops them.
 */
export interface RenameAllRequest {
  op: 'mvall';
  id: number;
  pairs: [string, string][];
}

/**
 * A small metadata file (a checksum record) replaced atomically: `body` written to `tmp` (which
 * must not exist), then renamed over `file`; when `file`'s folder is missing it is created first.
 */
export interface WriteFileRequest {
  op: 'write';
  id: number;
  tmp: string;
  file: string;
  body: string;
}

/**
 * Appends `text` to `file` (created when missing) and flushes it to the disk (fdatasync) before
 * the reply: a journal line that is acknowledged survives a power cut.
 */
export interface AppendRequest {
  op: 'append';
  id: number;
  file: string;
  text: string;
}

/**
 * Bytes of hashing job `job` (the first `length` bytes of the transferred `buf`), hashed with
 * each of `alg` (the job starts with its first bytes); the reply hands `buf` back to be refilled.
 */
export interface HashDataRequest {
  op: 'hash';
  id: number;
  job: number;
  alg: string[];
  buf: ArrayBuffer;
  length: number;
}

/** The hex digests of job `job` in `alg` order (the empty input's for a job never fed); the job ends. */
export interface HashDigestRequest {
  op: 'digest';
  id: number;
  job: number;
  alg: string[];
}

/**
 * Hashes the first `length` bytes of the open file `fd` with each of `alg`, read by the worker
 * itself, a slice at a time between its other requests (like a tree walk); the caller keeps
 * `fd` open until the reply. A `drop` of `job` stops it (reply code ECANCELED).
 */
export interface HashFileRequest {
  op: 'hashfd';
  id: number;
  job: number;
  fd: number;
  length: number;
  alg: string[];
}

/** Forgets hashing job `job` (stops it when it hashes a file). */
export interface HashDropRequest {
  op: 'drop';
  id: number;
  job: number;
}

/**
 * The shared area small reads are written to (workerData `smallArea`): SMALL_SLOTS slots of
 * SMALL_SLOT bytes. A content the worker read into memory of its own came from its malloc arena
 * and went back to it only when the main thread's collector freed the transferred buffer: 4 KiB
 * GETs under load (wrk, 32 connections) left the worker's arena ~20 MiB resident. In a slot the
 * content is copied out by the main thread at once, so its memory is the main thread's.
 */
export const SMALL_SLOT = 64 * 1024;
export const SMALL_SLOTS = 32;

/** One file's stat and, when it is a regular file of at most `max` bytes, its content. */
export interface ReadSmallRequest {
  op: 'small';
  id: number;
  path: string;
  max: number;
  /** The slot of the shared area the content goes to (max <= SMALL_SLOT); else a buffer of its own. */
  slot?: number;
}

/**
 * A small upload already received: written to `tmp` (in the staging area), given `mtimeMs` if
 * set, renamed over `target`; with `check`, first reports whether the target existed.
 */
export interface PutSmallRequest {
  op: 'put';
  id: number;
  tmp: string;
  target: string;
  body: ArrayBuffer;
  check: boolean;
  mtimeMs?: number;
}

/**
 * Opens a listing of directory `dir` (DAV path `path`): members (reserved names left out) with
 * their stats (links followed; missing, dangling and special members left out), at most `max`
 * in the first reply. While the reply says `more`, the listing stays open under this request's id:
 * `next` asks for the following members, `close` ends it early.
 */
export interface ListRequest {
  op: 'list';
  id: number;
  dir: string;
  path: string;
  max: number;
}

export interface ListNextRequest {
  op: 'next';
  id: number;
  /** The id of the `list` request that opened the listing. */
  list: number;
  /** Most members in this part. */
  max: number;
}

export interface ListCloseRequest {
  op: 'close';
  id: number;
  list: number;
}

/** Where a tree walk may follow symbolic links: real paths inside `root` and outside `meta`. */
export interface Boundary {
  root: string;
  meta: string;
}

/**
 * Deletes `file` (DAV path `path`) and everything below it, member by member, symbolic links
 * themselves and never their targets. Members that fail keep their ancestors (RFC 4918 9.6.1).
 */
export interface RemoveTreeRequest {
  op: 'rm';
  id: number;
  file: string;
  path: string;
  /** Refuse (code ELINK, nothing removed) when `file` itself is a symbolic link: the caller checks where it leads. */
  noLink?: boolean;
}

/**
 * Copies `src` (DAV path `from`, stat'ed as a collection or not by the caller) to `target` (a
 * fresh name in the staging area) that will become DAV path `to`; with `recursive`, every member
 * below, following links that stay inside `bound` (all links when absent).
 */
export interface CopyTreeRequest {
  op: 'copy';
  id: number;
  src: string;
  target: string;
  from: string;
  to: string;
  isCollection: boolean;
  /** Identity (`dev:ino`) of the source collection, for loop detection. */
  srcId?: string;
  recursive: boolean;
  bound?: Boundary;
}

export type WorkerRequest = StatRequest | RemoveAllRequest | RenameAllRequest | WriteFileRequest | AppendRequest | HashDataRequest | HashDigestRequest | HashDropRequest | HashFileRequest | ReadSmallRequest | PutSmallRequest | ListRequest | ListNextRequest | ListCloseRequest | RemoveTreeRequest | CopyTreeRequest;

export interface StatReply {
  id: number;
  /** LIST_FIELDS numbers (kind Missing when nothing is there). */
  buf: ArrayBuffer;
  /** errno code of a failure other than "nothing there" (ENOENT, ENOTDIR, ENAMETOOLONG). */
  code?: string;
}

export interface DoneReply {
  id: number;
  /** errno code of the first failure. */
  code?: string;
}

export interface ReadSmallReply {
  id: number;
  buf: ArrayBuffer;
  body?: ArrayBuffer | null;
  /** Bytes of content written to the request's slot. */
  len?: number;
  /** errno code of a failure */
  code?: string;
}

export interface PutSmallReply {
  id: number;
  buf: ArrayBuffer;
  /** 1 created, 0 replaced, -1 not checked */
  created: number;
  code?: string;
}

export interface HashReply {
  id: number;
  /** The batch of a `hash` request, handed back. */
  buf?: ArrayBuffer;
  /** The digests of a `digest` or `hashfd` request. */
  hex?: string[];
  /** Why a `hashfd` request has no digests: errno code, ESHORT (the file shrank), ECANCELED. */
  code?: string;
}

export interface ListReply {
  id: number;
  names: string[];
  /** LIST_FIELDS numbers per name. */
  buf: ArrayBuffer;
  /** True while the listing has more members (ask with `next`). */
  more: boolean;
  /** errno code when the directory could not be opened or read. */
  code?: string;
}

/** A member of a tree walk that failed: its DAV path and the kind of storage error. */
export interface WalkFailure {
  path: string;
  kind: string;
}

/** Changes of a tree walk as plain records (src/storage/events.ts TreeChange). */
export type WalkChange =
  | { type: 'removed'; path: string; isCollection: boolean }
  | { type: 'copied'; from: string; to: string; isCollection: boolean; deep: boolean };

export interface TreeReply {
  id: number;
  changes: WalkChange[];
  failed: WalkFailure[];
  /** errno code (or storage kind) when the walk could not start or the copy root failed. */
  code?: string;
}

export type WorkerReply = StatReply | DoneReply | HashReply | ReadSmallReply | PutSmallReply | ListReply | TreeReply;

/** The reply type of each request type. */
export type ReplyOf<R extends WorkerRequest> = R extends StatRequest
  ? StatReply
  : R extends RemoveAllRequest | RenameAllRequest | WriteFileRequest | AppendRequest
    ? DoneReply
  : R extends HashDataRequest | HashDigestRequest | HashDropRequest | HashFileRequest
    ? HashReply
  : R extends ReadSmallRequest
    ? ReadSmallReply
    : R extends PutSmallRequest
      ? PutSmallReply
      : R extends ListRequest | ListNextRequest
        ? ListReply
        : R extends RemoveTreeRequest | CopyTreeRequest
          ? TreeReply
          : never;

/** A batch of requests or replies: one message per turn of the sending thread's event loop. */
export interface Batch<T> {
  b: T[];
}
