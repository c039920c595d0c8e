/**
 * GET on a collection. Browsers (Accept: text/html, or any type) get the file page; scripts that
 * ask for application/json get the members as JSON; text/plain clients get one name per line.
 *
 * The page carries every member twice: as HTML rows for one page of the current sort (200 rows,
 * so browsing works without JavaScript, with `?page=N` links), and as one JSON block
 * (`<script type="application/json">`, data only: never executed) from which the page's script
 * sorts, filters, pages and redraws without asking the server again. A 10,000-member folder is
 * ~1 MB of JSON and 200 rows instead of 10,000 rows of HTML.
 *
 * Under authentication every link is relative to what the signed-in user sees (their root, under
 * --prefix); a read-only user gets no write control at all, and the server refuses any write
 * they attempt anyway. Every name is escaped here, and the script writes names with textContent
 * only; a strict Content-Security-Policy allows nothing but our own script and stylesheet.
 */
import { Readable } from 'node:stream';
import type { DavContext } from '../context.js';
import type { ListEntry, ResourceInfo } from '../storage/backend.js';
import type { LockInfo } from '../locks/manager.js';
import { joinPath, isSelfOrDescendant } from '../dav/path.js';
import { href } from '../methods/common.js';
import { canThumbnail, EDIT_MAX, isTextKind, kindOf, type FileKind } from './kinds.js';
import { davHref, esc, head, htmlHeaders, humanSize, icon, maskIcon, userBox } from './html.js';

export { esc, humanSize } from './html.js';

export type SortKey = 'name' | 'size' | 'mtime';
export type Order = 'asc' | 'desc';

/** Rows per page of HTML (and per page in the script). */
export const PAGE_SIZE = 200;

/**
 * Made on the first sort, not at start-up: a collator loads ICU's collation data, ~6 MiB of
 * resident memory a server that never renders a listing should not carry (issue 14, idle RSS).
 */
let collator: Intl.Collator | undefined;

export function sortEntries(entries: ListEntry[], key: SortKey, order: Order): void {
  const sign = order === 'asc' ? 1 : -1;
  const c = (collator ??= new Intl.Collator(undefined, { numeric: true, sensitivity: 'base' }));
  const byName = (a: ListEntry, b: ListEntry): number => c.compare(a.name, b.name) || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0);
  const cmp: Record<SortKey, (a: ListEntry, b: ListEntry) => number> = {
    name: byName,
    size: (a, b) => a.info.size - b.info.size || byName(a, b),
    mtime: (a, b) => a.info.mtimeMs - b.info.mtimeMs || byName(a, b),
  };
  // Folders always come first, whatever the order.
  entries.sort((a, b) => Number(b.info.isCollection) - Number(a.info.isCollection) || sign * cmp[key](a, b));
}

/** The lock that protects `path`: its own, or a depth-infinity ancestor's. */
export const lockedBy = (path: string, locks: LockInfo[]): LockInfo | undefined =>
  locks.find((l) => l.root === path || (l.depth === 'infinity' && isSelfOrDescendant(path, l.root)));

/** Who holds a lock, in words: the signed-in user who took it, else the owner the client sent. */
export function lockOwner(l: LockInfo): string {
  if (l.principal) return l.principal;
  const text = l.ownerXml
    .replace(/<[^>]*>/g, ' ')
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&quot;/g, '"')
    .replace(/&apos;/g, "'")
    .replace(/&amp;/g, '&')
    .replace(/\s+/g, ' ')
    .trim()
    .replace(/^mailto:/i, '');
  return text || 'a WebDAV client';
}

const isoMinute = (ms: number): string => new Date(ms).toISOString().slice(0, 16).replace('T', ' ') + ' UTC';

/** One member as the page's script and JSON clients see it. */
export interface EntryJson {
  name: string;
  dir: boolean;
  size: number;
  /** Last modified, epoch ms. */
  mtime: number;
  kind: FileKind;
  /** The server makes thumbnails of it (`?thumb=SIZE`). */
  thumb?: true;
  /** Small enough to open in the page's text editor. */
  editable?: true;
  /** Who holds a lock on it. */
  lockedBy?: string;
}

export function entryJson(e: ListEntry, lock: LockInfo | undefined): EntryJson {
  const kind = kindOf(e.name, e.info.isCollection);
  const out: EntryJson = { name: e.name, dir: e.info.isCollection, size: e.info.size, mtime: Math.floor(e.info.mtimeMs), kind };
  if (!out.dir && canThumbnail(e.name)) out.thumb = true;
  if (isTextKind(kind) && e.info.size <= EDIT_MAX) out.editable = true;
  if (lock) out.lockedBy = lockOwner(lock);
  return out;
}

/** JSON text safe inside a `<script type="application/json">` element. */
export const jsonForScript = (v: unknown): string =>
  JSON.stringify(v).replace(/</g, '\\u003c').replace(/>/g, '\\u003e').replace(/\u2028/g, '\\u2028').replace(/\u2029/g, '\\u2029');

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

  const q = ctx.query;
  const key: SortKey = q.sort === 'size' || q.sort === 'mtime' ? q.sort : 'name';
  const order: Order = q.order === 'desc' ? 'desc' : 'asc';
  const wants = ctx.accepts('text/html', 'application/json', 'text/plain');
  if (wants === 'text/plain') {
    sortEntries(entries, 'name', 'asc');
    ctx.type = 'text/plain; charset=utf-8';
    send(
      ctx,
      (function* () {
        for (const e of entries) yield e.name + (e.info.isCollection ? '/' : '') + '\n';
      })(),
    );
    return;
  }
  sortEntries(entries, key, order);
  const locks = await services.locks.covering(path, { descendants: true });
  if (wants === 'application/json') {
    ctx.type = 'application/json; charset=utf-8';
    send(ctx, listingJson(ctx, path, entries, locks));
    return;
  }
  htmlHeaders(ctx);
  send(ctx, page(ctx, path, entries, locks, key, order));
}

function* listingJson(ctx: DavContext, path: string, entries: ListEntry[], locks: LockInfo[]): Generator<string> {
  yield `{"path":${JSON.stringify(path)},"href":${JSON.stringify(href(ctx, path, true))},"readOnly":${ctx.state.readOnly === true},"entries":[`;
  let first = true;
  for (const e of entries) {
    yield (first ? '' : ',') + JSON.stringify(entryJson(e, lockedBy(joinPath(path, e.name), locks)));
    first = false;
  }
  yield ']}\n';
}

/** Pages up to this size (UTF-16 code units) are sent whole, with a Content-Length. */
const WHOLE_MAX = 256 * 1024;
/** Larger ones are streamed in pieces of about this size. */
const CHUNK = 64 * 1024;

/**
 * Sends a body built piece by piece: a small one whole with Content-Length; a large one (a folder
 * of thousands of members) streamed with chunked encoding, built only as fast as the client reads
 * it, so the whole text is never held in memory. HEAD of a large page answers without
 * Content-Length (allowed, RFC 9110 section 9.3.2).
 */
export function send(ctx: DavContext, pieces: Iterable<string>): void {
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

/** `?sort=..&order=..` when not the default, so links carry the sort into subfolders. */
const sortQuery = (key: SortKey, order: Order): string => (key === 'name' && order === 'asc' ? '' : `?sort=${key}&order=${order}`);

export function breadcrumbs(ctx: DavContext, path: string, carry = ''): string {
  const parts = path === '/' ? [] : path.slice(1).split('/');
  const out = [`<li><a href="${esc(href(ctx, '/', true) + carry)}"${parts.length === 0 ? ' aria-current="page"' : ''}>Home</a></li>`];
  let p = '';
  parts.forEach((seg, i) => {
    p += '/' + seg;
    const last = i === parts.length - 1;
    out.push(`<li><a href="${esc(href(ctx, p, true) + carry)}"${last ? ' aria-current="page"' : ''}>${esc(seg)}</a></li>`);
  });
  return `<nav class="crumbs" aria-label="Folder path"><ol>${out.join('')}</ol></nav>`;
}

function header(label: string, key: SortKey, cls: string, current: SortKey, order: Order): string {
  const active = key === current;
  const next: Order = active && order === 'asc' ? 'desc' : 'asc';
  const aria = active ? ` aria-sort="${order === 'asc' ? 'ascending' : 'descending'}"` : '';
  const arrow = active ? `<span class="arrow" aria-hidden="true">${order === 'asc' ? '▲' : '▼'}</span>` : '';
  return `<th scope="col" class="${cls}"${aria}><a href="?sort=${key}&amp;order=${next}" data-sort="${key}">${label}${arrow}</a></th>`;
}

/** The same sort links as the column headers, for phone width and the grid, where those are hidden. */
function sortBar(current: SortKey, order: Order): string {
  const links = (['name', 'size', 'mtime'] as SortKey[]).map((k) => {
    const active = k === current;
    const next: Order = active && order === 'asc' ? 'desc' : 'asc';
    const label = { name: 'Name', size: 'Size', mtime: 'Date' }[k];
    const arrow = active ? (order === 'asc' ? ' ▲' : ' ▼') : '';
    return `<a href="?sort=${k}&amp;order=${next}" data-sort="${k}"${active ? ' aria-current="true"' : ''}>${label}${arrow}</a>`;
  });
  return `<nav class="sortbar" aria-label="Sort by">Sort: ${links.join('')}</nav>`;
}

export interface RowOptions {
  readOnly: boolean;
  /** Appended to folder links (the current sort). */
  carry: string;
  /** Search results: the folder the entry is in, shown under its name. */
  where?: { text: string; href: string };
}

/** One member as a table row; the page's script builds the same markup (assets/app.js `rowFor`). */
export function row(ctx: DavContext, p: string, e: EntryJson, o: RowOptions): string {
  const h = href(ctx, p, e.dir);
  const name = esc(e.name);
  const size = e.dir ? '' : humanSize(e.size);
  const iso = new Date(e.mtime).toISOString();
  const when = isoMinute(e.mtime);
  const visual = e.thumb
    ? `<img class="thumb" src="${esc(h)}?thumb=64" alt="" loading="lazy" width="24" height="24">`
    : maskIcon(e.kind);
  const badge = e.lockedBy ? `<span class="badge locked">${icon('lock', 'icon small')}Locked by ${esc(e.lockedBy)}</span>` : '';
  const where = o.where ? `<a class="where" href="${esc(o.where.href)}">in ${esc(o.where.text)}</a>` : '';
  const dl = e.dir
    ? `<a class="op k-download" href="${esc(h)}?download=zip" title="Download as zip" aria-label="Download ${name} as zip"></a>`
    : `<a class="op k-download" href="${esc(h)}?download" download title="Download" aria-label="Download ${name}"></a>`;
  const writable = !o.readOnly && !e.lockedBy && !o.where;
  const ops =
    dl +
    (writable && e.editable ? `<button type="button" class="op k-edit" data-op="edit" title="Edit" aria-label="Edit ${name}"></button>` : '') +
    (writable
      ? `<button type="button" class="op k-rename" data-op="rename" title="Rename" aria-label="Rename ${name}"></button>` +
        `<button type="button" class="op danger k-del" data-op="delete" title="Delete" aria-label="Delete ${name}"></button>`
      : '');
  return (
    `<tr class="entry${e.dir ? ' dir' : ''}${e.lockedBy ? ' is-locked' : ''}" data-name="${name}" data-kind="${e.kind}">` +
    `<td class="sel"><input type="checkbox" class="pick" aria-label="Select ${name}"></td>` +
    `<td class="name"><a class="open" href="${esc(e.dir ? h + o.carry : h)}">${visual}<span class="label">${name}${e.dir ? '/' : ''}</span></a>${badge}${where}` +
    `<span class="meta">${e.dir ? 'Folder' : size} · <time datetime="${iso}">${when}</time></span></td>` +
    `<td class="size">${size}</td>` +
    `<td class="mtime"><time datetime="${iso}">${when}</time></td>` +
    `<td class="ops">${ops}</td></tr>\n`
  );
}

export function tableHead(key: SortKey, order: Order, selectable: boolean): string {
  return (
    `<thead><tr><th scope="col" class="sel">${selectable ? '<input type="checkbox" id="select-all" aria-label="Select all">' : ''}</th>` +
    `${header('Name', 'name', 'name', key, order)}${header('Size', 'size', 'size', key, order)}${header('Modified', 'mtime', 'mtime', key, order)}` +
    `<th scope="col" class="ops"><span class="sr">Actions</span></th></tr></thead>`
  );
}

/** The write controls of the top bar (none for a read-only user). */
function toolbar(readOnly: boolean): string {
  if (readOnly) return '';
  return `<div class="actions" id="write-actions">
<label class="btn primary" id="upload-label">${icon('up')}<span>Upload</span><input type="file" id="file-input" multiple></label>
<label class="btn" id="folder-upload-label">${icon('folderup')}<span>Upload folder</span><input type="file" id="folder-input" webkitdirectory multiple></label>
<button type="button" class="btn" id="new-folder">${icon('plus')}<span>New folder</span></button>
<button type="button" class="btn" id="new-file">${icon('newfile')}<span>New text file</span></button>
</div>`;
}

/** The page in pieces (head, one piece per row, tail), so a large folder is sent as it is built. */
function* page(ctx: DavContext, path: string, entries: ListEntry[], locks: LockInfo[], key: SortKey, order: Order): Generator<string> {
  const readOnly = ctx.state.readOnly === true;
  const name = path === '/' ? 'Home' : path.slice(path.lastIndexOf('/') + 1);
  const carry = sortQuery(key, order);
  const pages = Math.max(1, Math.ceil(entries.length / PAGE_SIZE));
  const pageNo = Math.min(pages, Math.max(1, Number.parseInt(String(ctx.query.page ?? '1'), 10) || 1));
  const selfLock = lockedBy(path, locks);
  const banner = selfLock
    ? `<p class="note locked-folder">${icon('lock', 'icon small')}This folder is locked by ${esc(lockOwner(selfLock))}: changes in it need that lock.</p>`
    : '';
  const self = href(ctx, path, true);
  // The folder's name, and where it is when that is not the top: tabs of several folders differ.
  const parent = path.slice(0, path.lastIndexOf('/'));
  const title = path === '/' ? 'Home · Files' : parent ? `${name} · ${parent} · Files` : `${name} · Files`;
  yield head(
    ctx,
    title,
    `data-base="${esc(self)}" data-root="${esc(href(ctx, '/', true))}" data-access="${readOnly ? 'read-only' : 'read-write'}" data-dav="${esc(davHref(ctx, ''))}"` +
      (ctx.state.user ? ` data-user="${esc(ctx.state.user)}"` : '') +
      (ctx.state.session ? ` data-csrf="${esc(ctx.state.session.csrf)}"` : ''),
  );
  yield `<header class="top">
<div class="bar">${breadcrumbs(ctx, path, carry)}${userBox(ctx)}</div>
<div class="titlebar"><h1 id="folder-title">${esc(name)}</h1>
<div class="title-actions"><div class="views" role="group" aria-label="View"><button type="button" class="btn icon-only" id="view-list" aria-pressed="true" title="List">${icon('list')}<span class="sr">List view</span></button><button type="button" class="btn icon-only" id="view-grid" aria-pressed="false" title="Grid">${icon('grid')}<span class="sr">Grid view</span></button></div>
<a class="btn" id="zip-folder" href="?download=zip">${icon('download')}<span>Download all (zip)</span></a></div></div>
<div class="toolbar">${toolbar(readOnly)}
<form class="search" id="search-form" role="search" method="get" action="${esc(self)}">
<label for="filter" class="sr">Filter this folder, or search its subfolders</label>
<input type="search" id="filter" name="q" placeholder="Filter" autocomplete="off" spellcheck="false">
<button type="submit" class="btn" id="search-sub">${icon('search')}<span>Search subfolders</span></button>
</form>
</div>
</header>
<div id="selection-bar" class="selection-bar" hidden role="region" aria-label="Selection">
<span id="selection-count">0 selected</span>
<button type="button" class="btn" id="sel-download">${icon('download')}<span>Download</span></button>
${readOnly ? '' : `<button type="button" class="btn" id="sel-move">${icon('move')}<span>Move to…</span></button>
<button type="button" class="btn" id="sel-copy">${icon('copy')}<span>Copy to…</span></button>
<button type="button" class="btn danger-outline" id="sel-delete">${icon('del')}<span>Delete</span></button>`}
<button type="button" class="btn" id="sel-clear">Clear selection</button>
</div>
<section id="uploads" hidden aria-labelledby="overall-label">
<div class="overall"><span id="overall-label">Uploading</span><progress id="overall-progress" max="1" value="0" aria-labelledby="overall-label"></progress><span id="overall-pct">0%</span><button type="button" class="btn small" id="cancel-all">Cancel all</button></div>
<ul id="upload-list"></ul>
</section>
<main id="main" tabindex="-1">${banner}${sortBar(key, order)}
<p id="search-status" class="search-status" hidden role="status"></p>
<table id="files">
<caption class="sr">Files in ${esc(name)}</caption>
${tableHead(key, order, true)}
<tbody id="rows">
`;
  if (path !== '/') {
    const up = path.slice(0, path.lastIndexOf('/')) || '/';
    yield `<tr class="up"><td class="sel"></td><td class="name"><a href="${esc(href(ctx, up, true) + carry)}">${icon('up')}<span>Parent folder</span></a></td><td class="size"></td><td class="mtime"></td><td class="ops"></td></tr>\n`;
  }
  const json: EntryJson[] = new Array(entries.length);
  entries.forEach((e, i) => {
    json[i] = entryJson(e, lockedBy(joinPath(path, e.name), locks));
  });
  const from = (pageNo - 1) * PAGE_SIZE;
  for (let i = from; i < Math.min(entries.length, from + PAGE_SIZE); i++) yield row(ctx, joinPath(path, json[i]!.name), json[i]!, { readOnly, carry });
  const empty = entries.length === 0 ? `<p class="empty">This folder is empty.${readOnly ? '' : '<span class="drop-hint"> Drop files here or use Upload.</span>'}</p>` : '';
  const pager =
    pages > 1
      ? `<nav class="pager" id="pager" aria-label="Pages">${pageNo > 1 ? `<a href="?page=${pageNo - 1}${carry ? '&amp;' + carry.slice(1).replace('&', '&amp;') : ''}" rel="prev">Previous</a>` : ''}` +
        `<span>Page ${pageNo} of ${pages} (${entries.length} items)</span>` +
        `${pageNo < pages ? `<a href="?page=${pageNo + 1}${carry ? '&amp;' + carry.slice(1).replace('&', '&amp;') : ''}" rel="next">Next</a>` : ''}</nav>`
      : '<nav class="pager" id="pager" aria-label="Pages" hidden></nav>';
  yield `</tbody></table>
<ul id="grid" class="grid" hidden aria-label="Files in ${esc(name)}"></ul>
${pager}${empty}
</main>
<script type="application/json" id="listing-data">`;
  // The JSON block in pieces too: a 10,000-member folder is about a megabyte.
  yield `{"path":${jsonForScript(path)},"sort":"${key}","order":"${order}","page":${pageNo},"pageSize":${PAGE_SIZE},"entries":[`;
  for (let i = 0; i < json.length; i += 256) yield (i ? ',' : '') + jsonForScript(json.slice(i, i + 256)).slice(1, -1);
  yield `]}</script>
${dialogs(readOnly)}
<div id="drop-overlay" hidden><p>Drop files or folders to upload them here</p></div>
<div id="toasts" class="toasts" aria-live="polite"></div>
<noscript><p class="note">Uploading and managing files needs JavaScript; browsing and downloading work without it.</p></noscript>
</body></html>
`;
}

/** The page's dialogs: each has an accessible name (its heading) and labelled inputs. */
export function dialogs(readOnly: boolean): string {
  return `<dialog id="dialog" aria-labelledby="dialog-title" aria-describedby="dialog-text"><form id="dialog-form" method="dialog" novalidate>
<h2 id="dialog-title">Dialog</h2><p id="dialog-text"></p>
<div id="dialog-field" class="field"><label for="dialog-input" id="dialog-label">Name</label>
<input id="dialog-input" type="text" autocomplete="off" spellcheck="false" aria-describedby="dialog-error">
<p id="dialog-error" class="field-error" role="alert"></p></div>
<div class="buttons"><button type="button" class="btn" id="dialog-cancel">Cancel</button><button type="submit" class="btn primary" id="dialog-ok">OK</button></div>
</form></dialog>
<dialog id="picker" aria-labelledby="picker-title"><form id="picker-form" method="dialog">
<h2 id="picker-title">Choose a folder</h2>
<nav class="crumbs picker-crumbs" aria-label="Folder being viewed"><ol id="picker-crumbs"></ol></nav>
<ul id="picker-list" class="picker-list" aria-label="Folders"></ul>
<p id="picker-error" class="field-error" role="alert"></p>
<div class="buttons">${readOnly ? '' : `<button type="button" class="btn" id="picker-new">${icon('plus')}<span>New folder here</span></button>`}<span class="spacer"></span><button type="button" class="btn" id="picker-cancel">Cancel</button><button type="submit" class="btn primary" id="picker-ok">Choose this folder</button></div>
</form></dialog>
<dialog id="viewer" class="viewer" aria-labelledby="viewer-title">
<div class="viewer-bar"><h2 id="viewer-title">Preview</h2><span id="viewer-pos" class="muted"></span>
<span class="spacer"></span>
<span id="viewer-apps" class="viewer-apps"></span>
${readOnly ? '' : `<button type="button" class="btn" id="viewer-edit" hidden>${icon('edit')}<span>Edit</span></button>`}
<a class="btn" id="viewer-download" href="#" download>${icon('download')}<span>Download</span></a>
<button type="button" class="btn icon-only" id="viewer-close" title="Close (Escape)">${icon('close')}<span class="sr">Close</span></button></div>
<div class="viewer-body"><button type="button" class="nav prev" id="viewer-prev" title="Previous (←)">${icon('prev')}<span class="sr">Previous file</span></button>
<div id="viewer-content" class="viewer-content"></div>
<button type="button" class="nav next" id="viewer-next" title="Next (→)">${icon('next')}<span class="sr">Next file</span></button></div>
</dialog>
${
  readOnly
    ? ''
    : `<dialog id="editor" class="editor" aria-labelledby="editor-title"><form id="editor-form" method="dialog">
<div class="viewer-bar"><h2 id="editor-title">Edit</h2><span id="editor-state" class="muted" role="status"></span><span class="spacer"></span>
<button type="button" class="btn" id="editor-close">Close</button><button type="submit" class="btn primary" id="editor-save">Save</button></div>
<label for="editor-text" class="sr" id="editor-label">File contents</label>
<textarea id="editor-text" spellcheck="false" autocomplete="off"></textarea>
</form></dialog>`
}`;
}
