/**
 * `<prefix>/.dav/account`: the signed-in user's app passwords and share links. The page is a
 * shell; its script (assets/account.js) lists, makes and revokes them through the JSON endpoints
 * (/.dav/app-passwords, /.dav/shares), shows a new password or link once, and a link's use counts.
 */
import type { DavContext } from '../context.js';
import { esc, head, htmlHeaders, userBox } from './html.js';

export function renderAccountPage(ctx: DavContext, user: string): void {
  const { prefix } = ctx.state.services.options;
  const root = `${prefix}/`;
  const csrf = ctx.state.session?.csrf ?? '';
  const body =
    head(ctx, 'App passwords and share links · Files', `class="page account-page connect" data-api="${esc(`${prefix}/.dav/`)}" data-csrf="${esc(csrf)}"`, ['account.js']) +
    `<header class="top"><nav class="crumbs" aria-label="Path"><ol><li><a href="${esc(root)}">Home</a></li><li><a href="" aria-current="page">App passwords and links</a></li></ol></nav>
${userBox(ctx)}</header>
<main id="main">
<section aria-labelledby="ap-title">
<h2 id="ap-title">App passwords</h2>
<p>A password for one device or program. Use it instead of your main password (for WebDAV clients, not for signing in here); revoke it when the device is gone.</p>
<form id="ap-form" class="form">
<div><label for="ap-label">Label</label><input id="ap-label" name="label" maxlength="64" placeholder="e.g. phone"></div>
<div><label for="ap-expires">Expires</label><select id="ap-expires" name="expires"><option value="">never</option><option value="7d">in 7 days</option><option value="30d">in 30 days</option><option value="90d">in 90 days</option><option value="365d">in a year</option></select></div>
<div><label for="ap-scope">Only this folder</label><input id="ap-scope" name="scope" placeholder="/ (everything)"></div>
<div><label><input type="checkbox" name="readOnly"> read-only</label></div>
<button type="submit" class="btn primary">Create app password</button>
</form>
<p id="ap-new" class="note" hidden></p>
<table class="plain"><thead><tr><th>Label</th><th>Folder</th><th>Access</th><th>Expires</th><th>Last used</th><th><span class="sr">Actions</span></th></tr></thead><tbody id="ap-list"></tbody></table>
</section>
<section aria-labelledby="sh-title">
<h2 id="sh-title">Share links</h2>
<p>A link to a file or folder for people without an account: read-only, or a file drop where they can only upload.</p>
<form id="sh-form" class="form">
<div><label for="sh-path">File or folder</label><input id="sh-path" name="path" required placeholder="/folder/file.pdf"></div>
<div><label><input type="checkbox" name="uploadOnly"> file drop (upload only)</label></div>
<div><label for="sh-password">Password</label><input id="sh-password" name="password" type="password" autocomplete="new-password" placeholder="none"></div>
<div><label for="sh-expires">Expires</label><select id="sh-expires" name="expires"><option value="">never</option><option value="1d">in a day</option><option value="7d">in 7 days</option><option value="30d">in 30 days</option></select></div>
<div><label for="sh-down">Download limit</label><input id="sh-down" name="maxDownloads" inputmode="numeric" placeholder="none"></div>
<div><label for="sh-up">Upload limit</label><input id="sh-up" name="maxUploads" inputmode="numeric" placeholder="none"></div>
<button type="submit" class="btn primary">Create link</button>
</form>
<p id="sh-new" class="note" hidden></p>
<table class="plain"><thead><tr><th>Path</th><th>Kind</th><th>Link</th><th>Expires</th><th>Downloads</th><th>Uploads</th><th><span class="sr">Actions</span></th></tr></thead><tbody id="sh-list"></tbody></table>
</section>
<div class="toasts" id="messages" aria-live="polite"></div>
<noscript><p class="muted">This page needs JavaScript. The same is available from the command line: koa-webdav-server app-password / share.</p></noscript>
</main>
</body></html>
`;
  htmlHeaders(ctx);
  ctx.status = 200;
  ctx.body = body;
}
