/**
 * `<prefix>/.dav/account`: the signed-in user's app passwords and share links. The page is a
 * shell; its script (assets/account.js) lists, makes and revokes them through the JSON endpoints
 * (/.dav/app-passwords, /.dav/shares), shows a new password or link once, and a link's use counts.
 */
import type { DavContext } from '../context.js';
import { assetUrl } from './assets.js';
import { esc, PAGE_CSP } from './listing.js';

export function renderAccountPage(ctx: DavContext, user: string): void {
  const { prefix } = ctx.state.services.options;
  const root = `${prefix}/`;
  const csrf = (ctx.state as { session?: { csrf?: string } }).session?.csrf ?? '';
  const body = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>App passwords and share links</title>
<link rel="icon" href="data:,">
<link rel="stylesheet" href="${esc(assetUrl(root, 'app.css'))}">
<script src="${esc(assetUrl(root, 'account.js'))}" defer></script>
</head>
<body class="account-page" data-api="${esc(`${prefix}/.dav/`)}" data-origin-root="${esc(root)}" data-csrf="${esc(csrf)}">
<header class="top"><nav class="crumbs" aria-label="Path"><ol><li><a href="${esc(root)}">Home</a></li><li><a href="" aria-current="page">Account</a></li></ol></nav>
<p class="who">Signed in as <strong>${esc(user)}</strong></p></header>
<div id="messages" aria-live="polite"></div>
<main>
<section aria-labelledby="ap-title">
<h2 id="ap-title">App passwords</h2>
<p>A password for one device or program. Use it instead of your main password; revoke it when the device is gone.</p>
<form id="ap-form" class="stack">
<label>Label <input name="label" maxlength="64" placeholder="e.g. phone"></label>
<label>Expires <select name="expires"><option value="">never</option><option value="7d">in 7 days</option><option value="30d">in 30 days</option><option value="90d">in 90 days</option><option value="365d">in a year</option></select></label>
<label>Only this folder <input name="scope" placeholder="/ (everything)"></label>
<label><input type="checkbox" name="readOnly"> read-only</label>
<button type="submit" class="btn primary">Create app password</button>
</form>
<p id="ap-new" class="note" hidden></p>
<table><thead><tr><th>Label</th><th>Folder</th><th>Access</th><th>Expires</th><th>Last used</th><th><span class="sr">Actions</span></th></tr></thead><tbody id="ap-list"></tbody></table>
</section>
<section aria-labelledby="sh-title">
<h2 id="sh-title">Share links</h2>
<p>A link to a file or folder for people without an account: read-only, or a file drop where they can only upload.</p>
<form id="sh-form" class="stack">
<label>File or folder <input name="path" required placeholder="/folder/file.pdf"></label>
<label><input type="checkbox" name="uploadOnly"> file drop (upload only)</label>
<label>Password <input name="password" type="password" autocomplete="new-password" placeholder="none"></label>
<label>Expires <select name="expires"><option value="">never</option><option value="1d">in a day</option><option value="7d">in 7 days</option><option value="30d">in 30 days</option></select></label>
<label>Download limit <input name="maxDownloads" inputmode="numeric" placeholder="none"></label>
<label>Upload limit <input name="maxUploads" inputmode="numeric" placeholder="none"></label>
<button type="submit" class="btn primary">Create link</button>
</form>
<p id="sh-new" class="note" hidden></p>
<table><thead><tr><th>Path</th><th>Kind</th><th>Link</th><th>Expires</th><th>Downloads</th><th>Uploads</th><th><span class="sr">Actions</span></th></tr></thead><tbody id="sh-list"></tbody></table>
</section>
</main>
<noscript><p class="note">This page needs JavaScript. The same is available from the command line: koa-webdav-server app-password / share.</p></noscript>
</body></html>
`;
  ctx.status = 200;
  ctx.type = 'text/html; charset=utf-8';
  ctx.set('Content-Security-Policy', PAGE_CSP);
  ctx.set('X-Content-Type-Options', 'nosniff');
  ctx.set('Referrer-Policy', 'same-origin');
  ctx.set('Cache-Control', 'no-cache, no-store');
  ctx.body = body;
}
