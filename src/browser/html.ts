/**
 * Pieces every page of the browser interface shares: escaping, the icon sprite, the document
 * head (own stylesheet, scripts and favicon only, under a strict CSP), the top bar with the
 * signed-in user, and the friendly error page.
 */
import type { DavContext } from '../context.js';
import { href } from '../methods/common.js';
import { assetUrl } from './assets.js';

const ESC: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };
/** Escapes text for HTML content and (double- or single-quoted) attribute values. */
export const esc = (s: string): string => s.replace(/[&<>"']/g, (c) => ESC[c]!);

/**
 * Own script, style, images and media only; frames only for the viewer's PDFs (same origin);
 * no inline code anywhere. `connect-src 'self'` lets the page speak WebDAV to its own server.
 */
export const PAGE_CSP =
  "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; media-src 'self'; frame-src 'self'; " +
  "connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'";

export function humanSize(n: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB'];
  let i = 0;
  while (n >= 1024 && i < units.length - 1) {
    n /= 1024;
    i++;
  }
  return i === 0 ? `${n} B` : `${n.toFixed(n < 10 ? 1 : 0)} ${units[i]}`;
}

/** Security headers of every HTML page (listing, search results, login, connect, errors). */
export function htmlHeaders(ctx: DavContext): void {
  ctx.type = 'text/html; charset=utf-8';
  ctx.set('Content-Security-Policy', PAGE_CSP);
  ctx.set('X-Content-Type-Options', 'nosniff');
  ctx.set('Referrer-Policy', 'same-origin');
  ctx.set('Cache-Control', 'no-cache, no-store');
}

/** Encoded href of one of the server's own endpoints under the reserved `/.dav/` segment. */
export const davHref = (ctx: DavContext, rest: string): string => `${ctx.state.services.options.prefix}/.dav/${rest}`;

const P = {
  dir: 'M2 5.5A1.5 1.5 0 0 1 3.5 4h5l2 2.5h10A1.5 1.5 0 0 1 22 8v10.5a1.5 1.5 0 0 1-1.5 1.5h-17A1.5 1.5 0 0 1 2 18.5z',
  file: 'M6.5 2H14l5 5v13.5a1.5 1.5 0 0 1-1.5 1.5h-11A1.5 1.5 0 0 1 5 20.5v-17A1.5 1.5 0 0 1 6.5 2zm7 1.5V8H18z',
};
const SYMBOLS: Record<string, string> = {
  dir: `<path d="${P.dir}"/>`,
  file: `<path d="${P.file}"/>`,
  image: `<path d="M4 4h16a1 1 0 0 1 1 1v14a1 1 0 0 1-1 1H4a1 1 0 0 1-1-1V5a1 1 0 0 1 1-1zm1 13h14l-4.5-6-3.5 4.5-2.5-3zM8 10a1.8 1.8 0 1 0 0-3.6A1.8 1.8 0 0 0 8 10z"/>`,
  video: `<path d="M3 6a1 1 0 0 1 1-1h11a1 1 0 0 1 1 1v3.5l5-3v11l-5-3V18a1 1 0 0 1-1 1H4a1 1 0 0 1-1-1z"/>`,
  audio: `<path d="M9 17.5V5l11-2v12.5a2.5 2.5 0 1 1-2-2.45V6.4l-7 1.3v9.8a2.5 2.5 0 1 1-2-2.45z"/>`,
  pdf: `<path d="${P.file}"/><path fill="var(--bg)" d="M8 13h2.2a1.4 1.4 0 0 1 0 2.8H9.2V18H8zm1.2 1v.8h.9a.4.4 0 0 0 0-.8zM12 13h1.5a2 2 0 0 1 0 5H12zm1.2 1v3h.3a1 1 0 0 0 0-3z"/>`,
  text: `<path d="${P.file}"/><path fill="var(--bg)" d="M8 12h8v1.3H8zm0 3h8v1.3H8zm0 3h5v1.3H8z"/>`,
  code: `<path d="${P.file}"/><path fill="var(--bg)" d="M10 12.5l-2.5 2.7 2.5 2.8-1 .9-3.3-3.7 3.3-3.6zm4 0l1-.9 3.3 3.6-3.3 3.7-1-.9 2.5-2.8z"/>`,
  markdown: `<path d="${P.file}"/><path fill="var(--bg)" d="M7 18v-6h1.5l1.5 2 1.5-2H13v6h-1.5v-3.5l-1.5 2-1.5-2V18zm8.5 0L13.8 15.5h1.2V12h1.5v3.5h1.2z"/>`,
  word: `<path d="${P.file}"/><path fill="var(--bg)" d="M7.5 12h1.4l.9 4 1-4h1.3l1 4 .9-4h1.4l-1.6 6h-1.3l-1-3.9-1 3.9H9.1z"/>`,
  excel: `<path d="${P.file}"/><path fill="var(--bg)" d="M8 12h1.7l1.3 2 1.3-2H14l-2.1 3 2.1 3h-1.7L11 16l-1.3 2H8l2.1-3z"/>`,
  powerpoint: `<path d="${P.file}"/><path fill="var(--bg)" d="M9 12h2.5a2 2 0 0 1 0 4h-1.2v2H9zm1.3 1.2v1.6h1.1a.8.8 0 0 0 0-1.6z"/>`,
  office: `<path d="${P.file}"/><path fill="var(--bg)" d="M8 12h8v6H8zm1.3 1.3v3.4h5.4v-3.4z"/>`,
  archive: `<path d="${P.file}"/><path fill="var(--bg)" d="M10 10h1.5v1.5H10zm1.5 1.5H13V13h-1.5zM10 13h1.5v1.5H10zm0 2.5h3V19h-3z"/>`,
  lock: '<path d="M7 10V7a5 5 0 0 1 10 0v3h1a1 1 0 0 1 1 1v10a1 1 0 0 1-1 1H6a1 1 0 0 1-1-1V11a1 1 0 0 1 1-1zm2 0h6V7a3 3 0 0 0-6 0z"/>',
  edit: '<path d="M4 17.2V20h2.8l9.9-9.9-2.8-2.8zM19.7 7.1a1 1 0 0 0 0-1.4l-1.4-1.4a1 1 0 0 0-1.4 0l-1.2 1.2 2.8 2.8z"/>',
  rename: '<path d="M3 17h12v2H3zm0-4h8v2H3zm14.5-8.5 2 2-7 7H10.5v-2zM3 5h8v2H3z"/>',
  del: '<path d="M9 3h6l1 2h4v2H4V5h4zM6 9h12l-1 12H7z"/>',
  up: '<path d="M12 4l7 7h-4v9H9v-9H5z"/>',
  plus: '<path d="M11 5h2v6h6v2h-6v6h-2v-6H5v-2h6z"/>',
  download: '<path d="M11 3h2v9.2l3.3-3.3 1.4 1.4L12 16l-5.7-5.7 1.4-1.4 3.3 3.3zM4 18h16v2H4z"/>',
  grid: '<path d="M4 4h7v7H4zm9 0h7v7h-7zM4 13h7v7H4zm9 0h7v7h-7z"/>',
  list: '<path d="M4 5h16v2.5H4zm0 5.75h16v2.5H4zm0 5.75h16V19H4z"/>',
  search: '<path d="M10 3a7 7 0 0 1 5.6 11.2l5.1 5.1-1.4 1.4-5.1-5.1A7 7 0 1 1 10 3zm0 2a5 5 0 1 0 0 10 5 5 0 0 0 0-10z"/>',
  close: '<path d="M6.4 5 12 10.6 17.6 5 19 6.4 13.4 12l5.6 5.6-1.4 1.4-5.6-5.6L6.4 19 5 17.6 10.6 12 5 6.4z"/>',
  prev: '<path d="M15.4 5.4 14 4l-8 8 8 8 1.4-1.4L8.8 12z"/>',
  next: '<path d="M8.6 5.4 10 4l8 8-8 8-1.4-1.4 6.6-6.6z"/>',
  move: '<path d="M2 5.5A1.5 1.5 0 0 1 3.5 4h5l2 2.5h10A1.5 1.5 0 0 1 22 8v10.5a1.5 1.5 0 0 1-1.5 1.5h-17A1.5 1.5 0 0 1 2 18.5zm10 4v2.5H7v2h5V17l4-3.5z"/>',
  copy: '<path d="M8 3h10a2 2 0 0 1 2 2v12h-2V5H8zM4 7h10a2 2 0 0 1 2 2v11a2 2 0 0 1-2 2H4a2 2 0 0 1-2-2V9a2 2 0 0 1 2-2zm0 2v11h10V9z"/>',
  connect: '<path d="M10.6 13.4a1 1 0 0 1 0-1.4l3.5-3.5a3 3 0 0 1 4.2 4.2l-2 2-1.4-1.4 2-2a1 1 0 0 0-1.4-1.4L12 13.4a1 1 0 0 1-1.4 0zm2.8-2.8a1 1 0 0 1 0 1.4l-3.5 3.5a3 3 0 0 1-4.2-4.2l2-2 1.4 1.4-2 2a1 1 0 0 0 1.4 1.4L12 10.6a1 1 0 0 1 1.4 0z"/>',
  user: '<path d="M12 12a4.5 4.5 0 1 0 0-9 4.5 4.5 0 0 0 0 9zm-8 9a8 8 0 0 1 16 0z"/>',
  newfile: `<path d="${P.file}"/><path fill="var(--bg)" d="M11.2 11h1.6v2.6h2.6v1.6h-2.6v2.6h-1.6v-2.6H8.6v-1.6h2.6z"/>`,
  folderup: `<path d="${P.dir}"/><path fill="var(--bg)" d="M12 9.5l3.5 3.5h-2.5v4h-2v-4H8.5z"/>`,
};

/** The icon sprite, once per page; `icon()` refers to its symbols. */
export const ICONS =
  '<svg class="sprite" aria-hidden="true" xmlns="http://www.w3.org/2000/svg">' +
  Object.entries(SYMBOLS)
    .map(([id, body]) => `<symbol id="i-${id}" viewBox="0 0 24 24">${body}</symbol>`)
    .join('') +
  '</svg>';

export const icon = (id: string, cls = 'icon'): string => `<svg class="${cls}" aria-hidden="true"><use href="#i-${id}"/></svg>`;

/**
 * The same icons as CSS masks (served as the generated stylesheet icons.css): `<span class="icon
 * k-ID">` draws one in the current colour without any SVG node. Rows use these: 200 rows of
 * `<svg><use>` took about half of a big folder's time to interactive in Chromium. Cut-outs
 * (the glyph on a file) become holes through the even-odd rule.
 */
export function iconsCss(): string {
  const rules = Object.entries(SYMBOLS).map(([id, body]) => {
    const d = [...body.matchAll(/ d="([^"]+)"/g)].map((m) => m[1]).join(' ');
    const svg = `<svg xmlns='http://www.w3.org/2000/svg' viewBox='0 0 24 24'><path fill-rule='evenodd' d='${d}'/></svg>`;
    return `.k-${id}{--icon:url("data:image/svg+xml,${encodeURIComponent(svg).replace(/'/g, '%27')}")}`;
  });
  return (
    '/* Generated from the icon sprite in src/browser/html.ts. */\n' +
    '.icon[class*=" k-"]{display:inline-block;background:currentColor;-webkit-mask:var(--icon) center/contain no-repeat;mask:var(--icon) center/contain no-repeat}\n' +
    '.op[class*=" k-"]::before{content:"";display:block;width:1.25em;height:1.25em;background:currentColor;-webkit-mask:var(--icon) center/contain no-repeat;mask:var(--icon) center/contain no-repeat}\n' +
    rules.join('\n') +
    '\n'
  );
}

/** A row's icon: a masked span (see iconsCss). */
export const maskIcon = (id: string, cls = 'icon'): string => `<span class="${cls} k-${id}" aria-hidden="true"></span>`;

/** Names of the page's script files, loaded in this order (plain scripts sharing `window.DavPage`). */
export const SCRIPTS = ['app.js', 'upload.js', 'tus.js', 'viewer.js'];

/** `<!doctype html>` through `<body ...>` for a page titled `title`. */
export function head(ctx: DavContext, title: string, bodyAttrs: string, scripts = SCRIPTS): string {
  const root = href(ctx, '/', true);
  const js = scripts.map((s) => `<script src="${esc(assetUrl(root, s))}" defer></script>`).join('\n');
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="color-scheme" content="light dark">
<title>${esc(title)}</title>
<link rel="icon" href="${esc(assetUrl(root, 'favicon.svg'))}" type="image/svg+xml">
<link rel="stylesheet" href="${esc(assetUrl(root, 'app.css'))}">
<link rel="stylesheet" href="${esc(assetUrl(root, 'icons.css'))}">
${js}
</head>
<body ${bodyAttrs}>
${ICONS}
<a class="skip" href="#main">Skip to the files</a>
`;
}

/**
 * The signed-in user and what they can do about it: a sign-out button (a form, so it works without
 * JavaScript) for a page session, a note for Basic credentials (a browser forgets those only when
 * it closes), a sign-in link when the server asks for credentials and none were given.
 */
export function userBox(ctx: DavContext): string {
  const { user, readOnly, session } = ctx.state;
  // A share link's visitor has no account here: nothing to connect or sign in to.
  if (ctx.state.share) return '';
  const connect = `<a class="btn link" href="${esc(davHref(ctx, 'connect'))}">${icon('connect')}<span>Connect</span></a>`;
  if (!user) return `<div class="who">${connect}</div>`;
  const ro = readOnly ? ' <span class="ro" title="You can browse and download, not change files">read-only</span>' : '';
  const out = session
    ? `<form class="logout" method="post" action="${esc(davHref(ctx, 'logout'))}"><input type="hidden" name="csrf" value="${esc(session.csrf)}"><button type="submit" class="btn">Sign out</button></form>`
    : '';
  return `<div class="who">${connect}<span class="user">${icon('user', 'icon small')}<span>Signed in as <strong>${esc(user)}</strong></span>${ro}</span>${out}</div>`;
}

const REASONS: Record<number, [string, string]> = {
  400: ['Bad request', 'The server could not understand that address.'],
  401: ['Sign-in needed', 'This server needs your name and password.'],
  403: ['Not allowed', 'You do not have access to this.'],
  404: ['Not found', 'Nothing is stored at this address. It may have been moved, renamed or deleted.'],
  429: ['Too many attempts', 'Too many failed sign-ins came from here. Wait a few minutes, then try again.'],
};

/** A friendly HTML page for an error a person met while browsing, with a way home (and to sign in). */
export function errorPage(ctx: DavContext, status: number, detail: string): string {
  const [title, text] = REASONS[status] ?? ['Something went wrong', 'The server could not answer this request.'];
  const home = href(ctx, '/', true);
  const signIn =
    status === 401 || (status === 403 && !ctx.state.user)
      ? `<a class="btn primary" href="${esc(davHref(ctx, 'login'))}?next=${encodeURIComponent(ctx.originalUrl)}">Sign in</a>`
      : '';
  return (
    head(ctx, `${title} · Files`, 'class="page error-page"', []) +
    `<main id="main" class="card-page">
<h1>${esc(title)}</h1>
<p>${esc(text)}</p>${detail && detail !== title ? `\n<p class="detail">${esc(detail)}</p>` : ''}
<p class="buttons">${signIn}<a class="btn${signIn ? '' : ' primary'}" href="${esc(home)}">Go to your files</a></p>
</main>
</body></html>
`
  );
}
