/**
 * What the signed-in user's own endpoints (app passwords, shares) share: who may call them and
 * how they read a request. They change credentials and make public links, so:
 *
 * - only a user signed in with their main password (or the page's session) may call them; an
 *   app password may not (it could otherwise widen its own scope) and neither may anonymous
 *   clients of a server without authentication;
 * - a change must come as `Content-Type: application/json` (or DELETE), which a form on another
 *   site cannot send without a CORS preflight, and an `Origin`, when sent, must be this server.
 *
 * `GET <prefix>/.dav/account` is the page that manages both (src/browser/account-page.ts).
 */
import type { DavContext } from '../context.js';
import { DavError } from '../errors.js';
import { renderAccountPage } from '../browser/account-page.js';
import type { FeatureRoutes } from './types.js';

const MAX_JSON = 16 * 1024;

/** The user managing their account; refuses anything else (see above). */
export function accountUser(ctx: DavContext): string {
  const user = ctx.state.user;
  if (!user) throw new DavError(403, 'Sign in first: app passwords and share links belong to a user (the server needs --htpasswd)');
  if (ctx.state.appPassword !== undefined) throw new DavError(403, 'An app password cannot manage app passwords or share links: use your main password');
  if (ctx.method !== 'GET' && ctx.method !== 'HEAD') {
    const origin = ctx.get('origin');
    if (origin && origin !== 'null') {
      let host = '';
      try {
        host = new URL(origin).host;
      } catch {
        // unparsable: refused below
      }
      const fwd = ctx.state.services.options.trustProxy ? ctx.get('x-forwarded-host').split(',')[0]!.trim() : '';
      if (host !== ctx.get('host') && (!fwd || host !== fwd)) throw new DavError(403, 'Cross-site request refused');
    }
  }
  return user;
}

/** A small JSON object body (POST). */
export async function readJson(ctx: DavContext): Promise<Record<string, unknown>> {
  if (!/^application\/json\b/i.test(ctx.get('content-type'))) {
    ctx.req.resume();
    throw new DavError(415, 'Send the request as application/json');
  }
  const chunks: Buffer[] = [];
  let total = 0;
  for await (const c of ctx.req as AsyncIterable<Buffer>) {
    total += c.length;
    if (total > MAX_JSON) throw new DavError(413, 'Request too large', { headers: { Connection: 'close' } });
    chunks.push(c);
  }
  let body: unknown;
  try {
    body = JSON.parse(Buffer.concat(chunks).toString('utf8') || '{}');
  } catch {
    throw new DavError(400, 'The body is not valid JSON');
  }
  if (!body || typeof body !== 'object' || Array.isArray(body)) throw new DavError(400, 'Expected a JSON object');
  return body as Record<string, unknown>;
}

/** A JSON answer that is never cached. */
export function sendJson(ctx: DavContext, status: number, body: unknown): void {
  ctx.status = status;
  ctx.set('Cache-Control', 'no-store');
  ctx.type = 'application/json; charset=utf-8';
  ctx.body = JSON.stringify(body);
}

export const optString = (v: unknown, what: string): string | undefined => {
  if (v === undefined || v === null || v === '') return undefined;
  if (typeof v !== 'string') throw new DavError(400, `${what} must be a string`);
  return v;
};

export const optCount = (v: unknown, what: string): number | undefined => {
  if (v === undefined || v === null || v === '') return undefined;
  const n = typeof v === 'string' && /^\d+$/.test(v) ? Number(v) : v;
  if (typeof n !== 'number' || !Number.isSafeInteger(n) || n < 1) throw new DavError(400, `${what} must be a whole number of at least 1`);
  return n;
};

export const accountRoutes: FeatureRoutes = () => [{ methods: ['GET'], path: '/account', access: 'user', handler: (ctx) => renderAccountPage(ctx, accountUser(ctx)) }];
