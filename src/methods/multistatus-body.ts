/** A small 207 body listing per-resource statuses (DELETE, COPY, MOVE failures). */
import type { DavContext } from '../context.js';
import { MULTISTATUS_CLOSE, MULTISTATUS_OPEN, statusResponse } from '../xml/multistatus.js';

export function multistatusOf(ctx: DavContext, entries: { href: string; status: number }[]): void {
  ctx.status = 207;
  ctx.type = 'application/xml; charset=utf-8';
  ctx.body = MULTISTATUS_OPEN + entries.map((e) => statusResponse(e.href, e.status)).join('') + MULTISTATUS_CLOSE;
}
