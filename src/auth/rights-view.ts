/**
 * The storage as a user with path rules sees it: listings show only what the user may see (a
 * collection's members only with `list` on it; a member only with `list` or `read` on it), and
 * file bodies only come out with `read`. Everything that reads through the storage (PROPFIND at
 * any depth, the HTML listing, search, zip downloads, thumbnails) is filtered here, in one place;
 * the method-level checks are in src/middleware/rights.ts. Every other operation passes through.
 */
import type { Readable } from 'node:stream';
import type { ListEntry, StorageBackend } from '../storage/backend.js';
import { DavError } from '../errors.js';
import { joinPath } from '../dav/path.js';
import type { Rights } from './rules.js';
import type { ChecksumView } from '../checksums/service.js';

const noRead = (): DavError => new DavError(403, 'Not allowed to read this file');

export function rightsView(inner: StorageBackend, rights: Rights): StorageBackend {
  async function* list(path: string): AsyncIterable<ListEntry> {
    if (!rights.has(path, 'list')) return;
    for await (const e of inner.list(path)) {
      const r = rights.at(joinPath(path, e.name)).rights;
      if (r.has('list') || r.has('read')) yield e;
    }
  }
  const read = async (path: string, range?: { start: number; end: number }): Promise<Readable> => {
    if (!rights.has(path, 'read')) throw noRead();
    return inner.read(path, range);
  };
  const own: Partial<StorageBackend> = { list, read };
  if (inner.openFile) {
    const open = inner.openFile.bind(inner);
    own.openFile = async (path) => {
      if (!rights.has(path, 'read')) throw noRead();
      return open(path);
    };
  }
  if (inner.statWithSmallBody) {
    const small = inner.statWithSmallBody.bind(inner);
    // Without `read` the answer carries no body: callers then go through read(), which refuses.
    own.statWithSmallBody = async (path, max) => (rights.has(path, 'read') ? small(path, max) : inner.stat(path).then((info) => info && { info, body: null }));
  }
  return new Proxy(inner, {
    get(target, prop) {
      if (Object.hasOwn(own, prop)) return own[prop as keyof StorageBackend];
      const v: unknown = Reflect.get(target, prop, target);
      return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
    },
  });
}

/** Checksums only of files the user may read (a digest tells about the content). */
export function rightsChecksums(inner: ChecksumView, rights: Rights): ChecksumView {
  return {
    known: async (path, info) => (rights.has(path, 'read') ? inner.known(path, info) : null),
    digests: async (path, info) => (rights.has(path, 'read') ? inner.digests(path, info) : null),
    record: (path, info, d) => inner.record(path, info, d),
    remember: (path, info, d) => inner.remember(path, info, d),
    // Nothing is told: the record is served only through digests(), which checks read rights.
    later: (path, info) => inner.later(path, info),
    below: (storage, abs) => inner.below(storage, abs),
  };
}
