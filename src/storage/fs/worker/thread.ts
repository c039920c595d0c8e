/**
 * The fs worker thread: does syscalls back to back off the event loop (stat batches of a
 * listing, the open/fstat/read of a small GET, the write/rename/stat of a small PUT) and answers
 * each request with one message. Never blocks on a special file: opens use O_NONBLOCK (a FIFO
 * opens at once) and only regular files are read.
 */
import { parentPort } from 'node:worker_threads';
import { closeSync, constants, fstatSync, openSync, readSync, renameSync, statSync, unlinkSync, utimesSync, writeFileSync, type Stats } from 'node:fs';
import { Kind, STAT_FIELDS, type PutSmallRequest, type ReadSmallRequest, type StatManyRequest, type WorkerReply, type WorkerRequest } from './protocol.js';

const OPEN_FLAGS = constants.O_RDONLY | (constants.O_NONBLOCK ?? 0);
// O_NOFOLLOW for the small-file read: a link answers ELOOP and the caller takes its checked
// path, so the containment check needs no extra lstat per GET.
const SMALL_FLAGS = OPEN_FLAGS | (constants.O_NOFOLLOW ?? 0);

const port = parentPort!;
const reply = (m: WorkerReply, transfer: ArrayBuffer[]): void => port.postMessage(m, transfer);
const errno = (e: unknown): string => (e as NodeJS.ErrnoException).code ?? 'EIO';

function put(out: Float64Array, o: number, st: Stats): void {
  out[o] = st.isDirectory() ? Kind.Directory : st.isFile() ? Kind.File : Kind.Special;
  out[o + 1] = st.size;
  out[o + 2] = st.mtimeMs;
  out[o + 3] = st.birthtimeMs;
  out[o + 4] = st.ctimeMs;
  out[o + 5] = st.ino;
  out[o + 6] = st.dev;
}

function statMany({ id, dir, names }: StatManyRequest): void {
  const out = new Float64Array(names.length * STAT_FIELDS);
  for (let i = 0; i < names.length; i++) {
    let st: Stats | undefined;
    try {
      st = statSync(dir + '/' + names[i], { throwIfNoEntry: false });
    } catch {
      st = undefined;
    }
    if (st) put(out, i * STAT_FIELDS, st);
  }
  reply({ id, buf: out.buffer }, [out.buffer]);
}

function putSmall({ id, tmp, target, body, check, mtimeMs }: PutSmallRequest): void {
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
    put(out, 0, statSync(target));
    reply({ id, buf: out.buffer, created }, [out.buffer]);
  } catch (e) {
    try {
      unlinkSync(tmp);
    } catch {
      // never written, or already renamed
    }
    reply({ id, buf: out.buffer, created, code: errno(e) }, [out.buffer]);
  }
}

function readSmall({ id, path, max }: ReadSmallRequest): void {
  const out = new Float64Array(STAT_FIELDS);
  let fd = -1;
  try {
    fd = openSync(path, SMALL_FLAGS);
    const st = fstatSync(fd);
    put(out, 0, st);
    let body: ArrayBuffer | null = null;
    if (st.isFile() && st.size <= max) {
      const buf = new Uint8Array(new ArrayBuffer(st.size));
      let got = 0;
      while (got < buf.length) {
        const n = readSync(fd, buf, got, buf.length - got, got);
        if (n === 0) break;
        got += n;
      }
      body = got === buf.length ? buf.buffer : buf.buffer.slice(0, got);
    }
    reply({ id, buf: out.buffer, body }, body ? [out.buffer, body] : [out.buffer]);
  } catch (e) {
    reply({ id, buf: out.buffer, code: errno(e) }, [out.buffer]);
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

port.on('message', (m: WorkerRequest) => {
  if (m.op === 'small') readSmall(m);
  else if (m.op === 'put') putSmall(m);
  else statMany(m);
});
