import { fromErrno, type StorageError, type StorageErrorKind } from './storage/errors.js';

/**
 * Every failure a handler can report is a DavError: it knows its HTTP status and, where RFC 4918
 * names one, the precondition/postcondition element that goes into the DAV:error body (section 16).
 */
export interface DavErrorOptions {
  /** Local name of the DAV: condition element, e.g. `lock-token-submitted`. */
  condition?: string;
  /** hrefs placed inside the condition element (already encoded URLs). */
  hrefs?: string[];
  headers?: Record<string, string>;
}

export class DavError extends Error {
  readonly status: number;
  readonly condition?: string;
  readonly hrefs: string[];
  readonly headers: Record<string, string>;

  constructor(status: number, message?: string, options: DavErrorOptions = {}) {
    super(message ?? `HTTP ${status}`);
    this.name = 'DavError';
    this.status = status;
    this.condition = options.condition;
    this.hrefs = options.hrefs ?? [];
    this.headers = options.headers ?? {};
  }
}

export const isDavError = (e: unknown): e is DavError => e instanceof DavError;

/** HTTP status of each storage error kind: the one place storage failures become HTTP. */
const STATUS_OF_KIND: Record<StorageErrorKind, number> = {
  'not-found': 404,
  'parent-missing': 409,
  exists: 405,
  'is-collection': 405,
  'not-collection': 409,
  'not-empty': 409,
  'no-space': 507,
  forbidden: 403,
  'name-too-long': 414,
  'special-file': 403,
  loop: 508,
  busy: 503,
  'cross-device': 502,
  aborted: 400,
  'too-large': 413,
  io: 500,
};

export const statusOfStorageKind = (kind: StorageErrorKind): number => STATUS_OF_KIND[kind];

/** The answer for a storage error (used by the error middleware and for 207 members). */
export function davErrorOfStorage(err: StorageError): DavError {
  const status = statusOfStorageKind(err.kind);
  const message =
    status === 507 ? 'Insufficient storage' : err.kind === 'aborted' ? 'Upload aborted by the client' : status === 403 && err.kind === 'forbidden' && err.errno ? 'Permission denied' : err.message;
  const e = new DavError(status, message);
  if (status === 500) (e as { cause?: unknown }).cause = err.cause ?? err;
  if (status === 503) e.headers['Retry-After'] = '1';
  return e;
}

/** Maps a Node fs error to the status a WebDAV client should see. */
export function statusForFsError(err: unknown): number {
  if (err instanceof DavError) return err.status;
  return statusOfStorageKind(fromErrno(err).kind);
}

/** Wraps an fs or storage error as a DavError (keeps DavErrors as they are). */
export function fromFsError(err: unknown, what = 'storage operation failed'): DavError {
  if (err instanceof DavError) return err;
  return davErrorOfStorage(fromErrno(err, what));
}
