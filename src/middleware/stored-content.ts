/**
 * Headers for the bytes of a stored file. Anyone who may write a file could otherwise publish a
 * page that runs on this server's origin with the visitor's credentials. Every stored file is
 * sent with `X-Content-Type-Options: nosniff` (a browser must not guess HTML in a text file),
 * and every type a browser may render as an active document (HTML, XHTML, SVG, the XML family
 * with RSS/Atom and XSLT, and any type not known to be passive, octet-stream included) with
 * `Content-Security-Policy: sandbox`: an opaque origin, no scripts, no forms. Passive types keep
 * their viewers (images but SVG, audio, video, fonts, plain text, CSS, JSON, JavaScript shown as
 * text, PDF, whose viewer does not run under a sandbox).
 */
import type { DavContext } from '../context.js';

const PASSIVE = /^(?:image\/(?!svg)|audio\/|video\/|font\/|text\/(?:plain|css|csv|markdown|javascript)\b|application\/(?:pdf|json|javascript)\b)/i;

export const isPassiveType = (type: string): boolean => PASSIVE.test(type);

export function protectStoredFile(ctx: DavContext, type: string): void {
  ctx.set('X-Content-Type-Options', 'nosniff');
  if (!isPassiveType(type)) ctx.set('Content-Security-Policy', 'sandbox');
}
