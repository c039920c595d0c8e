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

/** Maps a Node fs error to the status a WebDAV client should see. */
export function statusForFsError(err: unknown): number {
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  switch (code) {
    case 'ENOENT':
      return 404;
    case 'ENOTDIR':
      return 409;
    case 'EACCES':
    case 'EPERM':
    case 'EROFS':
      return 403;
    case 'ENOSPC':
    case 'EDQUOT':
      return 507;
    case 'EEXIST':
    case 'ENOTEMPTY':
      return 409;
    case 'EISDIR':
      return 405;
    case 'ENAMETOOLONG':
      return 414;
    case 'EMFILE':
    case 'ENFILE':
    case 'EBUSY':
      return 503;
    case 'EXDEV':
      return 502;
    default:
      return 500;
  }
}

/** Wraps an fs error as a DavError (keeps DavErrors as they are). */
export function fromFsError(err: unknown, what = 'storage operation failed'): DavError {
  if (err instanceof DavError) return err;
  const status = statusForFsError(err);
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  const message =
    status === 507 ? 'Insufficient storage' : status === 403 ? 'Permission denied' : code ? `${what} (${code})` : what;
  const e = new DavError(status, message);
  if (status === 500) (e as { cause?: unknown }).cause = err;
  if (status === 503) e.headers['Retry-After'] = '1';
  return e;
}
