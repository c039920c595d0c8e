/**
 * The browser page's static assets (its scripts, stylesheet and icon). They are plain files in
 * src/browser/assets/ (no build step): read once from disk, kept in memory (a few KiB), and
 * served at `<prefix>/.dav/assets/NAME` by the public route in src/routes/assets.ts (the
 * reserved `/.dav/` segment can never name a stored file).
 */
import { readFile } from 'node:fs/promises';
import { createHash } from 'node:crypto';
import type { DavContext } from '../context.js';
import { DavError } from '../errors.js';
import { iconsCss } from './html.js';

const TYPES: Record<string, string> = {
  'app.js': 'text/javascript; charset=utf-8',
  'upload.js': 'text/javascript; charset=utf-8',
  'tus.js': 'text/javascript; charset=utf-8',
  'viewer.js': 'text/javascript; charset=utf-8',
  'connect.js': 'text/javascript; charset=utf-8',
  'app.css': 'text/css; charset=utf-8',
  'icons.css': 'text/css; charset=utf-8',
  'favicon.svg': 'image/svg+xml',
  'drop.js': 'text/javascript; charset=utf-8',
  'account.js': 'text/javascript; charset=utf-8',
};

interface Asset {
  body: Buffer;
  etag: string;
}

// Compiled code runs from dist/browser/, tsx from src/browser/: both reach the repository root
// two levels up, and the assets ship in the package as src/browser/assets/ (package.json files).
const DIRS = [new URL('../../src/browser/assets/', import.meta.url), new URL('./assets/', import.meta.url)];

const cache = new Map<string, Promise<Asset>>();

/** Assets made from code rather than read from disk. */
const GENERATED: Record<string, () => string> = { 'icons.css': iconsCss };

const withEtag = (body: Buffer): Asset => ({ body, etag: `"${createHash('sha256').update(body).digest('base64url').slice(0, 22)}"` });

async function load(name: string): Promise<Asset> {
  const make = Object.hasOwn(GENERATED, name) ? GENERATED[name] : undefined;
  if (make) return withEtag(Buffer.from(make()));
  let lastErr: unknown;
  for (const dir of DIRS) {
    try {
      return withEtag(await readFile(new URL(name, dir)));
    } catch (e) {
      lastErr = e;
    }
  }
  throw lastErr;
}

function asset(name: string): Promise<Asset> {
  let p = cache.get(name);
  if (!p) {
    p = load(name);
    p.catch(() => cache.delete(name));
    cache.set(name, p);
  }
  return p;
}

/** URL of an asset for a page, given the encoded href of the root collection (prefix included). */
export const assetUrl = (rootHref: string, name: string): string => `${rootHref}.dav/assets/${encodeURIComponent(name)}`;

/** Answers an asset request: 200 with an ETag, or 304 when If-None-Match names it. */
export async function serveAsset(ctx: DavContext, name: string): Promise<void> {
  const type = Object.hasOwn(TYPES, name) ? TYPES[name] : undefined;
  if (!type) throw new DavError(404, 'No such asset');
  const a = await asset(name);
  ctx.set('ETag', a.etag);
  ctx.set('Cache-Control', 'no-cache');
  ctx.set('X-Content-Type-Options', 'nosniff');
  const inm = ctx.get('if-none-match');
  if (inm && (inm.trim() === '*' || inm.split(',').some((t) => t.trim().replace(/^W\//, '') === a.etag))) {
    ctx.status = 304;
    ctx.body = null;
    return;
  }
  ctx.status = 200;
  ctx.type = type;
  ctx.set('Content-Length', String(a.body.length));
  if (ctx.method === 'HEAD') return;
  ctx.body = a.body;
}
