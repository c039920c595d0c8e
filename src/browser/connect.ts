/**
 * `<prefix>/.dav/connect`: how to mount this server, written for its actual public URL (the
 * request's scheme and host, or a trusted proxy's) and the signed-in user: Windows (net use, the
 * Explorer dialog, a .reg file for the WebClient limits), macOS Finder, GNOME Files, KDE Dolphin,
 * davfs2, rclone, and phone apps. Every command has a copy button (assets/connect.js); without
 * JavaScript the text can still be selected and copied.
 *
 * `<prefix>/.dav/connect/webclient.reg` is the Windows registry file the page explains.
 */
import type { DavContext } from '../context.js';
import { publicOrigin, publicScheme } from '../auth/session.js';
import { davHref, esc, head, htmlHeaders, userBox } from './html.js';

/** Windows' WebClient refuses Basic over plain HTTP unless BasicAuthLevel is 2. */
export function webclientReg(https: boolean): string {
  return [
    'Windows Registry Editor Version 5.00',
    '',
    '; WebClient (Windows WebDAV redirector) settings for koa-webdav-server.',
    `; BasicAuthLevel: 0 = never send passwords with Basic, 1 = only over HTTPS (the default), 2 = over HTTPS and plain HTTP.`,
    '; FileSizeLimitInBytes: largest file Explorer copies (default 50,000,000 bytes, about 47 MiB; ffffffff is the most, 4 GiB - 1).',
    '; Restart the WebClient service afterwards: net stop webclient, then net start webclient.',
    '[HKEY_LOCAL_MACHINE\\SYSTEM\\CurrentControlSet\\Services\\WebClient\\Parameters]',
    `"BasicAuthLevel"=dword:0000000${https ? 1 : 2}`,
    '"FileSizeLimitInBytes"=dword:ffffffff',
    '',
  ].join('\r\n');
}

let ids = 0;
/** A block of text with a copy button. */
function copyable(text: string, label: string): string {
  const id = `copy-${++ids}`;
  return `<div class="copyable"><pre id="${id}" tabindex="0" aria-label="${esc(label)}">${esc(text)}</pre><button type="button" class="btn small copy" data-copy="${id}" aria-label="Copy: ${esc(label)}">Copy</button></div>`;
}

export function connectPage(ctx: DavContext): string {
  ids = 0;
  const origin = publicOrigin(ctx);
  const https = publicScheme(ctx) === 'https';
  const prefix = ctx.state.services.options.prefix;
  const url = `${origin}${prefix}/`;
  const u = new URL(url);
  const hostPort = u.host;
  const hostOnly = u.hostname;
  const path = u.pathname;
  const user = ctx.state.user ?? '';
  const who = user || 'YOUR-NAME';
  const gnome = `${https ? 'davs' : 'dav'}://${hostPort}${path}`;
  const kde = `${https ? 'webdavs' : 'webdav'}://${hostPort}${path}`;
  const netUse = `net use Z: "${url}" /user:${who} * /persistent:yes`;
  const unc = `\\\\${hostOnly}${https ? '@SSL' : ''}${u.port ? '@' + u.port : ''}\\DavWWWRoot${path.replace(/\/$/, '').replace(/\//g, '\\')}`;
  const fstab = `${url} /mnt/files davfs rw,user,noauto,uid=1000,gid=1000,_netdev 0 0`;
  const secrets = `${url} ${who} "YOUR-PASSWORD"`;
  const rclone = `[files]\ntype = webdav\nurl = ${url}\nvendor = owncloud\nuser = ${who}\npass = (the output of: rclone obscure 'YOUR-PASSWORD')`;
  const rcloneCmd = `rclone config create files webdav url=${url} vendor=owncloud user=${who} pass='YOUR-PASSWORD' --obscure`;
  const plainHttp = !https
    ? `<p class="note locked-folder">This server is reached over plain HTTP: passwords cross the network readable. Windows refuses that unless told otherwise (the .reg file below); ask the operator for HTTPS (<code>--tls-cert</code>) when you connect from another machine.</p>`
    : '';
  return (
    head(ctx, 'Connect · Files', 'class="page connect-page"', ['connect.js']) +
    `<header class="top"><div class="bar"><nav class="crumbs" aria-label="Folder path"><ol><li><a href="${esc(prefix + '/')}">Home</a></li><li><a href="${esc(davHref(ctx, 'connect'))}" aria-current="page">Connect</a></li></ol></nav>${userBox(ctx)}</div></header>
<main id="main" class="connect" tabindex="-1">
<h1>Connect a computer or phone</h1>
<p>Open these files as a drive or a folder in your own apps: they speak WebDAV to this server. Use this address${user ? ` and your name <strong>${esc(user)}</strong> with your password` : ''}:</p>
${copyable(url, 'Server address')}
${plainHttp}
<section aria-labelledby="h-windows"><h2 id="h-windows">Windows</h2>
<h3>File Explorer</h3>
<ol><li>Right-click <em>This PC</em>, choose <em>Map network drive…</em>.</li>
<li>Folder: the address above; tick <em>Connect using different credentials</em>; <em>Finish</em>, then enter ${user ? `<strong>${esc(user)}</strong>` : 'your name'} and your password.</li></ol>
<h3>Command prompt</h3>
${copyable(netUse, 'Windows net use command')}
<p>The same place as a network path (for <em>Run</em> or the address bar):</p>
${copyable(unc, 'Windows network path')}
<h3>Windows limits (registry)</h3>
<p>Windows' WebDAV client has two settings people trip over. <strong>BasicAuthLevel</strong> says when it may send your password: 0 never, 1 only over HTTPS (the default), 2 also over plain HTTP. <strong>FileSizeLimitInBytes</strong> is the largest file it copies: 50,000,000 bytes (about 47 MiB) unless raised; the file below raises it to the most, 4 GiB. Open the file to import it (as an administrator), then restart the WebClient service (<code>net stop webclient</code>, <code>net start webclient</code>) or the computer.</p>
<p><a class="btn" href="${esc(davHref(ctx, 'connect/webclient.reg'))}" download="webclient.reg">Download webclient.reg</a> (BasicAuthLevel ${https ? '1' : '2'}, FileSizeLimitInBytes 4 GiB)</p>
</section>
<section aria-labelledby="h-mac"><h2 id="h-mac">macOS Finder</h2>
<ol><li>In Finder choose <em>Go → Connect to Server…</em> (⌘K).</li><li>Enter the address and choose <em>Connect</em>; sign in as ${user ? `<strong>${esc(user)}</strong>` : 'your name'}.</li></ol>
${copyable(url, 'Address for Finder')}
</section>
<section aria-labelledby="h-linux"><h2 id="h-linux">Linux</h2>
<h3>GNOME Files</h3><p><em>Other Locations</em> → <em>Connect to Server</em>:</p>
${copyable(gnome, 'Address for GNOME Files')}
<h3>KDE Dolphin</h3><p>Type into the location bar:</p>
${copyable(kde, 'Address for KDE Dolphin')}
<h3>davfs2 (mount as a folder)</h3>
<p>A line for <code>/etc/fstab</code> (make the folder first: <code>sudo mkdir -p /mnt/files</code>):</p>
${copyable(fstab, 'davfs2 fstab line')}
<p>and for <code>/etc/davfs2/secrets</code> (or <code>~/.davfs2/secrets</code>, mode 600):</p>
${copyable(secrets, 'davfs2 secrets line')}
<p>Then <code>mount /mnt/files</code>.</p>
</section>
<section aria-labelledby="h-rclone"><h2 id="h-rclone">rclone</h2>
<p>A remote for <code>rclone.conf</code>. <code>vendor = owncloud</code> makes rclone ask this server for checksums, so <code>rclone check</code> and <code>sync --checksum</code> compare contents, not only sizes and dates.</p>
${copyable(rclone, 'rclone remote')}
<p>Or in one command:</p>
${copyable(rcloneCmd, 'rclone config command')}
</section>
<section aria-labelledby="h-phones"><h2 id="h-phones">Phones and tablets</h2>
<dl>
<dt>iPhone and iPad</dt><dd>The Files app cannot add WebDAV servers by itself; apps that can: <em>Documents</em> by Readdle (<em>Add connection → WebDAV server</em>), <em>FE File Explorer</em>, <em>Owlfiles</em>. Enter the address, ${user ? `<strong>${esc(user)}</strong>` : 'your name'} and your password.</dd>
<dt>Android</dt><dd><em>Material Files</em> (free and open source: <em>Add storage → WebDAV server</em>), <em>Solid Explorer</em>, <em>X-plore</em>; <em>FolderSync</em> keeps a phone folder in sync. Enter the same address and sign-in.</dd>
</dl>
</section>
</main>
<div id="toasts" class="toasts" aria-live="polite"></div>
</body></html>
`
  );
}

export function serveConnect(ctx: DavContext): void {
  htmlHeaders(ctx);
  ctx.status = 200;
  ctx.body = connectPage(ctx);
}

export function serveReg(ctx: DavContext): void {
  ctx.status = 200;
  // UTF-16LE with a byte order mark: the encoding regedit itself writes for version 5.00 files.
  ctx.type = 'application/octet-stream';
  ctx.set('Content-Disposition', 'attachment; filename="webclient.reg"');
  ctx.set('X-Content-Type-Options', 'nosniff');
  ctx.set('Cache-Control', 'no-store');
  ctx.body = Buffer.from('\ufeff' + webclientReg(publicScheme(ctx) === 'https'), 'utf16le');
}
