/**
 * The fs worker's one-shot operations: stat batches of a listing, the open/fstat/read of a small
 * GET, the write/rename/stat of a small PUT, a journal append. Never blocks on a special file: opens use
 * O_NONBLOCK (a FIFO opens at once) and only regular files are read.
 */
import { closeSync, constants, fdatasyncSync, fstatSync, lstatSync, writeSync, mkdirSync, openSync, readSync, renameSync, rmSync, statSync, unlinkSync, utimesSync, writeFileSync, type Stats } from 'node:fs';
import { LIST_FIELDS, STAT_FIELDS, type AppendRequest, type DoneReply, type RemoveAllRequest, type RenameAllRequest, type WriteFileRequest, type PutSmallReply, type PutSmallRequest, type ReadSmallReply, type ReadSmallRequest, SMALL_SLOT, type StatReply, type StatRequest } from './protocol.js';
import { errnoOf, putStat } from './stats.js';
import { dirname } from 'node:path';

const OPEN_FLAGS = constants.O_RDONLY | (constants.O_NONBLOCK ?? 0);
// O_NOFOLLOW for the small-file read: a link answers ELOOP and the caller takes its checked
// path, so the containment check needs no extra lstat per GET.
const SMALL_FLAGS = OPEN_FLAGS | (constants.O_NOFOLLOW ?? 0);

/** A reply and the buffers it transfers. */
export type Out<R> = [R, ArrayBuffer[]];

const MISSING = new Set(['ENOENT', 'ENOTDIR', 'ENAMETOOLONG']);

export function removeAll({ id, paths }: RemoveAllRequest): Out<DoneReply> {
  for (const p of paths) {
    try {
      // Mostly there is nothing (side data of a new resource): one lstat that throws nothing
      // (rmSync's own lstat builds an exception, stack trace and all, for every missing path).
      const st = lstatSync(p, { throwIfNoEntry: false });
      if (!st) continue;
      if (st.isDirectory()) rmSync(p, { recursive: true, force: true });
      else unlinkSync(p);
    } catch (e) {
      if (errnoOf(e) === 'ENOENT') continue; // gone meanwhile
      return [{ id, code: errnoOf(e) }, []];
    }
  }
  return [{ id }, []];
}

export function renameAll({ id, pairs }: RenameAllRequest): Out<DoneReply> {
  for (const [from, to] of pairs) {
    try {
      try {
        renameSync(from, to);
      } catch (e) {
        if (errnoOf(e) !== 'ENOENT') throw e;
        if (!lstatSync(from, { throwIfNoEntry: false })) continue; // nothing to move
        mkdirSync(dirname(to), { recursive: true }); // the target's folder was missing
        renameSync(from, to);
      }
    } catch (e) {
      return [{ id, code: errnoOf(e) }, []];
    }
  }
  return [{ id }, []];
}

export function writeFile({ id, tmp, file, body }: WriteFileRequest): Out<DoneReply> {
  let written = false;
  try {
    try {
      writeFileSync(tmp, body, { flag: 'wx' });
    } catch (e) {
      if (errnoOf(e) !== 'ENOENT') throw e;
      mkdirSync(dirname(file), { recursive: true });
      writeFileSync(tmp, body, { flag: 'wx' });
    }
    written = true;
    renameSync(tmp, file);
    return [{ id }, []];
  } catch (e) {
    try {
      // EEXIST before anything was written: the temp name is someone else's file
      if (written || errnoOf(e) !== 'EEXIST') unlinkSync(tmp);
    } catch {
      // never created, or already gone
    }
    return [{ id, code: errnoOf(e) }, []];
  }
}

export function append({ id, file, text }: AppendRequest): Out<DoneReply> {
  let fd = -1;
  try {
    fd = openSync(file, 'a');
    const bytes = Buffer.from(text, 'utf8');
    for (let off = 0; off < bytes.length; ) off += writeSync(fd, bytes, off);
    fdatasyncSync(fd);
    return [{ id }, []];
  } catch (e) {
    return [{ id, code: errnoOf(e) }, []];
  } finally {
    if (fd !== -1) {
      try {
        closeSync(fd);
      } catch {
        // nothing to do
      }
    }
  }
}

export function stat({ id, path, follow }: StatRequest): Out<StatReply> {
  const out = new Float64Array(LIST_FIELDS);
  try {
    // Without an exception for the usual miss (a PUT of a new file stats its target first).
    const st: Stats | undefined = follow ? statSync(path, { throwIfNoEntry: false }) : lstatSync(path, { throwIfNoEntry: false });
    if (!st) return [{ id, buf: out.buffer }, [out.buffer]];
    putStat(out, 0, st);
    out[LIST_FIELDS - 1] = st.isSymbolicLink() ? 1 : 0;
    return [{ id, buf: out.buffer }, [out.buffer]];
  } catch (e) {
    const code = errnoOf(e);
    return [MISSING.has(code) ? { id, buf: out.buffer } : { id, buf: out.buffer, code }, [out.buffer]];
  }
}

export function putSmall({ id, tmp, target, body, check, mtimeMs }: PutSmallRequest): Out<PutSmallReply> {
  const out = new Float64Array(STAT_FIELDS);
  let created = -1;
  try {
    if (check) {
      const st = statSync(target, { throwIfNoEntry: false });
      if (st?.isDirectory()) throw Object.assign(new Error('is a directory'), { code: 'EISDIR' });
      created = st ? 0 : 1;
    }
    writeFileSync(tmp, new Uint8Array(body), { flag: 'wx' });
    if (mtimeMs !== undefined) utimesSync(tmp, new Date(), new Date(mtimeMs));
    renameSync(tmp, target);
    putStat(out, 0, statSync(target));
    return [{ id, buf: out.buffer, created }, [out.buffer]];
  } catch (e) {
    try {
      unlinkSync(tmp);
    } catch {
      // never written, or already renamed
    }
    return [{ id, buf: out.buffer, created, code: errnoOf(e) }, [out.buffer]];
  }
}

export function readSmall({ id, path, max, slot }: ReadSmallRequest, area?: SharedArrayBuffer): Out<ReadSmallReply> {
  const out = new Float64Array(STAT_FIELDS);
  let fd = -1;
  try {
    fd = openSync(path, SMALL_FLAGS);
    const st = fstatSync(fd);
    putStat(out, 0, st);
    if (!st.isFile() || st.size > max) return [{ id, buf: out.buffer, body: null }, [out.buffer]];
    if (slot !== undefined && area && st.size <= SMALL_SLOT) {
      const len = readAll(fd, new Uint8Array(area, slot * SMALL_SLOT, st.size));
      return [{ id, buf: out.buffer, len }, [out.buffer]];
    }
    const buf = new Uint8Array(new ArrayBuffer(st.size));
    const got = readAll(fd, buf);
    const body = got === buf.length ? buf.buffer : buf.buffer.slice(0, got);
    return [{ id, buf: out.buffer, body }, [out.buffer, body]];
  } catch (e) {
    return [{ id, buf: out.buffer, code: errnoOf(e) }, [out.buffer]];
  } finally {
    if (fd !== -1) {
      try {
        closeSync(fd);
      } catch {
        // nothing to do
      }
    }
  }
}

/** Reads from the start of `fd` into `buf` until it is full or the file ends; the bytes read. */
function readAll(fd: number, buf: Uint8Array): number {
  let got = 0;
  while (got < buf.length) {
    const n = readSync(fd, buf, got, buf.length - got, got);
    if (n === 0) break;
    got += n;
  }
  return got;
}
