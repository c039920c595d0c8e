/**
 * `GET <collection>/?download=zip`: the collection as a zip, streamed as it is read (yazl: ZIP64
 * where a file or offset needs it, UTF-8 names). `&f=NAME` (repeatable) limits it to those
 * members of the collection: the page's "download selection".
 *
 * Memory stays flat in file size (each file streams through, a few entries are opened ahead);
 * what grows with the number of entries is the central directory a zip must end with (~100 bytes
 * an entry), so an archive stops at MAX_ENTRIES with a note inside saying so. Everything is read
 * through the user's own storage: reserved names are never listed, links out of the root are never
 * followed, and a file that cannot be opened (gone meanwhile, not a regular file, no permission)
 * is left out, so the zip holds exactly what the user could GET.
 */
import type { DavContext } from '../context.js';
import type { ResourceInfo, StorageBackend } from '../storage/backend.js';
import { DavError } from '../errors.js';
import { baseName, checkSegment, joinPath } from '../dav/path.js';
import { contentTypeFor } from '../dav/live-props.js';
import { attachment } from './views.js';
import { MAX_TREE_DEPTH } from '../storage/walk.js';

export const MAX_ENTRIES = 50_000;
/** Entries handed to yazl ahead of the one it is writing (each holds an open file). */
const AHEAD = 4;
/** Text-like files are deflated; everything else (photos, video, archives) is stored as is. */
const COMPRESSIBLE = /^(text\/|application\/(json|xml|javascript|x-sh|x-yaml|yaml|toml|sql|x-tex))|\+xml/;

export async function serveZip(ctx: DavContext): Promise<void> {
  const { path, services } = ctx.state;
  const storage = services.storage;
  const raw = ctx.query.f;
  // A name picked twice is one member: a zip with two entries of one name makes unzip ask.
  const picked = raw === undefined ? null : [...new Set(Array.isArray(raw) ? raw : [raw])];
  if (picked) {
    for (const n of picked) {
      try {
        checkSegment(n);
      } catch {
        throw new DavError(400, `Not a member name: ${n}`);
      }
      if (n === '' || storage.isReserved(joinPath(path, n)) || !(await storage.stat(joinPath(path, n)))) throw new DavError(404, `Not found: ${n}`);
    }
  }
  const folder = path === '/' ? 'files' : baseName(path);
  const name = picked?.length === 1 ? picked[0]! : folder;
  ctx.status = 200;
  ctx.type = 'application/zip';
  ctx.set('Content-Disposition', attachment(`${name}.zip`));
  ctx.set('Cache-Control', 'no-store');
  ctx.set('X-Content-Type-Options', 'nosniff');
  if (ctx.method === 'HEAD') return;

  const { ZipFile } = await import('yazl'); // loaded on the first zip, not at start-up
  const zip = new ZipFile();
  let pumped = 0;
  let added = 0;
  let wake: (() => void) | null = null;
  let stopped = false;
  const out = zip.outputStream as unknown as import('node:stream').Readable;
  out.once('close', () => (stopped = true));
  ctx.res.once('close', () => {
    stopped = true;
    wake?.();
  });
  zip.on('error', (e: Error) => out.destroy(e));
  ctx.body = out;

  const paced = async (): Promise<void> => {
    while (!stopped && added - pumped > AHEAD) await new Promise<void>((r) => (wake = r));
  };
  const addFile = async (p: string, zipName: string): Promise<void> => {
    const file = storage.openFile ? await storage.openFile(p).catch(() => null) : null;
    if (storage.openFile && !file) return; // gone, not regular, or unreadable: not in the zip
    const fi = file?.info ?? (await storage.stat(p));
    if (!fi || fi.isCollection) return void (await file?.close());
    const opts = { mtime: new Date(fi.mtimeMs), compress: COMPRESSIBLE.test(contentTypeFor(zipName)) && fi.size < 256 * 1024 * 1024 };
    added++;
    if (fi.size === 0) {
      await file?.close();
      zip.addBuffer(Buffer.alloc(0), zipName, opts);
      pumped++;
      return;
    }
    zip.addReadStreamLazy(zipName, { ...opts, size: fi.size }, (cb) => {
      pumped++;
      wake?.();
      if (stopped) {
        void file?.close();
        return cb(new Error('client went away'), undefined as never);
      }
      // Exactly the length we announced, even if the file grows meanwhile.
      const range = { start: 0, end: fi.size - 1 };
      if (file) return cb(null, file.stream(range));
      storage.read(p, range).then((s) => cb(null, s), (e: Error) => cb(e, undefined as never));
    });
  };

  void (async () => {
    let entries = 0;
    const roots = picked ? picked.map((n) => joinPath(path, n)) : [path];
    const prefixLen = path === '/' ? 1 : path.length + 1;
    try {
      for (const root of roots) {
        const st = await storage.stat(root);
        if (!st) continue;
        if (!st.isCollection) {
          await paced();
          if (entries++ >= MAX_ENTRIES) break;
          await addFile(root, root.slice(prefixLen));
          continue;
        }
        // A selected folder is in the zip under its own name.
        if (root !== path) zip.addEmptyDirectory(root.slice(prefixLen), { mtime: new Date(st.mtimeMs) });
        for await (const item of walk(storage, root)) {
          if (stopped) return;
          if (entries++ >= MAX_ENTRIES) {
            zip.addBuffer(Buffer.from(`This archive stops after ${MAX_ENTRIES} entries. Download the remaining folders one at a time, or use a WebDAV client.\n`), 'TRUNCATED.txt');
            break;
          }
          const rel = item.path.slice(prefixLen);
          if (item.info.isCollection) {
            if (rel) zip.addEmptyDirectory(rel, { mtime: new Date(item.info.mtimeMs) });
          } else {
            await paced();
            await addFile(item.path, rel);
          }
        }
        if (entries > MAX_ENTRIES) break;
      }
      zip.end();
    } catch (e) {
      out.destroy(e as Error);
    }
  })();
}

/** Every member below `root` (depth first, folders before their contents), through the storage seam. */
export async function* walk(storage: StorageBackend, root: string): AsyncGenerator<{ path: string; info: ResourceInfo }> {
  const stack: { dir: string; depth: number }[] = [{ dir: root, depth: 0 }];
  while (stack.length) {
    const { dir, depth } = stack.pop()!;
    const subdirs: string[] = [];
    try {
      for await (const e of storage.list(dir)) {
        const p = joinPath(dir, e.name);
        yield { path: p, info: e.info };
        if (e.info.isCollection) subdirs.push(p);
      }
    } catch {
      continue; // vanished or unreadable meanwhile
    }
    // The same depth guard as every other walk of the tree (chains of symlinked folders).
    if (depth + 1 >= MAX_TREE_DEPTH) continue;
    for (let i = subdirs.length - 1; i >= 0; i--) stack.push({ dir: subdirs[i]!, depth: depth + 1 });
  }
}
