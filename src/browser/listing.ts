/**
 * GET on a collection. Browsers (Accept: text/html, or any type) get a page that
 * lists the members, sortable by name, size and date, with breadcrumbs; its script
 * (assets/app.js) uploads, creates folders, renames and deletes through the server's own WebDAV
 * methods. Clients that ask for text/plain get one name per line.
 *
 * Under authentication every link is relative to what the signed-in user sees (their root, under
 * --prefix); a read-only user gets the page without write controls (the Upload and New folder
 * buttons are rendered hidden, the per-row Rename and Delete buttons not at all), and the
 * server still refuses any write with 403 should one be attempted.
 *
 * Every name is escaped here (and the script only ever writes names with textContent); a strict
 * Content-Security-Policy allows nothing but our own script and stylesheet.
 */
import { Readable } from 'node:stream';
import type { DavContext } from '../context.js';
import type { ListEntry, ResourceInfo } from '../storage/backend.js';
import type { LockInfo } from '../locks/manager.js';
import { joinPath, isSelfOrDescendant } from '../dav/path.js';
import { href } from '../methods/common.js';
import { assetUrl } from './assets.js';

const ESC: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };
/** Escapes text for HTML content and (double- or single-quoted) attribute values. */
export const esc = (s: string): string => s.replace(/[&<>"']/g, (c) => ESC[c]!);

export const PAGE_CSP =
  "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; " +
  "form-action 'self'; base-uri 'none'; frame-ancestors 'none'";

export function humanSize(n: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB'];
  let i = 0;
  while (n >= 1024 && i < units.length - 1) {
    n /= 1024;
    i++;
  }
  return i === 0 ? `${n} B` : `${n.toFixed(n < 10 ? 1 : 0)} ${units[i]}`;
}

type SortKey = 'name' | 'size' | 'mtime';
type Order = 'asc' | 'desc';

const collator = new Intl.Collator(undefined, { numeric: true, sensitivity: 'base' });

function sortEntries(entries: ListEntry[], key: SortKey, order: Order): void {
  const sign = order === 'asc' ? 1 : -1;
  const byName = (a: ListEntry, b: ListEntry): number => collator.compare(a.name, b.name) || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0);
  const cmp: Record<SortKey, (a: ListEntry, b: ListEntry) => number> = {
    name: byName,
    size: (a, b) => a.info.size - b.info.size || byName(a, b),
    mtime: (a, b) => a.info.mtimeMs - b.info.mtimeMs || byName(a, b),
  };
  // Folders always come first, whatever the order.
  entries.sort((a, b) => Number(b.info.isCollection) - Number(a.info.isCollection) || sign * cmp[key](a, b));
}

/** True when `path` is protected by one of `locks` (its own lock, or a depth-infinity ancestor's). */
const lockedBy = (path: string, locks: LockInfo[]): LockInfo | undefined =>
  locks.find((l) => l.root === path || (l.depth === 'infinity' && isSelfOrDescendant(path, l.root)));

const isoMinute = (ms: number): string => new Date(ms).toISOString().slice(0, 16).replace('T', ' ') + ' UTC';

const ICONS =
  '<svg class="sprite" aria-hidden="true" xmlns="http://www.w3.org/2000/svg">' +
  '<symbol id="i-dir" viewBox="0 0 24 24"><path d="M2 5.5A1.5 1.5 0 0 1 3.5 4h5l2 2.5h10A1.5 1.5 0 0 1 22 8v10.5a1.5 1.5 0 0 1-1.5 1.5h-17A1.5 1.5 0 0 1 2 18.5z"/></symbol>' +
  '<symbol id="i-file" viewBox="0 0 24 24"><path d="M6 2h8l5 5v13.5A1.5 1.5 0 0 1 17.5 22h-11A1.5 1.5 0 0 1 5 20.5v-17A1.5 1.5 0 0 1 6.5 2zm7.5 1.5V8h4.5z"/></symbol>' +
  '<symbol id="i-lock" viewBox="0 0 24 24"><path d="M7 10V7a5 5 0 0 1 10 0v3h1a1 1 0 0 1 1 1v10a1 1 0 0 1-1 1H6a1 1 0 0 1-1-1V11a1 1 0 0 1 1-1zm2 0h6V7a3 3 0 0 0-6 0z"/></symbol>' +
  '<symbol id="i-edit" viewBox="0 0 24 24"><path d="M4 17.2V20h2.8l9.9-9.9-2.8-2.8zM19.7 7.1a1 1 0 0 0 0-1.4l-1.4-1.4a1 1 0 0 0-1.4 0l-1.2 1.2 2.8 2.8z"/></symbol>' +
  '<symbol id="i-del" viewBox="0 0 24 24"><path d="M9 3h6l1 2h4v2H4V5h4zM6 9h12l-1 12H7z"/></symbol>' +
  '<symbol id="i-up" viewBox="0 0 24 24"><path d="M12 4l7 7h-4v9H9v-9H5z"/></symbol>' +
  '<symbol id="i-plus" viewBox="0 0 24 24"><path d="M11 5h2v6h6v2h-6v6h-2v-6H5v-2h6z"/></symbol>' +
  '</svg>';

const icon = (id: string, cls = 'icon'): string => `<svg class="${cls}" aria-hidden="true"><use href="#i-${id}"/></svg>`;

export async function renderListing(ctx: DavContext, _info: ResourceInfo): Promise<void> {
  const { path, services } = ctx.state;
  const entries: ListEntry[] = [];
  for await (const e of services.storage.list(path)) entries.push(e);
  ctx.status = 200;
  ctx.set('Vary', 'Accept');
  // The listing changes whenever a member changes, which the collection's own validators do not
  // track: let browsers always fetch it fresh.
  ctx.set('Cache-Control', 'no-cache, no-store');
  ctx.remove('ETag');
  ctx.remove('Last-Modified');

  let body: Iterable<string>;
  if (ctx.accepts('text/html', 'text/plain') === 'text/plain') {
    sortEntries(entries, 'name', 'asc');
    ctx.type = 'text/plain; charset=utf-8';
    body = (function* () {
      for (const e of entries) yield e.name + (e.info.isCollection ? '/' : '') + '\n';
    })();
  } else {
    const q = ctx.query;
    const key: SortKey = q.sort === 'size' || q.sort === 'mtime' ? q.sort : 'name';
    const order: Order = q.order === 'desc' ? 'desc' : 'asc';
    sortEntries(entries, key, order);
    const locks = await services.locks.covering(path, { descendants: true });
    ctx.type = 'text/html; charset=utf-8';
    ctx.set('Content-Security-Policy', PAGE_CSP);
    ctx.set('X-Content-Type-Options', 'nosniff');
    ctx.set('Referrer-Policy', 'same-origin');
    body = page(ctx, path, entries, locks, key, order);
  }
  send(ctx, body);
}

/** Pages up to this size (UTF-16 code units) are sent whole, with a Content-Length. */
const WHOLE_MAX = 256 * 1024;
/** Larger ones are streamed in pieces of about this size. */
const CHUNK = 64 * 1024;

/**
 * Sends a page built piece by piece: a small one whole with Content-Length; a large one (a folder
 * of thousands of members: about 1 KB of HTML each) streamed with chunked encoding, built only as
 * fast as the client reads it, so the whole text is never held in memory. HEAD of a large page
 * answers without Content-Length (allowed, RFC 9110 section 9.3.2).
 */
function send(ctx: DavContext, pieces: Iterable<string>): void {
  const it = pieces[Symbol.iterator]();
  const first: string[] = [];
  let size = 0;
  let r = it.next();
  for (; !r.done; r = it.next()) {
    first.push(r.value);
    size += r.value.length;
    if (size > WHOLE_MAX) break;
  }
  if (r.done) {
    const body = first.join('');
    ctx.set('Content-Length', String(Buffer.byteLength(body)));
    if (ctx.method !== 'HEAD') ctx.body = body;
    return;
  }
  if (ctx.method === 'HEAD') return;
  ctx.body = Readable.from(
    (function* () {
      yield first.join('');
      let buf: string[] = [];
      let n = 0;
      for (r = it.next(); !r.done; r = it.next()) {
        buf.push(r.value);
        n += r.value.length;
        if (n >= CHUNK) {
          yield buf.join('');
          buf = [];
          n = 0;
        }
      }
      if (buf.length) yield buf.join('');
    })(),
    { objectMode: false, highWaterMark: CHUNK },
  );
}

function breadcrumbs(ctx: DavContext, path: string): string {
  const parts = path === '/' ? [] : path.slice(1).split('/');
  const out = [`<li><a href="${esc(href(ctx, '/', true))}"${parts.length === 0 ? ' aria-current="page"' : ''}>Home</a></li>`];
  let p = '';
  parts.forEach((seg, i) => {
    p += '/' + seg;
    const last = i === parts.length - 1;
    out.push(`<li><a href="${esc(href(ctx, p, true))}"${last ? ' aria-current="page"' : ''}>${esc(seg)}</a></li>`);
  });
  return `<nav class="crumbs" aria-label="Path"><ol>${out.join('')}</ol></nav>`;
}

function header(label: string, key: SortKey, cls: string, current: SortKey, order: Order): string {
  const active = key === current;
  const next: Order = active && order === 'asc' ? 'desc' : 'asc';
  const aria = active ? ` aria-sort="${order === 'asc' ? 'ascending' : 'descending'}"` : '';
  const arrow = active ? `<span class="arrow" aria-hidden="true">${order === 'asc' ? '▲' : '▼'}</span>` : '';
  return `<th class="${cls}"${aria}><a href="?sort=${key}&amp;order=${next}" data-sort="${key}">${label}${arrow}</a></th>`;
}

/** The same sort links as the column headers, for phone width where those columns are hidden. */
function sortBar(current: SortKey, order: Order): string {
  const links = (['name', 'size', 'mtime'] as SortKey[]).map((k) => {
    const active = k === current;
    const next: Order = active && order === 'asc' ? 'desc' : 'asc';
    const label = { name: 'Name', size: 'Size', mtime: 'Date' }[k];
    const arrow = active ? (order === 'asc' ? ' ▲' : ' ▼') : '';
    return `<a href="?sort=${k}&amp;order=${next}"${active ? ' aria-current="true"' : ''}>${label}${arrow}</a>`;
  });
  return `<nav class="sortbar" aria-label="Sort by">Sort: ${links.join('')}</nav>`;
}

/** The page in pieces (head, one piece per row, tail), so a large folder can be sent as it is built. */
function* page(ctx: DavContext, path: string, entries: ListEntry[], locks: LockInfo[], key: SortKey, order: Order): Generator<string> {
  const rootHref = href(ctx, '/', true);
  const readOnly = ctx.state.readOnly === true;
  const user = ctx.state.user;
  const title = path === '/' ? 'Home' : path.slice(path.lastIndexOf('/') + 1);
  const selfLock = lockedBy(path, locks);
  const banner = selfLock
    ? `<p class="note locked-folder">${icon('lock', 'icon small')}This folder is locked by a WebDAV client: changes in it need that client's lock.</p>`
    : '';
  const empty = entries.length === 0 ? `<p class="empty">This folder is empty.${readOnly ? '' : ' Drop files here or use Upload.'}</p>` : '';
  const who = user
    ? `<p class="who">Signed in as <strong>${esc(user)}</strong>${readOnly ? ' · <span class="ro">read-only</span>: you can browse and download, not change files' : ''}</p>`
    : '';
  yield `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>${esc(title)} · Files</title>
<link rel="icon" href="data:,">
<link rel="stylesheet" href="${esc(assetUrl(rootHref, 'app.css'))}">
<script src="${esc(assetUrl(rootHref, 'app.js'))}" defer></script>
</head>
<body data-base="${esc(href(ctx, path, true))}" data-root="${esc(rootHref)}" data-access="${readOnly ? 'read-only' : 'read-write'}">
${ICONS}
<header class="top">${breadcrumbs(ctx, path)}
<div class="actions"${readOnly ? ' hidden' : ''}>
<label class="btn primary" id="upload-label">${icon('up')}<span>Upload</span><input type="file" id="file-input" multiple></label>
<button type="button" class="btn" id="new-folder">${icon('plus')}<span>New folder</span></button>
</div>${who}</header>
<div id="messages" aria-live="polite"></div>
<section id="uploads" hidden aria-label="Uploads">
<div class="overall"><span id="overall-label">Uploading</span><progress id="overall-progress" max="1" value="0"></progress><span id="overall-pct">0%</span></div>
<ul id="upload-list"></ul>
</section>
<main id="listing">${banner}${sortBar(key, order)}
<table>
<thead><tr>${header('Name', 'name', 'name', key, order)}${header('Size', 'size', 'size', key, order)}${header('Modified', 'mtime', 'mtime', key, order)}<th class="ops"><span class="sr">Actions</span></th></tr></thead>
<tbody>
`;
  if (path !== '/') {
    const up = path.slice(0, path.lastIndexOf('/')) || '/';
    yield `<tr class="up"><td class="name"><a href="${esc(href(ctx, up, true))}">${icon('up')}<span>Parent folder</span></a></td><td class="size"></td><td class="mtime"></td><td class="ops"></td></tr>\n`;
  }
  for (const e of entries) {
    const p = joinPath(path, e.name);
    const dir = e.info.isCollection;
    const lock = lockedBy(p, locks);
    const size = dir ? '' : humanSize(e.info.size);
    const when = isoMinute(e.info.mtimeMs);
    const iso = new Date(e.info.mtimeMs).toISOString();
    const name = esc(e.name);
    const lockMark = lock ? `<span class="badge locked" title="Locked (${lock.scope}) by a WebDAV client">${icon('lock', 'icon small')}locked</span>` : '';
    yield (
      `<tr class="entry${dir ? ' dir' : ''}${lock ? ' is-locked' : ''}" data-name="${name}" data-dir="${dir ? 1 : 0}">` +
        `<td class="name"><a href="${esc(href(ctx, p, dir))}">${icon(dir ? 'dir' : 'file')}<span class="label">${name}${dir ? '/' : ''}</span></a>${lockMark}` +
        `<span class="meta">${dir ? 'Folder' : size} · <time datetime="${iso}">${when}</time></span></td>` +
        `<td class="size" data-bytes="${dir ? '' : e.info.size}">${size}</td>` +
        `<td class="mtime"><time datetime="${iso}">${when}</time></td>` +
        (readOnly
          ? '<td class="ops"></td></tr>'
          : `<td class="ops"><button type="button" class="op" data-op="rename" title="Rename or move" aria-label="Rename ${name}">${icon('edit')}</button>` +
            `<button type="button" class="op danger" data-op="delete" title="Delete" aria-label="Delete ${name}">${icon('del')}</button></td></tr>`) +
      '\n'
    );
  }
  yield `</tbody></table>${empty}
</main>
<div id="drop-overlay" hidden><p>Drop files to upload them here</p></div>
<dialog id="dialog"><form id="dialog-form">
<h2 id="dialog-title"></h2><p id="dialog-text"></p>
<input id="dialog-input" type="text" autocomplete="off" spellcheck="false">
<div class="buttons"><button type="button" class="btn" id="dialog-cancel">Cancel</button><button type="submit" class="btn primary" id="dialog-ok">OK</button></div>
</form></dialog>
<noscript><p class="note">Uploading and managing files needs JavaScript; browsing and downloading work without it.</p></noscript>
</body></html>
`;
}
