/**
 * Path rules, checked once per request between path resolution and the method handler (when
 * the user has rules or the credential has limits; otherwise nothing runs). What each method
 * needs (src/auth/rules.ts names the rights):
 *
 *   GET, HEAD, PROPFIND  list or read on the path (a file: read); listings are filtered by the view
 *   PUT                  create (new) or update (existing file)
 *   MKCOL                create
 *   DELETE               delete, on every member of a collection too
 *   PROPPATCH            update
 *   COPY                 read on the source (every member); create/update at the destination
 *   MOVE                 read and delete on the source (every member); create/update at the destination
 *   LOCK, UNLOCK         lock (and create when LOCK makes a new empty file)
 *
 * A read of a path the user may neither list nor read answers 404, as if nothing were there
 * (whether or not something is); any other refusal is 403. A write-only place (create without read or update: a drop box) never
 * tells what is there: an upload to a name that is taken is stored under a free one
 * (`name (2).ext`), and a new resource is created with `If-None-Match: *` / `Overwrite: F`, so
 * one that appears meanwhile is never replaced (412).
 */
import type { Next } from 'koa';
import type { DavContext } from '../context.js';
import { DavError } from '../errors.js';
import { destinationPath } from '../methods/common.js';
import { baseName, joinPath, parentPath } from '../dav/path.js';
import type { StorageBackend } from '../storage/backend.js';
import type { Right, Rights } from '../auth/rules.js';

const READS = new Set(['GET', 'HEAD', 'PROPFIND']);

const VERBS: Record<Right, string> = {
  list: 'list this collection',
  read: 'read this',
  create: 'create anything here',
  update: 'change this',
  delete: 'delete this',
  lock: 'lock this',
};

function refuse(ctx: DavContext, rights: Rights, path: string, right: Right): DavError {
  if (READS.has(ctx.method)) {
    const r = rights.at(path).rights;
    if (!r.has('list') && !r.has('read')) return new DavError(404, 'Not found');
  }
  return new DavError(403, `Not allowed to ${VERBS[right]}`);
}

/** Every member below `path`, depth first (what a tree operation would touch). */
async function* members(storage: StorageBackend, path: string): AsyncGenerator<string> {
  for await (const e of storage.list(path)) {
    const p = joinPath(path, e.name);
    yield p;
    if (e.info.isCollection) yield* members(storage, p);
  }
}

/** `p` below `src`, moved to the same place below `dst`. */
function rebase(p: string, src: string, dst: string): string {
  const rest = src === '/' ? p : p.slice(src.length);
  return dst === '/' ? rest : dst + rest;
}

/** `right` on every member below collection `src` (at the same place below `dst` when given). */
async function checkTree(rights: Rights, storage: StorageBackend, src: string, right: Right, dst = src): Promise<void> {
  // With one decision for all members, the first member stands for the rest.
  const uniform = rights.uniformBelow(dst);
  for await (const p of members(storage, src)) {
    const at = rebase(p, src, dst);
    if (!rights.has(at, right)) throw new DavError(403, `Not allowed to ${VERBS[right]}: ${at}`);
    if (uniform) return;
  }
}

/** A free name beside `path` for an upload that must not replace what is there: `a (2).txt`. */
export async function freeName(storage: StorageBackend, path: string): Promise<string> {
  const dir = parentPath(path);
  const name = baseName(path);
  const dot = name.lastIndexOf('.');
  const [stem, ext] = dot > 0 ? [name.slice(0, dot), name.slice(dot)] : [name, ''];
  for (let n = 2; n < 10_000; n++) {
    const candidate = joinPath(dir, `${stem} (${n})${ext}`);
    if (!(await storage.stat(candidate))) return candidate;
  }
  throw new DavError(409, 'No free name left for this upload');
}

export async function checkRights(ctx: DavContext): Promise<void> {
  const access = ctx.state.rights;
  if (!access) return;
  const { rights, storage } = access;
  const { path } = ctx.state;
  const need = (p: string, right: Right): void => {
    if (!rights.has(p, right)) throw refuse(ctx, rights, p, right);
  };
  // A target that must be new: keep it so, whatever appears between this check and the write.
  const createOnly = (p: string, header: 'if-none-match' | 'overwrite'): void => {
    if (rights.has(p, 'update')) return;
    if (header === 'if-none-match' && !ctx.get('if-none-match')) ctx.request.headers['if-none-match'] = '*';
    if (header === 'overwrite') ctx.request.headers.overwrite = 'F';
  };
  switch (ctx.method) {
    case 'OPTIONS':
      return;
    case 'GET':
    case 'HEAD':
    case 'PROPFIND': {
      const r = rights.at(path).rights;
      if (!r.has('read') && !r.has('list')) throw refuse(ctx, rights, path, 'read');
      if (!r.has('read') && !(await storage.stat(path))?.isCollection) throw refuse(ctx, rights, path, 'read');
      return;
    }
    case 'PUT': {
      const info = await storage.stat(path);
      if (!info) {
        need(path, 'create');
        return createOnly(path, 'if-none-match');
      }
      if (info.isCollection) return; // the handler answers 405
      if (rights.has(path, 'update')) return;
      const r = rights.at(path).rights;
      // A drop box: the name is taken, but the uploader may not know it.
      if (r.has('create') && !r.has('read')) {
        ctx.state.path = await freeName(storage, path);
        ctx.request.headers['if-none-match'] = '*';
        return need(ctx.state.path, 'create');
      }
      throw refuse(ctx, rights, path, 'update');
    }
    case 'MKCOL':
      return need(path, 'create');
    case 'PROPPATCH':
      return need(path, 'update');
    case 'DELETE': {
      need(path, 'delete');
      if ((await storage.stat(path))?.isCollection) await checkTree(rights, storage, path, 'delete');
      return;
    }
    case 'COPY':
    case 'MOVE': {
      const isMove = ctx.method === 'MOVE';
      const src = await storage.stat(path);
      need(path, 'read');
      if (isMove) need(path, 'delete');
      const dst = await destinationPath(ctx);
      const existing = await storage.stat(dst);
      if (existing) need(dst, 'update');
      else {
        need(dst, 'create');
        createOnly(dst, 'overwrite');
      }
      if (src?.isCollection) {
        await checkTree(rights, storage, path, 'read');
        if (isMove) await checkTree(rights, storage, path, 'delete');
        await checkTree(rights, storage, path, 'create', dst);
        if (existing?.isCollection) await checkTree(rights, storage, dst, 'delete');
      }
      return;
    }
    case 'LOCK': {
      need(path, 'lock');
      if (!(await storage.stat(path))) need(path, 'create');
      return;
    }
    case 'UNLOCK':
      return need(path, 'lock');
    default:
      return; // the handler answers 405 or 501
  }
}

/**
 * A resumable upload's target (src/uploads/), when it is created and again at its commit: what
 * a PUT of it needs (create for a new file, update to replace one); in a place where the user
 * may create but not update, the commit may only make a new file (If-None-Match: *).
 */
export async function checkUploadTarget(ctx: DavContext, path: string): Promise<void> {
  const access = ctx.state.rights;
  if (!access) return;
  const { rights, storage } = access;
  if (await storage.stat(path)) {
    if (!rights.has(path, 'update')) throw refuse(ctx, rights, path, 'update');
    return;
  }
  if (!rights.has(path, 'create')) throw refuse(ctx, rights, path, 'create');
  if (!rights.has(path, 'update')) ctx.request.headers['if-none-match'] = '*';
}

export async function rightsMiddleware(ctx: DavContext, next: Next): Promise<void> {
  await checkRights(ctx);
  return next();
}
