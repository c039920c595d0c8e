/** GET on a collection: a small, escaped HTML listing (for people with a browser). */
import type { DavContext } from '../context.js';
import type { ResourceInfo } from '../storage/backend.js';
import { baseName, joinPath } from '../dav/path.js';
import { href } from '../methods/common.js';

const esc = (s: string): string => s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);

export function humanSize(n: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let i = 0;
  while (n >= 1024 && i < units.length - 1) {
    n /= 1024;
    i++;
  }
  return i === 0 ? `${n} B` : `${n.toFixed(n < 10 ? 1 : 0)} ${units[i]}`;
}

export async function renderListing(ctx: DavContext, _info: ResourceInfo): Promise<void> {
  const { path, services } = ctx.state;
  const rows: string[] = [];
  const entries: { name: string; info: ResourceInfo }[] = [];
  for await (const e of services.storage.list(path)) entries.push(e);
  entries.sort((a, b) => Number(b.info.isCollection) - Number(a.info.isCollection) || a.name.localeCompare(b.name));
  if (path !== '/') rows.push(`<tr><td><a href="${esc(href(ctx, path.slice(0, path.lastIndexOf('/')) || '/', true))}">../</a></td><td></td><td></td></tr>`);
  for (const e of entries) {
    const link = esc(href(ctx, joinPath(path, e.name), e.info.isCollection));
    const label = esc(e.name) + (e.info.isCollection ? '/' : '');
    const size = e.info.isCollection ? '' : humanSize(e.info.size);
    const date = new Date(e.info.mtimeMs).toISOString().replace('T', ' ').slice(0, 16);
    rows.push(`<tr><td><a href="${link}">${label}</a></td><td class="n">${size}</td><td>${date}</td></tr>`);
  }
  const title = esc(path === '/' ? '/' : baseName(path));
  ctx.status = 200;
  ctx.type = 'text/html; charset=utf-8';
  ctx.set('Content-Security-Policy', "default-src 'none'; style-src 'unsafe-inline'");
  const html = `<!doctype html><html><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><title>Index of ${title}</title>
<style>body{font:14px system-ui,sans-serif;margin:1.5em}table{border-collapse:collapse;width:100%}td{padding:.3em .6em;border-bottom:1px solid #eee}.n{text-align:right;white-space:nowrap}a{text-decoration:none}</style></head>
<body><h1>Index of ${esc(path)}</h1><table>${rows.join('\n')}</table></body></html>`;
  if (ctx.method === 'HEAD') {
    ctx.set('Content-Length', String(Buffer.byteLength(html)));
    return;
  }
  ctx.body = html;
}
