/**
 * Partial uploads on the filesystem: one file per upload in `<staging>/resumable/` (the staging
 * area's folder that belongs to no process: a partial upload outlives the request, the process
 * and the instance that started it, so the owner sweep of staging.ts leaves it alone; expired
 * ones are removed by src/uploads/). Appends write at the offset they were given through one
 * file handle, coalescing the socket's chunks into writes of up to 1 MiB, and report each chunk
 * once it is on disk, so a hash kept beside the upload never covers bytes the file lacks.
 */
import { createReadStream, promises as fsp } from 'node:fs';
import type { FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { Writable, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { fromErrno, StorageError } from '../errors.js';
import { READ_CHUNK } from './reads.js';

const ID = /^[A-Za-z0-9_-]{16,64}$/;

export class FsPartialUploads {
  constructor(
    readonly dir: string,
    private readonly fsync: boolean,
  ) {}

  async init(): Promise<void> {
    await fsp.mkdir(this.dir, { recursive: true });
  }

  fileOf(id: string): string {
    if (!ID.test(id)) throw new StorageError('not-found', 'No such upload');
    return join(this.dir, id);
  }

  async create(id: string): Promise<void> {
    try {
      await fsp.writeFile(this.fileOf(id), '', { flag: 'wx' });
    } catch (e) {
      throw fromErrno(e, 'could not start the upload');
    }
  }

  async stat(id: string): Promise<{ size: number; mtimeMs: number } | null> {
    try {
      const st = await fsp.stat(this.fileOf(id));
      return { size: st.size, mtimeMs: st.mtimeMs };
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return null;
      throw fromErrno(e);
    }
  }

  async append(id: string, offset: number, body: Readable, opts: { max: number; written?: (chunk: Buffer) => Promise<void> | void }): Promise<{ size: number; error?: unknown }> {
    let fh: FileHandle;
    try {
      fh = await fsp.open(this.fileOf(id), 'r+');
    } catch (e) {
      body.resume();
      return { size: offset, error: fromErrno(e) };
    }
    let pos = offset;
    let writing: Promise<void> = Promise.resolve();
    const sink = new Writable({
      highWaterMark: READ_CHUNK,
      writev: (chunks, cb) => {
        writing = (async () => {
          const bufs = chunks.map((c) => c.chunk as Buffer);
          const n = bufs.reduce((a, b) => a + b.length, 0);
          if (pos - offset + n > opts.max) throw new StorageError('too-large', `The body is longer than the ${opts.max} bytes the upload still expects`);
          await writeAll(fh, bufs, pos);
          pos += n;
          for (const b of bufs) await opts.written?.(b);
        })();
        writing.then(() => cb(), cb);
      },
    });
    let error: unknown;
    try {
      await pipeline(body, sink);
    } catch (e) {
      error = e;
    }
    // A write still in flight when the body failed finishes first: the size counts only what is on disk.
    await writing.catch(() => undefined);
    try {
      if (this.fsync) await fh.sync();
    } catch (e) {
      error ??= fromErrno(e);
    } finally {
      await fh.close().catch(() => undefined);
    }
    return { size: pos, error };
  }

  async truncate(id: string, size: number): Promise<void> {
    try {
      await fsp.truncate(this.fileOf(id), size);
    } catch (e) {
      throw fromErrno(e);
    }
  }

  read(id: string, start: number): Readable {
    return createReadStream(this.fileOf(id), { start, highWaterMark: READ_CHUNK });
  }

  async remove(id: string): Promise<void> {
    await fsp.rm(this.fileOf(id), { force: true });
  }

  async list(): Promise<{ id: string; mtimeMs: number }[]> {
    const out: { id: string; mtimeMs: number }[] = [];
    let names: string[];
    try {
      names = await fsp.readdir(this.dir);
    } catch {
      return out;
    }
    for (const id of names) {
      if (!ID.test(id)) continue;
      const st = await this.stat(id).catch(() => null);
      if (st) out.push({ id, mtimeMs: st.mtimeMs });
    }
    return out;
  }
}

/** Writes every byte of `bufs` at `pos` (writev may write less than asked). */
async function writeAll(fh: FileHandle, bufs: Buffer[], pos: number): Promise<void> {
  let rest = bufs;
  for (;;) {
    const want = rest.reduce((a, b) => a + b.length, 0);
    if (want === 0) return;
    const { bytesWritten } = await fh.writev(rest, pos);
    if (bytesWritten === want) return;
    pos += bytesWritten;
    let skip = bytesWritten;
    const next: Buffer[] = [];
    for (const b of rest) {
      if (skip >= b.length) {
        skip -= b.length;
        continue;
      }
      next.push(skip ? b.subarray(skip) : b);
      skip = 0;
    }
    rest = next;
  }
}
