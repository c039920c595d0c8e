/**
 * `GET <image>?thumb=SIZE`: a small WebP (JPEG for clients that do not accept WebP) of an image,
 * at most SIZE pixels on its longer side (SIZE rounded up to 64, 128, 256 or 512).
 *
 * - Made by sharp (libvips) from the file as the signed-in user's storage reads it: a file the
 *   user cannot open gets no thumbnail, and a cached one is only served after the file was opened.
 * - Bounded: at most THUMB_PARALLEL images are decoded at once (libvips with one thread each),
 *   at most THUMB_QUEUE wait (more answer 503 with Retry-After), inputs over MAX_INPUT bytes or
 *   MAX_PIXELS pixels are refused (415), each job is cut after a few seconds.
 * - Cached on disk in the hidden metadata folder (`.davmeta/thumbs/`, the storage's cacheDir),
 *   keyed by the path, the file's ETag (which changes with its content), the size and the format: a changed
 *   file never gets its old thumbnail. The cache is pruned, oldest first, when it grows past
 *   CACHE_MAX bytes. A storage without a disk (no metadata folder) gets no cache.
 */
import { createHash, randomUUID } from 'node:crypto';
import { createReadStream, promises as fsp } from 'node:fs';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import type SharpNs from 'sharp';
import type { DavContext } from '../context.js';
import type { OpenFile, ResourceInfo } from '../storage/backend.js';
import { DavError } from '../errors.js';
import { baseName } from '../dav/path.js';
import { canThumbnail } from './kinds.js';

export const SIZES = [64, 128, 256, 512];
export const THUMB_PARALLEL = 2;
export const THUMB_QUEUE = 64;
const MAX_INPUT = 64 * 1024 * 1024;
const MAX_PIXELS = 80_000_000;
const TIMEOUT_S = 15;
export const CACHE_MAX = 256 * 1024 * 1024;

/** sharp (libvips, ~20 MiB resident) is loaded on the first thumbnail, not at start-up. */
let sharpLib: typeof SharpNs | undefined;
async function loadSharp(): Promise<typeof SharpNs> {
  if (!sharpLib) {
    const lib = (await import('sharp')).default;
    lib.cache(false);
    lib.concurrency(1);
    sharpLib = lib;
  }
  return sharpLib;
}

/** Counting semaphore with a bounded queue. */
class Gate {
  private active = 0;
  private readonly waiting: (() => void)[] = [];
  constructor(
    private readonly max: number,
    private readonly queue: number,
  ) {}
  async run<T>(fn: () => Promise<T>): Promise<T> {
    if (this.active >= this.max) {
      if (this.waiting.length >= this.queue) throw new DavError(503, 'Busy making thumbnails; try again', { headers: { 'Retry-After': '2' } });
      await new Promise<void>((r) => this.waiting.push(r));
    } else this.active++;
    try {
      return await fn();
    } finally {
      const next = this.waiting.shift();
      if (next) next();
      else this.active--;
    }
  }
}
const gate = new Gate(THUMB_PARALLEL, THUMB_QUEUE);
/** Identical requests in flight share one job. */
const inflight = new Map<string, Promise<Buffer>>();


export function thumbSize(raw: string): number {
  const n = Number.parseInt(raw, 10);
  if (!Number.isFinite(n) || n <= 0) return 256;
  return SIZES.find((s) => s >= n) ?? SIZES[SIZES.length - 1]!;
}

export async function serveThumb(ctx: DavContext, rawSize: string): Promise<void> {
  const { path, services } = ctx.state;
  const storage = services.storage;
  if (!canThumbnail(baseName(path))) throw new DavError(415, 'No thumbnails for this type of file');
  const size = thumbSize(rawSize);
  const webp = ctx.accepts('image/webp', 'image/jpeg') !== 'image/jpeg';
  const fmt = webp ? 'webp' : 'jpeg';
  // Opening proves the user can read the file (and pins what we describe to what we read).
  const file: OpenFile | null = storage.openFile ? await storage.openFile(path) : null;
  const info: ResourceInfo | null = file ? file.info : await storage.stat(path);
  let handed = false;
  try {
    if (!info || info.isCollection) throw new DavError(404, 'Not found');
    if (info.size > MAX_INPUT) throw new DavError(415, 'Image too large for a thumbnail');
    const etag = `"t${size}${fmt[0]}-${info.etag.replace(/"/g, '')}"`;
    ctx.set('Vary', 'Accept');
    ctx.set('ETag', etag);
    ctx.set('Cache-Control', 'private, no-cache');
    ctx.set('X-Content-Type-Options', 'nosniff');
    const inm = ctx.get('if-none-match');
    if (inm && inm.split(',').some((t) => t.trim() === etag)) {
      ctx.status = 304;
      return;
    }
    // The user's path and the file's ETag (inode, size and mtime on a filesystem): two users'
    // files never share a key unless they are the same file, which both may read.
    const dir = storage.cacheDir ? storage.cacheDir('thumbs') : null;
    const key = createHash('sha256').update(`${path}\0${info.etag}\0${size}\0${fmt}`).digest('hex');
    const cached = dir ? join(dir, key.slice(0, 2), `${key}.${fmt}`) : null;
    ctx.type = webp ? 'image/webp' : 'image/jpeg';
    ctx.status = 200;
    if (cached) {
      const st = await fsp.stat(cached).catch(() => null);
      if (st) {
        await fsp.utimes(cached, new Date(), new Date()).catch(() => undefined); // recently used: pruned last
        ctx.length = st.size;
        if (ctx.method !== 'HEAD') ctx.body = createReadStream(cached);
        return;
      }
    }
    let job = inflight.get(key);
    if (!job) {
      const source = (): Promise<Readable> => {
        handed = true;
        return file ? Promise.resolve(file.stream()) : storage.read(path);
      };
      job = gate.run(() => render(source, size, webp));
      inflight.set(key, job);
      job.finally(() => inflight.delete(key)).catch(() => undefined);
    }
    let out: Buffer;
    try {
      out = await job;
    } catch (e) {
      if (e instanceof DavError) throw e;
      throw new DavError(415, 'Cannot make a thumbnail of this file');
    }
    if (cached) await store(cached, out, dir!).catch(() => undefined);
    ctx.length = out.length;
    if (ctx.method !== 'HEAD') ctx.body = out;
  } finally {
    // A stream taken from the file closes it when it ends; an unused handle is closed here.
    if (file && !handed) await file.close().catch(() => undefined);
  }
}

async function render(source: () => Promise<Readable>, size: number, webp: boolean): Promise<Buffer> {
  const sharp = await loadSharp();
  const input = await source();
  const pipeline = sharp({ limitInputPixels: MAX_PIXELS, failOn: 'error', sequentialRead: true })
    .timeout({ seconds: TIMEOUT_S })
    .rotate()
    .resize(size, size, { fit: 'inside', withoutEnlargement: true });
  if (webp) pipeline.webp({ quality: 72, effort: 2 });
  else pipeline.flatten({ background: '#ffffff' }).jpeg({ quality: 78, mozjpeg: false });
  input.pipe(pipeline);
  input.once('error', (e) => pipeline.destroy(e));
  return pipeline.toBuffer();
}

/** Bytes of thumbnails per cache folder (-1: not counted yet), and a prune in progress. */
const caches = new Map<string, { bytes: number; pruning: Promise<void> | null }>();
/** Cache budget in bytes (a variable so a test can watch pruning without writing 256 MiB). */
export const thumbCache = { max: CACHE_MAX };

/** Writes a cache entry (temp + rename) and prunes the cache when it grew past CACHE_MAX. */
async function store(file: string, data: Buffer, dir2: string): Promise<void> {
  await fsp.mkdir(join(file, '..'), { recursive: true });
  const tmp = `${file}.${randomUUID()}.tmp`;
  await fsp.writeFile(tmp, data);
  await fsp.rename(tmp, file);
  let c = caches.get(dir2);
  if (!c) caches.set(dir2, (c = { bytes: -1, pruning: null }));
  if (c.bytes >= 0) c.bytes += data.length;
  if ((c.bytes < 0 || c.bytes > thumbCache.max) && !c.pruning) {
    const cc = c;
    cc.pruning = pruneCache(dir2, thumbCache.max)
      .then((bytes) => void (cc.bytes = bytes))
      .finally(() => (cc.pruning = null));
  }
}

/** Removes the least recently used thumbnails until the cache holds at most 80% of `max`; resolves with what is left. */
export async function pruneCache(dir: string, max: number): Promise<number> {
  const files: { p: string; size: number; mtimeMs: number }[] = [];
  for (const sub of await fsp.readdir(dir).catch(() => [] as string[])) {
    for (const name of await fsp.readdir(join(dir, sub)).catch(() => [] as string[])) {
      const p = join(dir, sub, name);
      const st = await fsp.stat(p).catch(() => null);
      if (st?.isFile()) files.push({ p, size: st.size, mtimeMs: st.mtimeMs });
    }
  }
  let total = files.reduce((n, f) => n + f.size, 0);
  if (total > max) {
    files.sort((a, b) => a.mtimeMs - b.mtimeMs);
    for (const f of files) {
      if (total <= max * 0.8) break;
      await fsp.rm(f.p, { force: true });
      total -= f.size;
    }
  }
  return total;
}
