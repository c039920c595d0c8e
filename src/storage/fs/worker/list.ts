/**
 * Listings on the fs worker: one open directory per listing, read and stat'ed back to back, a
 * bounded number of members per reply. The main thread asks for the next part only when it
 * wants more (a PROPFIND streams its answer as fast as the client reads), so memory stays flat
 * however large the directory. A listing nobody asks about for LIST_IDLE_MS is closed.
 */
import { opendirSync, statSync, type Dir, type Stats } from 'node:fs';
import { isReservedName } from '../../reserved.js';
import { Kind, LIST_FIELDS, type ListReply } from './protocol.js';
import { errnoOf, kindOf, putStat } from './stats.js';
import type { Walk } from './tree.js';

/** Members read and stat'ed between two yields of a listing walk (a few microseconds each). */
const STEP = 8;

const LIST_IDLE_MS = 60_000;

interface Listing {
  dir: Dir;
  file: string;
  path: string;
  used: number;
  /** A part is being read: the reader may ask for the next ones early, they wait their turn. */
  busy: boolean;
}

const open = new Map<number, Listing>();

const sweeper = setInterval(() => {
  const now = Date.now();
  for (const [id, l] of open) if (now - l.used > LIST_IDLE_MS) close(id);
}, LIST_IDLE_MS);
sweeper.unref();

export function close(id: number): void {
  const l = open.get(id);
  if (!l) return;
  open.delete(id);
  try {
    l.dir.closeSync();
  } catch {
    // already closed
  }
}

/** Opens directory `file` (DAV path `path`) and answers its first part. */
export function* start(id: number, file: string, path: string, max: number): Walk<ListReply> {
  let dir: Dir;
  try {
    dir = opendirSync(file, { bufferSize: 256 });
  } catch (e) {
    return fail(id, e);
  }
  open.set(id, { dir, file, path, used: Date.now(), busy: false });
  return yield* part(id, id, max);
}

/**
 * The next part (at most `max` members) of the listing opened by request `list`, as the reply to
 * request `id`. A walk (thread.ts): it yields every few members, so a part of thousands of stats
 * never holds up the small requests that arrive meanwhile (a property read of the same PROPFIND,
 * another client's stat) for more than a slice.
 */
export function* part(list: number, id: number, max: number): Walk<ListReply> {
  const l = open.get(list);
  if (!l) return closed(id);
  // Parts of one listing are read in the order they were asked for.
  while (l.busy) {
    yield;
    if (open.get(list) !== l) return closed(id);
  }
  l.busy = true;
  try {
    return yield* fill(list, l, id, max);
  } finally {
    l.busy = false;
  }
}

function* fill(list: number, l: Listing, id: number, max: number): Walk<ListReply> {
  l.used = Date.now();
  max = Math.max(1, max);
  const names: string[] = [];
  const out = new Float64Array(max * LIST_FIELDS);
  let n = 0;
  let more = true;
  try {
    for (let read = 0; read < max; read++) {
      if ((read & (STEP - 1)) === STEP - 1) {
        yield;
        // closed meanwhile (the reader went away): stop here
        if (open.get(list) !== l) return closed(id);
      }
      const d = l.dir.readSync();
      if (d === null) {
        more = false;
        break;
      }
      if (isReservedName(l.path, d.name)) continue;
      let st: Stats | undefined;
      try {
        st = statSync(l.file + '/' + d.name, { throwIfNoEntry: false });
      } catch {
        st = undefined; // a dangling or looping link, or unreadable: not listed
      }
      if (!st || kindOf(st) === Kind.Special) continue;
      const o = n * LIST_FIELDS;
      putStat(out, o, st);
      out[o + LIST_FIELDS - 1] = d.isSymbolicLink() ? 1 : 0;
      names.push(d.name);
      n++;
    }
  } catch (e) {
    close(list);
    return fail(id, e);
  }
  if (!more) close(list);
  return { id, names, buf: out.buffer.slice(0, n * LIST_FIELDS * 8), more };
}

/** The answer to a part of a listing that was closed (its reader went away, or it ended). */
const closed = (id: number): ListReply => fail(id, Object.assign(new Error('listing closed'), { code: 'EBADF' }));

function fail(id: number, e: unknown): ListReply {
  return { id, names: [], buf: new ArrayBuffer(0), more: false, code: errnoOf(e) };
}
