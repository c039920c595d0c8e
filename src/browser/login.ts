/**
 * `<prefix>/.dav/login` and `/.dav/logout`: the page's sign-in form (works without JavaScript)
 * and sign-out. The password check is the server's own (the one Basic authentication uses, rate
 * limits included); the session is a cookie (src/auth/session.ts). `?basic=1` asks with the
 * browser's own Basic prompt instead, for people who prefer it.
 */
import type { DavContext } from '../context.js';
import { DavError } from '../errors.js';
import { COOKIE, PREFER_BASIC, publicOrigin, sessionsOf, SESSION_TTL_MS } from '../auth/session.js';
import { davHref, esc, head, htmlHeaders } from './html.js';

const MAX_FORM = 8 * 1024;

/** The defender's answer to a client with too many failed logins (a friendly page for people). */
const banned = (retryAfterSec: number): DavError =>
  new DavError(429, 'Too many failed sign-ins; try again later', { headers: { 'Retry-After': String(retryAfterSec) } });

/** Reads a small urlencoded form body (bounded). */
async function readForm(ctx: DavContext): Promise<URLSearchParams> {
  if (!/^application\/x-www-form-urlencoded\b/i.test(ctx.get('content-type'))) throw new DavError(415, 'Expected a form');
  const chunks: Buffer[] = [];
  let total = 0;
  for await (const c of ctx.req as AsyncIterable<Buffer>) {
    total += c.length;
    if (total > MAX_FORM) throw new DavError(413, 'Form too large', { headers: { Connection: 'close' } });
    chunks.push(c);
  }
  return new URLSearchParams(Buffer.concat(chunks).toString('utf8'));
}

/** Where to go after signing in: a path on this server under the prefix, never another site. */
export function safeNext(ctx: DavContext, raw: unknown): string {
  const prefix = ctx.state.services.options.prefix;
  const home = prefix + '/';
  if (typeof raw !== 'string' || !raw.startsWith(home) || raw.startsWith('//') || /[\\\r\n]/.test(raw) || raw.startsWith(`${prefix}/.dav/login`)) return home;
  return raw;
}

/** A form POST from another site (login CSRF) is refused: the Origin, when sent, must be ours. */
function checkOrigin(ctx: DavContext): void {
  const origin = ctx.get('origin');
  if (origin && origin !== 'null' && origin !== publicOrigin(ctx) && URL.parse(origin)?.host !== ctx.get('host')) throw new DavError(403, 'Cross-site form refused');
  if (ctx.get('sec-fetch-site') === 'cross-site') throw new DavError(403, 'Cross-site form refused');
}

function loginPage(ctx: DavContext, next: string, message: string, kind: 'error' | 'info' = 'error'): string {
  const host = ctx.get('host');
  const action = davHref(ctx, 'login');
  return (
    head(ctx, 'Sign in · Files', 'class="page login-page"', []) +
    `<main id="main" class="card-page">
<h1>Sign in</h1>
<p>to the files on <strong>${esc(host)}</strong>.</p>
${message ? `<p class="${kind === 'error' ? 'field-error' : 'muted'}" role="${kind === 'error' ? 'alert' : 'status'}" id="login-message">${esc(message)}</p>` : ''}
<form class="form" method="post" action="${esc(action)}">
<input type="hidden" name="next" value="${esc(next)}">
<div><label for="user">Name</label><input id="user" name="user" autocomplete="username" autocapitalize="none" spellcheck="false" required autofocus></div>
<div><label for="password">Password</label><input id="password" name="password" type="password" autocomplete="current-password" required></div>
<button class="btn primary" type="submit">Sign in</button>
</form>
<p class="muted">WebDAV clients (Windows Explorer, Finder, rclone, phone apps) use the same name and password: after signing in, see <em>Connect</em>. Prefer your browser's own password prompt? <a href="${esc(action)}?basic=1&amp;next=${esc(encodeURIComponent(next))}">Use it instead</a>.</p>
</main>
</body></html>
`
  );
}

function plainPage(ctx: DavContext, title: string, text: string): string {
  return (
    head(ctx, `${title} · Files`, 'class="page login-page"', []) +
    `<main id="main" class="card-page"><h1>${esc(title)}</h1><p>${esc(text)}</p>
<p class="buttons"><a class="btn primary" href="${esc(ctx.state.services.options.prefix + '/')}">Go to the files</a></p></main>
</body></html>
`
  );
}

export async function loginGet(ctx: DavContext): Promise<void> {
  const sessions = sessionsOf(ctx.state.services);
  const next = safeNext(ctx, ctx.query.next);
  htmlHeaders(ctx);
  ctx.status = 200;
  if (!sessions) {
    ctx.body = plainPage(ctx, 'No sign-in needed', 'This server does not ask for a name and password.');
    return;
  }
  if (ctx.query.basic !== undefined) {
    // The browser's own prompt: a Basic challenge until it sends credentials that work.
    const header = ctx.get('authorization');
    const outcome = header ? await sessions.basic(header, ctx) : null;
    if (outcome && !outcome.ok && outcome.banned) throw banned(outcome.retryAfterSec);
    if (!outcome?.ok) {
      throw new DavError(401, 'Sign in with your browser', { headers: { 'WWW-Authenticate': `Basic realm="${ctx.state.services.options.realm}", charset="UTF-8"` } });
    }
    sessions.setCookie(ctx, '1', 365 * 24 * 3600, PREFER_BASIC);
    ctx.status = 303;
    ctx.redirect(next);
    return;
  }
  const cookie = ctx.cookies.get(COOKIE);
  const current = cookie ? await sessions.check(cookie) : null;
  const note = ctx.query.signedout !== undefined ? 'You are signed out.' : current ? `You are signed in as ${current.user}; signing in again replaces that.` : '';
  ctx.body = loginPage(ctx, next, note, 'info');
}

export async function loginPost(ctx: DavContext): Promise<void> {
  const sessions = sessionsOf(ctx.state.services);
  if (!sessions) throw new DavError(404, 'This server does not ask for a name and password');
  checkOrigin(ctx);
  const form = await readForm(ctx);
  const user = form.get('user') ?? '';
  const password = form.get('password') ?? '';
  const next = safeNext(ctx, form.get('next'));
  htmlHeaders(ctx);
  const outcome = user !== '' && !user.includes(':') ? await sessions.verify(user, password, ctx) : null;
  if (outcome && !outcome.ok && outcome.banned) throw banned(outcome.retryAfterSec);
  const ok = outcome?.ok === true;
  if (!ok || !sessions.hooks.hasAccess(user)) {
    ctx.status = 401;
    ctx.set('WWW-Authenticate', `Session realm="${ctx.state.services.options.realm}"`);
    ctx.body = loginPage(ctx, next, ok ? 'This name has no access configured on this server.' : 'Wrong name or password.');
    return;
  }
  sessions.setCookie(ctx, await sessions.issue(user), SESSION_TTL_MS / 1000);
  if (ctx.cookies.get(PREFER_BASIC)) sessions.setCookie(ctx, '', 0, PREFER_BASIC);
  ctx.status = 303;
  ctx.redirect(next);
}

export async function logoutPost(ctx: DavContext): Promise<void> {
  const sessions = sessionsOf(ctx.state.services);
  const login = davHref(ctx, 'login') + '?signedout=1';
  const cookie = ctx.cookies.get(COOKIE);
  if (sessions && cookie) {
    checkOrigin(ctx);
    const form = await readForm(ctx);
    if (form.get('csrf') !== sessions.csrfOf(cookie)) throw new DavError(403, 'CSRF token missing or wrong (reload the page)');
    const t = await sessions.check(cookie);
    if (t) sessions.revoke(t);
    sessions.setCookie(ctx, '', 0);
  }
  ctx.status = 303;
  ctx.redirect(login);
}
