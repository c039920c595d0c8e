/**
 * The fs worker thread: does syscalls back to back off the event loop and answers each batch of
 * requests with one message (protocol.ts). One-shot operations (stat batches, small GET and PUT)
 * run at once; walks (a part of a listing, DELETE and COPY of a collection, hashing a stored
 * file) run as slices
 * of a few milliseconds, round robin, with the requests that arrive meanwhile served between
 * slices, so a DELETE of a large tree never holds up a small GET for long.
 */
import { parentPort, workerData } from 'node:worker_threads';
import type { Batch, WorkerReply, WorkerRequest } from './protocol.js';
import { append, putSmall, readSmall, removeAll, renameAll, stat, writeFile, type Out } from './small.js';
import * as listing from './list.js';
import { hashData, hashDigest, hashDrop, hashFile } from './hash.js';
import { copyTree, removeTree, type Walk } from './tree.js';

const port = parentPort!;
/** The shared area of small reads (protocol.ts SMALL_SLOT), from the thread that started this one. */
const smallArea = (workerData as { smallArea?: SharedArrayBuffer } | null)?.smallArea;

/** How long one slice of tree walks may run before pending messages are looked at. */
const SLICE_MS = 4;

let replies: WorkerReply[] = [];
let transfers: ArrayBuffer[] = [];

function send([reply, transfer]: Out<WorkerReply>): void {
  replies.push(reply);
  for (const t of transfer) transfers.push(t);
}

function flush(): void {
  if (replies.length === 0) return;
  const msg: Batch<WorkerReply> = { b: replies };
  const t = transfers;
  replies = [];
  transfers = [];
  port.postMessage(msg, t);
}

const walks: Walk<WorkerReply>[] = [];
let walking = false;

function runWalks(): void {
  const until = performance.now() + SLICE_MS;
  let steps = 0;
  while (walks.length && (++steps & 15 || performance.now() < until)) {
    const w = walks[0]!;
    let r: IteratorResult<void, WorkerReply>;
    try {
      r = w.next();
    } catch (e) {
      // a bug, not an fs error (those are reported in the reply): let the main thread fall back
      walks.shift();
      throw e;
    }
    if (r.done) {
      walks.shift();
      // a listing part's numbers travel as a transfer, not a copy
      send([r.value, 'names' in r.value ? [r.value.buf] : []]);
    } else if (steps % 16 === 0) walks.push(walks.shift()!); // round robin between walks
  }
  flush();
  if (walks.length) setImmediate(runWalks);
  else walking = false;
}

function handle(m: WorkerRequest): void {
  switch (m.op) {
    case 'small':
      return send(readSmall(m, smallArea));
    case 'put':
      return send(putSmall(m));
    case 'stat':
      return send(stat(m));
    case 'rmrf':
      return send(removeAll(m));
    case 'mvall':
      return send(renameAll(m));
    case 'write':
      return send(writeFile(m));
    case 'append':
      return send(append(m));
    case 'hash':
      return send(hashData(m));
    case 'digest':
      return send(hashDigest(m));
    case 'drop':
      return send(hashDrop(m));
    case 'list':
      walks.push(listing.start(m.id, m.dir, m.path, m.max));
      break;
    case 'next':
      walks.push(listing.part(m.list, m.id, m.max));
      break;
    case 'close':
      return listing.close(m.list);
    case 'rm':
      walks.push(removeTree(m));
      break;
    case 'copy':
      walks.push(copyTree(m));
      break;
    case 'hashfd':
      walks.push(hashFile(m));
      break;
  }
  if (!walking) {
    walking = true;
    setImmediate(runWalks);
  }
}

port.on('message', (m: Batch<WorkerRequest>) => {
  for (const r of m.b) handle(r);
  flush();
});
