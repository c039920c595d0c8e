/**
 * `GET <collection>/?q=TEXT`: members below the collection whose name contains every word of
 * TEXT (case, accents and Unicode normalisation ignored). HTML for browsers (a page that works
 * without JavaScript), JSON for `Accept: application/json` (what the page's script asks for).
 *
 * The walk goes through the signed-in user's storage (their root; reserved names are never
 * listed) breadth first, so near matches come first, and the answer streams as matches are found.
 * It is bounded: it stops after MAX_RESULTS matches, MAX_SCANNED members or MAX_MS of walking,
 * and says which (`truncated`), and it stops as soon as the client goes away.
 */
import { Readable } from 'node:stream';
import type { DavContext } from '../context.js';
import { DavError } from '../errors.js';
import { joinPath } from '../dav/path.js';
import { href } from '../methods/common.js';
import { entryJson, lockedBy, row, tableHead, breadcrumbs, dialogs } from './listing.js';
import { esc, head, htmlHeaders, icon, userBox } from './html.js';
import { MAX_TREE_DEPTH } from '../storage/walk.js';

export const MAX_RESULTS = 1000;
export const MAX_SCANNED = 200_000;
export const MAX_MS = 5000;

/** Folds case, accents and normalisation so "ecole" finds "École". */
export const fold = (s: string): string =>
  s
    .normalize('NFKD')
    .replace(/\p{M}/gu, '')
    .toLowerCase();

export interface Match {
  path: string;
  name: string;
  dir: boolean;
  size: number;
  mtime: number;
}

export interface SearchEnd {
  scanned: number;
  truncated: false | 'results' | 'scanned' | 'time';
}

/** Matches under `root`, breadth first; the generator's return value says why it stopped. */
export async function* searchTree(ctx: DavContext, root: string, query: string, limits = { results: MAX_RESULTS, scanned: MAX_SCANNED, ms: MAX_MS }): AsyncGenerator<Match, SearchEnd> {
  const storage = ctx.state.services.storage;
  const words = fold(query).split(/\s+/).filter(Boolean);
  const started = Date.now();
  let scanned = 0;
  let found = 0;
  let queue: string[] = [root];
  for (let depth = 0; queue.length && depth < MAX_TREE_DEPTH; depth++) {
    const next: string[] = [];
    for (const dir of queue) {
      try {
        for await (const e of storage.list(dir)) {
          scanned++;
          const p = joinPath(dir, e.name);
          if (e.info.isCollection) next.push(p);
          const name = fold(e.name);
          if (words.every((w) => name.includes(w))) {
            yield { path: p, name: e.name, dir: e.info.isCollection, size: e.info.size, mtime: Math.floor(e.info.mtimeMs) };
            if (++found >= limits.results) return { scanned, truncated: 'results' };
          }
          if (scanned >= limits.scanned) return { scanned, truncated: 'scanned' };
          if ((scanned & 255) === 0 && Date.now() - started > limits.ms) return { scanned, truncated: 'time' };
        }
      } catch {
        // A folder that vanished or cannot be read meanwhile: the rest of the tree still counts.
      }
      if (Date.now() - started > limits.ms) return { scanned, truncated: 'time' };
    }
    queue = next;
  }
  return { scanned, truncated: false };
}

// Digits grouped by hand: Number#toLocaleString at start-up loads ICU's locale data (~7 MiB resident).
const WHY: Record<string, string> = {
  results: `stopped after ${MAX_RESULTS} matches; narrow the search`,
  scanned: `stopped after looking at ${String(MAX_SCANNED).replace(/\B(?=(\d{3})+$)/g, ',')} items`,
  time: `stopped after ${MAX_MS / 1000} seconds`,
};

export async function serveSearch(ctx: DavContext, query: string): Promise<void> {
  const { path } = ctx.state;
  const text = query.trim();
  if (text.length > 200) throw new DavError(400, 'Search text too long');
  ctx.status = 200;
  ctx.set('Vary', 'Accept');
  ctx.set('Cache-Control', 'no-store');
  const json = ctx.accepts('text/html', 'application/json') === 'application/json';
  if (json) ctx.type = 'application/json; charset=utf-8';
  else htmlHeaders(ctx);
  if (ctx.method === 'HEAD') return;
  const locks = await ctx.state.services.locks.covering(path, { descendants: true });
  const gen = text ? searchTree(ctx, path, text) : null;
  async function* body(): AsyncGenerator<string> {
    let end: SearchEnd = { scanned: 0, truncated: false };
    let n = 0;
    if (json) yield `{"query":${JSON.stringify(text)},"path":${JSON.stringify(path)},"results":[`;
    else yield pageStart(ctx, path, text);
    if (gen) {
      for (;;) {
        const r = await gen.next();
        if (r.done) {
          end = r.value;
          break;
        }
        const m = r.value;
        const e = entryJson({ name: m.name, info: { isCollection: m.dir, size: m.size, mtimeMs: m.mtime, birthtimeMs: 0, etag: '' } }, lockedBy(m.path, locks));
        const parent = m.path.slice(0, m.path.lastIndexOf('/')) || '/';
        if (json) yield (n ? ',' : '') + JSON.stringify({ ...e, path: m.path, href: href(ctx, m.path, m.dir), parent: href(ctx, parent, true) });
        else yield row(ctx, m.path, e, { readOnly: true, carry: '', where: { text: parent === path ? 'this folder' : parent, href: href(ctx, parent, true) } });
        n++;
      }
    }
    if (json) yield `],"count":${n},"scanned":${end.scanned},"truncated":${JSON.stringify(end.truncated)}}\n`;
    else yield pageEnd(n, end, text);
  }
  ctx.body = Readable.from(body(), { objectMode: false });
}

function pageStart(ctx: DavContext, path: string, text: string): string {
  const self = href(ctx, path, true);
  const name = path === '/' ? 'Home' : path.slice(path.lastIndexOf('/') + 1);
  return (
    head(ctx, `Search “${text}” in ${name} · Files`, `class="results-page" data-base="${esc(self)}" data-root="${esc(href(ctx, '/', true))}" data-access="read-only"`) +
    `<header class="top">
<div class="bar">${breadcrumbs(ctx, path)}${userBox(ctx)}</div>
<div class="titlebar"><h1>Search in ${esc(name)}</h1></div>
<div class="toolbar"><form class="search" role="search" method="get" action="${esc(self)}">
<label for="q" class="sr">Search below ${esc(name)}</label>
<input type="search" id="q" name="q" value="${esc(text)}" autocomplete="off" spellcheck="false">
<button type="submit" class="btn">${icon('search')}<span>Search</span></button>
<a class="btn" href="${esc(self)}">Back to the folder</a>
</form></div>
</header>
<main id="main" tabindex="-1">
<table id="files" class="results">
<caption class="sr">Matches for ${esc(text)}</caption>
${tableHead('name', 'asc', false).replace(/<a href="[^"]*" data-sort="\w+">([^<]*)<\/a>/g, '$1')}
<tbody id="rows">
`
  );
}

function pageEnd(n: number, end: SearchEnd, text: string): string {
  const summary = !text
    ? 'Type a part of a name to search this folder and all folders below it.'
    : `${n === 0 ? 'No matches' : n === 1 ? '1 match' : `${n} matches`} for “${text}”${end.truncated ? ` (${WHY[end.truncated]})` : ''}.`;
  return `</tbody></table>
<p class="search-status" role="status">${esc(summary)}</p>
</main>
${dialogs(true)}
<div id="toasts" class="toasts" aria-live="polite"></div>
</body></html>
`;
}
