/** A small 207 body listing per-resource statuses (DELETE, COPY, MOVE failures). */
import type { DavContext } from '../context.js';
import { MULTISTATUS_CLOSE, MULTISTATUS_OPEN, statusResponse } from '../xml/multistatus.js';
import { statusOfStorageKind } from '../errors.js';
import { hrefFor } from '../dav/path.js';
import type { FailedMember } from '../storage/backend.js';

export function multistatusOf(ctx: DavContext, entries: { href: string; status: number }[]): void {
  ctx.status = 207;
  ctx.type = 'application/xml; charset=utf-8';
  ctx.body = MULTISTATUS_OPEN + entries.map((e) => statusResponse(e.href, e.status)).join('') + MULTISTATUS_CLOSE;
}

/** A 207 naming each member a tree operation could not handle, with the status of its storage error. */
export function failedMembers(ctx: DavContext, failed: FailedMember[]): void {
  const prefix = ctx.state.services.options.prefix;
  multistatusOf(
    ctx,
    failed.map((f) => ({ href: hrefFor(prefix, f.path, false), status: statusOfStorageKind(f.kind) })),
  );
}
