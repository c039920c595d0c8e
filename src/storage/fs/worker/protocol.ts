/**
 * The messages between the main thread and the fs worker (src/storage/fs/worker/thread.ts).
 * Every request carries an id that its reply repeats. Stats travel as STAT_FIELDS numbers per
 * name in one transferred Float64Array (no object per file).
 */

/** Per name: kind (see Kind), size, mtimeMs, birthtimeMs, ctimeMs, ino, dev. */
export const STAT_FIELDS = 7;

export const Kind = {
  Missing: 0,
  File: 1,
  Directory: 2,
  /** FIFO, socket or device: never opened, never listed. */
  Special: 3,
} as const;

/** stat(2) of many names of one directory. */
export interface StatManyRequest {
  op: 'stat';
  id: number;
  dir: string;
  names: string[];
}

/** One file's stat and, when it is a regular file of at most `max` bytes, its content. */
export interface ReadSmallRequest {
  op: 'small';
  id: number;
  path: string;
  max: number;
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

export type WorkerRequest = StatManyRequest | ReadSmallRequest | PutSmallRequest;

export interface StatManyReply {
  id: number;
  buf: ArrayBuffer;
}

export interface ReadSmallReply {
  id: number;
  buf: ArrayBuffer;
  body?: ArrayBuffer | null;
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

export type WorkerReply = StatManyReply | ReadSmallReply | PutSmallReply;

/** The reply type of each request type. */
export type ReplyOf<R extends WorkerRequest> = R extends StatManyRequest ? StatManyReply : R extends ReadSmallRequest ? ReadSmallReply : PutSmallReply;
