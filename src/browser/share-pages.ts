/**
 * The page of a file-drop link: an upload form (files picked or dropped, a progress bar each)
 * and nothing of what the folder holds. Its script (assets/drop.js) PUTs each file to the link's
 * WebDAV root, where a taken name is stored under a free one; without JavaScript any WebDAV
 * client or `curl -T FILE <link>` does the same. A read-only link's page is the ordinary listing.
 */
import type { DavContext } from '../context.js';
import { href } from '../methods/common.js';
import { esc, head, htmlHeaders } from './html.js';

export function renderDropPage(ctx: DavContext, limits: { maxUploads: number | null; expires: number | null }): void {
  const root = href(ctx, '/', true);
  const notes = [
    limits.maxUploads !== null ? `at most ${limits.maxUploads} file${limits.maxUploads === 1 ? '' : 's'} in all` : '',
    limits.expires !== null ? `until ${new Date(limits.expires).toISOString().slice(0, 16).replace('T', ' ')} UTC` : '',
  ].filter(Boolean);
  const body =
    head(ctx, 'Upload files', `class="page drop-page" data-base="${esc(root)}"`, ['drop.js']) +
    `<main id="main" class="card-page">
<h1>Upload files</h1>
<p>Files you upload here are delivered to the person who shared this link. You cannot see what is already there${notes.length ? ` (${esc(notes.join(', '))})` : ''}.</p>
<p class="buttons"><label class="btn primary" id="upload-label"><span>Choose files</span><input type="file" id="file-input" multiple></label></p>
<p class="muted" id="drop-hint">Or drop files anywhere on this page.</p>
<ul id="upload-list"></ul>
<div class="toasts" id="messages" aria-live="polite"></div>
<noscript><p class="muted">Uploading from this page needs JavaScript. Any WebDAV client works too, or: <code>curl -T FILE ${esc(root)}</code></p></noscript>
</main>
</body></html>
`;
  htmlHeaders(ctx);
  ctx.set('Referrer-Policy', 'no-referrer');
  ctx.status = 200;
  ctx.set('Content-Length', String(Buffer.byteLength(body)));
  if (ctx.method !== 'HEAD') ctx.body = body;
}
