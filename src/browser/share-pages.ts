/**
 * The page of a file-drop link: an upload form (files picked or dropped, a progress bar each)
 * and nothing of what the folder holds. Its script (assets/drop.js) PUTs each file to the link's
 * WebDAV root, where a taken name is stored under a free one; without JavaScript any WebDAV
 * client or `curl -T FILE <link>` does the same. A read-only link's page is the ordinary listing.
 */
import type { DavContext } from '../context.js';
import { href } from '../methods/common.js';
import { assetUrl } from './assets.js';
import { esc, PAGE_CSP } from './listing.js';

export function renderDropPage(ctx: DavContext, limits: { maxUploads: number | null; expires: number | null }): void {
  const root = href(ctx, '/', true);
  const notes = [
    limits.maxUploads !== null ? `at most ${limits.maxUploads} file${limits.maxUploads === 1 ? '' : 's'} in all` : '',
    limits.expires !== null ? `until ${new Date(limits.expires).toISOString().slice(0, 16).replace('T', ' ')} UTC` : '',
  ].filter(Boolean);
  const body = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>Upload files</title>
<link rel="icon" href="data:,">
<link rel="stylesheet" href="${esc(assetUrl(root, 'app.css'))}">
<script src="${esc(assetUrl(root, 'drop.js'))}" defer></script>
</head>
<body class="drop-page" data-base="${esc(root)}">
<header class="top"><h1>Upload files</h1>
<div class="actions"><label class="btn primary" id="upload-label"><span>Choose files</span><input type="file" id="file-input" multiple></label></div>
<p class="who">Files you upload here are delivered to the person who shared this link. You cannot see what is already there${notes.length ? ` (${esc(notes.join(', '))})` : ''}.</p></header>
<div id="messages" aria-live="polite"></div>
<main><p class="empty" id="drop-hint">Drop files anywhere on this page, or use Choose files.</p>
<ul id="upload-list"></ul></main>
<noscript><p class="note">Uploading from this page needs JavaScript. Any WebDAV client works too, or: <code>curl -T FILE ${esc(root)}</code></p></noscript>
</body></html>
`;
  ctx.status = 200;
  ctx.type = 'text/html; charset=utf-8';
  ctx.set('Content-Security-Policy', PAGE_CSP);
  ctx.set('X-Content-Type-Options', 'nosniff');
  ctx.set('Referrer-Policy', 'no-referrer');
  ctx.set('Cache-Control', 'no-cache, no-store');
  ctx.set('Content-Length', String(Buffer.byteLength(body)));
  if (ctx.method !== 'HEAD') ctx.body = body;
}
