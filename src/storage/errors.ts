/**
 * What a storage backend (or the dead-property store) can report, whatever it is built on: typed
 * domain errors, never HTTP statuses. The error middleware maps them to HTTP in one place
 * (`statusOfStorageError` in src/errors.ts), and the members of a 207 use the same mapping.
 */
export type StorageErrorKind =
  /** Nothing at the path. */
  | 'not-found'
  /** The parent collection of the path does not exist (or is a file). */
  | 'parent-missing'
  /** Something already exists where a new resource was asked for. */
  | 'exists'
  /** A collection where a file was expected (PUT to a collection). */
  | 'is-collection'
  /** A file where a collection was expected. */
  | 'not-collection'
  | 'not-empty'
  /** No space left on the device, or over quota. */
  | 'no-space'
  /** Permission denied, read-only filesystem, or outside the served tree (a symlink out). */
  | 'forbidden'
  /** A path segment longer than the filesystem allows (more than 255 bytes). */
  | 'name-too-long'
  /** A FIFO, socket or device: never opened, copied or read. */
  | 'special-file'
  /** A tree walk met a collection it is already inside (a symlink loop), or went past the depth cap. */
  | 'loop'
  /** Out of file descriptors or otherwise temporarily unable: try again later. */
  | 'busy'
  /** A rename across filesystems that could not be done another way. */
  | 'cross-device'
  /** The body stream failed or the client went away before it was complete. */
  | 'aborted'
  /** A stored value over its cap (dead-property value, owner XML ...). */
  | 'too-large'
  /** Anything else: an I/O error the server cannot explain to the client. */
  | 'io';

export class StorageError extends Error {
  readonly kind: StorageErrorKind;
  /** The errno code behind it, when it came from the filesystem. */
  readonly errno?: string;

  constructor(kind: StorageErrorKind, message?: string, opts: { cause?: unknown; errno?: string } = {}) {
    super(message ?? kind, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.name = 'StorageError';
    this.kind = kind;
    if (opts.errno !== undefined) this.errno = opts.errno;
  }
}

export const isStorageError = (e: unknown, ...kinds: StorageErrorKind[]): e is StorageError =>
  e instanceof StorageError && (kinds.length === 0 || kinds.includes(e.kind));

const errnoOf = (e: unknown): string | undefined => (e as NodeJS.ErrnoException | undefined)?.code;

/** The kind of a Node fs error. */
export function kindOfErrno(code: string | undefined): StorageErrorKind {
  switch (code) {
    case 'ENOENT':
      return 'not-found';
    case 'ENOTDIR':
      return 'parent-missing';
    case 'EEXIST':
      return 'exists';
    case 'ENOTEMPTY':
      return 'not-empty';
    case 'EISDIR':
      return 'is-collection';
    case 'EACCES':
    case 'EPERM':
    case 'EROFS':
      return 'forbidden';
    case 'ENOSPC':
    case 'EDQUOT':
    case 'EFBIG':
      return 'no-space';
    case 'ENAMETOOLONG':
      return 'name-too-long';
    case 'EMFILE':
    case 'ENFILE':
    case 'EBUSY':
    case 'EAGAIN':
      return 'busy';
    case 'EXDEV':
      return 'cross-device';
    case 'ERR_STREAM_PREMATURE_CLOSE':
    case 'ECONNRESET':
    case 'ECONNABORTED':
    case 'ABORT_ERR':
      return 'aborted';
    default:
      return 'io';
  }
}

/** Wraps a Node fs error (keeps StorageErrors as they are). */
export function fromErrno(e: unknown, what = 'storage operation failed'): StorageError {
  if (e instanceof StorageError) return e;
  const code = errnoOf(e);
  const kind = kindOfErrno(code);
  return new StorageError(kind, code ? `${what} (${code})` : what, { cause: e, errno: code });
}
